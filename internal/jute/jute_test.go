package jute

import (
	"bytes"
	"errors"
	"io"
	"math"
	"testing"
)

func TestRoundTripPrimitives(t *testing.T) {
	var w Writer
	w.Int(math.MinInt32)
	w.Int(-1)
	w.Long(math.MaxInt64)
	w.Long(-2)
	w.Bool(true)
	w.Bool(false)
	w.Buffer(nil)
	w.Buffer([]byte{})
	w.Buffer([]byte("abc"))
	w.String("")
	w.String("héllo")
	w.VecLen(-1)
	w.VecLen(2)

	r := NewReader(w.Bytes())
	if got := r.Int(); got != math.MinInt32 {
		t.Errorf("Int: got %d, want %d", got, math.MinInt32)
	}
	if got := r.Int(); got != -1 {
		t.Errorf("Int: got %d, want -1", got)
	}
	if got := r.Long(); got != math.MaxInt64 {
		t.Errorf("Long: got %d, want max", got)
	}
	if got := r.Long(); got != -2 {
		t.Errorf("Long: got %d, want -2", got)
	}
	if got := r.Bool(); !got {
		t.Errorf("Bool: got false, want true")
	}
	if got := r.Bool(); got {
		t.Errorf("Bool: got true, want false")
	}
	if got := r.Buffer(); got != nil {
		t.Errorf("null Buffer: got %v, want nil", got)
	}
	if got := r.Buffer(); got == nil || len(got) != 0 {
		t.Errorf("empty Buffer: got %v, want non-nil empty", got)
	}
	if got := r.Buffer(); string(got) != "abc" {
		t.Errorf("Buffer: got %q, want abc", got)
	}
	if got := r.String(); got != "" {
		t.Errorf("String: got %q, want empty", got)
	}
	if got := r.String(); got != "héllo" {
		t.Errorf("String: got %q, want héllo", got)
	}
	if got := r.VecLen(); got != -1 {
		t.Errorf("VecLen: got %d, want -1", got)
	}
	// Count 2 with nothing left: rejected before allocation.
	if got := r.VecLen(); got != 0 || !errors.Is(r.Err(), ErrTooLarge) {
		t.Errorf("VecLen over remaining: got %d err %v, want 0 and ErrTooLarge", got, r.Err())
	}
}

func TestEncodingBytes(t *testing.T) {
	var w Writer
	w.Int(0x01020304)
	w.Long(0x05060708090a0b0c)
	w.Bool(true)
	w.Buffer(nil)
	w.String("hi")
	want := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 'h', 'i'}
	if !bytes.Equal(w.Bytes(), want) {
		t.Errorf("got % x, want % x", w.Bytes(), want)
	}
	if w.Len() != len(want) {
		t.Errorf("Len: got %d, want %d", w.Len(), len(want))
	}
	w.SetInt(0, 7)
	if w.Bytes()[3] != 7 {
		t.Errorf("SetInt: got % x, want 00 00 00 07 prefix", w.Bytes()[:4])
	}
	w.SetInt(len(want)-2, 1) // out of range: ignored
	w.Reset()
	if w.Len() != 0 {
		t.Errorf("Reset: got Len %d, want 0", w.Len())
	}
}

func TestReaderErrors(t *testing.T) {
	be := func(v int32) []byte {
		return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
	}
	tests := []struct {
		name string
		in   []byte
		read func(r *Reader)
		want error
	}{
		{"short int", []byte{1, 2, 3}, func(r *Reader) { r.Int() }, ErrShort},
		{"short long", []byte{1, 2, 3, 4, 5, 6, 7}, func(r *Reader) { r.Long() }, ErrShort},
		{"short bool", nil, func(r *Reader) { r.Bool() }, ErrShort},
		{"buffer -2", be(-2), func(r *Reader) { r.Buffer() }, ErrNegativeLength},
		{"string -2", be(-2), func(r *Reader) { _ = r.String() }, ErrNegativeLength},
		{"vector -2", be(-2), func(r *Reader) { r.VecLen() }, ErrNegativeLength},
		{"buffer min int", be(math.MinInt32), func(r *Reader) { r.Buffer() }, ErrNegativeLength},
		{"buffer too large", append(be(5), 1, 2, 3, 4), func(r *Reader) { r.Buffer() }, ErrTooLarge},
		{"string max int", be(math.MaxInt32), func(r *Reader) { _ = r.String() }, ErrTooLarge},
		{"vector max int", be(math.MaxInt32), func(r *Reader) { r.VecLen() }, ErrTooLarge},
		{"vector min elem", append(be(2), 1, 2, 3, 4, 5, 6, 7), func(r *Reader) { r.VecLenMin(4) }, ErrTooLarge},
		{"buffer short prefix", []byte{0, 0}, func(r *Reader) { r.Buffer() }, ErrShort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(tc.in)
			tc.read(r)
			if !errors.Is(r.Err(), tc.want) {
				t.Fatalf("got err %v, want %v", r.Err(), tc.want)
			}
			// Sticky: later reads return zero values and keep the first error.
			first := r.Err()
			if v := r.Int(); v != 0 {
				t.Errorf("Int after error: got %d, want 0", v)
			}
			if r.Remaining() != 0 {
				t.Errorf("Remaining after error: got %d, want 0", r.Remaining())
			}
			r.Fail(errors.New("later"))
			if r.Err() != first {
				t.Errorf("Err changed: got %v, want %v", r.Err(), first)
			}
		})
	}
}

func TestVecLenExact(t *testing.T) {
	// A count equal to the remaining bytes is accepted (1-byte elements).
	r := NewReader([]byte{0, 0, 0, 3, 1, 0, 1})
	if n := r.VecLen(); n != 3 || r.Err() != nil {
		t.Fatalf("got %d err %v, want 3 nil", n, r.Err())
	}
	for i := 0; i < 3; i++ {
		r.Bool()
	}
	if r.Err() != nil || r.Remaining() != 0 {
		t.Errorf("got err %v remaining %d, want nil 0", r.Err(), r.Remaining())
	}
}

func TestBufferCopies(t *testing.T) {
	in := []byte{0, 0, 0, 2, 'a', 'b'}
	r := NewReader(in)
	got := r.Buffer()
	in[4] = 'z'
	if string(got) != "ab" {
		t.Errorf("Buffer aliases input: got %q after mutation, want ab", got)
	}
}

func TestReset(t *testing.T) {
	var r Reader
	r.Reset([]byte{1})
	r.Int()
	if r.Err() == nil {
		t.Fatal("got nil err, want ErrShort")
	}
	r.Reset([]byte{0, 0, 0, 9})
	if v := r.Int(); v != 9 || r.Err() != nil {
		t.Errorf("after Reset: got %d %v, want 9 nil", v, r.Err())
	}
}

func TestFrames(t *testing.T) {
	var stream []byte
	stream = AppendFrame(stream, []byte("one"))
	stream = AppendFrame(stream, nil)
	stream = AppendFrame(stream, []byte("three"))
	src := bytes.NewReader(stream)
	buf := make([]byte, 0, 16)
	for _, want := range []string{"one", "", "three"} {
		got, err := ReadFrame(src, buf, 100)
		if err != nil || string(got) != want {
			t.Fatalf("got %q %v, want %q nil", got, err, want)
		}
	}
	if _, err := ReadFrame(src, buf, 100); err != io.EOF {
		t.Errorf("at end: got %v, want io.EOF", err)
	}
}

func TestFrameReusesBuffer(t *testing.T) {
	buf := make([]byte, 0, 16)
	got, err := ReadFrame(bytes.NewReader(AppendFrame(nil, []byte("abc"))), buf, 100)
	if err != nil {
		t.Fatal(err)
	}
	if &got[0] != &buf[:1][0] {
		t.Errorf("got a new slice, want buf reused")
	}
}

func TestFrameErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		max  int
		want error
	}{
		{"negative", []byte{0xff, 0xff, 0xff, 0xfe}, 100, ErrNegativeFrame},
		{"too large", []byte{0, 0, 0, 101}, 100, ErrFrameTooLarge},
		{"huge", []byte{0x7f, 0xff, 0xff, 0xff}, 1 << 20, ErrFrameTooLarge},
		{"short header", []byte{0, 0}, 100, io.ErrUnexpectedEOF},
		{"short body", []byte{0, 0, 0, 5, 1, 2}, 100, io.ErrUnexpectedEOF},
		{"empty body missing", []byte{0, 0, 0, 1}, 100, io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadFrame(bytes.NewReader(tc.in), nil, tc.max)
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestBufferView(t *testing.T) {
	in := []byte{0, 0, 0, 2, 'a', 'b', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 9}
	r := NewReader(in)
	v := r.BufferView()
	if string(v) != "ab" || cap(v) != 2 {
		t.Fatalf("got %q cap %d, want ab cap 2", v, cap(v))
	}
	in[4] = 'z'
	if string(v) != "zb" {
		t.Errorf("got %q after mutating input, want zb (aliasing is documented)", v)
	}
	if v := r.BufferView(); v != nil {
		t.Errorf("null: got %v, want nil", v)
	}
	if v := r.BufferView(); v != nil || !errors.Is(r.Err(), ErrTooLarge) {
		t.Errorf("too large: got %v %v, want nil ErrTooLarge", v, r.Err())
	}
}

package jute

import (
	"bytes"
	"testing"
)

// FuzzReader drives a Reader with an op script (the first bytes) over the
// rest of the input: it must never panic, never return more bytes than the
// input holds, and keep its error sticky.
func FuzzReader(f *testing.F) {
	var w Writer
	w.Int(7)
	w.String("path")
	w.Buffer([]byte{1, 2})
	w.VecLen(1)
	w.Long(9)
	f.Add([]byte{0, 2, 3, 4, 1}, w.Bytes())
	f.Add([]byte{3, 4, 5}, []byte{0xff, 0xff, 0xff, 0xfe})
	f.Add([]byte{6}, []byte{0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, script, data []byte) {
		if len(script) > 64 {
			script = script[:64]
		}
		r := NewReader(data)
		for _, op := range script {
			before := r.Remaining()
			errBefore := r.Err()
			switch op % 8 {
			case 0:
				r.Int()
			case 1:
				r.Long()
			case 2:
				r.Bool()
			case 3:
				if b := r.Buffer(); len(b) > before {
					t.Fatalf("Buffer of %d bytes from %d remaining", len(b), before)
				}
			case 4:
				if s := r.String(); len(s) > before {
					t.Fatalf("String of %d bytes from %d remaining", len(s), before)
				}
			case 5:
				if n := r.VecLen(); n > before {
					t.Fatalf("VecLen %d from %d remaining", n, before)
				}
			case 6:
				if n := r.VecLenMin(4); n*4 > before {
					t.Fatalf("VecLenMin(4) %d from %d remaining", n, before)
				}
			case 7:
				if b := r.BufferView(); len(b) > before {
					t.Fatalf("BufferView of %d bytes from %d remaining", len(b), before)
				}
			}
			if errBefore != nil && r.Err() != errBefore {
				t.Fatalf("error not sticky: %v then %v", errBefore, r.Err())
			}
			if r.Remaining() > before {
				t.Fatalf("Remaining grew from %d to %d", before, r.Remaining())
			}
		}
	})
}

// FuzzReadFrame checks that framing never panics, honours max, and reads
// back exactly what AppendFrame wrote.
func FuzzReadFrame(f *testing.F) {
	f.Add(AppendFrame(nil, []byte("hello")), 16)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, 16)
	f.Add([]byte{0, 0, 0, 4, 1}, 16)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 0 {
			max = -max
		}
		max %= 1 << 16
		got, err := ReadFrame(bytes.NewReader(data), make([]byte, 0, 8), max)
		if err != nil {
			return
		}
		if len(got) > max || len(got) > len(data)-4 {
			t.Fatalf("frame of %d bytes, max %d, input %d", len(got), max, len(data))
		}
		if !bytes.Equal(got, data[4:4+len(got)]) {
			t.Fatalf("frame body differs from input")
		}
		if again := AppendFrame(nil, got); !bytes.Equal(again, data[:4+len(got)]) {
			t.Fatalf("AppendFrame(ReadFrame(x)) = % x, want % x", again, data[:4+len(got)])
		}
	})
}

package proto

import (
	"reflect"
	"testing"

	"github.com/zkd-io/zkd/internal/jute"
)

// checkStable asserts decode(encode(rec)) == rec for a record that decoded
// successfully: decoding normalises (bools to 0/1, null strings to ""), so
// one more round trip must be exact.
func checkStable(t *testing.T, rec Record, fresh Record) {
	t.Helper()
	b := encode(rec)
	r := jute.NewReader(b)
	if err := fresh.Decode(r); err != nil {
		t.Fatalf("re-decode of %T failed: %v", rec, err)
	}
	if !reflect.DeepEqual(rec, fresh) {
		t.Fatalf("round trip changed %T: got %+v, want %+v", rec, fresh, rec)
	}
}

func FuzzConnectRequest(f *testing.F) {
	f.Add(encode(&ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16), HasReadOnly: true}))
	f.Add(encode(&ConnectRequest{LastZxidSeen: 5, SessionID: 7, Passwd: []byte("p")}))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		var c ConnectRequest
		if c.Decode(jute.NewReader(data)) != nil {
			return
		}
		checkStable(t, &c, &ConnectRequest{})
	})
}

// FuzzRequest decodes a RequestHeader and then the body for its opcode, as
// the server's read loop does.
func FuzzRequest(f *testing.F) {
	for _, tc := range recordCases() {
		for op := OpCode(-11); op <= 110; op++ {
			if rec, ok := NewRequest(op); ok && reflect.TypeOf(rec) == reflect.TypeOf(tc.rec) {
				var w jute.Writer
				(&RequestHeader{Xid: 1, Type: op}).Encode(&w)
				tc.rec.Encode(&w)
				f.Add(append([]byte{}, w.Bytes()...))
			}
		}
	}
	f.Add(encode(&RequestHeader{Xid: XidPing, Type: OpPing}))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := jute.NewReader(data)
		var h RequestHeader
		if h.Decode(r) != nil {
			return
		}
		rec, ok := NewRequest(h.Type)
		if !ok {
			return
		}
		if rec.Decode(r) != nil {
			return
		}
		fresh, _ := NewRequest(h.Type)
		checkStable(t, rec, fresh)
	})
}

func FuzzMultiRequest(f *testing.F) {
	f.Add(encode(sampleMultiRequest()))
	f.Add(encode(sampleMultiReadRequest()))
	f.Add(encode(&MultiRequest{}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m MultiRequest
		if m.Decode(jute.NewReader(data)) != nil {
			if m.Ops != nil {
				t.Fatalf("got ops after a decode error")
			}
			return
		}
		checkStable(t, &m, &MultiRequest{})
	})
}

func FuzzMultiResponse(f *testing.F) {
	f.Add(encode(sampleMultiResponse()))
	f.Add(encode(&MultiResponse{Results: []MultiResult{{Type: OpError, Err: ErrNoNode}}}))
	f.Add(encode(&MultiResponse{}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m MultiResponse
		if m.Decode(jute.NewReader(data)) != nil {
			if m.Results != nil {
				t.Fatalf("got results after a decode error")
			}
			return
		}
		checkStable(t, &m, &MultiResponse{})
	})
}

// FuzzValidatePath checks ValidatePath never panics and agrees with itself
// on the sequential form.
func FuzzValidatePath(f *testing.F) {
	for _, s := range []string{"/", "/a/b", "/a/", "/a//b", "/a/..", "/\x00", "/😀", "/a\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if (ValidatePath(p, true) == nil) != (ValidatePath(p+"1", false) == nil) {
			t.Fatalf("sequential %q disagrees with %q", p, p+"1")
		}
	})
}

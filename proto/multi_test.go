package proto

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/zkd-io/zkd/internal/jute"
)

func sampleMultiRequest() *MultiRequest {
	return &MultiRequest{Ops: []MultiOp{
		{Type: OpCreate, Op: &CreateRequest{Path: "/m", Data: []byte("x"), ACL: OpenACLUnsafe, Flags: ModePersistent}},
		{Type: OpCreate2, Op: &CreateRequest{Path: "/m/s", ACL: OpenACLUnsafe, Flags: ModePersistentSequential}},
		{Type: OpCreateContainer, Op: &CreateRequest{Path: "/c", ACL: OpenACLUnsafe, Flags: ModeContainer}},
		{Type: OpCreateTTL, Op: &CreateTTLRequest{Path: "/t", ACL: OpenACLUnsafe, Flags: ModePersistentWithTTL, TTL: 1000}},
		{Type: OpSetData, Op: &SetDataRequest{Path: "/m", Data: []byte("y"), Version: 0}},
		{Type: OpCheck, Op: &CheckVersionRequest{Path: "/m", Version: 1}},
		{Type: OpDelete, Op: &DeleteRequest{Path: "/m", Version: -1}},
	}}
}

func sampleMultiReadRequest() *MultiRequest {
	return &MultiRequest{Ops: []MultiOp{
		{Type: OpGetData, Op: &GetDataRequest{Path: "/a"}},
		{Type: OpGetChildren, Op: &GetChildrenRequest{Path: "/"}},
	}}
}

func sampleMultiResponse() *MultiResponse {
	return &MultiResponse{Results: []MultiResult{
		{Type: OpCreate, Resp: &CreateResponse{Path: "/m"}},
		{Type: OpCreate2, Resp: &Create2Response{Path: "/m/s0000000000", Stat: sampleStat}},
		{Type: OpSetData, Resp: &SetDataResponse{Stat: sampleStat}},
		{Type: OpCheck},
		{Type: OpDelete},
		{Type: OpGetData, Resp: &GetDataResponse{Data: []byte("d"), Stat: sampleStat}},
		{Type: OpGetChildren, Resp: &GetChildrenResponse{Children: []string{"a"}}},
		{Type: OpError, Err: ErrNoNode, Resp: &ErrorResponse{Err: ErrNoNode}},
	}}
}

func TestMultiRequestWire(t *testing.T) {
	// One delete op: header{2,false,-1} + DeleteRequest + end header{-1,true,-1}.
	got := encode(&MultiRequest{Ops: []MultiOp{{Type: OpDelete, Op: &DeleteRequest{Path: "/a", Version: 5}}}})
	var w jute.Writer
	w.Int(2)
	w.Bool(false)
	w.Int(-1)
	w.String("/a")
	w.Int(5)
	w.Int(-1)
	w.Bool(true)
	w.Int(-1)
	if string(got) != string(w.Bytes()) {
		t.Errorf("got % x, want % x", got, w.Bytes())
	}
	// An empty multi is just the end header.
	if got := encode(&MultiRequest{}); len(got) != 9 {
		t.Errorf("empty multi: got %d bytes, want 9", len(got))
	}
}

func TestMultiResponseWire(t *testing.T) {
	// A failed multi as ZooKeeper sends it: every result is an error result,
	// the header and body both carry the code.
	resp := &MultiResponse{Results: []MultiResult{
		{Type: OpError, Err: ErrOK},
		{Type: OpError, Err: ErrBadVersion},
		{Type: OpError, Err: ErrRuntimeInconsistency},
	}}
	var w jute.Writer
	for _, c := range []int32{0, -103, -2} {
		w.Int(-1)
		w.Bool(false)
		w.Int(c)
		w.Int(c)
	}
	w.Int(-1)
	w.Bool(true)
	w.Int(-1)
	if got := encode(resp); string(got) != string(w.Bytes()) {
		t.Errorf("got % x, want % x", got, w.Bytes())
	}
	var back MultiResponse
	if err := back.Decode(jute.NewReader(w.Bytes())); err != nil {
		t.Fatal(err)
	}
	for i, want := range []ErrCode{ErrOK, ErrBadVersion, ErrRuntimeInconsistency} {
		if back.Results[i].Type != OpError || back.Results[i].Err != want {
			t.Errorf("result %d: got %v %v, want error %v", i, back.Results[i].Type, back.Results[i].Err, want)
		}
	}
	// Successful results carry err 0 in their header.
	got := encode(&MultiResponse{Results: []MultiResult{{Type: OpDelete}}})
	if want := []byte{0, 0, 0, 2, 0, 0, 0, 0, 0}; string(got[:9]) != string(want) {
		t.Errorf("delete result header: got % x, want % x", got[:9], want)
	}
}

func TestMultiEncodeFallbacks(t *testing.T) {
	// A nil or mistyped Op is encoded as an empty record of the right type,
	// never a panic; unknown types get a bare header.
	req := &MultiRequest{Ops: []MultiOp{
		{Type: OpCreate},
		{Type: OpDelete, Op: &GetDataRequest{Path: "/x"}},
		{Type: OpSetData, Op: (*SetDataRequest)(nil)},
	}}
	var back MultiRequest
	if err := back.Decode(jute.NewReader(encode(req))); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := []MultiOp{{OpCreate, &CreateRequest{}}, {OpDelete, &DeleteRequest{}}, {OpSetData, &SetDataRequest{}}}
	if !reflect.DeepEqual(back.Ops, want) {
		t.Errorf("got %+v, want %+v", back.Ops, want)
	}
	if got := len(encode(&MultiRequest{Ops: []MultiOp{{Type: OpCode(77), Op: &DeleteRequest{}}}})); got != 18 {
		t.Errorf("unknown op: got %d bytes, want 18 (two headers)", got)
	}
	resp := &MultiResponse{Results: []MultiResult{{Type: OpSetData}, {Type: OpCreate2, Resp: &CreateResponse{}}, {Type: OpCode(77)}}}
	if got := len(encode(resp)); got != 9+statSize+9+4+statSize+9+9 {
		t.Errorf("fallback results: got %d bytes, want %d", got, 9+statSize+9+4+statSize+9+9)
	}
}

func TestMultiDecodeErrors(t *testing.T) {
	hdr := func(w *jute.Writer, t OpCode, done bool) {
		w.Int(int32(t))
		w.Bool(done)
		w.Int(-1)
	}
	tests := []struct {
		name    string
		build   func(w *jute.Writer)
		rec     Record
		want    error
		wantMsg string
	}{
		{"unknown op", func(w *jute.Writer) { hdr(w, OpSync, false) }, &MultiRequest{}, ErrBadMulti, "invalid op type 9 (sync)"},
		{"op type error", func(w *jute.Writer) { hdr(w, OpError, false) }, &MultiRequest{}, ErrBadMulti, "invalid op type -1 (error)"},
		{"mixed read write", func(w *jute.Writer) {
			hdr(w, OpGetData, false)
			(&GetDataRequest{Path: "/a"}).Encode(w)
			hdr(w, OpDelete, false)
			(&DeleteRequest{Path: "/a"}).Encode(w)
			hdr(w, -1, true)
		}, &MultiRequest{}, ErrBadMulti, "mixing read and write"},
		{"no end header", func(w *jute.Writer) {
			hdr(w, OpDelete, false)
			(&DeleteRequest{Path: "/a"}).Encode(w)
		}, &MultiRequest{}, jute.ErrShort, ""},
		{"unknown result", func(w *jute.Writer) { hdr(w, OpCreateTTL, false) }, &MultiResponse{}, ErrBadMulti, "invalid type 21 (createTTL) in multi response"},
		{"result no end header", func(w *jute.Writer) { hdr(w, OpDelete, false) }, &MultiResponse{}, jute.ErrShort, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w jute.Writer
			tc.build(&w)
			err := tc.rec.Decode(jute.NewReader(w.Bytes()))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("got message %q, want it to contain %q", err, tc.wantMsg)
			}
			switch v := tc.rec.(type) {
			case *MultiRequest:
				if v.Ops != nil {
					t.Errorf("got ops %v after error, want nil", v.Ops)
				}
			case *MultiResponse:
				if v.Results != nil {
					t.Errorf("got results %v after error, want nil", v.Results)
				}
			}
		})
	}
}

func TestMultiDoneEndsEvenWithOtherType(t *testing.T) {
	// ZooKeeper stops at done=true whatever the type; so do we.
	var w jute.Writer
	w.Int(int32(OpCreate))
	w.Bool(true)
	w.Int(0)
	var m MultiRequest
	if err := m.Decode(jute.NewReader(w.Bytes())); err != nil || len(m.Ops) != 0 {
		t.Errorf("got %v %v, want no ops and nil", m.Ops, err)
	}
}

package server

import (
	"testing"

	"github.com/zkd-io/zkd/proto"
)

// FuzzParse feeds arbitrary request frames to the decoder a connection uses:
// it must never panic, and anything it accepts must be answerable.
func FuzzParse(f *testing.F) {
	f.Add(append(encode(&proto.RequestHeader{Xid: 1, Type: proto.OpCreate}), encode(&proto.CreateRequest{Path: "/a", ACL: proto.OpenACLUnsafe})...))
	f.Add(append(encode(&proto.RequestHeader{Xid: 2, Type: proto.OpMulti}), encode(&proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCheck, Op: &proto.CheckVersionRequest{Path: "/a", Version: 1}}}})...))
	f.Add(encode(&proto.RequestHeader{Xid: -2, Type: proto.OpPing}))
	f.Add([]byte{0, 0, 0})
	c := &conn{}
	f.Fuzz(func(t *testing.T, frame []byte) {
		req, err := c.parse(frame)
		if err != nil {
			return
		}
		if req.err == proto.ErrOK && req.rec == nil && req.op != proto.OpPing && req.op != proto.OpCloseSession && req.op != proto.OpWhoAmI {
			t.Fatalf("op %v accepted without a record", req.op)
		}
		if req.kind != kindRead && req.done == nil {
			t.Fatalf("op %v is asynchronous but has no completion channel", req.op)
		}
	})
}

package client

import (
	"encoding/binary"
	"testing"

	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/proto"
)

// fuzzOps are the requests pending when the fuzzed frames arrive, one of
// each reply shape.
var fuzzOps = []struct {
	op    proto.OpCode
	resp  func() proto.Record
	watch watchKind
}{
	{proto.OpGetData, func() proto.Record { return &proto.GetDataResponse{} }, kindData},
	{proto.OpExists, func() proto.Record { return &proto.ExistsResponse{} }, kindExist},
	{proto.OpGetChildren2, func() proto.Record { return &proto.GetChildren2Response{} }, kindChild},
	{proto.OpMulti, func() proto.Record { return &proto.MultiResponse{} }, numKinds},
	{proto.OpGetACL, func() proto.Record { return &proto.GetACLResponse{} }, numKinds},
	{proto.OpWhoAmI, func() proto.Record { return &proto.WhoAmIResponse{} }, numKinds},
	{proto.OpCreate2, func() proto.Record { return &proto.Create2Response{} }, numKinds},
	{proto.OpAddWatch, func() proto.Record { return nil }, kindRecursive},
	{proto.OpGetEphemerals, func() proto.Record { return &proto.GetEphemeralsResponse{} }, numKinds},
}

func frame(recs ...proto.Record) []byte {
	w := jute.NewWriter(64)
	for _, r := range recs {
		r.Encode(w)
	}
	return jute.AppendFrame(nil, w.Bytes())
}

// FuzzReplies feeds a stream of frames to the reply dispatcher with one
// request of each shape pending (with watches to register): it must never
// panic, whatever the frames hold.
func FuzzReplies(f *testing.F) {
	f.Add(append(frame(&proto.ReplyHeader{Xid: 1, Zxid: 3}, &proto.GetDataResponse{Data: []byte("x")}),
		frame(&proto.ReplyHeader{Xid: proto.XidNotification}, &proto.WatcherEvent{Type: 1, State: 3, Path: "/a"})...))
	f.Add(frame(&proto.ReplyHeader{Xid: 1, Err: proto.ErrNoNode}))
	f.Add(frame(&proto.ReplyHeader{Xid: proto.XidAuth, Err: proto.ErrAuthFailed}))
	f.Add(append(append(frame(&proto.ReplyHeader{Xid: 1}, &proto.GetDataResponse{}),
		frame(&proto.ReplyHeader{Xid: 2, Err: proto.ErrNoNode})...),
		frame(&proto.ReplyHeader{Xid: 3}, &proto.GetChildren2Response{Children: []string{"a"}})...))
	f.Add(append(append(append(frame(&proto.ReplyHeader{Xid: 1}, &proto.GetDataResponse{}),
		frame(&proto.ReplyHeader{Xid: 2}, &proto.ExistsResponse{})...),
		frame(&proto.ReplyHeader{Xid: 3}, &proto.GetChildren2Response{})...),
		frame(&proto.ReplyHeader{Xid: 4}, &proto.MultiResponse{Results: []proto.MultiResult{
			{Type: proto.OpCreate, Resp: &proto.CreateResponse{Path: "/a"}},
			{Type: proto.OpError, Err: proto.ErrNoNode, Resp: &proto.ErrorResponse{Err: proto.ErrNoNode}},
		}})...))
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, stream []byte) {
		c, err := newConn("127.0.0.1:1/chroot")
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			close(c.runDone)
			c.terminate(StateClosed, ErrClosed)
			c.events.close()
			close(c.pumpsQuit)
			c.wg.Wait()
		}()
		for i, o := range fuzzOps {
			r := newRequest(o.op, "/p", nil, o.resp())
			r.xid = int32(i + 1)
			if o.watch < numKinds {
				r.watch = &watcher{kind: o.watch, path: "/p", ch: make(chan Event, 1)}
				if o.watch >= kindPersistent {
					r.watch.ch = nil
					r.watch.box = newMailbox(watchBuffer, 0, &c.wg, c.pumpsQuit)
				}
			}
			c.pending = append(c.pending, r)
		}
		c.authWait = append(c.authWait, newRequest(proto.OpAuth, "", nil, nil).setXid(proto.XidAuth))
		rd := jute.NewReader(nil)
		for frames := 0; len(stream) >= 4 && frames < 64; frames++ {
			n := int(binary.BigEndian.Uint32(stream))
			stream = stream[4:]
			if n < replyHeaderSize || n > len(stream) {
				break
			}
			rd.Reset(stream[:n])
			stream = stream[n:]
			if c.handleReply(nil, rd) != nil {
				break
			}
		}
	})
}

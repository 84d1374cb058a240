package server

import (
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/proto"
)

// A read that sets a watch must reach the client before any event of that
// watch: clients (ZooKeeper's and zkd's) file the watch when the reply
// arrives and drop an event for a watch they do not know yet, so an event
// that overtakes its reply is lost for good. The hook applies a write in
// the window just after the read released the server's lock.
func TestWatchReplyPrecedesItsEvent(t *testing.T) {
	cases := []struct {
		name  string
		op    proto.OpCode
		req   proto.Record
		write func(c *zk.Conn) error
		event int32
	}{
		{"getData", proto.OpGetData, &proto.GetDataRequest{Path: "/x", Watch: true},
			func(c *zk.Conn) error { _, err := c.Set("/x", []byte("v"), -1); return err }, proto.EventNodeDataChanged},
		{"exists", proto.OpExists, &proto.ExistsRequest{Path: "/x", Watch: true},
			func(c *zk.Conn) error { _, err := c.Set("/x", []byte("v"), -1); return err }, proto.EventNodeDataChanged},
		{"getChildren", proto.OpGetChildren, &proto.GetChildrenRequest{Path: "/x", Watch: true},
			func(c *zk.Conn) error { _, err := c.Create("/x/c", nil, 0, zk.WorldACL(zk.PermAll)); return err }, proto.EventNodeChildrenChanged},
		{"addWatch", proto.OpAddWatch, &proto.AddWatchRequest{Path: "/x", Mode: proto.AddWatchPersistent},
			func(c *zk.Conn) error { _, err := c.Set("/x", []byte("v"), -1); return err }, proto.EventNodeDataChanged},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t)
			writer, _ := connect(t, s)
			if _, err := writer.Create("/x", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
				t.Fatal(err)
			}
			r := dialRaw(t, s)
			r.handshake(proto.ConnectRequest{})
			var once sync.Once
			write := func() {
				once.Do(func() {
					if err := tc.write(writer); err != nil {
						t.Errorf("write in the window: %v", err)
					}
				})
			}
			testHookAfterRead = func(hs *Server, op proto.OpCode) {
				if hs == s && op == tc.op {
					write()
				}
			}
			t.Cleanup(func() { testHookAfterRead = nil })
			xid := r.send(tc.op, tc.req)
			first := r.header()
			if first.Xid == proto.XidNotification {
				t.Fatalf("%s: the watch's event arrived before the reply that set it", tc.name)
			}
			if first.Xid != xid || first.Err != proto.ErrOK {
				t.Fatalf("%s: first frame xid %d err %v, want the reply (xid %d, ok)", tc.name, first.Xid, first.Err, xid)
			}
			write() // no-op when the hook already wrote
			var ev proto.WatcherEvent
			if h := r.header(&ev); h.Xid != proto.XidNotification || ev.Type != tc.event || ev.Path != "/x" {
				t.Fatalf("%s: after the reply got xid %d event %+v, want %d on /x", tc.name, h.Xid, ev, tc.event)
			}
		})
	}
}

// header reads the next frame's reply header and decodes the rest into
// body, if given.
func (r *raw) header(body ...proto.Record) proto.ReplyHeader {
	r.t.Helper()
	rd := jute.NewReader(r.frame())
	var h proto.ReplyHeader
	if err := h.Decode(rd); err != nil {
		r.t.Fatalf("reply header: %v", err)
	}
	if len(body) > 0 && h.Err == proto.ErrOK {
		if err := body[0].Decode(rd); err != nil {
			r.t.Fatalf("frame body: %v", err)
		}
	}
	return h
}

// A sync's reply carries the zxid of the state it waited for, as
// ZooKeeper's does: that state includes the session's earlier writes, even
// ones still in flight when the sync arrived, and excludes its next write,
// even when that is applied before the reply is sent.
func TestSyncReplyZxidPrecedesNextWrite(t *testing.T) {
	s := startServer(t)
	r := dialRaw(t, s)
	r.handshake(proto.ConnectRequest{})
	testHookBeforeSyncReply = func(hs *Server) {
		if hs != s {
			return
		}
		before := hs.lastZxid()
		deadline := time.Now().Add(2 * time.Second)
		for hs.lastZxid() == before && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if hs.lastZxid() == before {
			t.Error("the write after the sync was not applied while the sync waited to be answered")
		}
	}
	t.Cleanup(func() { testHookBeforeSyncReply = nil })
	// The sync is pipelined behind the create, so it must wait for it.
	create := r.send(proto.OpCreate, &proto.CreateRequest{Path: "/s", ACL: proto.OpenACLUnsafe})
	sync := r.send(proto.OpSync, &proto.SyncRequest{Path: "/s"})
	set := r.send(proto.OpSetData, &proto.SetDataRequest{Path: "/s", Data: []byte("x"), Version: -1})
	h := r.header()
	if h.Xid != create || h.Err != proto.ErrOK {
		t.Fatalf("create: got xid %d err %v", h.Xid, h.Err)
	}
	if got := r.header(); got.Xid != sync || got.Zxid != h.Zxid {
		t.Errorf("sync reply: xid %d zxid 0x%x, want xid %d zxid 0x%x (the create's)", got.Xid, got.Zxid, sync, h.Zxid)
	}
	if got := r.header(); got.Xid != set || got.Zxid <= h.Zxid {
		t.Errorf("setData reply: xid %d zxid 0x%x, want xid %d after 0x%x", got.Xid, got.Zxid, set, h.Zxid)
	}
}

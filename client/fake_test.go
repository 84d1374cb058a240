package client

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkd-io/zkd/proto"
)

func TestReadOnlyServer(t *testing.T) {
	reqs := make(chan proto.ConnectRequest, 4)
	fs := newFakeServer(t, func(fc *fakeConn) {
		reqs <- fc.req
		if fc.accept(true) != nil {
			return
		}
		for {
			h, _, err := fc.nextNonPing()
			if err != nil {
				return
			}
			code := proto.ErrOK
			if h.Type == proto.OpCreate {
				code = proto.ErrNotReadOnly
			}
			if fc.send(&proto.ReplyHeader{Xid: h.Xid, Zxid: 5, Err: code}, &proto.ExistsResponse{}) != nil {
				return
			}
		}
	})
	c := connect(t, fs.addr(), WithReadOnly())
	if st := c.State(); st != StateConnectedReadOnly {
		t.Fatalf("state: got %v, want ConnectedReadOnly", st)
	}
	waitState(t, c, StateConnectedReadOnly, time.Second)
	req := <-reqs
	if !req.ReadOnly || !req.HasReadOnly || req.SessionID != 0 {
		t.Fatalf("connect request: got %+v, want readOnly set, session 0", req)
	}
	if _, err := c.Exists(bg(t), "/"); err != nil {
		t.Fatalf("read on a read-only server: %v", err)
	}
	_, err := c.Create(bg(t), "/x", nil, open, ModePersistent)
	wantCode(t, "write on a read-only server", err, proto.ErrNotReadOnly)
}

func TestHandshakeSaysExpired(t *testing.T) {
	fs := newFakeServer(t, func(fc *fakeConn) {
		fc.send(&proto.ConnectResponse{TimeOut: 0, Passwd: make([]byte, 16)})
	})
	c, err := New(fs.addr(), WithSession(42, make([]byte, 16)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitState(t, c, StateExpired, 5*time.Second)
	if _, err := c.Exists(bg(t), "/"); !errors.Is(err, proto.ErrSessionExpired) {
		t.Fatalf("got %v, want SessionExpired", err)
	}
}

// TestBadRepliesDropTheConnection: a reply with the wrong xid or a
// garbage frame drops the connection (requests fail with ConnectionLoss)
// and the client reconnects; it never panics.
func TestBadRepliesDropTheConnection(t *testing.T) {
	tests := []struct {
		name  string
		reply func(fc *fakeConn, h proto.RequestHeader) error
	}{
		{"xid out of order", func(fc *fakeConn, h proto.RequestHeader) error {
			return fc.send(&proto.ReplyHeader{Xid: h.Xid + 7})
		}},
		{"short frame", func(fc *fakeConn, h proto.RequestHeader) error {
			_, err := fc.nc.Write([]byte{0, 0, 0, 3, 1, 2, 3})
			return err
		}},
		{"negative length", func(fc *fakeConn, h proto.RequestHeader) error {
			_, err := fc.nc.Write([]byte{0xff, 0xff, 0xff, 0xf0})
			return err
		}},
		{"bad notification", func(fc *fakeConn, h proto.RequestHeader) error {
			return fc.send(&proto.ReplyHeader{Xid: proto.XidNotification}, &proto.ErrorResponse{})
		}},
		{"huge notification", func(fc *fakeConn, h proto.RequestHeader) error {
			return fc.send(&proto.ReplyHeader{Xid: proto.XidNotification}, &proto.GetDataResponse{Data: make([]byte, 8192)})
		}},
		{"reply with nothing pending", func(fc *fakeConn, h proto.RequestHeader) error {
			if err := fc.send(&proto.ReplyHeader{Xid: h.Xid}, &proto.ExistsResponse{}); err != nil {
				return err
			}
			return fc.send(&proto.ReplyHeader{Xid: 99})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var accepted atomic.Int32
			fs := newFakeServer(t, func(fc *fakeConn) {
				n := accepted.Add(1)
				if fc.accept(false) != nil {
					return
				}
				for {
					h, _, err := fc.nextNonPing()
					if err != nil {
						return
					}
					if n > 1 { // the reconnect is served properly
						if fc.send(&proto.ReplyHeader{Xid: h.Xid}, &proto.ExistsResponse{}) != nil {
							return
						}
						continue
					}
					if tc.reply(fc, h) != nil {
						return
					}
				}
			})
			c := connect(t, fs.addr(), WithMaxBufferSize(4096))
			_, err := c.Exists(bg(t), "/")
			if tc.name == "reply with nothing pending" {
				wantCode(t, "first request", err, proto.ErrOK)
			} else {
				wantCode(t, "request answered badly", err, proto.ErrConnectionLoss)
			}
			waitState(t, c, StateDisconnected, 5*time.Second)
			waitState(t, c, StateSyncConnected, 5*time.Second)
			if _, err := c.Exists(bg(t), "/"); err != nil {
				t.Fatalf("after reconnect: %v", err)
			}
		})
	}
}

// TestUndecodableReplyFailsOnlyItsRequest: a well-framed reply whose body
// does not decode fails its request; the session goes on.
func TestUndecodableReplyFailsOnlyItsRequest(t *testing.T) {
	fs := newFakeServer(t, func(fc *fakeConn) {
		if fc.accept(false) != nil {
			return
		}
		first := true
		for {
			h, _, err := fc.nextNonPing()
			if err != nil {
				return
			}
			if first {
				first = false
				// A vector count larger than the frame.
				fc.send(&proto.ReplyHeader{Xid: h.Xid}, &proto.ErrorResponse{Err: 0x7fffffff})
				continue
			}
			if fc.send(&proto.ReplyHeader{Xid: h.Xid}, &proto.GetChildrenResponse{Children: []string{"a"}}) != nil {
				return
			}
		}
	})
	c := connect(t, fs.addr())
	if _, err := c.Children(bg(t), "/"); !errors.Is(err, ErrBadReply) || !errors.Is(err, proto.ErrMarshallingError) {
		t.Fatalf("undecodable reply: got %v, want ErrBadReply/MarshallingError", err)
	}
	kids, err := c.Children(bg(t), "/")
	if err != nil || len(kids) != 1 {
		t.Fatalf("next request: got %v %v, want [a]", kids, err)
	}
	if st := c.State(); st != StateSyncConnected {
		t.Fatalf("state: got %v, want SyncConnected", st)
	}
}

package server

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/proto"
)

// FuzzConnection drives the connection state machine of one running server
// with arbitrary byte streams: a handshake or not, then any frames, then the
// end of the stream. Whatever arrives, the server must neither crash nor
// hang, must close or answer each connection, and must keep serving others.
func FuzzConnection(f *testing.F) {
	connect := func(req proto.ConnectRequest) []byte {
		var w jute.Writer
		req.Encode(&w)
		return jute.AppendFrame(nil, w.Bytes())
	}
	request := func(h proto.RequestHeader, body proto.Record) []byte {
		var w jute.Writer
		h.Encode(&w)
		if body != nil {
			body.Encode(&w)
		}
		return jute.AppendFrame(nil, w.Bytes())
	}
	hello := connect(proto.ConnectRequest{TimeOut: 4000, Passwd: make([]byte, 16), HasReadOnly: true})
	f.Add(hello)
	f.Add(append(append([]byte{}, hello...), request(proto.RequestHeader{Xid: 1, Type: proto.OpCreate},
		&proto.CreateRequest{Path: "/f", ACL: proto.OpenACLUnsafe})...))
	f.Add(append(append([]byte{}, hello...), request(proto.RequestHeader{Xid: 1, Type: proto.OpGetData},
		&proto.GetDataRequest{Path: "/zookeeper", Watch: true})...))
	f.Add(append(append([]byte{}, hello...), request(proto.RequestHeader{Xid: -8, Type: proto.OpSetWatches2},
		&proto.SetWatches2{RelativeZxid: 1, DataWatches: []string{"/a"}})...))
	f.Add(append(append([]byte{}, hello...), request(proto.RequestHeader{Xid: 7, Type: 999}, nil)...))
	f.Add(request(proto.RequestHeader{Xid: 1, Type: proto.OpGetData}, &proto.GetDataRequest{Path: "/"}))
	f.Add([]byte("ruok"))
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff})
	s := startServer(f)
	addr := s.Addr().String()
	f.Fuzz(func(t *testing.T, stream []byte) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := nc.Write(stream); err != nil {
			return // the server may close early on bad input
		}
		_ = nc.(*net.TCPConn).CloseWrite()
		// The server must end the connection once the stream has ended: a
		// read that times out instead means it hangs on a partial frame
		// or an unanswered request.
		if _, err := io.Copy(io.Discard, nc); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("connection not closed 5s after the client's stream of %d bytes ended", len(stream))
			}
		}
		// And it still serves everyone else.
		probe, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			t.Fatalf("server stopped accepting connections: %v", err)
		}
		probe.Close()
	})
}

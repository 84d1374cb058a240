package server

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zkd-io/zkd/internal/config"
	"github.com/zkd-io/zkd/proto"
)

// stillServes proves the server answers a fresh client.
func stillServes(t *testing.T, s *Server) {
	t.Helper()
	r := dialRaw(t, s)
	r.handshake(proto.ConnectRequest{})
	var st proto.ExistsResponse
	if code := r.call(proto.OpExists, &proto.ExistsRequest{Path: "/zookeeper"}, &st); code != proto.ErrOK {
		t.Fatalf("server no longer serving: exists got %v", code)
	}
}

func TestBadFramesCloseOnlyThatConnection(t *testing.T) {
	s := startServer(t, func(o *config.Options) { o.JuteMaxBuffer = 4096 })
	tests := []struct {
		name      string
		handshake bool
		bytes     []byte
	}{
		{"oversized first frame", false, lengthPrefix(1 << 20)},
		{"negative first frame", false, lengthPrefix(-5)},
		{"garbage connect request", false, append(lengthPrefix(3), 1, 2, 3)},
		{"request before the handshake", false, append(lengthPrefix(8), encode(&proto.RequestHeader{Xid: 1, Type: proto.OpGetData})...)},
		{"oversized request", true, lengthPrefix(4097)},
		{"negative request length", true, lengthPrefix(-1)},
		{"request shorter than its header", true, append(lengthPrefix(3), 0, 0, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dialRaw(t, s)
			if tt.handshake {
				r.handshake(proto.ConnectRequest{})
			}
			r.nc.Write(tt.bytes)
			if !r.closed(3 * time.Second) {
				t.Fatal("connection not closed")
			}
			stillServes(t, s)
		})
	}
}

func TestUnknownOpcodeKeepsConnection(t *testing.T) {
	s := startServer(t)
	r := dialRaw(t, s)
	r.handshake(proto.ConnectRequest{})
	for _, tt := range []struct {
		op   proto.OpCode
		want proto.ErrCode
	}{
		{999, proto.ErrUnimplemented},
		{-77, proto.ErrUnimplemented},
		{proto.OpDeleteContainer, proto.ErrBadArguments},
		{proto.OpCreateSession, proto.ErrMarshallingError},
	} {
		xid := r.send(tt.op, nil)
		h, _ := r.reply(nil)
		if h.Xid != xid || h.Err != tt.want {
			t.Errorf("opcode %d: got %+v, want %v", tt.op, h, tt.want)
		}
		if tt.want == proto.ErrUnimplemented && h.Zxid != -1 {
			t.Errorf("opcode %d: got zxid %d, want -1 as ZooKeeper answers", tt.op, h.Zxid)
		}
	}
	// A known opcode with a malformed body gets MarshallingError.
	xid := r.send(proto.OpGetData, nil)
	if h, _ := r.reply(nil); h.Xid != xid || h.Err != proto.ErrMarshallingError {
		t.Errorf("truncated body: got %+v", h)
	}
	var st proto.ExistsResponse
	if code := r.call(proto.OpExists, &proto.ExistsRequest{Path: "/"}, &st); code != proto.ErrOK {
		t.Fatalf("connection unusable after bad requests: %v", code)
	}
}

func TestBadPaths(t *testing.T) {
	s := startServer(t)
	r := dialRaw(t, s)
	r.handshake(proto.ConnectRequest{})
	r.call(proto.OpCreate, &proto.CreateRequest{Path: "/a", ACL: proto.OpenACLUnsafe}, nil)
	tests := []struct {
		path string
		want proto.ErrCode
	}{
		{"a/b", proto.ErrNoNode}, // ZooKeeper looks up the parent "a" first
		{"/a/", proto.ErrBadArguments},
		{"/a//b", proto.ErrNoNode}, // parent "/a/" does not exist
		{"/a/.", proto.ErrBadArguments},
		{"/a/..", proto.ErrBadArguments},
		{"/a/b\x01", proto.ErrBadArguments},
		{"/a/b\u007f", proto.ErrBadArguments},
		{"", proto.ErrBadArguments},
	}
	for _, tt := range tests {
		if got := r.call(proto.OpCreate, &proto.CreateRequest{Path: tt.path, ACL: proto.OpenACLUnsafe}, nil); got != tt.want {
			t.Errorf("create %q: got %v, want %v", tt.path, got, tt.want)
		}
		if got := r.call(proto.OpSetData, &proto.SetDataRequest{Path: tt.path, Version: -1}, nil); got != proto.ErrBadArguments {
			t.Errorf("setData %q: got %v, want BadArguments", tt.path, got)
		}
	}
}

func TestIdleConnectionsAndLimits(t *testing.T) {
	t.Run("2000 idle connections", func(t *testing.T) {
		s := startServer(t, func(o *config.Options) { o.MaxClientCnxns = 0 })
		conns := make([]net.Conn, 0, 2000)
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for i := 0; i < 2000; i++ {
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			conns = append(conns, c)
		}
		stillServes(t, s)
	})
	t.Run("maxClientCnxns", func(t *testing.T) {
		s := startServer(t, func(o *config.Options) { o.MaxClientCnxns = 3 })
		var open []*raw
		for i := 0; i < 3; i++ {
			r := dialRaw(t, s)
			r.handshake(proto.ConnectRequest{})
			open = append(open, r)
		}
		extra := dialRaw(t, s)
		if !extra.closed(3 * time.Second) {
			t.Fatal("fourth connection from one address was accepted")
		}
		open[0].nc.Close()
		deadline := time.Now().Add(3 * time.Second)
		for {
			c, err := net.Dial("tcp", s.Addr().String())
			if err == nil {
				c.Write(encodeConnect())
				c.SetReadDeadline(time.Now().Add(time.Second))
				if _, err := io.ReadFull(c, make([]byte, 4)); err == nil {
					c.Close()
					break
				}
				c.Close()
			}
			if time.Now().After(deadline) {
				t.Fatal("a slot freed by a closed connection was not reusable")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func encodeConnect() []byte {
	req := proto.ConnectRequest{TimeOut: 4000, Passwd: make([]byte, 16), HasReadOnly: true}
	return lengthPrefixed(encode(&req))
}

func lengthPrefixed(b []byte) []byte { return append(lengthPrefix(int32(len(b))), b...) }

func TestSlowConsumerIsDisconnected(t *testing.T) {
	s := startServer(t)
	r := dialRaw(t, s)
	r.handshake(proto.ConnectRequest{TimeOut: 20000})
	big := bytes.Repeat([]byte("x"), 1000000)
	if code := r.call(proto.OpCreate, &proto.CreateRequest{Path: "/big", Data: big, ACL: proto.OpenACLUnsafe}, nil); code != proto.ErrOK {
		t.Fatal(code)
	}
	// Ask for the megabyte many times without reading a single reply.
	var req bytes.Buffer
	for i := 0; i < 200; i++ {
		req.Write(lengthPrefixed(append(encode(&proto.RequestHeader{Xid: int32(100 + i), Type: proto.OpGetData}), encode(&proto.GetDataRequest{Path: "/big"})...)))
	}
	done := make(chan error, 1)
	go func() {
		r.nc.SetWriteDeadline(time.Now().Add(20 * time.Second))
		_, err := r.nc.Write(req.Bytes())
		done <- err
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if n := countConns(s); n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("client that never reads was not disconnected")
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.nc.Close()
	<-done
	stillServes(t, s)
}

func countConns(s *Server) int {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	return len(s.conns)
}

func TestFourLetterWords(t *testing.T) {
	s := startServer(t, func(o *config.Options) { o.FourLetterWords = map[string]bool{"srvr": true, "ruok": true} })
	ask := func(cmd string) string { return fourLetter(t, s, cmd) }
	if got := ask("ruok"); got != "imok" {
		t.Errorf("ruok: got %q", got)
	}
	srvr := ask("srvr")
	for _, want := range []string{"Zookeeper version: 3.9.0-zkd-" + Version + ", built on 11/21/2026 12:00 GMT\n", "Mode: standalone\n", "Node count: 5\n"} {
		if !strings.Contains(srvr, want) {
			t.Errorf("srvr lacks %q:\n%s", want, srvr)
		}
	}
	if got := ask("mntr"); !strings.Contains(got, "not executed because it is not in the whitelist") {
		t.Errorf("mntr outside the whitelist: got %q", got)
	}
}

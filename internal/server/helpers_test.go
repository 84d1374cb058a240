package server

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd-io/zkd/internal/config"
	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/proto"
)

// startServer runs a standalone server on a free loopback port with its data
// in a temp dir, and stops it when the test ends.
func startServer(t testing.TB, mutate ...func(*config.Options)) *Server {
	t.Helper()
	o := config.Default()
	o.DataDir = t.TempDir()
	o.ClientPortAddress = "127.0.0.1"
	o.TickTime = 200 * time.Millisecond
	o.FourLetterWords = map[string]bool{"*": true}
	o.ExtendedTypesEnabled = true
	// No fixed admin or metrics ports: tests run in parallel.
	o.AdminEnableServer = false
	o.AdminServerAddress = "127.0.0.1"
	o.MetricsHTTPPort = 0
	for _, m := range mutate {
		m(o)
	}
	if err := o.Validate(); err != nil {
		t.Fatalf("options: %v", err)
	}
	o.ClientPort = 0
	level := slog.LevelWarn
	if os.Getenv("ZKD_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	s := New(o, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	if err := s.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// connect opens a go-zookeeper session to s.
func connect(t testing.TB, s *Server) (*zk.Conn, <-chan zk.Event) {
	t.Helper()
	c, ev, err := zk.Connect([]string{s.Addr().String()}, 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(quietLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	deadline := time.After(5 * time.Second)
	for c.State() != zk.StateHasSession {
		select {
		case <-deadline:
			t.Fatalf("no session after 5s; state %v", c.State())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return c, ev
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// raw is a minimal client speaking frames directly, for what go-zookeeper
// lacks and for malformed input.
type raw struct {
	t       testing.TB
	nc      net.Conn
	br      *bufio.Reader
	session int64
	passwd  []byte
	xid     int32
}

func dialRaw(t testing.TB, s *Server) *raw {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &raw{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// handshake opens a new session (or resumes one) and returns the response.
func (r *raw) handshake(req proto.ConnectRequest) proto.ConnectResponse {
	r.t.Helper()
	if req.TimeOut == 0 {
		req.TimeOut = 4000
	}
	if req.Passwd == nil {
		req.Passwd = make([]byte, 16)
	}
	req.HasReadOnly = true
	var w jute.Writer
	req.Encode(&w)
	r.write(w.Bytes())
	var resp proto.ConnectResponse
	if err := resp.Decode(jute.NewReader(r.frame())); err != nil {
		r.t.Fatalf("connect response: %v", err)
	}
	r.session, r.passwd = resp.SessionID, resp.Passwd
	return resp
}

func (r *raw) write(payload []byte) {
	r.t.Helper()
	if _, err := r.nc.Write(jute.AppendFrame(nil, payload)); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

func (r *raw) frame() []byte {
	r.t.Helper()
	b, err := jute.ReadFrame(r.br, nil, 16<<20)
	if err != nil {
		r.t.Fatalf("read frame: %v", err)
	}
	return b
}

// send writes a request with the next xid (or the given special xid) and
// returns the xid used.
func (r *raw) send(op proto.OpCode, body proto.Record, xid ...int32) int32 {
	r.t.Helper()
	r.xid++
	x := r.xid
	if len(xid) > 0 {
		x = xid[0]
	}
	var w jute.Writer
	h := proto.RequestHeader{Xid: x, Type: op}
	h.Encode(&w)
	if body != nil {
		body.Encode(&w)
	}
	r.write(w.Bytes())
	return x
}

// reply reads the next frame that is not a watch event, decoding the body
// into into (when the reply carries no error). Events seen are returned.
func (r *raw) reply(into proto.Record) (proto.ReplyHeader, []proto.WatcherEvent) {
	r.t.Helper()
	var events []proto.WatcherEvent
	for {
		rd := jute.NewReader(r.frame())
		var h proto.ReplyHeader
		if err := h.Decode(rd); err != nil {
			r.t.Fatalf("reply header: %v", err)
		}
		if h.Xid == proto.XidNotification {
			var ev proto.WatcherEvent
			if err := ev.Decode(rd); err != nil {
				r.t.Fatalf("event: %v", err)
			}
			events = append(events, ev)
			continue
		}
		if into != nil && h.Err == proto.ErrOK {
			if err := into.Decode(rd); err != nil {
				r.t.Fatalf("reply body for xid %d: %v", h.Xid, err)
			}
		}
		return h, events
	}
}

// call sends a request and reads its reply.
func (r *raw) call(op proto.OpCode, body, into proto.Record) proto.ErrCode {
	r.t.Helper()
	xid := r.send(op, body)
	h, _ := r.reply(into)
	if h.Xid != xid {
		r.t.Fatalf("reply xid %d, want %d", h.Xid, xid)
	}
	return h.Err
}

// closed reports whether the server closed the connection (EOF within d).
func (r *raw) closed(d time.Duration) bool {
	r.nc.SetReadDeadline(time.Now().Add(d))
	_, err := r.br.ReadByte()
	for err == nil {
		_, err = r.br.ReadByte()
	}
	return err == io.EOF || isReset(err)
}

func isReset(err error) bool {
	var ne *net.OpError
	return err != nil && (errors.As(err, &ne) && !ne.Timeout())
}

func lengthPrefix(n int32) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(n))
	return b[:]
}

func encode(r proto.Record) []byte {
	var w jute.Writer
	r.Encode(&w)
	return append([]byte(nil), w.Bytes()...)
}

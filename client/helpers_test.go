package client

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkd-io/zkd/internal/config"
	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/internal/server"
	"github.com/zkd-io/zkd/internal/servertest"
	"github.com/zkd-io/zkd/proto"
)

// startServer runs an in-process zkd (see servertest) for the test.
func startServer(t testing.TB, mutate ...func(*config.Options)) *server.Server {
	t.Helper()
	return servertest.Start(t, mutate...)
}

// testLogger sends the client's log to t.Log when ZKD_TEST_LOG is set.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("ZKD_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// connect opens a session and closes it when the test ends.
func connect(t testing.TB, connStr string, opts ...Option) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts = append([]Option{WithSessionTimeout(4 * time.Second), WithLogger(testLogger(t)), withRetryDelay(50 * time.Millisecond)}, opts...)
	c, err := Connect(ctx, connStr, opts...)
	if err != nil {
		t.Fatalf("connect %s: %v", connStr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ctxT returns a context that ends after d or with the test.
func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// bg is the default context of test calls: long enough for a loaded
// machine, short enough to fail a hung test quickly.
func bg(t testing.TB) context.Context { return ctxT(t, 10*time.Second) }

// wantCode fails unless err matches code.
func wantCode(t testing.TB, what string, err error, code proto.ErrCode) {
	t.Helper()
	if code == proto.ErrOK {
		if err != nil {
			t.Fatalf("%s: got error %v, want none", what, err)
		}
		return
	}
	if !errors.Is(err, code) {
		t.Fatalf("%s: got error %v, want %s", what, err, code.Name())
	}
}

// nextEvent waits up to d for an event.
func nextEvent(t testing.TB, ch <-chan Event, d time.Duration) (Event, bool) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		return ev, ok
	case <-time.After(d):
		t.Fatalf("no event within %v", d)
		return Event{}, false
	}
}

// waitState reads session events until one with state st arrives.
func waitState(t testing.TB, c *Conn, st State, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				t.Fatalf("session events closed while waiting for %v", st)
			}
			if ev.State == st {
				return
			}
		case <-deadline:
			t.Fatalf("no %v event within %v (state %v)", st, d, c.State())
		}
	}
}

// severable is a dialer whose connections a test can cut, and whose dials
// it can refuse or pause, recording every address dialed.
type severable struct {
	mu      sync.Mutex
	conns   []*cutConn
	refuse  bool
	dialed  []string
	noReads bool // new reads block until sever (simulates a silent server)
}

func (s *severable) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	s.mu.Lock()
	s.dialed = append(s.dialed, addr)
	refuse := s.refuse
	s.mu.Unlock()
	if refuse {
		return nil, errors.New("dial refused by test")
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cc := &cutConn{Conn: nc, s: s, closed: make(chan struct{})}
	s.mu.Lock()
	s.conns = append(s.conns, cc)
	s.mu.Unlock()
	return cc, nil
}

// sever closes every connection dialed so far.
func (s *severable) sever() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

func (s *severable) setRefuse(v bool) {
	s.mu.Lock()
	s.refuse = v
	s.mu.Unlock()
}

func (s *severable) addrs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.dialed...)
}

// stallReads makes reads on live connections hang until they are closed
// (replies pile up unread), so requests stay in flight. Stalling waits for
// reads already in progress (20ms steps) to end.
func (s *severable) stallReads(v bool) {
	s.mu.Lock()
	s.noReads = v
	s.mu.Unlock()
	if v {
		time.Sleep(40 * time.Millisecond)
	}
}

type cutConn struct {
	net.Conn
	s      *severable
	mu     sync.Mutex
	rdl    time.Time // read deadline, honoured while reads are stalled
	closed chan struct{}
	once   sync.Once
}

// SetReadDeadline records the deadline; Read applies it, so that it holds
// while reads are stalled too.
func (c *cutConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.rdl = t
	c.mu.Unlock()
	return nil
}

func (c *cutConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.Conn.SetWriteDeadline(t)
}

func (c *cutConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func (c *cutConn) stalled() bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.noReads
}

// Read reads in short steps so that stalling takes effect even for a read
// already waiting: while stalled it blocks like a silent peer, until the
// connection is closed or the read deadline passes.
func (c *cutConn) Read(b []byte) (int, error) {
	for {
		c.mu.Lock()
		dl := c.rdl
		c.mu.Unlock()
		if !dl.IsZero() && !time.Now().Before(dl) {
			return 0, os.ErrDeadlineExceeded
		}
		if c.stalled() {
			select {
			case <-c.closed:
				return 0, net.ErrClosed
			case <-time.After(5 * time.Millisecond):
			}
			continue
		}
		step := time.Now().Add(20 * time.Millisecond)
		if !dl.IsZero() && dl.Before(step) {
			step = dl
		}
		c.Conn.SetReadDeadline(step)
		n, err := c.Conn.Read(b)
		if n > 0 || err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
	}
}

// checkNoGoroutines fails if goroutines of this package are still running
// a short while after every Conn was closed.
func checkNoGoroutines(t testing.TB) {
	t.Helper()
	if leaked := leakedGoroutines(3 * time.Second); leaked != "" {
		t.Fatalf("client goroutines still running after Close:\n%s", leaked)
	}
}

// leakedGoroutines waits up to wait for the package's goroutines to end
// and returns the stacks of those still running.
func leakedGoroutines(wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "zkd/client.(*Conn)") || strings.Contains(g, "zkd/client.(*mailbox)") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fakeServer is a scripted server for behaviours zkd cannot be made to
// show (read-only mode, garbage replies): each accepted connection runs
// handle.
type fakeServer struct {
	ln     net.Listener
	wg     sync.WaitGroup
	handle func(fc *fakeConn)
}

type fakeConn struct {
	nc  net.Conn
	req proto.ConnectRequest
}

func newFakeServer(t testing.TB, handle func(fc *fakeConn)) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeServer{ln: ln, handle: handle}
	fs.wg.Add(1)
	go func() {
		defer fs.wg.Done()
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, nc)
			fs.wg.Add(1)
			go func() {
				defer fs.wg.Done()
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(20 * time.Second))
				fc := &fakeConn{nc: nc}
				frame, err := jute.ReadFrame(nc, nil, 1<<20)
				if err != nil || fc.req.Decode(jute.NewReader(frame)) != nil {
					return
				}
				fs.handle(fc)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		fs.wg.Wait()
	})
	return fs
}

func (fs *fakeServer) addr() string { return fs.ln.Addr().String() }

// send writes one frame holding the records.
func (fc *fakeConn) send(recs ...proto.Record) error {
	w := jute.NewWriter(64)
	w.Int(0)
	for _, r := range recs {
		r.Encode(w)
	}
	w.SetInt(0, int32(w.Len()-4))
	_, err := fc.nc.Write(w.Bytes())
	return err
}

// accept answers the handshake.
func (fc *fakeConn) accept(readOnly bool) error {
	return fc.send(&proto.ConnectResponse{TimeOut: 4000, SessionID: 0x1234, Passwd: make([]byte, 16), ReadOnly: readOnly})
}

// next reads the next request's header and body.
func (fc *fakeConn) next() (proto.RequestHeader, *jute.Reader, error) {
	frame, err := jute.ReadFrame(fc.nc, nil, 1<<20)
	if err != nil {
		return proto.RequestHeader{}, nil, err
	}
	rd := jute.NewReader(frame)
	var h proto.RequestHeader
	return h, rd, h.Decode(rd)
}

// nextNonPing is next skipping pings.
func (fc *fakeConn) nextNonPing() (proto.RequestHeader, *jute.Reader, error) {
	for {
		h, rd, err := fc.next()
		if err != nil || h.Type != proto.OpPing {
			return h, rd, err
		}
		if err := fc.send(&proto.ReplyHeader{Xid: proto.XidPing}); err != nil {
			return h, rd, err
		}
	}
}

func newTestReader(b []byte) *jute.Reader { return jute.NewReader(b) }

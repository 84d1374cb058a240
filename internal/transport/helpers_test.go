package transport

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

const waitTimeout = 5 * time.Second

type appMsg struct {
	from    uint64
	kind    uint8
	payload []byte
}

type snapReport struct {
	id uint64
	ok bool
}

// recHandler records what a Transport delivers. The hooks, when set before
// Start, replace the default behaviour.
type recHandler struct {
	steps   chan *raftpb.Message
	apps    chan appMsg
	unreach chan uint64
	snaps   chan snapReport

	stepHook func(ctx context.Context, m *raftpb.Message) error
	recvSnap func(ctx context.Context, m *raftpb.Message, body io.Reader, size int64) error
}

func newRecHandler() *recHandler {
	return &recHandler{
		steps:   make(chan *raftpb.Message, 20000),
		apps:    make(chan appMsg, 20000),
		unreach: make(chan uint64, 1024),
		snaps:   make(chan snapReport, 64),
	}
}

func (h *recHandler) Step(ctx context.Context, m *raftpb.Message) error {
	if h.stepHook != nil {
		return h.stepHook(ctx, m)
	}
	select {
	case h.steps <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *recHandler) ReceiveSnapshot(ctx context.Context, m *raftpb.Message, body io.Reader, size int64) error {
	if h.recvSnap != nil {
		return h.recvSnap(ctx, m, body, size)
	}
	_, err := io.Copy(io.Discard, body)
	return err
}

func (h *recHandler) ReportUnreachable(id uint64) {
	select {
	case h.unreach <- id:
	default:
	}
}

func (h *recHandler) ReportSnapshot(id uint64, ok bool) {
	select {
	case h.snaps <- snapReport{id, ok}:
	default:
	}
}

func (h *recHandler) HandleApp(from uint64, kind uint8, payload []byte) {
	select {
	case h.apps <- appMsg{from, kind, payload}:
	default:
	}
}

// logSink collects log lines and wakes waiters on every write.
type logSink struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLogSink() *logSink { return &logSink{changed: make(chan struct{})} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	close(s.changed)
	s.changed = make(chan struct{})
	return len(p), nil
}

// line returns the first log line containing every part, and a channel that
// is closed on the next write.
func (s *logSink) line(parts ...string) (string, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range strings.SplitSeq(s.buf.String(), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all && l != "" {
			return l, nil
		}
	}
	return "", s.changed
}

func (s *logSink) count(parts ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for l := range strings.SplitSeq(s.buf.String(), "\n") {
		all := l != ""
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			n++
		}
	}
	return n
}

// wait returns the first log line containing every part, failing the test
// if none appears in time.
func (s *logSink) wait(t *testing.T, parts ...string) string {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		l, ch := s.line(parts...)
		if ch == nil {
			return l
		}
		select {
		case <-ch:
		case <-deadline.C:
			s.mu.Lock()
			all := s.buf.String()
			s.mu.Unlock()
			t.Fatalf("no log line with %q within %v; log:\n%s", parts, waitTimeout, all)
		}
	}
}

// checkGoroutines fails the test if it leaves more goroutines running than
// it found. Call it first so that its cleanup runs after every other one.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			if runtime.NumGoroutine() <= before {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("got %d goroutines after the test, want at most %d:\n%s", runtime.NumGoroutine(), before, buf)
	})
}

// waitUntil polls cond (for state that has no channel, like Connected).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", waitTimeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// membersOf numbers the listeners' addresses 1..n.
func membersOf(lns []net.Listener) []Member {
	ms := make([]Member, len(lns))
	for i, ln := range lns {
		ms[i] = Member{ID: uint64(i + 1), Addr: ln.Addr().String()}
	}
	return ms
}

type node struct {
	tr   *Transport
	h    *recHandler
	logs *logSink
}

// startNode starts a Transport on ln, closed when the test ends.
func startNode(t *testing.T, id uint64, ms []Member, ln net.Listener, h *recHandler) *node {
	t.Helper()
	logs := newLogSink()
	tr, err := New(Config{
		ID: id, Members: ms, Listener: ln, Handler: h, DialTimeout: time.Second,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	tr.Start()
	t.Cleanup(func() { tr.Close() })
	return &node{tr: tr, h: h, logs: logs}
}

// newCluster starts n connected transports with ids 1..n.
func newCluster(t *testing.T, n int) []*node {
	t.Helper()
	lns := make([]net.Listener, n)
	for i := range lns {
		lns[i] = listen(t)
	}
	ms := membersOf(lns)
	nodes := make([]*node, n)
	for i := range nodes {
		nodes[i] = startNode(t, uint64(i+1), ms, lns[i], newRecHandler())
	}
	for i, a := range nodes {
		for j := range nodes {
			if i != j {
				waitUntil(t, "all streams are up", func() bool { return a.tr.Connected(uint64(j + 1)) })
			}
		}
	}
	return nodes
}

func raftMsg(typ raftpb.MessageType, from, to, index uint64) *raftpb.Message {
	return &raftpb.Message{Type: typ.Enum(), From: new(from), To: new(to), Index: new(index)}
}

func appMsgTo(from, to, index uint64) *raftpb.Message {
	m := raftMsg(raftpb.MessageType_MsgApp, from, to, index)
	m.Entries = []*raftpb.Entry{{Index: new(index), Term: new(uint64(1)), Data: bytes.Repeat([]byte{byte(index)}, 100)}}
	return m
}

// recvSteps receives n raft messages or fails.
func recvSteps(t *testing.T, h *recHandler, n int) []*raftpb.Message {
	t.Helper()
	out := make([]*raftpb.Message, 0, n)
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for len(out) < n {
		select {
		case m := <-h.steps:
			out = append(out, m)
		case <-deadline.C:
			t.Fatalf("got %d raft messages within %v, want %d", len(out), waitTimeout, n)
		}
	}
	return out
}

func recvApps(t *testing.T, h *recHandler, n int) []appMsg {
	t.Helper()
	out := make([]appMsg, 0, n)
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for len(out) < n {
		select {
		case m := <-h.apps:
			out = append(out, m)
		case <-deadline.C:
			t.Fatalf("got %d app messages within %v, want %d", len(out), waitTimeout, n)
		}
	}
	return out
}

func recvSnapReport(t *testing.T, h *recHandler) snapReport {
	t.Helper()
	select {
	case r := <-h.snaps:
		return r
	case <-time.After(waitTimeout):
		t.Fatalf("no ReportSnapshot within %v", waitTimeout)
	}
	return snapReport{}
}

func expectUnreachable(t *testing.T, h *recHandler, id uint64) {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case got := <-h.unreach:
			if got == id {
				return
			}
		case <-timeout:
			t.Fatalf("no ReportUnreachable(%d) within %v", id, waitTimeout)
		}
	}
}

func expectNoSteps(t *testing.T, h *recHandler) {
	t.Helper()
	select {
	case m := <-h.steps:
		t.Fatalf("got delivered %s from %d, want nothing delivered", m.GetType(), m.GetFrom())
	case a := <-h.apps:
		t.Fatalf("got app message kind %d from %d, want nothing delivered", a.kind, a.from)
	default:
	}
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

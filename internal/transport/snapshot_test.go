package transport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

func snapMsg(from, to, index uint64) *raftpb.Message {
	m := raftMsg(raftpb.MessageType_MsgSnap, from, to, 0)
	m.Snapshot = &raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{
		Index: new(index), Term: new(uint64(1)), ConfState: &raftpb.ConfState{Voters: []uint64{1, 2}},
	}}
	return m
}

// closeTracker records whether the transport closed a snapshot body.
type closeTracker struct {
	io.Reader
	mu     sync.Mutex
	closed bool
}

func (c *closeTracker) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return nil
}

func (c *closeTracker) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

type gotSnap struct {
	m    *raftpb.Message
	sum  [sha256.Size]byte
	n    int
	size int64
}

func TestSnapshotStreaming(t *testing.T) {
	checkGoroutines(t)
	lns := []net.Listener{listen(t), listen(t)}
	ms := membersOf(lns)
	got := make(chan gotSnap, 1)
	hb := newRecHandler()
	hb.recvSnap = func(ctx context.Context, m *raftpb.Message, body io.Reader, size int64) error {
		data, err := io.ReadAll(body)
		got <- gotSnap{m: m, sum: sha256.Sum256(data), n: len(data), size: size}
		return err
	}
	a := startNode(t, 1, ms, lns[0], newRecHandler())
	startNode(t, 2, ms, lns[1], hb)

	data := make([]byte, 8<<20)
	rng := rand.NewChaCha8([32]byte{1})
	rng.Read(data)
	body := &closeTracker{Reader: bytes.NewReader(data)}
	a.tr.SendSnapshot(snapMsg(1, 2, 42), body, int64(len(data)))

	if r := recvSnapReport(t, a.h); r != (snapReport{2, true}) {
		t.Fatalf("got report %+v, want {2 true}", r)
	}
	g := <-got
	if g.n != len(data) || g.size != int64(len(data)) {
		t.Fatalf("receiver got %d bytes of announced %d, want %d", g.n, g.size, len(data))
	}
	if g.sum != sha256.Sum256(data) {
		t.Fatal("receiver got different bytes than sent")
	}
	if got := g.m.GetSnapshot().GetMetadata().GetIndex(); got != 42 || g.m.GetFrom() != 1 || g.m.GetTo() != 2 {
		t.Fatalf("got MsgSnap index %d from %d to %d, want index 42 from 1 to 2", got, g.m.GetFrom(), g.m.GetTo())
	}
	if !body.isClosed() {
		t.Fatal("body not closed after the snapshot was sent")
	}
}

func TestSnapshotFailures(t *testing.T) {
	tests := []struct {
		name  string
		recv  func(ctx context.Context, m *raftpb.Message, body io.Reader, size int64) error
		msg   *raftpb.Message
		body  []byte
		size  int64
		setup func(a, b *node)
	}{
		{
			name: "receiver error",
			recv: func(ctx context.Context, m *raftpb.Message, body io.Reader, size int64) error {
				io.Copy(io.Discard, body)
				return errors.New("disk full")
			},
		},
		{
			name: "receiver leaves bytes unread",
			recv: func(ctx context.Context, m *raftpb.Message, body io.Reader, size int64) error {
				_, err := io.ReadFull(body, make([]byte, 10))
				return err
			},
		},
		{name: "body shorter than size", body: make([]byte, 100), size: 1000},
		{name: "not MsgSnap", msg: appMsgTo(1, 2, 1)},
		{name: "peer faulted with Drop", setup: func(a, b *node) { a.tr.SetFault(2, Fault{Drop: true}) }},
		{name: "receiver faulted with Drop", setup: func(a, b *node) { b.tr.SetFault(1, Fault{Drop: true}) }},
		{name: "peer down", setup: func(a, b *node) { b.tr.Close() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			lns := []net.Listener{listen(t), listen(t)}
			ms := membersOf(lns)
			hb := newRecHandler()
			hb.recvSnap = tc.recv
			a := startNode(t, 1, ms, lns[0], newRecHandler())
			b := startNode(t, 2, ms, lns[1], hb)
			if tc.setup != nil {
				tc.setup(a, b)
			}
			m, body, size := tc.msg, tc.body, tc.size
			if m == nil {
				m = snapMsg(1, 2, 7)
			}
			if body == nil {
				body = make([]byte, 1<<20)
			}
			if size == 0 {
				size = int64(len(body))
			}
			tracker := &closeTracker{Reader: bytes.NewReader(body)}
			a.tr.SendSnapshot(m, tracker, size)
			if r := recvSnapReport(t, a.h); r != (snapReport{2, false}) {
				t.Fatalf("got report %+v, want {2 false}", r)
			}
			if !tracker.isClosed() {
				t.Fatal("body not closed after a failed snapshot")
			}
		})
	}
}

// TestSnapshotOneInFlight: a second snapshot to a peer fails at once while
// the first is still streaming, and the first still succeeds.
func TestSnapshotOneInFlight(t *testing.T) {
	checkGoroutines(t)
	lns := []net.Listener{listen(t), listen(t)}
	ms := membersOf(lns)
	entered, release := make(chan struct{}), make(chan struct{})
	hb := newRecHandler()
	hb.recvSnap = func(ctx context.Context, m *raftpb.Message, body io.Reader, size int64) error {
		close(entered)
		<-release
		_, err := io.Copy(io.Discard, body)
		return err
	}
	a := startNode(t, 1, ms, lns[0], newRecHandler())
	startNode(t, 2, ms, lns[1], hb)

	a.tr.SendSnapshot(snapMsg(1, 2, 1), io.NopCloser(bytes.NewReader(make([]byte, 1000))), 1000)
	<-entered
	second := &closeTracker{Reader: bytes.NewReader(nil)}
	a.tr.SendSnapshot(snapMsg(1, 2, 2), second, 0)
	if r := recvSnapReport(t, a.h); r != (snapReport{2, false}) {
		t.Fatalf("second snapshot: got report %+v, want {2 false}", r)
	}
	if !second.isClosed() {
		t.Fatal("second snapshot's body not closed")
	}
	close(release)
	if r := recvSnapReport(t, a.h); r != (snapReport{2, true}) {
		t.Fatalf("first snapshot: got report %+v, want {2 true}", r)
	}
}

package transport

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

func TestNewValidation(t *testing.T) {
	checkGoroutines(t)
	busy := listen(t)
	defer busy.Close()
	h := newRecHandler()
	two := []Member{{ID: 1, Addr: "127.0.0.1:0"}, {ID: 2, Addr: "127.0.0.1:1"}}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no handler", Config{ID: 1, Members: two}, "Handler must be set"},
		{"id zero", Config{ID: 0, Members: two, Handler: h}, "ID must not be 0"},
		{"self missing", Config{ID: 3, Members: two, Handler: h}, "own id 3 is not among the members"},
		{"member id zero", Config{ID: 1, Members: append(two, Member{ID: 0, Addr: "127.0.0.1:2"}), Handler: h}, "has id 0"},
		{"duplicate id", Config{ID: 1, Members: append(two, Member{ID: 2, Addr: "127.0.0.1:2"}), Handler: h}, "member id 2 is listed twice"},
		{"duplicate addr", Config{ID: 1, Members: append(two, Member{ID: 3, Addr: "127.0.0.1:1"}), Handler: h}, "share the address 127.0.0.1:1"},
		{"bad addr", Config{ID: 1, Members: append(two, Member{ID: 3, Addr: "nohostport"}), Handler: h}, `address "nohostport" is not host:port`},
		{"negative dial timeout", Config{ID: 1, Members: two, Handler: h, DialTimeout: -1}, "DialTimeout -1ns must not be negative"},
		{"address in use", Config{ID: 1, Members: []Member{{ID: 1, Addr: busy.Addr().String()}}, Handler: h},
			"listen on quorum address " + busy.Addr().String()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := New(tc.cfg)
			if err == nil {
				tr.Close()
				t.Fatalf("New: got no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: got error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestExchangeInOrder: three transports send each other interleaved raft
// and app messages; each receiver sees every sender's messages in order.
func TestExchangeInOrder(t *testing.T) {
	checkGoroutines(t)
	nodes := newCluster(t, 3)
	const n = 300
	for k := uint64(1); k <= n; k++ {
		for i, a := range nodes {
			from := uint64(i + 1)
			var batch []*raftpb.Message
			for j := range nodes {
				to := uint64(j + 1)
				if to == from {
					continue
				}
				batch = append(batch, appMsgTo(from, to, k))
			}
			a.tr.Send(batch)
			for j := range nodes {
				to := uint64(j + 1)
				if to != from && !a.tr.SendApp(to, 7, binary.BigEndian.AppendUint64(nil, k)) {
					t.Fatalf("SendApp %d->%d #%d: got false, want true", from, to, k)
				}
			}
		}
	}
	for j, b := range nodes {
		self := uint64(j + 1)
		next := map[uint64]uint64{}
		for _, m := range recvSteps(t, b.h, 2*n) {
			if m.GetTo() != self {
				t.Fatalf("node %d got a message for %d", self, m.GetTo())
			}
			next[m.GetFrom()]++
			if got, want := m.GetIndex(), next[m.GetFrom()]; got != want {
				t.Fatalf("node %d: got index %d from %d, want %d (order lost)", self, got, m.GetFrom(), want)
			}
			if got := m.GetEntries()[0].GetData(); len(got) != 100 || got[0] != byte(m.GetIndex()) {
				t.Fatalf("node %d: entry data of index %d corrupted", self, m.GetIndex())
			}
		}
		nextApp := map[uint64]uint64{}
		for _, a := range recvApps(t, b.h, 2*n) {
			nextApp[a.from]++
			if a.kind != 7 || len(a.payload) != 8 {
				t.Fatalf("node %d: got app kind %d payload %x, want kind 7 and 8 bytes", self, a.kind, a.payload)
			}
			if got, want := binary.BigEndian.Uint64(a.payload), nextApp[a.from]; got != want {
				t.Fatalf("node %d: got app #%d from %d, want #%d", self, got, a.from, want)
			}
		}
	}
}

// TestBatching: a burst from one Send arrives complete and in order, in far
// fewer writes than messages.
func TestBatching(t *testing.T) {
	checkGoroutines(t)
	nodes := newCluster(t, 2)
	const n = 3000
	before := nodes[0].tr.batches.Load()
	msgs := make([]*raftpb.Message, n)
	for i := range msgs {
		msgs[i] = appMsgTo(1, 2, uint64(i+1))
	}
	nodes[0].tr.Send(msgs)
	for i, m := range recvSteps(t, nodes[1].h, n) {
		if got, want := m.GetIndex(), uint64(i+1); got != want {
			t.Fatalf("message %d: got index %d, want %d", i, got, want)
		}
	}
	if got := nodes[0].tr.batches.Load() - before; got >= n/10 {
		t.Fatalf("got %d writes for %d messages, want fewer than %d (batching)", got, n, n/10)
	}
}

// TestReconnectAfterRestart: a peer that restarts on the same address is
// redialled and traffic resumes both ways.
func TestReconnectAfterRestart(t *testing.T) {
	checkGoroutines(t)
	lns := []net.Listener{listen(t), listen(t)}
	ms := membersOf(lns)
	a := startNode(t, 1, ms, lns[0], newRecHandler())
	b := startNode(t, 2, ms, lns[1], newRecHandler())
	waitUntil(t, "1 connects to 2", func() bool { return a.tr.Connected(2) })

	a.tr.Send([]*raftpb.Message{appMsgTo(1, 2, 1)})
	recvSteps(t, b.h, 1)

	if err := b.tr.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitUntil(t, "1 sees 2 down", func() bool { return !a.tr.Connected(2) })
	waitUntil(t, "1 finds 2's port closed", func() bool { return a.tr.Refused(2) })
	a.tr.Send([]*raftpb.Message{appMsgTo(1, 2, 2)})
	expectUnreachable(t, a.h, 2)

	ln, err := net.Listen("tcp", ms[1].Addr)
	if err != nil {
		t.Fatalf("rebinding %s: %v", ms[1].Addr, err)
	}
	b2 := startNode(t, 2, ms, ln, newRecHandler())
	waitUntil(t, "1 reconnects to 2", func() bool { return a.tr.Connected(2) })
	waitUntil(t, "2 connects to 1", func() bool { return b2.tr.Connected(1) })
	if a.tr.Refused(2) {
		t.Fatal("Refused(2) after reconnecting: got true, want false")
	}

	a.tr.Send([]*raftpb.Message{appMsgTo(1, 2, 3)})
	if got := recvSteps(t, b2.h, 1)[0].GetIndex(); got != 3 {
		t.Fatalf("after restart 2 got index %d, want 3", got)
	}
	b2.tr.Send([]*raftpb.Message{appMsgTo(2, 1, 4)})
	if got := recvSteps(t, a.h, 1)[0].GetIndex(); got != 4 {
		t.Fatalf("after restart 1 got index %d, want 4", got)
	}
	// One line per transition, not per retry.
	if got := a.logs.count(`msg="peer connected"`, "peer=2"); got != 2 {
		t.Fatalf("got %d 'peer connected' lines for peer 2, want 2:\n%s", got, a.logs)
	}
	if got := a.logs.count(`msg="peer disconnected"`, "peer=2"); got != 1 {
		t.Fatalf("got %d 'peer disconnected' lines for peer 2, want 1", got)
	}
}

func TestFaultDrop(t *testing.T) {
	checkGoroutines(t)
	nodes := newCluster(t, 2)
	a, b := nodes[0], nodes[1]
	a.tr.SetFault(2, Fault{Drop: true})
	if a.tr.Connected(2) {
		t.Fatal("Connected(2) under Drop: got true, want false")
	}
	if a.tr.Refused(2) {
		t.Fatal("Refused(2) under Drop: got true, want false (the peer's port is open)")
	}
	if a.tr.SendApp(2, 1, []byte("x")) {
		t.Fatal("SendApp under Drop: got true, want false")
	}
	a.tr.Send([]*raftpb.Message{appMsgTo(1, 2, 1)})
	expectUnreachable(t, a.h, 2)
	// Traffic from 2 still flows on 2's stream but 1 discards it.
	if !b.tr.SendApp(1, 1, []byte("dropped")) {
		t.Fatal("SendApp 2->1: got false, want true")
	}
	b.tr.Send([]*raftpb.Message{appMsgTo(2, 1, 1), appMsgTo(2, 1, 2)})
	waitUntil(t, "1 discards what 2 sent", func() bool { return a.tr.discarded.Load() == 3 })

	a.tr.SetFault(2, Fault{})
	waitUntil(t, "1 sees 2 healthy", func() bool { return a.tr.Connected(2) })
	b.tr.Send([]*raftpb.Message{appMsgTo(2, 1, 3)})
	a.tr.Send([]*raftpb.Message{appMsgTo(1, 2, 4)})
	// The first message through is the one sent after healing: everything
	// before it was discarded, not delayed.
	if got := recvSteps(t, a.h, 1)[0].GetIndex(); got != 3 {
		t.Fatalf("1 got index %d first, want 3", got)
	}
	if got := recvSteps(t, b.h, 1)[0].GetIndex(); got != 4 {
		t.Fatalf("2 got index %d first, want 4", got)
	}
	select {
	case m := <-a.h.apps:
		t.Fatalf("got app %q from %d sent during Drop, want it discarded", m.payload, m.from)
	default:
	}
}

func TestFaultDelay(t *testing.T) {
	checkGoroutines(t)
	nodes := newCluster(t, 2)
	a, b := nodes[0], nodes[1]
	const delay = 300 * time.Millisecond
	a.tr.SetFault(2, Fault{Delay: delay})
	start := time.Now()
	for i := uint64(1); i <= 10; i++ {
		a.tr.Send([]*raftpb.Message{appMsgTo(1, 2, i)})
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Fatalf("Send under Delay took %v, want it not to block", took)
	}
	first := recvSteps(t, b.h, 1)[0]
	if took := time.Since(start); took < delay {
		t.Fatalf("first delayed message arrived after %v, want at least %v", took, delay)
	}
	msgs := append([]*raftpb.Message{first}, recvSteps(t, b.h, 9)...)
	for i, m := range msgs {
		if got, want := m.GetIndex(), uint64(i+1); got != want {
			t.Fatalf("delayed message %d: got index %d, want %d", i, got, want)
		}
	}
	// Healing releases what is still held at once rather than after Delay.
	a.tr.SetFault(2, Fault{Delay: time.Hour})
	a.tr.Send([]*raftpb.Message{appMsgTo(1, 2, 11)})
	a.tr.SetFault(2, Fault{})
	if got := recvSteps(t, b.h, 1)[0].GetIndex(); got != 11 {
		t.Fatalf("after healing got index %d, want 11", got)
	}
}

// TestQueueFullDrops: with the writer held back, a burst beyond the queue
// is dropped without blocking and raft hears the peer is unreachable.
func TestQueueFullDrops(t *testing.T) {
	checkGoroutines(t)
	nodes := newCluster(t, 2)
	a := nodes[0]
	a.tr.SetFault(2, Fault{Delay: time.Hour})
	msgs := make([]*raftpb.Message, 3*queueSize)
	for i := range msgs {
		msgs[i] = raftMsg(raftpb.MessageType_MsgHeartbeat, 1, 2, uint64(i))
	}
	start := time.Now()
	a.tr.Send(msgs)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Send of %d messages took %v, want it not to block", len(msgs), took)
	}
	expectUnreachable(t, a.h, 2)
	// Close must not wait for the hour of delay; checkGoroutines and the
	// deadline below check it stops.
	done := make(chan error, 1)
	go func() { done <- a.tr.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Close did not return with a delayed backlog")
	}
}

// TestCloseWhileBusy: Close returns and stops everything while handlers are
// blocked in Step and ReceiveSnapshot.
func TestCloseWhileBusy(t *testing.T) {
	checkGoroutines(t)
	lns := []net.Listener{listen(t), listen(t)}
	ms := membersOf(lns)
	inStep, inSnap := make(chan struct{}, 1), make(chan struct{}, 1)
	hb := newRecHandler()
	hb.stepHook = func(ctx context.Context, m *raftpb.Message) error {
		select {
		case inStep <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return ctx.Err()
	}
	hb.recvSnap = func(ctx context.Context, m *raftpb.Message, body io.Reader, size int64) error {
		inSnap <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
	a := startNode(t, 1, ms, lns[0], newRecHandler())
	b := startNode(t, 2, ms, lns[1], hb)
	waitUntil(t, "1 connects to 2", func() bool { return a.tr.Connected(2) })
	a.tr.Send([]*raftpb.Message{appMsgTo(1, 2, 1)})
	<-inStep
	a.tr.SendSnapshot(snapMsg(1, 2, 5), io.NopCloser(strings.NewReader("abc")), 3)
	<-inSnap

	for _, n := range []*node{b, a} {
		done := make(chan error, 1)
		go func() { done <- n.tr.Close() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Close: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Fatal("Close did not return while handlers were blocked")
		}
	}
}

func TestUseAfterClose(t *testing.T) {
	checkGoroutines(t)
	nodes := newCluster(t, 2)
	a := nodes[0]
	if err := a.tr.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := a.tr.Close(); err != nil {
		t.Fatalf("second Close: got %v, want nil", err)
	}
	a.tr.Start()
	a.tr.Send([]*raftpb.Message{appMsgTo(1, 2, 1)})
	if a.tr.SendApp(2, 1, nil) {
		t.Fatal("SendApp after Close: got true, want false")
	}
	if a.tr.Connected(2) {
		t.Fatal("Connected after Close: got true, want false")
	}
	body := &closeTracker{Reader: strings.NewReader("x")}
	a.tr.SendSnapshot(snapMsg(1, 2, 1), body, 1)
	if !body.closed {
		t.Fatal("SendSnapshot after Close: body not closed")
	}
	if c, err := net.Dial("tcp", a.tr.Addr().String()); err == nil {
		c.Close()
		t.Fatal("dial after Close: got a connection, want the listener closed")
	}
}

// TestSendUnknownPeer: messages for non-members are dropped and logged,
// never delivered anywhere.
func TestSendUnknownPeer(t *testing.T) {
	checkGoroutines(t)
	nodes := newCluster(t, 2)
	nodes[0].tr.Send([]*raftpb.Message{appMsgTo(1, 9, 1)})
	nodes[0].logs.wait(t, "not a member", "peer=9")
	if nodes[0].tr.SendApp(9, 1, nil) {
		t.Fatal("SendApp to a non-member: got true, want false")
	}
	nodes[0].tr.Send([]*raftpb.Message{snapMsg(1, 2, 3)})
	nodes[0].logs.wait(t, "MsgSnap passed to Send")
	if r := recvSnapReport(t, nodes[0].h); r != (snapReport{2, false}) {
		t.Fatalf("MsgSnap via Send: got report %+v, want {2 false}", r)
	}
	expectNoSteps(t, nodes[1].h)
}

package client

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/zkd-io/zkd/proto"
	"github.com/zkd-io/zkd/test/harness"
)

// These tests restart real server processes (test/harness) under a
// connected client: the session, its ephemerals and its watches must
// survive a SIGKILL and restart, and a change made while the client was
// away must reach each one-shot watch exactly once. Apache ZooKeeper runs
// the same scenario as the oracle, so the expectations below are what it
// does, not what seems reasonable.

// restartTimeout is the session timeout of the watching client: long
// enough that a JVM restart on a loaded machine does not expire it.
const restartTimeout = 10 * time.Second

// restartPlan says how one server, A, is taken down and brought back.
type restartPlan struct {
	addr     string // server A: the only server the watching client knows
	kill     func() // SIGKILL A
	restart  func() // start A again on the same port and data dir, ready to serve
	writer   string // where the second client writes; "" = A, after the restart
	caughtUp func() // waits until A has applied what the writer wrote (ensembles)
}

// TestRestartKeepsSessionAndWatches SIGKILLs a standalone server under a
// connected client, restarts it on the same port and data dir, changes
// watched nodes through a second client while the first one is still kept
// away, then lets the first client reconnect. It runs against zkd and
// against Apache ZooKeeper (skipped without it, failed with CI=true).
func TestRestartKeepsSessionAndWatches(t *testing.T) {
	for _, kind := range []string{harness.KindZkd, harness.KindZooKeeper} {
		t.Run(kind, func(t *testing.T) {
			s := harness.Start(t, kind)
			runRestart(t, restartPlan{
				addr:    s.Addr,
				kill:    s.Kill,
				restart: func() { s.Restart(t) },
			})
		})
	}
}

// TestEnsembleRestartKeepsSessionAndWatches does the same on a 3-server
// zkd ensemble, where the change is made through another server while A
// is down: A must catch up from the others after its restart, and the
// client, which knows only A, must resume its session and watches there.
// A is a follower in one case and the leader (so an election happens
// while it is down) in the other.
func TestEnsembleRestartKeepsSessionAndWatches(t *testing.T) {
	for _, role := range []string{"follower", "leader"} {
		t.Run(role, func(t *testing.T) {
			e := harness.ZkdEnsemble(t, 3)
			leader := e.Leader(t)
			a := leader
			if role == "follower" {
				a = e.Others(leader)[0]
			}
			b := e.Others(a)[0]
			runRestart(t, restartPlan{
				addr:    e.Servers[a].Addr,
				kill:    func() { e.Kill(a) },
				restart: func() { e.Restart(t, a) },
				writer:  e.Servers[b].Addr,
				caughtUp: func() {
					// sync on A returns once A has applied everything
					// committed before it, which includes the writes.
					probe := connect(t, e.Servers[a].Addr)
					defer probe.Close()
					ctx := ctxT(t, 20*time.Second)
					if err := probe.Sync(ctx, "/r"); err != nil {
						t.Fatalf("sync on restarted server: %v", err)
					}
					if st, err := probe.Exists(ctx, "/r/later"); err != nil || st == nil {
						t.Fatalf("restarted server after sync: /r/later got %+v %v, want it to exist", st, err)
					}
				},
			})
		})
	}
}

func runRestart(t *testing.T, plan restartPlan) {
	ctx := ctxT(t, 60*time.Second)
	d := &severable{}
	c := connect(t, plan.addr, WithDialer(d.dial), WithSessionTimeout(restartTimeout))
	waitState(t, c, StateSyncConnected, time.Second) // the first connection's event
	for _, p := range []string{"/r", "/r/data", "/r/kids", "/r/pers", "/r/quiet"} {
		if _, err := c.Create(ctx, p, nil, open, ModePersistent); err != nil {
			t.Fatalf("create %s: %v", p, err)
		}
	}
	if _, err := c.Create(ctx, "/r/eph", nil, open, ModeEphemeral); err != nil {
		t.Fatal(err)
	}
	_, _, dataCh, err1 := c.GetW(ctx, "/r/data")
	_, kidsCh, err2 := c.ChildrenW(ctx, "/r/kids")
	_, existCh, err3 := c.ExistsW(ctx, "/r/later")
	_, _, quietCh, err4 := c.GetW(ctx, "/r/quiet") // not changed while away
	persCh, err5 := c.AddWatch(ctx, "/r/pers", AddWatchPersistent)
	recCh, err6 := c.AddWatch(ctx, "/r", AddWatchPersistentRecursive)
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		t.Fatalf("setting watches: %v", err)
	}
	sid := c.SessionID()

	var w *Conn
	if plan.writer != "" {
		w = connect(t, plan.writer, WithSessionTimeout(restartTimeout))
	}
	// Keep the client away until the changes are made, so that they are
	// made while it is disconnected whatever the timing.
	d.setRefuse(true)
	plan.kill()
	if e, _ := nextEvent(t, c.Events(), 5*time.Second); e.State != StateDisconnected {
		t.Fatalf("session event after the kill: got %v, want Disconnected", e)
	}
	change := func() {
		writeRetrying(t, "set /r/data", func() error { _, err := w.Set(ctx, "/r/data", []byte("x"), -1); return err })
		writeRetrying(t, "create /r/kids/k", func() error { _, err := w.Create(ctx, "/r/kids/k", nil, open, ModePersistent); return err })
		writeRetrying(t, "create /r/later", func() error { _, err := w.Create(ctx, "/r/later", nil, open, ModePersistent); return err })
		writeRetrying(t, "set /r/pers", func() error { _, err := w.Set(ctx, "/r/pers", []byte("x"), -1); return err })
	}
	if w == nil {
		plan.restart()
		w = connect(t, plan.addr, WithSessionTimeout(restartTimeout))
		change()
	} else {
		change()
		plan.restart()
		plan.caughtUp()
	}
	d.setRefuse(false)
	if e, _ := nextEvent(t, c.Events(), 15*time.Second); e.State != StateSyncConnected {
		t.Fatalf("session event after the restart: got %v, want SyncConnected", e)
	}
	if got := c.SessionID(); got != sid {
		t.Fatalf("session after the restart: got %#x, want %#x", got, sid)
	}
	if st, err := w.Exists(ctx, "/r/eph"); err != nil || st == nil || st.EphemeralOwner != sid {
		t.Fatalf("ephemeral after the restart: got %+v %v, want owned by %#x", st, err, sid)
	}

	// Each one-shot watch whose node changed while the client was away
	// fires exactly once, on reconnection (SetWatches compares the zxids):
	// one event, then the channel is closed.
	for _, tc := range []struct {
		name string
		ch   <-chan Event
		want Event
	}{
		{"data", dataCh, ev(EventNodeDataChanged, "/r/data")},
		{"child", kidsCh, ev(EventNodeChildrenChanged, "/r/kids")},
		{"exist", existCh, ev(EventNodeCreated, "/r/later")},
	} {
		if e, _ := nextEvent(t, tc.ch, 5*time.Second); got(e) != tc.want {
			t.Errorf("%s watch after the restart: got %v, want %v", tc.name, e, tc.want)
		}
		if e, ok := nextEvent(t, tc.ch, time.Second); ok {
			t.Errorf("%s watch: got a second event %v, want the channel closed", tc.name, e)
		}
	}
	// A round trip: every event SetWatches produced was delivered before
	// its reply, hence before this one.
	if _, err := c.Exists(ctx, "/"); err != nil {
		t.Fatal(err)
	}

	// Changes made after the reconnection mark the end of the replay.
	if _, err := w.Create(ctx, "/r/pers/m", nil, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Set(ctx, "/r/quiet", []byte("x"), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Set(ctx, "/r/pers", []byte("y"), -1); err != nil {
		t.Fatal(err)
	}
	// The unchanged node's watch was restored, not fired.
	if e, _ := nextEvent(t, quietCh, 5*time.Second); got(e) != ev(EventNodeDataChanged, "/r/quiet") {
		t.Errorf("watch on the unchanged node: got %v, want NodeDataChanged /r/quiet after the reconnection", e)
	}
	// Persistent watches are restored, not replayed: ZooKeeper's
	// SetWatches re-adds them without comparing zxids, so the change to
	// /r/pers made while away is never reported. The recursive watch does
	// see the replayed one-shot events of nodes under it (the client files
	// every server event under the recursive watches of its ancestors, as
	// ZooKeeper's ZKWatchManager does), but never NodeChildrenChanged.
	if evs := readEvents(t, persCh, 2); !slices.Equal(evs, []Event{
		ev(EventNodeChildrenChanged, "/r/pers"),
		ev(EventNodeDataChanged, "/r/pers"),
	}) {
		t.Errorf("persistent watch on /r/pers: got %v, want only the two changes made after the reconnection", evs)
	}
	evs := readEvents(t, recCh, 5)
	replayed := slices.Clone(evs[:2])
	slices.SortFunc(replayed, func(a, b Event) int { return int(a.Type) - int(b.Type) })
	want := []Event{
		ev(EventNodeCreated, "/r/later"), // replay, order not specified
		ev(EventNodeDataChanged, "/r/data"),
		ev(EventNodeCreated, "/r/pers/m"), // after the reconnection
		ev(EventNodeDataChanged, "/r/quiet"),
		ev(EventNodeDataChanged, "/r/pers"),
	}
	if !slices.Equal(append(replayed, evs[2:]...), want) {
		t.Errorf("recursive watch on /r: got %v, want the replay of /r/data and /r/later (any order), then %v", evs, want[2:])
	}
	select {
	case e := <-c.Events():
		t.Errorf("session events: got %v after the reconnection, want none", e)
	default:
	}
}

// readEvents reads n events from a persistent watch, zxids stripped.
func readEvents(t *testing.T, ch <-chan Event, n int) []Event {
	t.Helper()
	var out []Event
	for range n {
		e, ok := nextEvent(t, ch, 5*time.Second)
		if !ok {
			t.Fatalf("watch channel closed after %v", out)
		}
		out = append(out, got(e))
	}
	return out
}

// writeRetrying runs a write until it succeeds, retrying through
// connection losses (an ensemble may be electing a leader) for at most 20
// seconds. A retried create that finds its node made by the lost attempt
// counts as done.
func writeRetrying(t *testing.T, what string, write func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for attempt := 0; ; attempt++ {
		err := write()
		if err == nil || (attempt > 0 && errors.Is(err, proto.ErrNodeExists)) {
			return
		}
		if !errors.Is(err, proto.ErrConnectionLoss) || time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

package client

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/zkd-io/zkd/proto"
	"github.com/zkd-io/zkd/test/harness"
)

// TestApacheZooKeeper runs the client's key behaviours against Debian's
// Apache ZooKeeper, the reference, and against zkd: the client must work
// with both. It skips (fails with CI=true) when ZooKeeper is not installed.
func TestApacheZooKeeper(t *testing.T) {
	t.Run("zkd", func(t *testing.T) {
		runScenario(t, startServer(t).Addr().String())
	})
	t.Run("zookeeper", func(t *testing.T) {
		zk := harness.ZooKeeper(t, harness.WithTickTime(200*time.Millisecond))
		runScenario(t, zk.Addr)
	})
}

func runScenario(t *testing.T, addr string) {
	ctx := bg(t)
	d := &severable{}
	c := connect(t, addr, WithDialer(d.dial), WithMaxBufferSize(8192))
	other := connect(t, addr)

	// Every create mode, under a chroot.
	if _, err := c.Create(ctx, "/app", nil, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	ch := connect(t, addr+"/app")
	for _, tc := range []struct {
		path, want string
		mode       CreateMode
	}{
		{"/p", "/p", ModePersistent},
		{"/e", "/e", ModeEphemeral},
		{"/s-", "/s-0000000002", ModePersistentSequential},
		{"/es-", "/es-0000000003", ModeEphemeralSequential},
		{"/c", "/c", ModeContainer},
	} {
		p, st, err := ch.Create2(ctx, tc.path, []byte("v"), open, tc.mode)
		if err != nil || p != tc.want || st.DataLength != 1 {
			t.Fatalf("Create2(%s, %v): got %q %+v %v, want %q", tc.path, tc.mode, p, st, err, tc.want)
		}
	}
	if p, _, err := ch.CreateTTL(ctx, "/ttl", nil, open, ModePersistentWithTTL, time.Hour); err != nil || p != "/ttl" {
		t.Fatalf("CreateTTL: got %q %v", p, err)
	}
	eph, err := ch.GetEphemerals(ctx, "/")
	slices.Sort(eph)
	if err != nil || !slices.Equal(eph, []string{"/e", "/es-0000000003"}) {
		t.Fatalf("GetEphemerals under chroot: got %q %v", eph, err)
	}
	if n, err := c.GetAllChildrenNumber(ctx, "/app"); err != nil || n != 6 {
		t.Fatalf("GetAllChildrenNumber: got %d %v, want 6", n, err)
	}
	// Error codes.
	_, err = ch.Create(ctx, "/p", nil, open, ModePersistent)
	wantCode(t, "create existing", err, proto.ErrNodeExists)
	_, err = ch.Create(ctx, "/e/x", nil, open, ModePersistent)
	wantCode(t, "create under ephemeral", err, proto.ErrNoChildrenForEphemerals)
	_, err = ch.Set(ctx, "/p", nil, 9)
	wantCode(t, "set bad version", err, proto.ErrBadVersion)
	wantCode(t, "delete missing", ch.Delete(ctx, "/nope", -1), proto.ErrNoNode)
	wantCode(t, "remove missing watch", ch.RemoveWatches(ctx, "/p", WatcherAny, false), proto.ErrNoWatcher)

	// Multi and MultiRead.
	res, err := ch.Multi(ctx, CreateOp("/m", nil, open, ModePersistent), SetDataOp("/p", []byte("w"), 0), CheckOp("/p", 1))
	if err != nil || len(res) != 3 || res[0].Path != "/m" {
		t.Fatalf("Multi: got %+v %v", res, err)
	}
	_, err = ch.Multi(ctx, CreateOp("/m2", nil, open, ModePersistent), CheckOp("/p", 0))
	wantCode(t, "failing Multi", err, proto.ErrBadVersion)
	res, err = ch.MultiRead(ctx, GetDataOp("/p"), GetChildrenOp("/nope"))
	if err != nil || string(res[0].Data) != "w" || !errors.Is(res[1].Err, proto.ErrNoNode) {
		t.Fatalf("MultiRead: got %+v %v", res, err)
	}

	// Auth and WhoAmI.
	if err := c.AddAuth(ctx, "digest", []byte("alice:pw")); err != nil {
		t.Fatal(err)
	}
	ids, err := c.WhoAmI(ctx)
	if err != nil || !slices.Contains(ids, proto.ClientInfo{AuthScheme: "digest", User: "alice"}) {
		t.Fatalf("WhoAmI: got %v %v", ids, err)
	}

	// Watches of every kind, restored across a reconnect.
	_, _, dataCh, _ := c.GetW(ctx, "/app/p")
	_, kidsCh, _ := c.ChildrenW(ctx, "/app")
	_, existCh, _ := c.ExistsW(ctx, "/app/later")
	// Not on /app: ZooKeeper 3.8 loses a session's child watch on a path
	// when the same session adds a recursive watch there (ZOOKEEPER-4466).
	recCh, err := c.AddWatch(ctx, "/app/p", AddWatchPersistentRecursive)
	if err != nil {
		t.Fatal(err)
	}
	sid := c.SessionID()
	d.sever()
	waitState(t, c, StateDisconnected, 5*time.Second)
	waitState(t, c, StateSyncConnected, 10*time.Second)
	if c.SessionID() != sid {
		t.Fatalf("session changed across reconnect")
	}
	if _, err := other.Set(ctx, "/app/p", []byte("x"), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Create(ctx, "/app/later", nil, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		ch   <-chan Event
		want Event
	}{
		"data":  {dataCh, ev(EventNodeDataChanged, "/app/p")},
		"child": {kidsCh, ev(EventNodeChildrenChanged, "/app")},
		"exist": {existCh, ev(EventNodeCreated, "/app/later")},
	} {
		if e, _ := nextEvent(t, tc.ch, 5*time.Second); got(e) != tc.want {
			t.Errorf("%s watch: got %v, want %v", name, e, tc.want)
		}
	}
	if _, err := other.Create(ctx, "/app/p/q", nil, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	for _, want := range []Event{ev(EventNodeDataChanged, "/app/p"), ev(EventNodeCreated, "/app/p/q")} {
		if e, _ := nextEvent(t, recCh, 5*time.Second); got(e) != want {
			t.Errorf("recursive watch: got %v, want %v", e, want)
		}
	}
	if err := c.RemoveWatches(ctx, "/app/p", WatcherAny, false); err != nil {
		t.Fatalf("RemoveWatches: %v", err)
	}
	if e, _ := nextEvent(t, recCh, 5*time.Second); got(e) != ev(EventPersistentWatchRemoved, "/app/p") {
		t.Errorf("removal: got %v, want PersistentWatchRemoved /app/p", e)
	}
	// Credentials were re-sent.
	if ids, _ := c.WhoAmI(ctx); !slices.Contains(ids, proto.ClientInfo{AuthScheme: "digest", User: "alice"}) {
		t.Errorf("WhoAmI after reconnect: got %v", ids)
	}

	// A reply over the maximum buffer fails alone.
	if _, err := other.Create(ctx, "/big", bytes.Repeat([]byte("b"), 20_000), open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Get(ctx, "/big"); !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("big reply: got %v, want ErrResponseTooLarge", err)
	}
	if _, err := c.Exists(ctx, "/big"); err != nil {
		t.Fatalf("after big reply: %v", err)
	}

	// Expiry: unreachable for longer than the session timeout.
	short := &severable{}
	e := connect(t, addr, WithDialer(short.dial), WithSessionTimeout(500*time.Millisecond))
	_, _, watch, _ := e.GetW(ctx, "/app/p")
	short.setRefuse(true)
	short.sever()
	waitState(t, e, StateDisconnected, 5*time.Second)
	time.Sleep(1500 * time.Millisecond)
	short.setRefuse(false)
	waitState(t, e, StateExpired, 10*time.Second)
	if ev, _ := nextEvent(t, watch, time.Second); ev.State != StateExpired {
		t.Errorf("watch at expiry: got %v, want Expired", ev)
	}
}

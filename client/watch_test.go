package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkd-io/zkd/proto"
)

// got strips the zxid so events compare with literals.
func got(ev Event) Event { ev.Zxid = 0; return ev }

func ev(t EventType, path string) Event {
	return Event{Type: t, State: StateSyncConnected, Path: path}
}

func TestOneShotWatches(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.Addr().String())
	other := connect(t, s.Addr().String())
	ctx := bg(t)
	if _, err := c.Create(ctx, "/w", []byte("1"), open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	_, _, dataCh, err := c.GetW(ctx, "/w")
	if err != nil {
		t.Fatal(err)
	}
	_, childCh, err := c.ChildrenW(ctx, "/w")
	if err != nil {
		t.Fatal(err)
	}
	_, _, child2Ch, err := c.Children2W(ctx, "/w")
	if err != nil {
		t.Fatal(err)
	}
	st, existCh, err := c.ExistsW(ctx, "/w/new")
	if err != nil || st != nil {
		t.Fatalf("ExistsW on a missing node: got %+v %v", st, err)
	}
	_, existDataCh, err := c.ExistsW(ctx, "/w")
	if err != nil {
		t.Fatal(err)
	}
	// A change by this session: the event must be in the channel before the
	// reply returns (ZooKeeper's ordering guarantee).
	if _, err := c.Set(ctx, "/w", []byte("2"), -1); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]<-chan Event{"GetW": dataCh, "ExistsW(existing)": existDataCh} {
		select {
		case e := <-ch:
			if got(e) != ev(EventNodeDataChanged, "/w") {
				t.Errorf("%s: got %v, want NodeDataChanged /w", name, e)
			}
		default:
			t.Fatalf("%s: no event when the Set that fired it returned", name)
		}
		if _, ok := <-ch; ok {
			t.Errorf("%s: channel not closed after its one event", name)
		}
	}
	// A change by another session.
	if _, err := other.Create(ctx, "/w/new", nil, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		ch   <-chan Event
		want Event
	}{
		"ExistsW(missing)": {existCh, ev(EventNodeCreated, "/w/new")},
		"ChildrenW":        {childCh, ev(EventNodeChildrenChanged, "/w")},
		"Children2W":       {child2Ch, ev(EventNodeChildrenChanged, "/w")},
	} {
		e, _ := nextEvent(t, tc.ch, 5*time.Second)
		if got(e) != tc.want {
			t.Errorf("%s: got %v, want %v", name, e, tc.want)
		}
	}
	// A watch fires once: the next change is not seen, and a node deletion
	// fires data and child watches.
	_, _, dataCh, _ = c.GetW(ctx, "/w/new")
	_, childCh, _ = c.ChildrenW(ctx, "/w/new")
	if err := other.Delete(ctx, "/w/new", -1); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []<-chan Event{dataCh, childCh} {
		if e, _ := nextEvent(t, ch, 5*time.Second); got(e) != ev(EventNodeDeleted, "/w/new") {
			t.Errorf("after delete: got %v, want NodeDeleted /w/new", e)
		}
	}
	// No watch is left by a failed read.
	if _, _, ch, err := c.GetW(ctx, "/missing"); !errors.Is(err, proto.ErrNoNode) || ch != nil {
		t.Errorf("GetW(missing): got %v %v, want NoNode and no channel", ch, err)
	}
}

func TestPersistentWatches(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.Addr().String())
	other := connect(t, s.Addr().String())
	ctx := bg(t)
	if _, err := c.Create(ctx, "/p", nil, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	pch, err := c.AddWatch(ctx, "/p", AddWatchPersistent)
	if err != nil {
		t.Fatal(err)
	}
	rch, err := c.AddWatch(ctx, "/p", AddWatchPersistentRecursive)
	if err != nil {
		t.Fatal(err)
	}
	// More events than the channel buffer, unread while they arrive: none
	// may be lost or reordered, and nothing may block.
	const n = 40
	for i := range n {
		if _, err := other.Set(ctx, "/p", []byte(fmt.Sprint(i)), -1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := other.Create(ctx, "/p/a", nil, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Create(ctx, "/p/a/b", nil, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	if err := other.Delete(ctx, "/p/a/b", -1); err != nil {
		t.Fatal(err)
	}
	var wantP, wantR []Event
	for range n {
		wantP = append(wantP, ev(EventNodeDataChanged, "/p"))
	}
	wantR = append(wantR, wantP...)
	wantP = append(wantP, ev(EventNodeChildrenChanged, "/p"))
	wantR = append(wantR, ev(EventNodeCreated, "/p/a"), ev(EventNodeCreated, "/p/a/b"), ev(EventNodeDeleted, "/p/a/b"))
	for name, tc := range map[string]struct {
		ch   <-chan Event
		want []Event
	}{"persistent": {pch, wantP}, "recursive": {rch, wantR}} {
		for i, w := range tc.want {
			e, _ := nextEvent(t, tc.ch, 5*time.Second)
			if got(e) != w {
				t.Fatalf("%s event %d: got %v, want %v", name, i, e, w)
			}
		}
	}
	// Removing the persistent watch ends only that channel.
	if err := c.RemoveWatches(ctx, "/p", WatcherPersistent, false); err != nil {
		t.Fatalf("RemoveWatches(persistent): %v", err)
	}
	if e, _ := nextEvent(t, pch, 5*time.Second); got(e) != ev(EventPersistentWatchRemoved, "/p") {
		t.Errorf("removal event: got %v, want PersistentWatchRemoved /p", e)
	}
	if _, ok := nextEvent(t, pch, 5*time.Second); ok {
		t.Errorf("persistent channel still open after removal")
	}
	if _, err := other.Set(ctx, "/p", nil, -1); err != nil {
		t.Fatal(err)
	}
	if e, _ := nextEvent(t, rch, 5*time.Second); got(e) != ev(EventNodeDataChanged, "/p") {
		t.Errorf("recursive after removing the persistent watch: got %v, want NodeDataChanged /p", e)
	}
	wantCode(t, "RemoveWatches again", c.RemoveWatches(ctx, "/p", WatcherPersistent, false), proto.ErrNoWatcher)
	if err := c.RemoveWatch(ctx, rch, false); err != nil {
		t.Fatalf("RemoveWatch(recursive): %v", err)
	}
	if e, _ := nextEvent(t, rch, 5*time.Second); got(e) != ev(EventPersistentWatchRemoved, "/p") {
		t.Errorf("removal event: got %v, want PersistentWatchRemoved /p", e)
	}
	wantCode(t, "RemoveWatch again", c.RemoveWatch(ctx, rch, false), proto.ErrNoWatcher)
}

func TestRemoveWatches(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.Addr().String())
	ctx := bg(t)
	if _, err := c.Create(ctx, "/r", nil, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	_, _, d1, _ := c.GetW(ctx, "/r")
	_, _, d2, _ := c.GetW(ctx, "/r")
	_, ex, _ := c.ExistsW(ctx, "/r")
	_, ch, _ := c.ChildrenW(ctx, "/r")
	// One of two data watchers: the server's watch stays (checkWatches).
	if err := c.RemoveWatch(ctx, d1, false); err != nil {
		t.Fatalf("RemoveWatch(d1): %v", err)
	}
	if e, _ := nextEvent(t, d1, 5*time.Second); got(e) != ev(EventDataWatchRemoved, "/r") {
		t.Errorf("d1: got %v, want DataWatchRemoved", e)
	}
	// Children only: data watches stay.
	if err := c.RemoveWatches(ctx, "/r", WatcherChildren, false); err != nil {
		t.Fatalf("RemoveWatches(children): %v", err)
	}
	if e, _ := nextEvent(t, ch, 5*time.Second); got(e) != ev(EventChildWatchRemoved, "/r") {
		t.Errorf("child: got %v, want ChildWatchRemoved", e)
	}
	if _, err := c.Set(ctx, "/r", []byte("x"), -1); err != nil {
		t.Fatal(err)
	}
	for _, w := range []<-chan Event{d2, ex} {
		if e, _ := nextEvent(t, w, 5*time.Second); got(e) != ev(EventNodeDataChanged, "/r") {
			t.Errorf("remaining data watch: got %v, want NodeDataChanged", e)
		}
	}
	// Local removal works with the server unable to help.
	_, _, d3, _ := c.GetW(ctx, "/r")
	if err := c.RemoveWatches(ctx, "/r", WatcherData, true); err != nil {
		t.Fatalf("local RemoveWatches: %v", err)
	}
	if e, _ := nextEvent(t, d3, 5*time.Second); e.Type != EventDataWatchRemoved {
		t.Errorf("d3: got %v, want DataWatchRemoved", e)
	}
}

func TestSetWatchesBatches(t *testing.T) {
	var lists [numKinds][]string
	long := "/" + strings.Repeat("x", 999)
	for k := range numKinds {
		for i := range 100 {
			lists[k] = append(lists[k], fmt.Sprintf("%s/%d/%d", long, k, i))
		}
	}
	reqs := setWatchesBatches(lists, 77, setWatchesMaxLength)
	// 500 paths of ~1005 bytes: about 131 KB per packet, so 4 packets.
	if len(reqs) != 4 {
		t.Fatalf("packets: got %d, want 4", len(reqs))
	}
	var all [numKinds][]string
	for i, r := range reqs {
		if len(r.frame) > setWatchesMaxLength+2*1024+64 {
			t.Errorf("packet %d: %d bytes, want about %d at most", i, len(r.frame), setWatchesMaxLength)
		}
		rd := newTestReader(r.frame[4+8:])
		switch r.op {
		case proto.OpSetWatches:
			var sw proto.SetWatches
			if err := sw.Decode(rd); err != nil || sw.RelativeZxid != 77 {
				t.Fatalf("packet %d: %v zxid %d", i, err, sw.RelativeZxid)
			}
			all[kindData] = append(all[kindData], sw.DataWatches...)
			all[kindExist] = append(all[kindExist], sw.ExistWatches...)
			all[kindChild] = append(all[kindChild], sw.ChildWatches...)
		case proto.OpSetWatches2:
			var sw proto.SetWatches2
			if err := sw.Decode(rd); err != nil || sw.RelativeZxid != 77 {
				t.Fatalf("packet %d: %v zxid %d", i, err, sw.RelativeZxid)
			}
			all[kindData] = append(all[kindData], sw.DataWatches...)
			all[kindExist] = append(all[kindExist], sw.ExistWatches...)
			all[kindChild] = append(all[kindChild], sw.ChildWatches...)
			all[kindPersistent] = append(all[kindPersistent], sw.PersistentWatches...)
			all[kindRecursive] = append(all[kindRecursive], sw.PersistentRecursiveWatches...)
		default:
			t.Fatalf("packet %d: op %v", i, r.op)
		}
	}
	// The first packets hold no persistent watches: old SetWatches, which
	// servers before 3.6 understand.
	if reqs[0].op != proto.OpSetWatches || reqs[3].op != proto.OpSetWatches2 {
		t.Errorf("ops: got %v ... %v, want setWatches first and setWatches2 last", reqs[0].op, reqs[3].op)
	}
	for k := range numKinds {
		if fmt.Sprint(all[k]) != fmt.Sprint(lists[k]) {
			t.Errorf("kind %d: paths lost or reordered", k)
		}
	}
	if got := setWatchesBatches([numKinds][]string{}, 1, setWatchesMaxLength); len(got) != 0 {
		t.Errorf("no watches: got %d packets, want 0", len(got))
	}
}

func TestDefaultWatcherSeesEachEventOnce(t *testing.T) {
	s := startServer(t)
	var mu sync.Mutex
	var seen []Event
	c := connect(t, s.Addr().String(), WithDefaultWatcher(func(e Event) {
		mu.Lock()
		seen = append(seen, got(e))
		mu.Unlock()
	}))
	other := connect(t, s.Addr().String())
	ctx := bg(t)
	if _, err := c.Create(ctx, "/d", nil, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	_, _, d1, _ := c.GetW(ctx, "/d")
	_, _, _, _ = c.GetW(ctx, "/d")
	_, _, _ = c.ExistsW(ctx, "/d")
	_, _, _ = c.ChildrenW(ctx, "/d")
	p, _ := c.AddWatch(ctx, "/d", AddWatchPersistent)
	if _, err := other.Set(ctx, "/d", []byte("x"), -1); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, d1, 5*time.Second)
	nextEvent(t, p, 5*time.Second)
	// An event nobody watches (the child watch fires on create below, the
	// data watch of /d is gone) is not reported twice.
	if _, err := c.Create(ctx, "/d/k", nil, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, p, 5*time.Second)
	_, _, _, _ = c.GetW(ctx, "/d")
	if err := c.RemoveWatches(ctx, "/d", WatcherAny, false); err != nil {
		t.Fatal(err)
	}
	c.Close()
	want := []Event{
		{Type: EventNone, State: StateSyncConnected},
		ev(EventNodeDataChanged, "/d"),
		ev(EventNodeChildrenChanged, "/d"),
		ev(EventPersistentWatchRemoved, "/d"),
		ev(EventDataWatchRemoved, "/d"),
		{Type: EventNone, State: StateClosed, Err: ErrClosed},
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("default watcher: got\n%v\nwant\n%v", seen, want)
	}
}

// TestAbandonedWatchIsDropped: a watch whose caller gave up (context
// ended before the reply) is not kept, so unread persistent watches cannot
// pile up.
func TestAbandonedWatchIsDropped(t *testing.T) {
	s := startServer(t)
	d := &severable{}
	c := connect(t, s.Addr().String(), WithDialer(d.dial))
	d.stallReads(true)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.AddWatch(ctx, "/", AddWatchPersistentRecursive); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AddWatch: got %v, want DeadlineExceeded", err)
	}
	d.stallReads(false)
	// The reply arrives now; the watch must not be filed.
	if err := c.Sync(bg(t), "/"); err != nil {
		t.Fatal(err)
	}
	c.watches.mu.Lock()
	n := len(c.watches.byKind[kindRecursive])
	c.watches.mu.Unlock()
	if n != 0 {
		t.Fatalf("recursive watches filed: got %d, want 0", n)
	}
}

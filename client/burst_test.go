package client

import (
	"fmt"
	"testing"
)

// A burst of events for a persistent watch (a server catching up after a
// partition applies many changes at once) must all be on the channel when
// the reply to a later read returns: ZooKeeper's "event before newer data"
// guarantee, observable without waiting.
func TestPersistentWatchBurstPrecedesLaterReply(t *testing.T) {
	const burst = 200
	addr := startServer(t).Addr().String()
	ctx := bg(t)
	writer := connect(t, addr)
	watcher := connect(t, addr)
	var ops []Op
	for i := range burst {
		p := fmt.Sprintf("/b%03d", i)
		if _, err := writer.Create(ctx, p, nil, open, ModePersistent); err != nil {
			t.Fatal(err)
		}
		ops = append(ops, SetDataOp(p, []byte("x"), -1))
	}
	ch, err := watcher.AddWatch(ctx, "/", AddWatchPersistentRecursive)
	if err != nil {
		t.Fatal(err)
	}
	// One multi: the server applies all the changes in one entry and sends
	// their events back to back.
	if _, err := writer.Multi(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	// The watcher syncs, then reads: the reply leaves the server after every
	// event of the multi.
	if err := watcher.Sync(ctx, "/"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := watcher.Get(ctx, "/b000"); err != nil {
		t.Fatal(err)
	}
	if got := len(ch); got != burst {
		t.Fatalf("events on the channel when the later read returned: got %d, want %d", got, burst)
	}
}

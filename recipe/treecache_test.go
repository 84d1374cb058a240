package recipe

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zkd-io/zkd/client"
)

// eventually polls cond for up to 5s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTreeCache(t *testing.T) {
	addr := startServer(t)
	ctx := bg(t)
	writer := connect(t, addr)
	for _, p := range []string{"/tc", "/tc/a", "/tc/a/x", "/tc/b"} {
		if _, err := writer.Create(ctx, p, []byte(p), open, client.ModePersistent); err != nil {
			t.Fatal(err)
		}
	}
	d := &cutter{}
	var mu sync.Mutex
	var events []TreeEvent
	tc := NewTreeCache(connect(t, addr, clientDialer(d)), "/tc", func(ev TreeEvent) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	})
	if err := tc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if tc.Len() != 4 {
		t.Fatalf("initial load: got %d nodes, want 4", tc.Len())
	}
	if n, ok := tc.Get("/tc/a/x"); !ok || string(n.Data) != "/tc/a/x" {
		t.Fatalf("Get(/tc/a/x): got %q %v", n.Data, ok)
	}
	if kids := tc.Children("/tc"); !slices.Equal(kids, []string{"a", "b"}) {
		t.Fatalf("Children(/tc): got %v, want [a b]", kids)
	}
	writer.Set(ctx, "/tc/b", []byte("new"), -1)
	writer.Create(ctx, "/tc/b/c", nil, open, client.ModePersistent)
	writer.Delete(ctx, "/tc/a/x", -1)
	eventually(t, "changes applied", func() bool {
		n, _ := tc.Get("/tc/b")
		_, added := tc.Get("/tc/b/c")
		_, still := tc.Get("/tc/a/x")
		return string(n.Data) == "new" && added && !still
	})
	mu.Lock()
	got := slices.Clone(events)
	mu.Unlock()
	want := []TreeEvent{{Type: NodeUpdated, Path: "/tc/b"}, {Type: NodeAdded, Path: "/tc/b/c"}, {Type: NodeRemoved, Path: "/tc/a/x"}}
	if len(got) != len(want) {
		t.Fatalf("events: got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].Type != want[i].Type || got[i].Path != want[i].Path {
			t.Errorf("event %d: got %v %s, want %v %s", i, got[i].Type, got[i].Path, want[i].Type, want[i].Path)
		}
	}
	// Changes made while the cache is disconnected are picked up by the
	// reload after it reconnects.
	d.cut(true)
	time.Sleep(50 * time.Millisecond)
	writer.Create(ctx, "/tc/offline", []byte("o"), open, client.ModePersistent)
	writer.Delete(ctx, "/tc/b/c", -1)
	d.allow()
	eventually(t, "offline changes after the reconnect", func() bool {
		_, added := tc.Get("/tc/offline")
		_, still := tc.Get("/tc/b/c")
		return added && !still
	})
	tc.Close()
	// After Close the cache no longer follows changes.
	writer.Create(ctx, "/tc/late", nil, open, client.ModePersistent)
	time.Sleep(100 * time.Millisecond)
	if _, ok := tc.Get("/tc/late"); ok {
		t.Error("cache changed after Close")
	}
}

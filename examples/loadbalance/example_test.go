package main

import (
	"context"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/internal/servertest"
)

const dir = "/lb/backends"

func connect(t *testing.T, ctx context.Context, addr string) *client.Conn {
	t.Helper()
	c, err := client.Connect(ctx, addr, client.WithSessionTimeout(4*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// counters reads every backend's published load.
func counters(t *testing.T, ctx context.Context, c *client.Conn) map[string]int64 {
	t.Helper()
	names, err := c.Children(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, n := range names {
		load, _, err := readLoad(ctx, c, dir+"/"+n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = load
	}
	return out
}

// picker makes n picks concurrently from clients sessions and returns
// the backends chosen.
func picker(t *testing.T, ctx context.Context, clients []*client.Conn, n int) []string {
	t.Helper()
	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			name, err := pick(ctx, clients[i%len(clients)], dir)
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			got = append(got, name)
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("pick: %v", err)
	}
	return got
}

func spread(m map[string]int64) int64 {
	v := slices.Collect(maps.Values(m))
	return slices.Max(v) - slices.Min(v)
}

func TestLeastLoadedWins(t *testing.T) {
	addr := servertest.Start(t).Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	admin := connect(t, ctx, addr)
	if _, err := pick(ctx, admin, dir); err != errNoBackends {
		t.Fatalf("pick with no backends: got %v, want errNoBackends", err)
	}
	backends := map[string]*client.Conn{}
	for _, name := range []string{"a", "b", "c"} {
		backends[name] = connect(t, ctx, addr)
		if _, err := announce(ctx, backends[name], dir, name); err != nil {
			t.Fatal(err)
		}
	}
	var clients []*client.Conn
	for range 6 {
		clients = append(clients, connect(t, ctx, addr))
	}
	held := map[string]int64{} // slots the test's clients hold, per backend
	take := func(names []string) {
		for _, n := range names {
			held[n]++
		}
	}
	check := func(step string, maxSpread int64) {
		t.Helper()
		got := counters(t, ctx, admin)
		for n, want := range held {
			if _, alive := backends[n]; alive && got[n] != want {
				t.Errorf("%s: backend %s's counter: got %d, want %d (the slots held on it)", step, n, got[n], want)
			}
		}
		if s := spread(got); s > maxSpread {
			t.Errorf("%s: loads %v: spread %d, want at most %d", step, got, s, maxSpread)
		}
	}

	// 30 concurrent picks over 3 backends: claims alone keep the loads
	// within one of each other, so each gets exactly 10.
	take(picker(t, ctx, clients, 30))
	check("30 picks", 0)

	// A new backend starts at 0: the next 10 picks all go to it.
	backends["d"] = connect(t, ctx, addr)
	if _, err := announce(ctx, backends["d"], dir, "d"); err != nil {
		t.Fatal(err)
	}
	got := picker(t, ctx, clients, 10)
	if n := strings.Count(strings.Join(got, ""), "d"); n != 10 {
		t.Errorf("picks after d joined: got %q, want all 10 on d", got)
	}
	take(got)
	check("d joined", 0)

	// b dies: its znode goes with its session; its 10 clients pick again
	// among the other three, which end within one of each other.
	backends["b"].Close()
	delete(backends, "b")
	delete(held, "b")
	take(picker(t, ctx, clients, 10))
	check("b died", 1)
	if _, ok := counters(t, ctx, admin)["b"]; ok {
		t.Error("b still listed after its session closed")
	}

	// Every slot on a is released: a is at 0, and the next picks fill it
	// up to the others' level before anyone else gets one.
	for range held["a"] {
		if err := release(ctx, clients[0], dir, "a"); err != nil {
			t.Fatal(err)
		}
	}
	held["a"] = 0
	check("a released", max(held["c"], held["d"]))
	level := min(held["c"], held["d"])
	got = picker(t, ctx, clients, int(level))
	if n := strings.Count(strings.Join(got, ""), "a"); int64(n) != level {
		t.Errorf("picks after a's slots were released: got %q, want all %d on a", got, level)
	}
	take(got)
	check("a refilled", 1)
}

func TestClientsAndServers(t *testing.T) {
	addr := servertest.Start(t).Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sctx, stopServers := context.WithCancel(ctx)
	var servers sync.WaitGroup
	for _, name := range []string{"s1", "s2"} {
		o := options{server: addr, dir: dir, name: name, session: 4 * time.Second}
		servers.Go(func() { runServer(sctx, o, discard{}) })
	}
	defer servers.Wait()
	defer stopServers()
	admin := connect(t, ctx, addr)
	announced := func() bool {
		names, _ := admin.Children(ctx, dir)
		return len(names) == 2
	}
	for deadline := time.Now().Add(5 * time.Second); !announced(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("backends not announced within 5s")
		}
	}

	var out strings.Builder
	cctx, stopClients := context.WithTimeout(ctx, 500*time.Millisecond)
	defer stopClients()
	o := options{server: addr, dir: dir, clients: 4, hold: 5 * time.Millisecond, session: 4 * time.Second}
	if err := runClients(cctx, o, &out); err != nil {
		t.Fatalf("runClients: %v", err)
	}
	picks := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^(\w+): picked (\d+) times$`).FindAllStringSubmatch(out.String(), -1) {
		picks[m[1]], _ = strconv.Atoi(m[2])
	}
	total := picks["s1"] + picks["s2"]
	if total < 10 || picks["s1"] < total/4 || picks["s2"] < total/4 {
		t.Errorf("picks in 500ms: got %v (output %q), want at least 10, each backend a quarter or more", picks, out.String())
	}
	// Every client released its last slot.
	if got := counters(t, ctx, admin); got["s1"] != 0 || got["s2"] != 0 {
		t.Errorf("loads after the clients stopped: got %v, want all 0", got)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

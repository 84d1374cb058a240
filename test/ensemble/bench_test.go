package ensemble_test

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zkd-io/zkd/test/harness"
)

// TestBenchWrites measures write throughput and latency on a 3-server
// ensemble of each kind (or, with ZKD_BENCH_SERVERS=1, a standalone
// server), alternating kinds for several rounds: sessions spread over all
// servers, each creating 1 KB znodes one at a time for a fixed duration.
// Both kinds fsync every write batch (ZooKeeper's forceSync default). It
// reports figures (t.Log) and asserts nothing about them; it runs only with
// ZKD_BENCH=1:
//
//	ZKD_BENCH=1 go test -count=1 -run TestBenchWrites -v ./test/ensemble/
//
// Knobs: ZKD_BENCH_SERVERS (3 or 1), ZKD_BENCH_SESSIONS (32),
// ZKD_BENCH_SECONDS per round (10), ZKD_BENCH_ROUNDS (3).
func TestBenchWrites(t *testing.T) {
	if os.Getenv("ZKD_BENCH") != "1" {
		t.Skip("benchmark; set ZKD_BENCH=1 to run")
	}
	servers := harness.EnvInt(t, "ZKD_BENCH_SERVERS", 3)
	sessions := harness.EnvInt(t, "ZKD_BENCH_SESSIONS", 32)
	dur := time.Duration(harness.EnvInt(t, "ZKD_BENCH_SECONDS", 10)) * time.Second
	rounds := harness.EnvInt(t, "ZKD_BENCH_ROUNDS", 3)
	kinds := []string{harness.KindZooKeeper, harness.KindZkd}
	addrs := map[string]func() []string{}
	for _, k := range kinds {
		// ZooKeeper's production snapCount for both.
		opt := harness.WithConfig("snapCount", "100000")
		switch servers {
		case 1:
			var s *harness.Server
			if k == harness.KindZkd {
				s = harness.Zkd(t, opt)
			} else {
				s = harness.ZooKeeper(t, opt)
			}
			addrs[k] = func() []string { return []string{s.Addr} }
		case 3:
			e := harness.StartEnsemble(t, k, 3, opt)
			addrs[k] = func() []string { e.WaitQuorum(t); return e.Addrs() }
		default:
			t.Fatalf("ZKD_BENCH_SERVERS=%d: want 1 or 3", servers)
		}
	}
	results := map[string][]benchResult{}
	for r := range rounds {
		for _, k := range kinds {
			many := runWriters(t, addrs[k](), fmt.Sprintf("/bench-%d-many", r), sessions, dur)
			one := runWriters(t, addrs[k](), fmt.Sprintf("/bench-%d-one", r), 1, dur/2)
			t.Logf("round %d %s: %d sessions %.0f creates/s p50 %v p99 %v; 1 session %.0f creates/s p50 %v p99 %v",
				r+1, k, sessions, many.rate, many.p50, many.p99, one.rate, one.p50, one.p99)
			results[k] = append(results[k], many, one)
		}
	}
	median := func(k string, pick func(benchResult) float64, off int) float64 {
		var v []float64
		for i := off; i < len(results[k]); i += 2 {
			v = append(v, pick(results[k][i]))
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	rate := func(b benchResult) float64 { return b.rate }
	p50 := func(b benchResult) float64 { return float64(b.p50) / float64(time.Millisecond) }
	p99 := func(b benchResult) float64 { return float64(b.p99) / float64(time.Millisecond) }
	zk, zd := harness.KindZooKeeper, harness.KindZkd
	t.Logf("BENCH %d server(s), medians of %d rounds: | workload | ZooKeeper | zkd | zkd / ZooKeeper |", servers, rounds)
	t.Logf("BENCH | %d sessions, create 1 KB, ops/s | %.0f | %.0f | %.2f |", sessions, median(zk, rate, 0), median(zd, rate, 0), median(zd, rate, 0)/median(zk, rate, 0))
	t.Logf("BENCH | %d sessions, p50 ms | %.2f | %.2f | %.2f |", sessions, median(zk, p50, 0), median(zd, p50, 0), median(zd, p50, 0)/median(zk, p50, 0))
	t.Logf("BENCH | %d sessions, p99 ms | %.2f | %.2f | %.2f |", sessions, median(zk, p99, 0), median(zd, p99, 0), median(zd, p99, 0)/median(zk, p99, 0))
	t.Logf("BENCH | 1 session, ops/s | %.0f | %.0f | %.2f |", median(zk, rate, 1), median(zd, rate, 1), median(zd, rate, 1)/median(zk, rate, 1))
	t.Logf("BENCH | 1 session, p50 ms | %.2f | %.2f | %.2f |", median(zk, p50, 1), median(zd, p50, 1), median(zd, p50, 1)/median(zk, p50, 1))
}

type benchResult struct {
	rate     float64 // acknowledged creates per second
	p50, p99 time.Duration
}

// runWriters runs n sessions, spread round-robin over the servers, each
// creating 1 KB znodes under parent one at a time until dur has passed.
func runWriters(t *testing.T, addrs []string, parent string, n int, dur time.Duration) benchResult {
	t.Helper()
	setup := dial(t, addrs...)
	ensureNode(t, setup, parent)
	data := make([]byte, 1024)
	var mu sync.Mutex
	var lats []time.Duration
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := time.Now()
	for i := range n {
		c := dial(t, addrs[i%len(addrs)])
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for k := 0; time.Since(start) < dur; k++ {
				s := time.Now()
				if _, err := c.Create(fmt.Sprintf("%s/s%03d-%07d", parent, i, k), data, 0, openACL); err != nil {
					errs <- err
					return
				}
				mine = append(mine, time.Since(s))
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
			c.Close()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		t.Fatalf("a writer failed: %v", err)
	default:
	}
	if len(lats) == 0 {
		t.Fatal("no write completed")
	}
	slices.Sort(lats)
	return benchResult{
		rate: float64(len(lats)) / elapsed.Seconds(),
		p50:  lats[len(lats)/2],
		p99:  lats[len(lats)*99/100],
	}
}

package load

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeServer is a workload without a server: each operation takes
// service time, one at a time, like a server that handles one request at
// once. It notes the start time each operation was given.
type fakeServer struct {
	service time.Duration
	mu      sync.Mutex
	starts  []time.Time
}

func (f *fakeServer) kinds() []kind                        { return []kind{{"op", 1}} }
func (f *fakeServer) sessions() bool                       { return false }
func (f *fakeServer) setup(context.Context, *runner) error { return nil }
func (f *fakeServer) teardown()                            {}
func (f *fakeServer) leftovers() []string                  { return nil }
func (f *fakeServer) op(ctx context.Context, s *slot, start time.Time) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, start)
	time.Sleep(f.service)
	return 0, nil
}

// driveFake runs the runner's phases over a fake workload.
func driveFake(t *testing.T, cfg Config, f *fakeServer) *Result {
	t.Helper()
	cfg.Servers = "127.0.0.1:1" // never dialled
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	r := &runner{cfg: cfg, halted: make(chan struct{}), wl: f, kinds: f.kinds()}
	r.drive(context.Background())
	return r.result()
}

func TestOpenLoopCountsLatencyFromScheduledTime(t *testing.T) {
	// 1000 ops/s scheduled against a server that needs 5 ms each: the
	// queue grows by 4 ms per operation, and the k-th operation's latency
	// is about 4k+5 ms. Timed from the actual send it would stay near
	// 5 ms: that is coordinated omission.
	const n = 50
	f := &fakeServer{service: 5 * time.Millisecond}
	cfg := DefaultConfig()
	cfg.Sessions, cfg.Outstanding, cfg.Rate, cfg.Ops, cfg.Warmup, cfg.Duration = 1, 1, 1000, n, 0, 0
	res := driveFake(t, cfg, f)
	if res.Ops != n {
		t.Fatalf("ops = %d, want %d", res.Ops, n)
	}
	if got, want := res.Latency.Max, 150*time.Millisecond; got < want {
		t.Errorf("max latency = %v, want ≥ %v (latency must include the time queued behind a slow server)", got, want)
	}
	if got, want := res.Latency.Min, f.service; got < want {
		t.Errorf("min latency = %v, want ≥ the service time %v", got, want)
	}
	// The starts handed to op are the timetable, 1 ms apart, however late
	// each was actually sent.
	for k := 1; k < len(f.starts); k++ {
		if got := f.starts[k].Sub(f.starts[k-1]); got != time.Millisecond {
			t.Fatalf("start %d - start %d = %v, want exactly 1ms (the schedule, not the send time)", k, k-1, got)
		}
	}
}

func TestOpenLoopKeepsRateWhenServerKeepsUp(t *testing.T) {
	f := &fakeServer{}
	cfg := DefaultConfig()
	cfg.Sessions, cfg.Outstanding, cfg.Rate, cfg.Ops, cfg.Warmup, cfg.Duration = 2, 1, 200, 40, 0, 0
	start := time.Now()
	res := driveFake(t, cfg, f)
	took := time.Since(start)
	if res.Ops != 40 {
		t.Fatalf("ops = %d, want 40", res.Ops)
	}
	// 40 operations at 200/s take 195 ms of schedule.
	if took < 190*time.Millisecond || took > 2*time.Second {
		t.Errorf("run took %v, want about 195ms (40 ops at 200/s)", took)
	}
	if got, limit := res.Latency.P50, 20*time.Millisecond; got > limit {
		t.Errorf("p50 = %v with an idle server, want ≤ %v", got, limit)
	}
	if res.Writes != 40 {
		t.Errorf("writes = %d, want 40 (one per op of a kind with one write)", res.Writes)
	}
}

func TestClosedLoopLatencyIsServiceTime(t *testing.T) {
	// The same slow server, closed loop: each request waits only for its
	// own service, and the count bound is exact.
	f := &fakeServer{service: 5 * time.Millisecond}
	cfg := DefaultConfig()
	cfg.Sessions, cfg.Outstanding, cfg.Ops, cfg.Warmup, cfg.Duration = 1, 1, 20, 0, 0
	res := driveFake(t, cfg, f)
	if res.Ops != 20 {
		t.Fatalf("ops = %d, want 20", res.Ops)
	}
	if got, limit := res.Latency.P50, 30*time.Millisecond; got > limit {
		t.Errorf("closed-loop p50 = %v, want near the 5ms service time (≤ %v)", got, limit)
	}
}

func TestWarmupIsNotMeasured(t *testing.T) {
	f := &fakeServer{service: time.Millisecond}
	cfg := DefaultConfig()
	cfg.Sessions, cfg.Outstanding, cfg.Warmup, cfg.Duration = 1, 1, 100*time.Millisecond, 100*time.Millisecond
	res := driveFake(t, cfg, f)
	f.mu.Lock()
	total := len(f.starts)
	f.mu.Unlock()
	// About half the operations ran in the warm-up.
	if res.Ops == 0 || res.Ops >= int64(total)*3/4 {
		t.Errorf("measured %d of %d operations, want about half (the warm-up's must not count)", res.Ops, total)
	}
	if res.Elapsed < 90*time.Millisecond || res.Elapsed > time.Second {
		t.Errorf("elapsed = %v, want about the 100ms duration", res.Elapsed)
	}
}

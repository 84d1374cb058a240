package gctune

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 100},
		{8 << 20, 100},  // small heap: Go's default
		{16 << 20, 100}, // headroom 16 MiB = live
		{32 << 20, 50},  // 16 MiB of 32
		{64 << 20, 25},
		{128 << 20, 12}, // an eighth from here on
		{256 << 20, 12},
		{1 << 30, 12},
		{8 << 30, 12},
	} {
		if got := Percent(c.live); got != c.want {
			t.Errorf("Percent(%d MiB) = %d, want %d", c.live>>20, got, c.want)
		}
	}
}

// startRun starts Run with GOGC unset, for the rest of the test, and puts
// the GC percent back afterwards.
func startRun(t *testing.T) {
	t.Helper()
	t.Setenv("GOGC", "") // restored after the test; unset below
	os.Unsetenv("GOGC")
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if !Run(ctx) {
		t.Fatal("Run inactive without GOGC")
	}
}

// live320 returns 320 MiB of touched, pointer-free (so cheap to keep
// live) memory.
func live320() []byte {
	live := make([]byte, 320<<20)
	for i := range live {
		live[i] = byte(i)
	}
	return live
}

// waitPercent calls each until the GC percent is want, for at most 10s.
func waitPercent(t *testing.T, want int, each func(), what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		each()
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		if p == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GC percent %d after 10s %s; want %d", p, what, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRunFollowsLiveHeap(t *testing.T) {
	live := live320()
	runtime.GC()
	startRun(t)
	waitPercent(t, 12, func() {}, "with 320 MiB live")
	runtime.KeepAlive(live)
}

// The percent follows each collection, not only the ticker: with the
// ticker out of the way, a collection alone must bring it down.
func TestRunAdjustsAfterEachCollection(t *testing.T) {
	defer func(d time.Duration) { interval = d }(interval)
	interval = time.Hour
	startRun(t)
	live := live320()
	waitPercent(t, 12, runtime.GC, "of collections with 320 MiB live and no ticker")
	runtime.KeepAlive(live)
}

// observeStep is one call of observe: the runtime's figures, and the GC
// percent and settle it must return.
type observeStep struct {
	live, cycles uint64
	alloc        uint64 // MiB allocated since the step before
	free         uint64 // MiB free and not returned
	tick         bool
	want         int
	settle       bool
}

func runObserve(t *testing.T, p *pacer, steps []observeStep) {
	t.Helper()
	const mib = 1 << 20
	var allocs uint64
	for i, c := range steps {
		allocs += c.alloc * mib
		got, settle := p.observe(heapStats{live: c.live, cycles: c.cycles, allocs: allocs, free: c.free * mib}, c.tick)
		if got != c.want || settle != c.settle {
			t.Fatalf("step %d (live %d MiB, cycle %d, tick %v): percent %d, settle %v; want %d, %v",
				i, c.live/mib, c.cycles, c.tick, got, settle, c.want, c.settle)
		}
		p.current = got
	}
}

func TestObserveLetsABuildingHeapDoubleThenSettles(t *testing.T) {
	const mib = 1 << 20
	runObserve(t, &pacer{current: 100, live: 2 * mib, cycles: 1}, []observeStep{
		{4 * mib, 2, 2, 0, false, 100, false},     // all of it kept: building
		{100 * mib, 3, 96, 0, false, 100, false},  // still building, far past 16 MiB
		{100 * mib, 3, 50, 0, true, 100, false},   // a tick between collections, still allocating
		{200 * mib, 4, 50, 0, false, 100, false},  // kept 100 of 100 allowed
		{200 * mib, 4, 1, 0, true, 100, false},    // a tick: 51 MiB allocated since the last, not quiet
		{200 * mib, 4, 1, 0, true, 100, true},     // a quiet tick with no collection since: settle
		{201 * mib, 5, 0, 0, false, 12, false},    // the settling collection: kept 1 of 200
		{201 * mib, 5, 0, 0, true, 12, false},     // idle ticks change nothing
		{205 * mib, 6, 30, 0, false, 12, false},   // steady writes keep little: an eighth
		{300 * mib, 7, 100, 0, false, 100, false}, // kept 95 of 25 allowed: building again
		{310 * mib, 8, 300, 0, false, 12, false},  // kept 10 of 300
		{320 * mib, 9, 37, 0, false, 12, false},   // kept 10 of 37: under half
		{320 * mib, 9, 20, 0, true, 12, false},    // a busy tick: no settle yet
		{320 * mib, 10, 17, 0, false, 12, false},  // nothing kept
		{300 * mib, 11, 40, 0, false, 12, false},  // shrinking
		{300 * mib, 11, 0, 0, true, 12, false},    // a tick: 57 MiB allocated since the last
		{300 * mib, 11, 0, 0, true, 12, true},     // a quiet tick: built since the last settle (at 300 MiB)
		{300 * mib, 11, 0, 0, true, 12, false},    // once
	})
}

func TestObserveSettlesAnIdleServerWithGarbageLeft(t *testing.T) {
	const mib = 1 << 20
	runObserve(t, &pacer{current: 12, live: 200 * mib, cycles: 1}, []observeStep{
		{202 * mib, 2, 25, 0, false, 12, false}, // steady writes: kept 2 of 25, not building
		{202 * mib, 2, 20, 0, true, 12, false},  // busy ticks
		{202 * mib, 2, 2, 0, true, 12, false},   // light load: not idle
		{202 * mib, 2, 0, 0, true, 12, false},   // idle, once
		{202 * mib, 2, 0, 0, true, 12, true},    // idle twice, 22 MiB since the collection: settle
		{200 * mib, 3, 0, 0, false, 12, false},  // the settling collection
		{200 * mib, 3, 0, 0, true, 12, false},   // idle, nothing left to free
		{200 * mib, 3, 0, 0, true, 12, false},
		{200 * mib, 3, 0, 0, true, 12, false},
		{200 * mib, 3, 5, 0, true, 12, false}, // a little work: 5 MiB since the collection
		{200 * mib, 3, 0, 0, true, 12, false},
		{200 * mib, 3, 0, 0, true, 12, false},   // idle twice, but under idleGarbage since the collection
		{200 * mib, 4, 0, 20, false, 12, false}, // a collection at the end of a load, its garbage freed
		{200 * mib, 4, 0, 20, true, 12, false},
		{200 * mib, 4, 0, 20, true, 12, true},  // idle twice, 20 MiB free but kept: settle
		{200 * mib, 5, 0, 0, false, 12, false}, // the settling collection
		{200 * mib, 5, 0, 9, true, 12, false},  // free again (a scavenger that cannot return it)
		{200 * mib, 5, 0, 9, true, 12, false},  // but this idle spell was settled already
		{200 * mib, 5, 0, 9, true, 12, false},
		{200 * mib, 5, 3, 9, true, 12, false}, // work starts a new spell
		{200 * mib, 5, 0, 9, true, 12, false},
		{200 * mib, 5, 0, 9, true, 12, true}, // idle twice with 12 MiB left: settle
	})
}

func TestRunDefersToGOGC(t *testing.T) {
	t.Setenv("GOGC", "200")
	if Run(context.Background()) {
		t.Fatal("Run active although GOGC is set")
	}
}

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

func TestRunFollowsLiveHeap(t *testing.T) {
	t.Setenv("GOGC", "") // restored after the test; unset below
	os.Unsetenv("GOGC")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	live := make([]byte, 320<<20) // noscan, so cheap to keep live
	for i := range live {
		live[i] = byte(i)
	}
	runtime.GC()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if !Run(ctx) {
		t.Fatal("Run inactive without GOGC")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		if p == 12 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GC percent %d with 320 MiB live; want 12", p)
		}
		time.Sleep(100 * time.Millisecond)
	}
	runtime.KeepAlive(live)
}

// The percent follows each collection, not only the ticker: with the
// ticker out of the way, a collection alone must bring it down.
func TestRunAdjustsAfterEachCollection(t *testing.T) {
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer func(d time.Duration) { interval = d }(interval)
	interval = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if !Run(ctx) {
		t.Fatal("Run inactive without GOGC")
	}
	live := make([]byte, 320<<20)
	for i := range live {
		live[i] = byte(i)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		if p == 12 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GC percent %d 10s after collections with 320 MiB live and no ticker; want 12", p)
		}
		time.Sleep(50 * time.Millisecond)
	}
	runtime.KeepAlive(live)
}

func TestRunDefersToGOGC(t *testing.T) {
	t.Setenv("GOGC", "200")
	if Run(context.Background()) {
		t.Fatal("Run active although GOGC is set")
	}
}

// Package gctune owns the process's garbage-collector pacing. Go's default
// (GOGC=100) lets the heap grow to twice its live size before collecting,
// which for a server holding millions of znodes doubles its resident
// memory. gctune keeps the headroom at an eighth of the live heap instead,
// but never under 16 MiB, so small servers collect as rarely as before and
// large ones carry 12.5% rather than 100% on top of their data. A tree's
// records hold no pointers, so a collection of a large heap marks them
// without scanning them, and collecting more often costs little.
//
// It only adjusts the collector's target through runtime/debug; it never
// forces a collection, and it does nothing when the operator set GOGC.
package gctune

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

const (
	// MinHeadroom is the least heap growth allowed between collections.
	MinHeadroom = 16 << 20
	// HeadroomShare is the growth allowed, as a share of the live heap,
	// when that is more than MinHeadroom.
	HeadroomShare = 0.125
	// interval is how often the live heap is read; the collector's own
	// cycles are seconds apart on a large heap, so this is fine enough.
	interval = time.Second
)

// minPercent is HeadroomShare as a GOGC value, rounded down.
const minPercent = 12

// Percent is the GOGC value that leaves max(MinHeadroom, live ×
// HeadroomShare) of growth above a live heap of live bytes, never above
// Go's default of 100.
func Percent(live uint64) int {
	if live == 0 {
		return 100
	}
	headroom := max(float64(MinHeadroom), float64(live)*HeadroomShare)
	p := int(headroom * 100 / float64(live))
	return min(max(p, minPercent), 100)
}

// Run adjusts the collector's target to the live heap until ctx ends. It
// returns at once, doing nothing, if the GOGC environment variable is set.
// It reports whether it is active.
func Run(ctx context.Context) bool {
	if _, set := os.LookupEnv("GOGC"); set {
		return false
	}
	go func() {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		current := 100
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() != metrics.KindUint64 {
				return // metric unsupported: keep Go's default
			}
			if p := Percent(sample[0].Value.Uint64()); p != current {
				debug.SetGCPercent(p)
				current = p
			}
		}
	}()
	return true
}

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
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

const (
	// MinHeadroom is the least heap growth allowed between collections.
	MinHeadroom = 16 << 20
	// HeadroomShare is the growth allowed, as a share of the live heap,
	// when that is more than MinHeadroom.
	HeadroomShare = 0.125
)

// interval is how often the live heap is read besides after each
// collection (a variable for tests).
var interval = time.Second

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
//
// It adjusts after every collection, so a heap that grows fast (a restart
// restoring millions of znodes in a second) is paced as it grows, and also
// once per interval, in case the runtime runs an end-of-cycle cleanup late.
func Run(ctx context.Context) bool {
	if _, set := os.LookupEnv("GOGC"); set {
		return false
	}
	p := &pacer{current: 100, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	p.everyCycle(ctx)
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				p.adjust()
			}
		}
	}()
	return true
}

type pacer struct {
	mu      sync.Mutex
	current int
	sample  []metrics.Sample
}

// adjust sets the GC percent for the live heap the last collection found.
func (p *pacer) adjust() {
	p.mu.Lock()
	defer p.mu.Unlock()
	metrics.Read(p.sample)
	if p.sample[0].Value.Kind() != metrics.KindUint64 {
		return // metric unsupported: keep Go's default
	}
	if pc := Percent(p.sample[0].Value.Uint64()); pc != p.current {
		debug.SetGCPercent(pc)
		p.current = pc
	}
}

// sentinel is an object nothing refers to, whose cleanup therefore runs
// after the collection that finds it. It holds a pointer so that it is not
// allocated in a batch with other small objects, which would delay it.
type sentinel struct {
	_ *byte
	_ [8]byte
}

// everyCycle calls adjust after each collection until ctx ends.
func (p *pacer) everyCycle(ctx context.Context) {
	runtime.AddCleanup(new(sentinel), func(struct{}) {
		if ctx.Err() == nil {
			p.adjust()
			p.everyCycle(ctx)
		}
	}, struct{}{})
}

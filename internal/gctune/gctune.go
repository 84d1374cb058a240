// Package gctune owns the process's garbage-collector pacing. Go's default
// (GOGC=100) lets the heap grow to twice its live size before collecting,
// which for a server holding millions of znodes doubles its resident
// memory. gctune keeps the headroom at an eighth of the live heap instead,
// but never under 16 MiB, so small servers collect as rarely as before and
// large ones carry 12.5% rather than 100% on top of their data. A tree's
// records hold no pointers, so a collection of a large heap marks them
// without scanning them, and collecting more often costs little.
//
// While the heap is being filled (most of what is allocated stays live, as
// when a restart restores its tree) it keeps Go's default, and once that
// stops it collects once and hands the free pages back to the system, as
// it does when a server goes idle with garbage left from its load. It
// otherwise only adjusts the collector's target through runtime/debug, and
// it does nothing when the operator set GOGC.
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
// It adjusts after every collection, so a heap that grows fast is paced as
// it grows, and also once per interval, in case the runtime runs an
// end-of-cycle cleanup late.
func Run(ctx context.Context) bool {
	if _, set := os.LookupEnv("GOGC"); set {
		return false
	}
	p := &pacer{current: 100, sample: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/allocs:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}}
	p.read() // the cycles so far are history
	p.everyCycle(ctx)
	every := interval // read here: tests restore it while the goroutine runs
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				p.adjust(true)
			}
		}
	}()
	return true
}

type pacer struct {
	mu         sync.Mutex
	current    int              // the GC percent set
	sample     []metrics.Sample // live heap, completed collections, bytes allocated, free heap
	live       uint64           // live heap at the last collection seen
	cycles     uint64           // collections seen
	tickAllocs uint64           // bytes allocated in all, at the last tick
	// building says the last collection found most of what was allocated
	// since the one before still live: the heap is being filled (a
	// restart restoring its tree), and collecting it often would only mark
	// the same growing data again and again.
	building bool
	// built says the heap was being built since the last settle.
	built bool
	// cycleAllocs is the bytes allocated in all when the last collection
	// was seen; what was allocated since is mostly garbage still resident.
	cycleAllocs uint64
	// idleTicks counts the ticks in a row, since the last collection,
	// that allocated under idleAllocs.
	idleTicks int
	// idleSettled says this idle spell was settled already.
	idleSettled bool
}

// heapStats is what the pacer reads from the runtime.
type heapStats struct {
	live   uint64 // live heap at the last collection
	cycles uint64 // collections completed
	allocs uint64 // bytes allocated since the process started
	free   uint64 // heap bytes free but not yet returned to the system
}

// quietAllocs is the most a tick interval may allocate for the heap to
// count as no longer growing.
const quietAllocs = 4 << 20

// A server idle for idleTicksToSettle ticks in a row (each allocating under
// idleAllocs), with at least idleGarbage resident and unused (allocated
// since the last collection, or freed and not yet returned), collects and
// returns the free pages too, once per idle spell: otherwise what its load
// left (up to a headroom, 12.5% of the live heap, plus what the runtime's
// scavenger keeps) stays resident for as long as the server stays idle,
// since nothing allocates enough to start another collection.
const (
	idleAllocs        = 1 << 20
	idleTicksToSettle = 2
	idleGarbage       = MinHeadroom / 2
)

// read returns the runtime's figures, and false if it does not report them.
// Until a collection has been seen, it also makes them the baseline that
// observe compares the next ones with.
func (p *pacer) read() (heapStats, bool) {
	metrics.Read(p.sample)
	for _, s := range p.sample {
		if s.Value.Kind() != metrics.KindUint64 {
			return heapStats{}, false
		}
	}
	st := heapStats{p.sample[0].Value.Uint64(), p.sample[1].Value.Uint64(), p.sample[2].Value.Uint64(), p.sample[3].Value.Uint64()}
	if p.cycles == 0 {
		p.live, p.cycles, p.tickAllocs, p.cycleAllocs = st.live, st.cycles, st.allocs, st.allocs
	}
	return st, true
}

// observe takes the runtime's figures, after a collection or at a tick, and
// returns the GC percent to set. settle says a heap that was built since
// the last settle has stopped growing (a tick saw no collection since the
// last one, and little allocated), so one more collection and the return
// of its free pages to the system are due: building lets the heap double,
// and nothing else would shrink it while the server is idle. settle also
// says so once the server is idle (see idleAllocs) with garbage left from
// before.
func (p *pacer) observe(st heapStats, tick bool) (percent int, settle bool) {
	quiet := false
	if tick {
		quiet = st.allocs-p.tickAllocs < quietAllocs
		if st.allocs-p.tickAllocs < idleAllocs {
			p.idleTicks++
		} else {
			p.idleTicks, p.idleSettled = 0, false
		}
		p.tickAllocs = st.allocs
	}
	if st.cycles == p.cycles {
		switch {
		case !tick:
			return p.current, false
		case p.built && quiet:
			p.building, p.built = false, false
			return p.current, true
		case p.building:
			return p.current, false
		case p.idleTicks >= idleTicksToSettle && !p.idleSettled && st.allocs-p.cycleAllocs+st.free >= idleGarbage:
			p.idleSettled = true
			return p.current, true
		}
		return Percent(p.live), false
	}
	p.cycleAllocs, p.idleTicks = st.allocs, 0
	allowed := max(p.live*uint64(p.current)/100, 1) // growth the last collection allowed
	p.building = st.live > p.live && 2*(st.live-p.live) > allowed
	p.live, p.cycles = st.live, st.cycles
	if p.building {
		p.built = true
		return 100, false
	}
	return Percent(st.live), false
}

// adjust sets the GC percent for the live heap the last collection found.
func (p *pacer) adjust(tick bool) {
	p.mu.Lock()
	st, ok := p.read()
	if !ok {
		p.mu.Unlock()
		return // metrics unsupported: keep Go's default
	}
	pc, settle := p.observe(st, tick)
	if pc != p.current {
		debug.SetGCPercent(pc)
		p.current = pc
	}
	p.mu.Unlock()
	if settle {
		debug.FreeOSMemory() // its collection calls adjust again
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
			p.adjust(false)
			p.everyCycle(ctx)
		}
	}, struct{}{})
}

package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

const (
	// connectTimeout bounds establishing each session.
	connectTimeout = 30 * time.Second
	// errorBackoff paces a closed-loop slot whose requests fail at once
	// (say, while its session reconnects), so it does not spin.
	errorBackoff = 10 * time.Millisecond
	// interruptGrace is how long requests in flight may finish after ctx
	// ends before they are abandoned.
	interruptGrace = 5 * time.Second
	// cleanupTimeout bounds deleting the run's znodes.
	cleanupTimeout = 10 * time.Minute
)

// errExhausted ends a run whose workload has nothing left to do (delete
// ran out of znodes).
var errExhausted = errors.New("nothing left to operate on")

// workload is what differs between workloads; the runner does the rest.
type workload interface {
	// kinds lists the classes of operations op reports.
	kinds() []kind
	// sessions reports whether the slots need long-lived sessions.
	sessions() bool
	// setup creates what the workload needs under the prefix.
	setup(ctx context.Context, r *runner) error
	// op performs one operation on the slot. start is when it was meant
	// to begin (open loop) or began (closed loop). It returns the kind to
	// record op's latency under, or recorded when op recorded its own
	// samples; an error is counted instead of a latency.
	op(ctx context.Context, s *slot, start time.Time) (int, error)
	// teardown stops whatever setup started.
	teardown()
	// leftovers lists the znodes under the prefix the run may have left,
	// children before their parents; cleanup deletes them.
	leftovers() []string
}

// recorded is op's answer when it recorded its samples itself.
const recorded = -1

// slot is one stream of operations: a goroutine issuing one request at a
// time on a session that other slots may share.
type slot struct {
	id       int
	conn     *client.Conn
	rng      *rand.Rand
	seq      int64 // operations this slot started
	rec      *recorder
	measured bool // the current operation counts in the result
}

// sample records a latency of the current operation.
func (s *slot) sample(k int, d time.Duration, done time.Time) {
	s.rec.sample(k, d, done, s.measured)
}

func (s *slot) addWrites(n int64) {
	if s.measured && n > 0 {
		s.rec.addWrites(n)
	}
}

// runner owns one run: sessions, slots, phases and the result.
type runner struct {
	cfg   Config
	wl    workload
	kinds []kind
	admin *client.Conn   // setup and cleanup
	conns []*client.Conn // the slots' sessions
	value []byte
	slots []*slot

	began, measureAt, stopAt time.Time
	claimed                  atomic.Int64 // measured operations admitted (Ops bound)
	sent                     atomic.Int64 // open loop: operations handed to a slot
	haltOnce                 sync.Once
	halted                   chan struct{}
	haltWhy                  atomic.Value // string
}

// Run runs one benchmark: it connects, creates the prefix and what the
// workload needs, runs the warm-up and the measured phase, deletes what it
// created (unless Keep) and returns the measured result. When ctx ends the
// run stops issuing requests, gives those in flight a few seconds, cleans
// up and returns what was measured. Errors of individual operations are
// counted in the result, not returned.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, halted: make(chan struct{}), value: make([]byte, cfg.ValueSize)}
	for i := range r.value {
		r.value[i] = byte('a' + i%26)
	}
	r.wl = newWorkload(r)
	r.kinds = r.wl.kinds()
	return r.run(ctx)
}

func (r *runner) connect(ctx context.Context) (*client.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	opts := append([]client.Option{client.WithSessionTimeout(r.cfg.SessionTimeout)}, r.cfg.ClientOptions...)
	return client.Connect(ctx, r.cfg.Servers, opts...)
}

func (r *runner) run(ctx context.Context) (res *Result, err error) {
	r.admin, err = r.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer r.admin.Close()
	defer func() {
		for _, c := range r.conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	if _, err := r.admin.Create(ctx, r.cfg.Prefix, nil, proto.OpenACLUnsafe, client.ModePersistent); err != nil {
		if errors.Is(err, proto.ErrNodeExists) {
			return nil, fmt.Errorf("prefix %s exists: pick another -prefix or delete it", r.cfg.Prefix)
		}
		return nil, fmt.Errorf("create prefix: %w", err)
	}
	// Cleanup runs before the sessions close: it deletes through them.
	defer func() {
		cerr := r.cleanup(ctx)
		switch {
		case cerr == nil:
		case err == nil:
			res.Notes = append(res.Notes, "cleanup: "+cerr.Error())
		default:
			err = fmt.Errorf("%w (and cleanup: %v)", err, cerr)
		}
	}()
	if r.wl.sessions() {
		if err := r.openSessions(ctx); err != nil {
			return nil, err
		}
	}
	err = r.wl.setup(ctx, r)
	if err == nil {
		r.drive(ctx)
	}
	r.wl.teardown()
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	return r.result(), nil
}

// openSessions connects the slots' sessions, a few at a time.
func (r *runner) openSessions(ctx context.Context) error {
	r.conns = make([]*client.Conn, r.cfg.Sessions)
	return parallel(ctx, r.cfg.Sessions, 16, func(ctx context.Context, _, i int) error {
		c, err := r.connect(ctx)
		if err != nil {
			return fmt.Errorf("session %d: %w", i, err)
		}
		r.conns[i] = c
		return nil
	})
}

// halt stops issuing operations; the first reason given is kept.
func (r *runner) halt(why string) {
	r.haltOnce.Do(func() {
		r.haltWhy.Store(why)
		close(r.halted)
	})
}

func (r *runner) isHalted() bool {
	select {
	case <-r.halted:
		return true
	default:
		return false
	}
}

// admit decides whether an operation meant to start at t runs, and whether
// it is measured.
func (r *runner) admit(t time.Time) (measured, ok bool) {
	if r.isHalted() {
		return false, false
	}
	if t.Before(r.measureAt) {
		return false, true
	}
	if !r.stopAt.IsZero() && !t.Before(r.stopAt) {
		r.halt("")
		return false, false
	}
	if r.cfg.Ops > 0 && r.claimed.Add(1) > r.cfg.Ops {
		r.halt("")
		return false, false
	}
	return true, true
}

// drive runs the warm-up and measured phases on every slot and returns
// once every slot has stopped.
func (r *runner) drive(ctx context.Context) {
	n := r.cfg.slots()
	r.slots = make([]*slot, n)
	recs := make([]*recorder, n)
	seed := uint64(time.Now().UnixNano())
	for i := range r.slots {
		s := &slot{id: i, rng: rand.New(rand.NewPCG(seed, uint64(i))), rec: newRecorder(len(r.kinds))}
		if len(r.conns) > 0 {
			s.conn = r.conns[i%len(r.conns)]
		}
		r.slots[i], recs[i] = s, s.rec
	}
	// Requests get their own context: ending ctx stops new requests at
	// once but lets those in flight finish for a moment.
	opCtx, cancelOps := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelOps()
	done := make(chan struct{}) // closed when every slot has stopped
	var bg sync.WaitGroup       // the helpers below; waited for before returning
	defer bg.Wait()
	defer close(done)

	r.began = time.Now()
	r.measureAt = r.began.Add(r.cfg.Warmup)
	if r.cfg.Duration > 0 {
		r.stopAt = r.measureAt.Add(r.cfg.Duration)
	}
	hard := time.AfterFunc(r.cfg.Timeout, func() {
		r.halt("timeout")
		cancelOps()
	})
	defer hard.Stop()
	bg.Add(1)
	go func() {
		defer bg.Done()
		select {
		case <-ctx.Done():
			r.halt("interrupted")
			select {
			case <-time.After(interruptGrace):
				cancelOps()
			case <-done:
			}
		case <-done:
		}
	}()
	// MeasureStart runs when the measured phase begins, unless the run
	// stopped before; MeasureEnd then runs after the last operation.
	measuring := make(chan struct{})
	startDone := make(chan struct{})
	go func() {
		defer close(startDone)
		t := time.NewTimer(r.cfg.Warmup)
		defer t.Stop()
		select {
		case <-t.C:
			if r.cfg.MeasureStart != nil {
				r.cfg.MeasureStart()
			}
			close(measuring)
		case <-r.halted:
		}
	}()
	if r.cfg.Progress != nil {
		bg.Add(1)
		go func() {
			defer bg.Done()
			progress(done, r.cfg.Progress, r.cfg.ProgressInterval, r.cfg.Workload, r.began, r.measureAt, recs)
		}()
	}

	var wg sync.WaitGroup
	if r.cfg.Rate > 0 {
		tickets := make(chan ticket, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.schedule(tickets)
		}()
		for _, s := range r.slots {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for t := range tickets {
					r.exec(opCtx, s, t.at, t.measured, false)
				}
			}()
		}
	} else {
		for _, s := range r.slots {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					start := time.Now()
					measured, ok := r.admit(start)
					if !ok {
						return
					}
					r.exec(opCtx, s, start, measured, true)
				}
			}()
		}
	}
	wg.Wait()
	r.halt("")
	<-startDone
	select {
	case <-measuring:
		if r.cfg.MeasureEnd != nil {
			r.cfg.MeasureEnd()
		}
	default:
	}
}

// ticket is one open-loop operation: when it was meant to start.
type ticket struct {
	at       time.Time
	measured bool
}

// schedule hands out open-loop tickets at Rate per second, on the fixed
// timetable began + k/Rate, until the run stops. A ticket whose time has
// passed is handed out at once and its latency still counts from its
// scheduled time, so a server that falls behind is charged for the queue
// it caused; the channel's small buffer keeps that queue's memory bounded.
func (r *runner) schedule(out chan<- ticket) {
	defer close(out)
	interval := float64(time.Second) / r.cfg.Rate
	var sleep *time.Timer
	for k := int64(0); ; k++ {
		at := r.began.Add(time.Duration(float64(k) * interval))
		measured, ok := r.admit(at)
		if !ok {
			return
		}
		if wait := time.Until(at); wait > 0 {
			if sleep == nil {
				sleep = time.NewTimer(wait)
			} else {
				sleep.Reset(wait)
			}
			select {
			case <-sleep.C:
			case <-r.halted:
				return
			}
		}
		select {
		case out <- ticket{at, measured}:
			r.sent.Add(1)
		case <-r.halted:
			return
		}
	}
}

// exec runs one operation and records its outcome.
func (r *runner) exec(ctx context.Context, s *slot, start time.Time, measured, backoff bool) {
	s.measured = measured
	k, err := r.wl.op(ctx, s, start)
	s.seq++
	done := time.Now()
	if errors.Is(err, errExhausted) {
		r.halt(fmt.Sprintf("the %s workload used up its %d znodes", r.cfg.Workload, r.cfg.Keys))
		return
	}
	if err != nil {
		s.rec.fail(err, done, measured)
		if backoff {
			select {
			case <-time.After(errorBackoff):
			case <-ctx.Done():
			}
		}
		return
	}
	if k >= 0 {
		s.sample(k, done.Sub(start), done)
		s.addWrites(r.kinds[k].writes)
	}
}

// parallel calls fn(ctx, worker, i) for i in [0, n) on up to width
// goroutines and returns the first error, after which no new call starts.
func parallel(ctx context.Context, n, width int, fn func(ctx context.Context, worker, i int) error) error {
	if n == 0 {
		return nil
	}
	width = max(1, min(width, n))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < width; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, w, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil && int(next.Load()) < n {
		return ctx.Err()
	}
	return first
}

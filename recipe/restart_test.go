package recipe

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
	"github.com/zkd-io/zkd/test/harness"
)

// These tests run recipes under contention from several sessions while the
// server process is SIGKILLed and restarted in the middle (test/harness),
// and check the recipes' stated guarantees across the crash.

const (
	killSessions   = 3
	killGoroutines = 8 // per session
	// killSessionTimeout outlives a restart on a loaded machine, so that
	// the sessions (and the lock nodes they own) survive it.
	killSessionTimeout = 10 * time.Second
	// killRunTime bounds each worker; killAttemptTime bounds one call.
	killRunTime     = 20 * time.Second
	killAttemptTime = 8 * time.Second
)

// retryable reports whether err is one a caller of a recipe is expected to
// handle by retrying: the connection was lost, or its own per-call
// deadline passed while the server was down.
func retryable(err error) bool {
	return errors.Is(err, proto.ErrConnectionLoss) || errors.Is(err, context.DeadlineExceeded)
}

// killRun is the shared frame of both tests: killSessions sessions on one
// zkd process, killGoroutines workers per session, and a SIGKILL plus
// restart in the middle, when a worker asks for it (requestKill).
type killRun struct {
	t     *testing.T
	srv   *harness.Server
	conns []*client.Conn

	acked   atomic.Int64 // acknowledged units of work, all workers
	retried atomic.Int64 // clean errors the workers retried after

	killOnce sync.Once
	killReq  chan struct{} // closed by requestKill
	killed   chan struct{} // closed once the server process is dead

	mu   sync.Mutex
	errs []error // unexpected errors and unfinished workers
}

func newKillRun(t *testing.T) *killRun {
	r := &killRun{t: t, srv: harness.Zkd(t), killReq: make(chan struct{}), killed: make(chan struct{})}
	for range killSessions {
		r.conns = append(r.conns, connect(t, r.srv.Addr, client.WithSessionTimeout(killSessionTimeout)))
	}
	return r
}

func (r *killRun) fail(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

func (r *killRun) failures() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

// requestKill asks for the SIGKILL; later calls do nothing.
func (r *killRun) requestKill() { r.killOnce.Do(func() { close(r.killReq) }) }

// run starts work(conn, id, deadline) on every worker, SIGKILLs the server
// when a worker calls requestKill, restarts it on the same port and data
// dir, and waits for the workers. It fails the test on any error a worker
// reported.
func (r *killRun) run(want int64, work func(c *client.Conn, id int, deadline time.Time)) {
	t := r.t
	start := time.Now()
	deadline := start.Add(killRunTime)
	var wg sync.WaitGroup
	for s, c := range r.conns {
		for g := range killGoroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				work(c, s*killGoroutines+g, deadline)
			}()
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	select {
	case <-r.killReq:
	case <-done:
		t.Fatalf("workers finished without asking for the kill (%d of %d units acknowledged): %v", r.acked.Load(), want, r.failures())
	case <-time.After(killRunTime):
		close(r.killed) // release a worker that might wait for it
		<-done
		t.Fatalf("no kill asked for within %v (%d of %d units acknowledged): %v", killRunTime, r.acked.Load(), want, r.failures())
	}
	r.srv.Kill()
	close(r.killed)
	t.Logf("SIGKILL after %v with %d of %d units acknowledged", time.Since(start).Round(time.Millisecond), r.acked.Load(), want)
	r.srv.Restart(t)
	t.Logf("restarted after %v", time.Since(start).Round(time.Millisecond))
	select {
	case <-done:
	case <-time.After(killRunTime + 2*killAttemptTime):
		// Workers stop at their deadline; this only guards a hang.
		t.Fatal("workers did not stop")
	}
	t.Logf("finished after %v: %d units acknowledged, %d clean errors retried", time.Since(start).Round(time.Millisecond), r.acked.Load(), r.retried.Load())
	for _, err := range r.failures() {
		t.Error(err)
	}
}

// pause waits until c is connected again after a retryable error (bounded
// by deadline), so a worker does not spin while the server is down.
func pause(c *client.Conn, deadline time.Time) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	c.WaitConnected(ctx)
	time.Sleep(10 * time.Millisecond)
}

// TestLockAcrossServerKill contends on one Lock with 3 sessions x 8
// goroutines, each with its own Lock value, while the server is SIGKILLed
// and restarted halfway. Inside its critical section a holder reads a
// shared counter, pauses and writes it back plus one, so any overlap loses
// an update. A holder counts as inside until it returns or Lost fires (the
// contract: a holder whose connection dropped must stop using the lock);
// one that learns of the loss before its write abandons the round, unlocks
// and tries again. The kill is made from inside a critical section (the
// holder that reaches half of the rounds asks for it and waits for it), so
// that a holder always spans the crash and must be told by Lost.
//
// Invariants: at most one holder inside at any time; the holder spanning
// the kill sees Lost; every goroutine finishes its rounds, seeing only
// clean (retryable) errors; the counter equals the number of acknowledged
// critical sections; no lock node is left behind.
func TestLockAcrossServerKill(t *testing.T) {
	const rounds = 4
	r := newKillRun(t)
	var inside, maxInside atomic.Int32
	var counter atomic.Int64
	var lostRounds atomic.Int64
	var killer atomic.Bool
	want := int64(killSessions * killGoroutines * rounds)
	r.run(want, func(c *client.Conn, id int, deadline time.Time) {
		l := NewLock(c, "/lock", nil)
		for done := 0; done < rounds; {
			if time.Now().After(deadline) {
				r.fail(fmt.Errorf("worker %d: finished %d of %d rounds within %v", id, done, rounds, killRunTime))
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), killAttemptTime)
			err := l.Lock(ctx)
			cancel()
			if err != nil {
				if !retryable(err) {
					r.fail(fmt.Errorf("worker %d: Lock: got %v, want success or a retryable error", id, err))
					return
				}
				r.retried.Add(1)
				pause(c, deadline)
				continue
			}
			lost := l.Lost()
			n := inside.Add(1)
			for m := maxInside.Load(); n > m && !maxInside.CompareAndSwap(m, n); m = maxInside.Load() {
			}
			v := counter.Load()
			abandoned := false
			if r.acked.Load() >= want/2 && killer.CompareAndSwap(false, true) {
				r.requestKill()
				select {
				case <-r.killed:
				case <-time.After(killAttemptTime):
					r.fail(fmt.Errorf("worker %d: server not killed within %v of asking", id, killAttemptTime))
				}
				// The connection died under this holder: Lost must say so
				// before it may write.
				select {
				case <-lost:
				case <-time.After(5 * time.Second):
					r.fail(fmt.Errorf("worker %d: holder at the SIGKILL: Lost not closed within 5s", id))
				}
			}
			select {
			case <-lost:
				abandoned = true
			case <-time.After(2 * time.Millisecond):
			}
			if !abandoned {
				counter.Store(v + 1)
				r.acked.Add(1)
				done++
			} else {
				lostRounds.Add(1)
			}
			inside.Add(-1)
			// Unlock retries through connection losses: it must succeed,
			// or the node would block everybody until the session ends.
			ctx, cancel = context.WithTimeout(context.Background(), 2*killAttemptTime)
			err = l.Unlock(ctx)
			cancel()
			if err != nil {
				r.fail(fmt.Errorf("worker %d: Unlock: %v", id, err))
				return
			}
		}
	})
	t.Logf("%d rounds abandoned on Lost", lostRounds.Load())
	if got := lostRounds.Load(); got < 1 {
		t.Errorf("rounds abandoned on Lost: got %d, want at least 1 (the holder at the kill)", got)
	}
	if got := maxInside.Load(); got != 1 {
		t.Errorf("holders inside the critical section at once: got at most %d, want 1", got)
	}
	if got, acked := counter.Load(), r.acked.Load(); got != acked {
		t.Errorf("counter: got %d, want %d (acknowledged critical sections): updates were lost to overlapping holders", got, acked)
	}
	if got := r.acked.Load(); got != want {
		t.Errorf("acknowledged critical sections: got %d, want %d", got, want)
	}
	// Nothing is left behind: every contender deleted its node.
	if kids, err := r.conns[0].Children(bg(t), "/lock"); err != nil || len(kids) != 0 {
		t.Errorf("lock nodes after the run: got %q %v, want none", kids, err)
	}
}

// TestCounterAcrossServerKill adds to one Counter from 3 sessions x 8
// goroutines while the server is SIGKILLed and restarted once half of the
// Adds are acknowledged, with many Adds in flight. An Add that returned
// without error was applied exactly once; one that failed with a retryable
// error may or may not have been. So the final value lies between the
// acknowledged Adds and that plus the failed ones.
func TestCounterAcrossServerKill(t *testing.T) {
	const adds = 4 // acknowledged Adds per goroutine
	r := newKillRun(t)
	if ok, err := NewCounter(r.conns[0], "/counter", nil).CompareAndSet(bg(t), -1, 0); err != nil || !ok {
		t.Fatalf("creating the counter: got %v %v, want true", ok, err)
	}
	var unknown atomic.Int64
	want := int64(killSessions * killGoroutines * adds)
	r.run(want, func(c *client.Conn, id int, deadline time.Time) {
		k := NewCounter(c, "/counter", nil)
		for done, attempts := 0, 0; done < adds; attempts++ {
			if time.Now().After(deadline) || attempts > 10*adds {
				r.fail(fmt.Errorf("worker %d: %d of %d Adds acknowledged in %d attempts", id, done, adds, attempts))
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), killAttemptTime)
			_, err := k.Add(ctx, 1)
			cancel()
			if err != nil {
				if !retryable(err) {
					r.fail(fmt.Errorf("worker %d: Add: got %v, want success or a retryable error", id, err))
					return
				}
				unknown.Add(1)
				r.retried.Add(1)
				pause(c, deadline)
				continue
			}
			if r.acked.Add(1) >= want/2 {
				r.requestKill()
			}
			done++
		}
	})
	got, _, err := NewCounter(r.conns[0], "/counter", nil).Get(bg(t))
	if err != nil {
		t.Fatal(err)
	}
	acked, maybe := r.acked.Load(), unknown.Load()
	t.Logf("counter %d: %d Adds acknowledged, %d with unknown outcome", got, acked, maybe)
	if got < acked || got > acked+maybe {
		t.Errorf("counter: got %d, want between %d (acknowledged Adds) and %d (plus Adds of unknown outcome)", got, acked, acked+maybe)
	}
	if acked != want {
		t.Errorf("acknowledged Adds: got %d, want %d", acked, want)
	}
}

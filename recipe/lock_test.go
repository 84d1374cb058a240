package recipe

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLockMutualExclusion(t *testing.T) {
	addr := startServer(t)
	const workers, rounds = 4, 5
	var inside, maxInside, total atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		c := connect(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := bg(t)
			l := NewLock(c, "/locks/m", open)
			for range rounds {
				if err := l.Lock(ctx); err != nil {
					errs <- fmt.Errorf("worker %d: %w", w, err)
					return
				}
				n := inside.Add(1)
				if n > maxInside.Load() {
					maxInside.Store(n)
				}
				time.Sleep(time.Millisecond)
				total.Add(1)
				inside.Add(-1)
				if err := l.Unlock(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := maxInside.Load(); got != 1 {
		t.Errorf("holders at once: got %d, want 1", got)
	}
	if got := total.Load(); got != workers*rounds {
		t.Errorf("critical sections: got %d, want %d", got, workers*rounds)
	}
}

func TestLockIsFair(t *testing.T) {
	addr := startServer(t)
	c := connect(t, addr)
	ctx := bg(t)
	first := NewLock(c, "/locks/f", open)
	if err := first.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	// Three waiters queue up in a known order.
	order := make(chan int, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		l := NewLock(c, "/locks/f", open)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Lock(ctx); err != nil {
				t.Error(err)
				return
			}
			order <- i
			l.Unlock(ctx)
		}()
		// Wait until the waiter's node exists before starting the next.
		deadline := time.Now().Add(5 * time.Second)
		for {
			kids, _ := c.Children(ctx, "/locks/f")
			if len(kids) == i+2 || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if err := first.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(order)
	want := 0
	for got := range order {
		if got != want {
			t.Fatalf("lock order: got waiter %d, want %d", got, want)
		}
		want++
	}
}

func TestTryLockAndReentrancy(t *testing.T) {
	addr := startServer(t)
	c := connect(t, addr)
	ctx := bg(t)
	a, b := NewLock(c, "/locks/t", open), NewLock(c, "/locks/t", open)
	if ok, err := a.TryLock(ctx); !ok || err != nil {
		t.Fatalf("TryLock on a free lock: got %v %v, want true", ok, err)
	}
	if a.Node() == "" || a.Lost() == nil {
		t.Errorf("held lock: Node %q, Lost %v", a.Node(), a.Lost())
	}
	if ok, err := b.TryLock(ctx); ok || err != nil {
		t.Fatalf("TryLock on a held lock: got %v %v, want false", ok, err)
	}
	if kids, _ := c.Children(ctx, "/locks/t"); len(kids) != 1 {
		t.Errorf("a failed TryLock left its node: %v", kids)
	}
	if err := a.Lock(ctx); !errors.Is(err, ErrHeld) {
		t.Errorf("relock: got %v, want ErrHeld", err)
	}
	if err := a.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Unlock(ctx); !errors.Is(err, ErrNotHeld) {
		t.Errorf("double unlock: got %v, want ErrNotHeld", err)
	}
	// A waiter that gives up removes its node: later contenders are not
	// blocked by it.
	if err := a.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := b.Lock(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock with a short deadline: got %v, want DeadlineExceeded", err)
	}
	a.Unlock(ctx)
	if ok, err := NewLock(c, "/locks/t", open).TryLock(ctx); !ok || err != nil {
		t.Fatalf("TryLock after the waiter gave up: got %v %v, want true", ok, err)
	}
}

func TestLockLostOnSessionLoss(t *testing.T) {
	addr := startServer(t)
	d := &cutter{}
	holder := connect(t, addr, clientDialer(d), shortSession())
	other := connect(t, addr)
	ctx := bg(t)
	l := NewLock(holder, "/locks/s", open)
	if err := l.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- NewLock(other, "/locks/s", open).Lock(ctx) }()
	d.cut(true)
	if !closedWithin(l.Lost(), 5*time.Second) {
		t.Fatal("Lost not closed after the connection was cut")
	}
	// The holder's session expires on the server: the waiter gets the lock.
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("waiter: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waiter did not get the lock after the holder's session expired")
	}
	d.allow()
}

func TestRWLock(t *testing.T) {
	addr := startServer(t)
	c := connect(t, addr)
	ctx := bg(t)
	rw := NewRWLock(c, "/locks/rw", open)
	r1, r2 := rw.ReadLock(), rw.ReadLock()
	if err := r1.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := r2.TryLock(ctx); !ok || err != nil {
		t.Fatalf("second reader: got %v %v, want shared access", ok, err)
	}
	w := rw.WriteLock()
	if ok, _ := w.TryLock(ctx); ok {
		t.Fatal("writer got the lock while readers hold it")
	}
	wrote := make(chan error, 1)
	go func() { wrote <- w.Lock(ctx) }()
	time.Sleep(50 * time.Millisecond)
	// A reader arriving after the waiting writer waits for it.
	if ok, _ := rw.ReadLock().TryLock(ctx); ok {
		t.Fatal("late reader overtook the waiting writer")
	}
	r1.Unlock(ctx)
	if closedWithin(wrote, 100*time.Millisecond) {
		t.Fatal("writer got the lock while a reader still holds it")
	}
	r2.Unlock(ctx)
	if err := <-wrote; err != nil {
		t.Fatalf("writer: %v", err)
	}
	w.Unlock(ctx)
}

func TestSemaphore(t *testing.T) {
	addr := startServer(t)
	c := connect(t, addr)
	ctx := bg(t)
	s := NewSemaphore(c, "/sem", 2, open)
	l1, err := s.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := s.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	third := make(chan *Lease, 1)
	go func() {
		l, err := s.Acquire(ctx)
		if err != nil {
			t.Error(err)
		}
		third <- l
	}()
	if closedWithin(third, 100*time.Millisecond) {
		t.Fatal("third lease granted with two held")
	}
	if err := l1.Release(ctx); err != nil {
		t.Fatal(err)
	}
	var l3 *Lease
	select {
	case l3 = <-third:
	case <-time.After(5 * time.Second):
		t.Fatal("third lease not granted after a release")
	}
	l2.Release(ctx)
	if l3 != nil {
		l3.Release(ctx)
	}
	if err := l1.Release(ctx); !errors.Is(err, ErrNotHeld) {
		t.Errorf("double release: got %v, want ErrNotHeld", err)
	}
	if kids, _ := c.Children(ctx, "/sem"); len(kids) != 0 {
		t.Errorf("leases left: %v", kids)
	}
}

package recipe

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestBarrier(t *testing.T) {
	addr := startServer(t)
	c := connect(t, addr)
	ctx := bg(t)
	b := NewBarrier(c, "/barriers/b1", open)
	if err := b.Wait(ctx); err != nil {
		t.Fatalf("Wait on a lowered barrier: %v", err)
	}
	if err := b.Raise(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Raise(ctx); err != nil {
		t.Fatalf("raising twice: %v", err)
	}
	passed := make(chan error, 1)
	go func() { passed <- NewBarrier(connect(t, addr), "/barriers/b1", open).Wait(ctx) }()
	if closedWithin(passed, 100*time.Millisecond) {
		t.Fatal("Wait returned with the barrier raised")
	}
	if err := b.Lower(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-passed; err != nil {
		t.Fatalf("Wait: %v", err)
	}
}

func TestDoubleBarrier(t *testing.T) {
	addr := startServer(t)
	const n = 3
	var entered sync.WaitGroup
	var mu sync.Mutex
	var log []string
	ctx := bg(t)
	errs := make(chan error, 2*n)
	var wg sync.WaitGroup
	for i := range n {
		c := connect(t, addr)
		b := NewDoubleBarrier(c, "/db", fmt.Sprintf("p%d", i), n, open)
		entered.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Arrive one by one.
			time.Sleep(time.Duration(i) * 30 * time.Millisecond)
			if err := b.Enter(ctx); err != nil {
				errs <- err
				return
			}
			mu.Lock()
			log = append(log, "in")
			mu.Unlock()
			entered.Done()
			time.Sleep(time.Duration(n-i) * 20 * time.Millisecond)
			mu.Lock()
			log = append(log, "leaving")
			mu.Unlock()
			if err := b.Leave(ctx); err != nil {
				errs <- err
				return
			}
			mu.Lock()
			log = append(log, "out")
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Nobody got in before all arrived, nobody got out before all left.
	want := []string{"in", "in", "in", "leaving", "leaving", "leaving", "out", "out", "out"}
	if !slices.Equal(log, want) {
		t.Errorf("order: got %v, want %v", log, want)
	}
	c := connect(t, addr)
	if kids, _ := c.Children(ctx, "/db"); len(kids) != 0 {
		t.Errorf("nodes left after the round: %v", kids)
	}
}

func TestQueue(t *testing.T) {
	addr := startServer(t)
	c := connect(t, addr)
	ctx := bg(t)
	q := NewQueue(c, "/queue", open)
	if _, ok, err := q.Poll(ctx); ok || err != nil {
		t.Fatalf("Poll on an empty queue: got %v %v", ok, err)
	}
	for i := range 5 {
		if err := q.Put(ctx, []byte{byte('a' + i)}); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := q.Len(ctx); n != 5 {
		t.Fatalf("Len: got %d, want 5", n)
	}
	d, err := q.Take(ctx)
	if err != nil || string(d) != "a" {
		t.Fatalf("Take: got %q %v, want a", d, err)
	}
	// Concurrent takers from other sessions: each item once, nothing lost.
	got := make(chan string, 8)
	var wg sync.WaitGroup
	for range 4 {
		q2 := NewQueue(connect(t, addr), "/queue", open)
		wg.Add(1)
		go func() {
			defer wg.Done()
			tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			for {
				d, err := q2.Take(tctx)
				if err != nil {
					return
				}
				got <- string(d)
			}
		}()
	}
	wg.Wait()
	close(got)
	var items []string
	for s := range got {
		items = append(items, s)
	}
	slices.Sort(items)
	if !slices.Equal(items, []string{"b", "c", "d", "e"}) {
		t.Fatalf("taken: got %v, want b..e once each", items)
	}
	// Take blocks until a Put.
	taken := make(chan []byte, 1)
	go func() { d, _ := q.Take(ctx); taken <- d }()
	if closedWithin(taken, 100*time.Millisecond) {
		t.Fatal("Take returned on an empty queue")
	}
	q.Put(ctx, []byte("z"))
	select {
	case d := <-taken:
		if string(d) != "z" {
			t.Fatalf("Take after Put: got %q, want z", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Take did not see the Put")
	}
}

func TestCounter(t *testing.T) {
	addr := startServer(t)
	ctx := bg(t)
	const workers, adds = 4, 25
	var wg sync.WaitGroup
	for range workers {
		k := NewCounter(connect(t, addr), "/counters/c", open)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range adds {
				if _, err := k.Add(ctx, 1); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	k := NewCounter(connect(t, addr), "/counters/c", open)
	v, _, err := k.Get(ctx)
	if err != nil || v != workers*adds {
		t.Fatalf("counter: got %d %v, want %d", v, err, workers*adds)
	}
	if v, _ := k.Add(ctx, -10); v != workers*adds-10 {
		t.Errorf("Add(-10): got %d, want %d", v, workers*adds-10)
	}
	if ok, err := k.CompareAndSet(ctx, 0, 7); ok || err != nil {
		t.Errorf("CompareAndSet with a stale version: got %v %v, want false", ok, err)
	}
}

func TestRegistry(t *testing.T) {
	addr := startServer(t)
	ctx := bg(t)
	watcher := NewRegistry(connect(t, addr), "/services", open)
	wctx, stop := context.WithCancel(ctx)
	updates := watcher.Watch(wctx, "api")
	next := func(want ...string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case list, ok := <-updates:
				if !ok {
					t.Fatalf("watch ended, want %v", want)
				}
				var names []string
				for _, in := range list {
					names = append(names, in.Name+"="+string(in.Data))
				}
				if slices.Equal(names, want) {
					return
				}
			case <-deadline:
				t.Fatalf("no update with %v", want)
			}
		}
	}
	next() // nothing registered yet, the service does not even exist
	r1 := NewRegistry(connect(t, addr), "/services", open)
	c2 := connect(t, addr)
	r2 := NewRegistry(c2, "/services", open)
	g1, err := r1.Register(ctx, "api", "i1", []byte("h1:80"))
	if err != nil {
		t.Fatal(err)
	}
	next("i1=h1:80")
	if _, err := r2.Register(ctx, "api", "i2", []byte("h2:80")); err != nil {
		t.Fatal(err)
	}
	next("i1=h1:80", "i2=h2:80")
	if list, err := r1.Discover(ctx, "api"); err != nil || len(list) != 2 {
		t.Fatalf("Discover: got %v %v", list, err)
	}
	if svcs, _ := r1.Services(ctx); !slices.Equal(svcs, []string{"api"}) {
		t.Errorf("Services: got %v, want [api]", svcs)
	}
	c2.Close() // i2's session ends: it leaves the registry
	next("i1=h1:80")
	if err := g1.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	next()
	stop()
	for range updates { // the channel closes when the watch stops
	}
}

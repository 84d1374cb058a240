package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/internal/servertest"
	"github.com/zkd-io/zkd/recipe"
)

// view is what a client following the registry sees last.
type view struct {
	mu   sync.Mutex
	list []recipe.Instance
}

func (v *view) set(list []recipe.Instance) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.list = list
}

func (v *view) String() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var s []string
	for _, in := range v.list {
		s = append(s, in.Name+"="+string(in.Data))
	}
	return strings.Join(s, " ")
}

// waitFor waits until every view lists exactly want ("name=addr ...").
func waitFor(t *testing.T, within time.Duration, want string, views ...*view) {
	t.Helper()
	deadline := time.Now().Add(within)
	for i, v := range views {
		for v.String() != want {
			if time.Now().After(deadline) {
				t.Fatalf("client %d's view: got %q after %v, want %q", i, v.String(), within, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// instance runs runInstance in the background until stop is called.
type instance struct {
	stop func()
	done chan struct{}
	err  error // runInstance's result, once done is closed
}

func startInstance(t *testing.T, o options) *instance {
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(in.done)
		in.err = runInstance(ctx, o, discard{})
	}()
	t.Cleanup(func() {
		cancel()
		<-in.done
	})
	return in
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestClientsFollowInstances(t *testing.T) {
	addr := servertest.Start(t).Addr().String()
	base := options{server: addr, base: "/services", service: "api", session: 4 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Two clients follow the service before any instance exists.
	views := []*view{{}, {}}
	for _, v := range views {
		c, err := connect(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			follow(ctx, c, base, v.set)
		}()
		t.Cleanup(func() {
			c.Close() // ends follow
			<-done
		})
	}
	waitFor(t, 5*time.Second, "", views...)

	with := func(name, addr string, opts ...client.Option) options {
		o := base
		o.name, o.addr, o.clientOp = name, addr, opts
		return o
	}
	a := startInstance(t, with("a", "10.0.0.1:80"))
	// b's session is closed under it (its process closing the session
	// without deregistering).
	bConn, err := connect(ctx, with("b", ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bConn.Close() })
	bDone := make(chan error, 1)
	go func() { bDone <- serveInstance(ctx, bConn, with("b", "10.0.0.2:80")) }()
	// c is cut off the network; its short session expires.
	cut := &servertest.Cutter{}
	short := with("c", "10.0.0.3:80", client.WithDialer(cut.Dial))
	short.session = 800 * time.Millisecond
	startInstance(t, short)
	waitFor(t, 5*time.Second, "a=10.0.0.1:80 b=10.0.0.2:80 c=10.0.0.3:80", views...)

	a.stop() // graceful: deregisters at once
	if <-a.done; !errors.Is(a.err, context.Canceled) {
		t.Errorf("instance a after stop: got %v, want context.Canceled", a.err)
	}
	waitFor(t, 2*time.Second, "b=10.0.0.2:80 c=10.0.0.3:80", views...)

	bConn.Close()
	select {
	case err := <-bDone:
		if !errors.Is(err, errSessionOver) {
			t.Errorf("instance b after its session closed: got %v, want errSessionOver", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("instance b still serving 3s after its session closed")
	}
	waitFor(t, 2*time.Second, "c=10.0.0.3:80", views...)

	cut.Set(true)
	start := time.Now()
	waitFor(t, 5*time.Second, "", views...)
	if took := time.Since(start); took < 400*time.Millisecond {
		t.Errorf("c left the views %v after its network was cut, want no sooner than its session expired", took)
	}
	// Back on the network, c finds its session expired and registers again.
	cut.Set(false)
	waitFor(t, 5*time.Second, "c=10.0.0.3:80", views...)

	startInstance(t, with("d", "10.0.0.4:80"))
	waitFor(t, 5*time.Second, "c=10.0.0.3:80 d=10.0.0.4:80", views...)
}

func TestRunClientPrints(t *testing.T) {
	addr := servertest.Start(t).Addr().String()
	o := options{server: addr, base: "/services", service: "web", name: "w1", addr: "h:1", session: 4 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	startInstance(t, o)
	var mu sync.Mutex
	var lines []string
	done := make(chan error, 1)
	cctx, stop := context.WithCancel(ctx)
	go func() {
		done <- runClient(cctx, o, writerFunc(func(p []byte) {
			mu.Lock()
			lines = append(lines, string(p))
			mu.Unlock()
		}))
	}()
	want := "web: 1 instances: w1=h:1\n"
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		ok := slices.Contains(lines, want)
		got := slices.Clone(lines)
		mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("client output: got %q, want a line %q", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("runClient: got %v, want context.Canceled", err)
	}
}

type writerFunc func([]byte)

func (f writerFunc) Write(p []byte) (int, error) {
	f(p)
	return len(p), nil
}

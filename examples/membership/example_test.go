package main

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/internal/servertest"
)

// cluster runs members and keeps each one's latest view.
type cluster struct {
	t    *testing.T
	addr string

	mu      sync.Mutex
	views   map[string]string
	members map[string]*running
}

type running struct {
	cut  *servertest.Cutter
	stop context.CancelFunc
	done chan struct{}
	err  error
}

func (cl *cluster) start(name string, session time.Duration) *running {
	ctx, cancel := context.WithCancel(context.Background())
	m := &running{cut: &servertest.Cutter{}, stop: cancel, done: make(chan struct{})}
	o := options{server: cl.addr, dir: "/cluster/members", name: name, addr: "addr-of-" + name,
		session: session, clientOp: []client.Option{client.WithDialer(m.cut.Dial)}}
	cl.mu.Lock()
	cl.members[name] = m
	cl.mu.Unlock()
	go func() {
		defer close(m.done)
		m.err = runMember(ctx, o, func(view []string) {
			cl.mu.Lock()
			cl.views[name] = strings.Join(view, " ")
			cl.mu.Unlock()
		})
	}()
	cl.t.Cleanup(func() {
		m.cut.Set(false)
		cancel()
		<-m.done
	})
	return m
}

// converge waits until every named member's view is want.
func (cl *cluster) converge(want string, names ...string) {
	cl.t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for _, name := range names {
		for {
			cl.mu.Lock()
			got := cl.views[name]
			cl.mu.Unlock()
			if got == want {
				break
			}
			if time.Now().After(deadline) {
				cl.t.Fatalf("%s's view: got %q, want %q", name, got, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func TestViewsConverge(t *testing.T) {
	cl := &cluster{t: t, addr: servertest.Start(t).Addr().String(), views: map[string]string{}, members: map[string]*running{}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	admin, err := client.Connect(ctx, cl.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	const long = 4 * time.Second
	for _, name := range []string{"m1", "m2", "m4"} {
		cl.start(name, long)
	}
	m3 := cl.start("m3", 800*time.Millisecond) // short session: expires soon when cut off
	cl.converge("m1 m2 m3 m4", "m1", "m2", "m3", "m4")
	if data, _, err := admin.Get(ctx, "/cluster/members/m2"); err != nil || string(data) != "addr-of-m2" {
		t.Errorf("m2's znode: got %q %v, want addr-of-m2", data, err)
	}

	// Leaving: m2 stops and deletes its znode.
	m2 := cl.members["m2"]
	m2.stop()
	<-m2.done
	if !errors.Is(m2.err, context.Canceled) {
		t.Errorf("m2 after stop: got %v, want context.Canceled", m2.err)
	}
	cl.converge("m1 m3 m4", "m1", "m3", "m4")

	// m3 is cut off: the others drop it when its session expires. Back on
	// the network it joins again with a new session.
	m3.cut.Set(true)
	cl.converge("m1 m4", "m1", "m4")
	m3.cut.Set(false)
	cl.converge("m1 m3 m4", "m1", "m3", "m4")

	// An operator deletes m4's znode: m4 notices and joins again.
	st, err := admin.Exists(ctx, "/cluster/members/m4")
	if err != nil || st == nil {
		t.Fatalf("m4's znode: got %v %v", st, err)
	}
	if err := admin.Delete(ctx, "/cluster/members/m4", -1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		again, err := admin.Exists(ctx, "/cluster/members/m4")
		if err == nil && again != nil && again.Czxid > st.Czxid {
			if again.EphemeralOwner != st.EphemeralOwner {
				t.Errorf("m4 joined again with session %#x, want its own session %#x", again.EphemeralOwner, st.EphemeralOwner)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("m4 did not join again within 5s of its znode's deletion: %v %v", again, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cl.converge("m1 m3 m4", "m1", "m3", "m4")

	cl.start("m5", long)
	cl.converge("m1 m3 m4 m5", "m1", "m3", "m4", "m5")
}

package main

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/internal/servertest"
)

type interval struct {
	node       string
	start, end time.Time
}

// recorder keeps every job's interval and notices two at once.
type recorder struct {
	mu        sync.Mutex
	jobs      []interval
	running   map[string]bool
	overlaps  []string
	sessions  map[string][]*client.Conn // each node's sessions, in order
	jobLength time.Duration
}

func (r *recorder) work(name string) work {
	return func(ctx context.Context, job int) {
		start := time.Now()
		r.mu.Lock()
		for other := range r.running {
			r.overlaps = append(r.overlaps, name+" started a job while "+other+" was working")
		}
		r.running[name] = true
		r.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(r.jobLength):
		}
		r.mu.Lock()
		delete(r.running, name)
		r.jobs = append(r.jobs, interval{name, start, time.Now()})
		r.mu.Unlock()
	}
}

// current returns the node that ran the last job started, and the end of
// that node's last job (zero while one runs).
func (r *recorder) current() (string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.jobs) == 0 {
		return "", 0
	}
	last := r.jobs[len(r.jobs)-1].node
	n := 0
	for i := len(r.jobs) - 1; i >= 0 && r.jobs[i].node == last; i-- {
		n++
	}
	return last, n
}

// waitMaster waits until node has finished at least two jobs in a row.
func (r *recorder) waitMaster(t *testing.T, node string) time.Time {
	t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for {
		if got, n := r.current(); got == node && n >= 2 {
			return time.Now()
		}
		if time.Now().After(deadline) {
			got, _ := r.current()
			t.Fatalf("master: got %q working after 8s, want %q", got, node)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *recorder) session(name string) *client.Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sessions[name]
	return s[len(s)-1]
}

func (r *recorder) sessionCount(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions[name])
}

func waitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 8s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOneMasterAtATime(t *testing.T) {
	addr := servertest.Start(t).Addr().String()
	r := &recorder{running: map[string]bool{}, sessions: map[string][]*client.Conn{}, jobLength: 20 * time.Millisecond}
	admin, err := client.Connect(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	const dir = "/jobs/master"
	candidates := func() int {
		kids, _ := admin.Children(context.Background(), dir)
		return len(kids)
	}

	type node struct {
		cut  *servertest.Cutter
		stop context.CancelFunc
		done chan struct{}
		err  error
	}
	nodes := map[string]*node{}
	start := func(name string) {
		ctx, cancel := context.WithCancel(context.Background())
		n := &node{cut: &servertest.Cutter{}, stop: cancel, done: make(chan struct{})}
		nodes[name] = n
		o := options{server: addr, dir: dir, name: name, session: 800 * time.Millisecond,
			clientOp: []client.Option{client.WithDialer(n.cut.Dial)},
			onConn: func(c *client.Conn) {
				r.mu.Lock()
				r.sessions[name] = append(r.sessions[name], c)
				r.mu.Unlock()
			}}
		go func() {
			defer close(n.done)
			n.err = runNode(ctx, o, r.work(name))
		}()
		t.Cleanup(func() {
			n.cut.Set(false)
			cancel()
			<-n.done
		})
	}

	// Candidates queue up in order a, b, c.
	start("a")
	r.waitMaster(t, "a")
	start("b")
	waitCond(t, "b queued", func() bool { return candidates() == 2 })
	start("c")
	waitCond(t, "c queued", func() bool { return candidates() == 3 })

	// 1. The master is cut off: it stops at once; b takes over when the
	// server expires a's session. Back, a finds its session expired and
	// queues up again with a new one.
	nodes["a"].cut.Set(true)
	cutAt := time.Now()
	tookOver := r.waitMaster(t, "b")
	r.mu.Lock()
	var aLast time.Time
	for _, j := range r.jobs {
		if j.node == "a" {
			aLast = j.end
		}
	}
	r.mu.Unlock()
	if stopped := aLast.Sub(cutAt); stopped > 500*time.Millisecond {
		t.Errorf("a worked on %v after its network was cut, want it to stop at once", stopped)
	}
	t.Logf("a stopped %v after the cut; b took over %v after it", aLast.Sub(cutAt).Round(time.Millisecond), tookOver.Sub(cutAt).Round(time.Millisecond))
	nodes["a"].cut.Set(false)
	waitCond(t, "a back with a second session, queued", func() bool { return r.sessionCount("a") == 2 && candidates() == 3 })

	// 2. The master's session is closed under it (by another connection
	// taking the session over and closing it): c takes over at once.
	// b is kept off the network meanwhile, or its client would take
	// the session back.
	b := r.session("b")
	nodes["b"].cut.Set(true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	thief, err := client.Connect(ctx, addr, client.WithSession(b.SessionID(), b.SessionPassword()))
	if err != nil {
		t.Fatal(err)
	}
	thief.Close()
	r.waitMaster(t, "c")
	nodes["b"].cut.Set(false)
	waitCond(t, "b back with a second session, queued", func() bool { return r.sessionCount("b") == 2 && candidates() == 3 })

	// 3. The master shuts down: it resigns, a (next in line) takes over.
	nodes["c"].stop()
	<-nodes["c"].done
	if !errors.Is(nodes["c"].err, context.Canceled) {
		t.Errorf("c after shutdown: got %v, want context.Canceled", nodes["c"].err)
	}
	r.waitMaster(t, "a")
	for _, name := range []string{"b", "a"} { // the master last: no new term
		nodes[name].stop()
		<-nodes[name].done
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.overlaps) > 0 {
		t.Errorf("two masters at once: %q", r.overlaps)
	}
	jobs := slices.Clone(r.jobs)
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].start.Before(jobs[j].start) })
	var terms []string
	for i, j := range jobs {
		if i > 0 && j.start.Before(jobs[i-1].end) {
			t.Errorf("job of %s started %v before the job of %s ended", j.node, jobs[i-1].end.Sub(j.start), jobs[i-1].node)
		}
		if len(terms) == 0 || terms[len(terms)-1] != j.node {
			terms = append(terms, j.node)
		}
	}
	if want := []string{"a", "b", "c", "a"}; !slices.Equal(terms, want) {
		t.Errorf("masters in turn: got %q, want %q", terms, want)
	}
}

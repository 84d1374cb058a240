package chaos

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fault is one kind of nemesis action. inject runs in the test goroutine
// (so the harness may fail the test) and returns a description and the
// function that undoes it; hold bounds how long the fault stays.
type fault struct {
	name   string
	hold   [2]time.Duration
	inject func(r *run) (desc string, heal func())
}

// faultTable lists every nemesis by name.
var faultTable = map[string]fault{
	"kill":           {"kill", [2]time.Duration{time.Second, 3 * time.Second}, injectKillRandom},
	"kill-leader":    {"kill-leader", [2]time.Duration{time.Second, 3 * time.Second}, injectKillLeader},
	"kill-all":       {"kill-all", [2]time.Duration{500 * time.Millisecond, 2 * time.Second}, injectKillAll},
	"pause-leader":   {"pause-leader", [2]time.Duration{sessionTimeout + time.Second, sessionTimeout + 2*time.Second}, injectPauseLeader},
	"partition":      {"partition", [2]time.Duration{2 * time.Second, 4 * time.Second}, injectPartitionHalves},
	"isolate-leader": {"isolate-leader", [2]time.Duration{2 * time.Second, 4 * time.Second}, injectIsolateLeader},
	"bridge":         {"bridge", [2]time.Duration{2 * time.Second, 4 * time.Second}, injectBridge},
	"one-way":        {"one-way", [2]time.Duration{2 * time.Second, 4 * time.Second}, injectOneWay},
	"delay":          {"delay", [2]time.Duration{2 * time.Second, 4 * time.Second}, injectDelay},
	"disk":           {"disk", [2]time.Duration{0, 0}, injectDisk},
	"lose-unsynced":  {"lose-unsynced", [2]time.Duration{500 * time.Millisecond, 2 * time.Second}, injectLoseUnsynced},
}

// prepareFaults resolves the spec's fault names. Where the kernel has no
// netem, the delay nemesis delays messages inside zkd's transport instead.
func (r *run) prepareFaults() []fault {
	var out []fault
	for _, name := range r.spec.faults {
		f, found := faultTable[name]
		if !found {
			r.t.Fatalf("run %s: unknown fault %q", r.spec.name, name)
		}
		if name == "delay" {
			if err := netemSupport(r.t); err != nil {
				r.t.Logf("delay nemesis: no netem here (%v); delaying in zkd's transport instead (failpoints build)", err)
				f.inject = injectTransportDelay
			}
		}
		out = append(out, f)
	}
	return out
}

// nemesis injects faults, one at a time with quiet gaps, until deadline.
func (r *run) nemesis(faults []fault, deadline time.Time) {
	if len(faults) == 0 {
		time.Sleep(time.Until(deadline))
		return
	}
	for round := 0; round < 1000; round++ {
		quiet := randDuration(r.rnd, time.Second, 2*time.Second)
		if time.Until(deadline) < quiet {
			time.Sleep(max(time.Until(deadline), 0))
			return
		}
		time.Sleep(quiet)
		f := faults[r.rnd.IntN(len(faults))]
		o := r.events.invoke(-1, f.name, "", nil)
		desc, heal := f.inject(r)
		r.logf("nemesis: %s: %s", f.name, desc)
		hold := randDuration(r.rnd, f.hold[0], f.hold[1])
		time.Sleep(hold)
		heal()
		r.events.complete(o, nil, desc)
		r.logf("nemesis: %s healed after %v", f.name, hold.Round(time.Millisecond))
	}
}

// healAll undoes whatever a failed or interrupted nemesis left behind:
// partitions, delays, paused and stopped servers.
func (r *run) healAll() {
	r.e.Heal(r.t)
	r.removeOneWay()
	r.removeDelay()
	r.resumeAll()
	var down []int
	for i, s := range r.e.Servers {
		if !s.Running() {
			down = append(down, i)
		}
	}
	if len(down) > 0 {
		r.restartOrFail(down...)
	}
}

// cleanup runs when the test ends, before the harness stops the servers.
func (r *run) cleanup() {
	r.resumeAll()
	r.removeOneWay()
	r.removeDelay()
}

// resumeAll sends SIGCONT to every server this run paused.
func (r *run) resumeAll() {
	r.mu.Lock()
	idx := make([]int, 0, len(r.paused))
	for i := range r.paused {
		idx = append(idx, i)
	}
	r.mu.Unlock()
	for _, i := range idx {
		r.resume(i)
	}
}

func (r *run) resume(i int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.paused[i] {
		return
	}
	delete(r.paused, i)
	if pid := r.e.Servers[i].Pid(); pid > 0 {
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
			r.t.Errorf("SIGCONT server.%d (pid %d): %v", i+1, pid, err)
		}
	}
}

// captureTB lets harness calls that fail the test with Fatalf run in
// another goroutine, or be expected to fail: it records the failure and
// ends only the calling goroutine.
type captureTB struct {
	testing.TB
	mu   sync.Mutex
	msgs []string
}

func (c *captureTB) Helper() {}

func (c *captureTB) record(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, msg)
}

func (c *captureTB) Errorf(format string, args ...any) { c.record(fmt.Sprintf(format, args...)) }
func (c *captureTB) Error(args ...any)                 { c.record(fmt.Sprint(args...)) }
func (c *captureTB) Fail()                             { c.record("failed") }
func (c *captureTB) Fatalf(format string, args ...any) {
	c.record(fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (c *captureTB) Fatal(args ...any) { c.record(fmt.Sprint(args...)); runtime.Goexit() }
func (c *captureTB) FailNow()          { c.record("failed"); runtime.Goexit() }

func (c *captureTB) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(c.msgs, "; "))
}

// restart starts the given stopped servers again, all at once (a lone
// server of a dead ensemble cannot serve until a quorum runs), and returns
// the servers that did not come up with why.
func (r *run) restart(idx ...int) map[int]error {
	errs := make(map[int]error)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, i := range idx {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &captureTB{TB: r.t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				r.e.Restart(c, i)
			}()
			<-done
			if err := c.err(); err != nil {
				mu.Lock()
				errs[i] = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs
}

// restartOrFail restarts servers that must come back.
func (r *run) restartOrFail(idx ...int) {
	for i, err := range r.restart(idx...) {
		r.errorf("server.%d did not restart: %v\nlog tail:\n%s", i+1, err, r.e.Servers[i].LogTail(20))
	}
}

// leader is the current leader among the running servers, waiting (30s,
// then failing the test) for one.
func (r *run) leader() int {
	r.t.Helper()
	return r.e.Leader(r.t)
}

func injectKillRandom(r *run) (string, func()) {
	running := r.e.Running()
	i := running[r.rnd.IntN(len(running))]
	r.e.Kill(i)
	return fmt.Sprintf("kill -9 server.%d", i+1), func() { r.restartOrFail(i) }
}

func injectKillLeader(r *run) (string, func()) {
	i := r.leader()
	r.e.Kill(i)
	return fmt.Sprintf("kill -9 leader server.%d", i+1), func() { r.restartOrFail(i) }
}

func injectKillAll(r *run) (string, func()) {
	all := r.e.Running()
	for _, i := range all {
		r.e.Kill(i)
	}
	return fmt.Sprintf("kill -9 servers %v", ids(all)), func() { r.restartOrFail(all...) }
}

func injectPauseLeader(r *run) (string, func()) {
	i := r.leader()
	pid := r.e.Servers[i].Pid()
	r.mu.Lock()
	r.paused[i] = true
	r.mu.Unlock()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		r.t.Fatalf("SIGSTOP server.%d (pid %d): %v", i+1, pid, err)
	}
	return fmt.Sprintf("SIGSTOP leader server.%d (pid %d)", i+1, pid), func() { r.resume(i) }
}

func injectPartitionHalves(r *run) (string, func()) {
	perm := r.rnd.Perm(len(r.e.Servers))
	k := 1 + r.rnd.IntN(len(perm)/2) // the minority side: 1..n/2 servers
	a, b := slices.Sorted(slices.Values(perm[:k])), slices.Sorted(slices.Values(perm[k:]))
	r.e.Partition(r.t, a, b)
	return fmt.Sprintf("partition %v | %v", ids(a), ids(b)), func() { r.e.Heal(r.t) }
}

func injectIsolateLeader(r *run) (string, func()) {
	i := r.leader()
	r.e.Isolate(r.t, i)
	return fmt.Sprintf("isolate leader server.%d", i+1), func() { r.e.Heal(r.t) }
}

// injectBridge cuts the servers into two sides that only one bridge
// server (not listed in either group, so untouched) still connects.
func injectBridge(r *run) (string, func()) {
	perm := r.rnd.Perm(len(r.e.Servers))
	bridge := perm[0]
	rest := perm[1:]
	half := len(rest) / 2
	a, b := slices.Sorted(slices.Values(rest[:half])), slices.Sorted(slices.Values(rest[half:]))
	r.e.Partition(r.t, a, b)
	return fmt.Sprintf("bridge: %v | %v, only server.%d talks to both", ids(a), ids(b), bridge+1), func() { r.e.Heal(r.t) }
}

// ids turns server indexes into server ids for messages.
func ids(idx []int) []int {
	out := make([]int, len(idx))
	for k, i := range idx {
		out[k] = i + 1
	}
	return out
}

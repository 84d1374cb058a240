package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
	"github.com/zkd-io/zkd/test/harness"
)

// runSpec describes one chaos run.
type runSpec struct {
	name     string
	servers  int
	duration time.Duration // workloads under faults; healing and checks come on top
	faults   []string      // nemesis names (see faultTable); empty = no faults
	seed     uint64
	network  bool // needs root and iptables (partitions)
	ops      int  // per-worker operation bound
}

// Timing of every run.
const (
	// sessionTimeout is asked for by the workload clients (the session
	// workload asks for shortSession): long enough to keep a session
	// across an election, short enough that a paused leader outlives it.
	sessionTimeout = 4 * time.Second
	shortSession   = 2 * time.Second
	// opTimeout bounds one client request; past it the outcome is unknown.
	opTimeout = 6 * time.Second
	// recovery is how long the workloads go on after the faults healed,
	// to show the ensemble serves again.
	recovery = 3 * time.Second
	// stopWait bounds the workers' exit after they are told to stop.
	stopWait = 30 * time.Second
	// convergeWait bounds the wait for every server to reach one zxid.
	convergeWait = 45 * time.Second
	// checkTimeout bounds porcupine and the final reads of one workload.
	checkTimeout = 60 * time.Second
)

// run is one chaos run in progress.
type run struct {
	t     *testing.T
	spec  runSpec
	mode  string // short, ci or long
	e     *harness.Ensemble
	start time.Time
	rnd   *rand.Rand // the nemesis's stream
	dir   string     // artifacts directory (created on demand)

	env       *wenv
	workloads []workload
	events    *history // nemesis events

	mu       sync.Mutex
	problems int
	lost     int          // acknowledged writes missing from a final read
	paused   map[int]bool // server indexes stopped with SIGSTOP
	fw       *chaosFirewall
	netem    *netemState
	diag     string // socket states when servers stayed stuck
}

// errorf reports a failed check, naming the artifacts directory.
func (r *run) errorf(format string, args ...any) {
	r.t.Helper()
	r.mu.Lock()
	r.problems++
	r.mu.Unlock()
	r.t.Errorf("%s\n(seed %d; histories, porcupine visualization and server logs: %s; replay: %s)",
		fmt.Sprintf(format, args...), r.spec.seed, r.dir, replayHint(r.spec.name, r.spec.seed, r.mode))
}

// noteLost counts the acknowledged writes a check problem reports missing
// (its text starts with the count: "N acknowledged ... missing").
func (r *run) noteLost(problem string) {
	var n int
	var word string
	if _, err := fmt.Sscanf(problem, "%d %s", &n, &word); err == nil && word == "acknowledged" && strings.Contains(problem, "missing") {
		r.mu.Lock()
		r.lost += n
		r.mu.Unlock()
	}
}

// runSummary is what one run did, for the long mode's report.
type runSummary struct {
	name     string
	servers  int
	seed     uint64
	ops      int
	faults   int
	problems int
	lost     int
	failed   bool
}

func (r *run) summary() runSummary {
	sm := runSummary{name: r.spec.name, servers: r.spec.servers, seed: r.spec.seed, failed: r.t.Failed()}
	if r.events != nil {
		sm.faults = len(r.events.snapshot())
	}
	for _, w := range r.workloads {
		sm.ops += len(w.hist().snapshot())
	}
	r.mu.Lock()
	sm.problems, sm.lost = r.problems, r.lost
	r.mu.Unlock()
	return sm
}

// logf logs from any goroutine while the run lasts.
func (r *run) logf(format string, args ...any) {
	r.t.Logf("%7.3fs "+format, append([]any{time.Since(r.start).Seconds()}, args...)...)
}

// runChaos runs one spec: ensemble, workloads, nemesis, heal, checks.
func runChaos(t *testing.T, spec runSpec, mode string, report func(runSummary)) {
	r := &run{t: t, spec: spec, mode: mode, rnd: newRand(spec.seed, 0), paused: map[int]bool{}}
	// Registered first, so it runs last: after the checks and cleanups.
	t.Cleanup(func() { report(r.summary()) })
	r.dir = artifactsDir(spec)
	t.Logf("run %s: %d servers, %v of faults %v, seed %d (replay: %s)",
		spec.name, spec.servers, spec.duration, spec.faults, spec.seed, replayHint(spec.name, spec.seed, mode))
	if spec.network {
		harness.RequirePartitions(t)
	}
	faults := r.prepareFaults()

	began := time.Now()
	r.e = harness.ZkdEnsemble(t, spec.servers,
		// Snapshots (and log compaction) every 1000 entries: restarted
		// and wiped servers catch up from a streamed snapshot.
		harness.WithConfig("snapCount", "1000"),
		harness.WithStartTimeout(30*time.Second))
	t.Logf("ensemble of %d serving after %v", spec.servers, time.Since(began).Round(time.Millisecond))
	r.start = time.Now()
	r.events = newHistory("nemesis", r.start)
	r.env = &wenv{
		connect: r.e.ConnectString(),
		addrs:   r.e.Addrs(),
		seed:    spec.seed,
		maxOps:  spec.ops,
		logf:    r.logf,
	}
	r.workloads = allWorkloads(r.env, r.start)
	// Cleanups run last-in first-out: the artifacts are written after
	// the workers stopped and the faults were undone, also when the run
	// ended early with a fatal failure, and before the harness removes
	// the servers' directories.
	t.Cleanup(r.writeArtifacts)
	t.Cleanup(r.cleanup)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	stopWorkers := sync.OnceFunc(func() {
		cancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(stopWait):
			r.errorf("workers still running %v after they were told to stop", stopWait)
		}
	})
	t.Cleanup(stopWorkers)
	if err := r.setup(); err != nil {
		t.Fatalf("setup: %v", err)
	}
	for _, w := range r.workloads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx)
		}()
	}

	r.nemesis(faults, time.Now().Add(spec.duration))
	if injected := len(r.events.snapshot()); len(faults) > 0 && injected == 0 {
		// A run without faults shows only that the servers work: its
		// checks passing proves nothing about the faults it names.
		r.errorf("no fault was injected in %v of faults %v: make the run longer", spec.duration, spec.faults)
	}
	r.healAll()
	healed := r.events.now()
	r.waitServing()
	leader := r.e.WaitQuorum(t)
	r.logf("healed; every server serves, leader server.%d; %v of recovery", leader+1, recovery)
	time.Sleep(recovery)
	stopWorkers()
	r.checkLive(healed)
	r.finalChecks()
}

// healWait bounds the wait for every server to serve again after healing.
const healWait = 30 * time.Second

// waitServing waits until every server serves. If they do not, it
// records the state of the servers' TCP connections (ss) for the
// artifacts, since a server stuck after a healed partition is either a
// zkd transport bug or a connection the kernel has not recovered yet, and
// fails the run.
func (r *run) waitServing() {
	deadline := time.Now().Add(healWait)
	var modes []string
	for time.Now().Before(deadline) {
		modes = modes[:0]
		serving := true
		for i, s := range r.e.Servers {
			m, err := s.Mode()
			if m == "" {
				m = fmt.Sprintf("not serving (%v)", err)
				serving = false
			}
			modes = append(modes, fmt.Sprintf("server.%d=%s", i+1, m))
		}
		if serving {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.diagnose()
	r.errorf("after healing, not every server serves within %v: %s; their peer connections (ss) are in network.txt, goroutine dumps at the end of the server logs",
		healWait, strings.Join(modes, ", "))
	r.t.FailNow()
}

// diagnose records the servers' peer connections (ss) and makes every
// server that does not serve dump its goroutines (a Go process does on
// SIGQUIT, and exits): that shows where a stuck server waits.
func (r *run) diagnose() {
	states := r.socketStates()
	r.mu.Lock()
	r.diag += states
	r.mu.Unlock()
	for i, s := range r.e.Servers {
		if m, _ := s.Mode(); m != "" {
			continue
		}
		if pid := s.Pid(); pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGQUIT)
		}
		for k := 0; k < 50; k++ {
			if exited, _ := s.Exited(); exited {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		r.logf("server.%d not serving: sent SIGQUIT; its goroutine dump ends server.%d.log", i+1, i+1)
	}
}

// socketStates lists the TCP sockets to and from the servers' quorum
// ports with their queues, timers and retransmissions.
func (r *run) socketStates() string {
	var b strings.Builder
	for i, m := range r.e.Members {
		out, err := command("ss", "-tnoi", fmt.Sprintf("( dport = :%d or sport = :%d )", m.QuorumPort, m.QuorumPort))
		fmt.Fprintf(&b, "== server.%d quorum port %s:%d (pid %d) ==\n%s%v\n", i+1, m.Host, m.QuorumPort, r.e.Servers[i].Pid(), out, err)
	}
	return b.String()
}

// artifactsDir names where a run's files go: under ZKD_CHAOS_DIR, or a new
// directory in the system temp dir (created only when a run fails).
func artifactsDir(spec runSpec) string {
	name := fmt.Sprintf("%s-seed%d", spec.name, spec.seed)
	if d := os.Getenv(envDir); d != "" {
		return filepath.Join(d, name)
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("zkd-chaos-%s-%d-%d", name, os.Getpid(), time.Now().UnixNano()))
}

// setup creates /chaos and every workload's subtree.
func (r *run) setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := r.env.dial(ctx, r.env.connect, sessionTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Create(ctx, "/chaos", nil, proto.OpenACLUnsafe, client.ModePersistent); err != nil {
		return err
	}
	for _, w := range r.workloads {
		if err := w.setup(ctx, c); err != nil {
			return fmt.Errorf("%s: %w", w.name(), err)
		}
	}
	return nil
}

// checkLive fails the run when no operation of any workload succeeded
// after the faults healed: the ensemble came back but does not serve.
func (r *run) checkLive(healed int64) {
	var total int
	var parts []string
	for _, w := range r.workloads {
		n := w.hist().okAfter(healed)
		total += n
		parts = append(parts, fmt.Sprintf("%s %d", w.name(), n))
	}
	r.logf("operations ok after healing: %s", strings.Join(parts, ", "))
	if total == 0 {
		r.errorf("no operation of any workload succeeded in the %v after the faults healed", recovery)
	}
	// A session whose requests keep failing with SessionMoved once the
	// ensemble is healthy again is stuck: ZooKeeper closes the connection
	// on SessionMoved (ZOOKEEPER-710) so that the client reconnects and
	// takes its session back.
	settled := healed + int64(sessionMovedGrace)
	for _, w := range r.workloads {
		ops := w.hist().snapshot()
		var moved []int
		for _, o := range ops {
			if o.Call >= settled && strings.Contains(o.Err, proto.ErrSessionMoved.Error()) {
				moved = append(moved, o.ID)
			}
		}
		if len(moved) > 0 {
			r.errorf("%s: %d requests sent more than %v after the faults healed failed with SessionMoved: the sessions cannot write through the server they are connected to, and the connection stays up:\n%s",
				w.name(), len(moved), sessionMovedGrace, excerpt(ops, moved, 5))
		}
	}
}

// sessionMovedGrace is how long after healing a SessionMoved answer is
// still excused (a request racing its own session's move).
const sessionMovedGrace = 2 * time.Second

// finalChecks connects to every server, checks that they converged, and
// runs every workload's checker over its history and final reads.
func (r *run) finalChecks() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*checkTimeout)
	defer cancel()
	finals := make([]*client.Conn, len(r.e.Servers))
	for i, s := range r.e.Servers {
		c, err := r.env.dial(ctx, s.Addr, sessionTimeout)
		if err != nil {
			mode, merr := s.Mode()
			r.diagnose()
			r.errorf("final reads: cannot connect to server.%d (%s): %v; srvr says mode %q (%v); peer connections (ss) in network.txt, goroutine dumps at the end of the server logs",
				i+1, s.Addr, err, mode, merr)
			return
		}
		defer c.Close()
		finals[i] = c
	}
	r.checkConverged()
	for _, w := range r.workloads {
		start := time.Now()
		ops := w.hist().snapshot()
		wctx, wcancel := context.WithTimeout(ctx, checkTimeout)
		w.check(wctx, r, finals)
		wcancel()
		r.logf("%s: %d ops (%s); checked in %v", w.name(), len(ops), summary(ops), time.Since(start).Round(time.Millisecond))
	}
}

// checkConverged waits until every server reports the same last zxid and,
// at a moment when no zxid moves, the same tree digest.
func (r *run) checkConverged() {
	deadline := time.Now().Add(convergeWait)
	var last string
	for time.Now().Before(deadline) {
		zs, err := r.zxids()
		if err == nil && same(zs) {
			ds, derr := r.digests()
			zs2, err2 := r.zxids()
			if derr == nil && err2 == nil && equalInts(zs, zs2) {
				if !same(ds) {
					r.errorf("servers at the same zxid %#x have different tree digests (mntr zk_tree_digest): %v", zs[0], ds)
				} else {
					r.logf("converged: every server at zxid %#x with tree digest %d", zs[0], ds[0])
				}
				return
			}
			err = errors.Join(derr, err2)
		}
		last = fmt.Sprintf("zxids %s, error %v", hexes(zs), err)
		time.Sleep(100 * time.Millisecond)
	}
	r.errorf("servers did not converge within %v: %s", convergeWait, last)
}

func (r *run) zxids() ([]int64, error) {
	out := make([]int64, len(r.e.Servers))
	for i, s := range r.e.Servers {
		z, err := s.Zxid()
		if err != nil {
			return out, fmt.Errorf("server.%d srvr: %w", i+1, err)
		}
		out[i] = z
	}
	return out, nil
}

// digests reads zk_tree_digest from every server's mntr.
func (r *run) digests() ([]int64, error) {
	out := make([]int64, len(r.e.Servers))
	for i, s := range r.e.Servers {
		text, err := s.FourLetterWord("mntr")
		if err != nil {
			return out, fmt.Errorf("server.%d mntr: %w", i+1, err)
		}
		v, found := mntrValue(text, "zk_tree_digest")
		if !found {
			return out, fmt.Errorf("server.%d mntr has no zk_tree_digest: %q", i+1, text)
		}
		if _, err := fmt.Sscan(v, &out[i]); err != nil {
			return out, fmt.Errorf("server.%d zk_tree_digest %q: %v", i+1, v, err)
		}
	}
	return out, nil
}

// mntrValue finds "key<tab>value" in an mntr reply.
func mntrValue(text, key string) (string, bool) {
	for _, line := range strings.Split(text, "\n") {
		k, v, found := strings.Cut(strings.TrimSpace(line), "\t")
		if found && k == key {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

func same(v []int64) bool {
	for _, x := range v {
		if x != v[0] {
			return false
		}
	}
	return len(v) > 0
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func hexes(zs []int64) string {
	var parts []string
	for _, z := range zs {
		parts = append(parts, fmt.Sprintf("%#x", z))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// writeArtifacts writes every history, the nemesis log, the porcupine
// visualization and the server logs when the run failed or ZKD_CHAOS_DIR
// asks for them.
func (r *run) writeArtifacts() {
	if !r.t.Failed() && os.Getenv(envDir) == "" {
		return
	}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		r.t.Errorf("artifacts: %v", err)
		return
	}
	var errs []error
	errs = append(errs, writeHistory(filepath.Join(r.dir, "nemesis.jsonl"), r.events.snapshot()))
	r.mu.Lock()
	diag := r.diag
	r.mu.Unlock()
	if diag != "" {
		errs = append(errs, os.WriteFile(filepath.Join(r.dir, "network.txt"), []byte(diag), 0o644))
	}
	for _, w := range r.workloads {
		errs = append(errs, writeHistory(filepath.Join(r.dir, w.name()+".jsonl"), w.hist().snapshot()))
		errs = append(errs, w.artifacts(r.dir))
	}
	for i, s := range r.e.Servers {
		errs = append(errs, copyFile(s.LogPath, filepath.Join(r.dir, fmt.Sprintf("server.%d.log", i+1))))
	}
	if err := errors.Join(errs...); err != nil {
		r.t.Errorf("artifacts in %s: %v", r.dir, err)
	}
	r.t.Logf("histories, nemesis log and server logs written to %s", r.dir)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// workload is one kind of client activity with its checker.
type workload interface {
	name() string
	hist() *history
	// setup creates the workload's subtree through a healthy session.
	setup(ctx context.Context, c *client.Conn) error
	// run drives the workload until ctx ends, then closes its sessions
	// and returns.
	run(ctx context.Context)
	// check judges the history and reads the final state through finals
	// (one session per server, Servers order), reporting with r.errorf.
	check(ctx context.Context, r *run, finals []*client.Conn)
	// artifacts writes extra files for a failed run (nil when none).
	artifacts(dir string) error
}

// allWorkloads builds every workload of a run; they share env.
func allWorkloads(env *wenv, start time.Time) []workload {
	return []workload{
		newRegister(env, start),
		newSet(env, start),
		newUniqueIDs(env, start),
		newCounter(env, start),
		newQueue(env, start),
		newSessions(env, start),
		newWatch(env, start),
	}
}

// base is what every workload has: the environment the workloads share
// and its history, whose name is the workload's. Embedded, it provides
// name, hist, and an artifacts that writes nothing.
type base struct {
	env *wenv
	h   *history
}

func newBase(env *wenv, name string, start time.Time) base {
	return base{env: env, h: newHistory(name, start)}
}

func (b *base) name() string           { return b.h.name }
func (b *base) hist() *history         { return b.h }
func (b *base) artifacts(string) error { return nil }

// wenv is what the workloads share: where the servers are, the seed, and
// bounds.
type wenv struct {
	connect string   // every server
	addrs   []string // each server's client address
	seed    uint64
	maxOps  int
	logf    func(format string, args ...any)
	streams atomic.Uint64
}

// rand returns a new generator stream derived from the run seed.
func (w *wenv) rand() *rand.Rand { return newRand(w.seed, 1+w.streams.Add(1)) }

var quiet = slog.New(slog.DiscardHandler)

// dial opens a session and waits (bounded by ctx and 10s) until it is
// connected.
func (w *wenv) dial(ctx context.Context, connect string, timeout time.Duration, opts ...client.Option) (*client.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	opts = append([]client.Option{client.WithSessionTimeout(timeout), client.WithLogger(quiet)}, opts...)
	return client.Connect(ctx, connect, opts...)
}

// session is a worker's lazily (re)opened session.
type session struct {
	env     *wenv
	connect string
	timeout time.Duration
	c       *client.Conn
}

// get returns a live session, opening a new one when there is none or
// the last one ended (expired). It gives up when ctx ends.
func (s *session) get(ctx context.Context) (*client.Conn, error) {
	if s.c != nil && !s.c.State().Final() {
		// While the client reconnects, every request would fail at once
		// with ConnectionLoss: wait (a bit) instead of piling up ops
		// with unknown outcomes.
		settle(ctx, s.c, 2*time.Second)
		return s.c, nil
	}
	s.close()
	for attempt := 0; ; attempt++ {
		c, err := s.env.dial(ctx, s.connect, s.timeout)
		if err == nil {
			s.c = c
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(min(attempt+1, 10)) * 100 * time.Millisecond):
		}
	}
}

// settle waits up to d until c is connected or its session is over.
func settle(ctx context.Context, c *client.Conn, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		st, changed := c.StateChanged()
		if st.Connected() || st.Final() {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		case <-timer.C:
			return
		}
	}
}

func (s *session) close() {
	if s.c != nil {
		s.c.Close()
		s.c = nil
	}
}

// opCtx bounds one request.
func opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, opTimeout)
}

// pause sleeps up to d, returning early (false) when ctx ends.
func pause(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

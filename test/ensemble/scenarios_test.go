package ensemble_test

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd-io/zkd/test/harness"
)

const (
	// resumeBound is the liveness bound for writes after a leader dies or
	// is cut off: election plus the client finding a serving server.
	resumeBound = 15 * time.Second
	// followerGapBound bounds the longest pause of writes through the
	// leader while a follower dies: a quorum remains, so there should be
	// none worth the name.
	followerGapBound = 3 * time.Second
	// isolatedProbe is how long writes through an isolated leader are
	// tried; none may succeed.
	isolatedProbe = 4 * time.Second
	// warmAcks is how many acknowledged writes show a writer is going.
	warmAcks = 20
)

// killLeaderCycle kills the leader under a steady writer that knows every
// server, waits for writes to resume, restarts the killed server while the
// writer goes on, and checks convergence. It returns the write gap: from
// the last acknowledged write before the kill to the first after it.
func killLeaderCycle(t *testing.T, e *harness.Ensemble, parent string) time.Duration {
	t.Helper()
	leader := e.Leader(t)
	w := startWriter(t, parent, e.Addrs()...)
	w.waitAcks(t, warmAcks, time.Time{}, resumeBound)

	killed := time.Now()
	e.Kill(leader)
	resumed := w.waitAcks(t, 1, killed, resumeBound)
	gap := w.gapAcross(killed)
	next := e.LeaderAmong(t, e.Others(leader)...)

	w.waitAcks(t, warmAcks, resumed, resumeBound)
	restart := time.Now()
	e.Restart(t, leader)
	rejoin := time.Since(restart)
	w.waitAcks(t, warmAcks, time.Now(), resumeBound)
	w.halt(t)
	acks, fails := w.stats()
	t.Logf("killed leader server.%d: writes resumed after a %v gap (first ack %v after the kill), new leader server.%d; restarted server.%d serving after %v; %d writes acknowledged, %d failed",
		leader+1, gap.Round(time.Millisecond), resumed.Sub(killed).Round(time.Millisecond), next+1, leader+1, rejoin.Round(time.Millisecond), acks, fails)
	e.WaitQuorum(t)
	checkConverged(t, e, w.acked())
	return gap
}

func testKillLeader(t *testing.T, e *harness.Ensemble) {
	killLeaderCycle(t, e, "/kill-leader")
}

// testKillLeaderRepeated runs the kill-leader cycle ZKD_ENSEMBLE_CYCLES
// times (10 in CI) and logs the write gaps; each cycle's nodes are deleted
// after its checks so the trees stay small.
func testKillLeaderRepeated(t *testing.T, e *harness.Ensemble) {
	def := 3
	if harness.CI() {
		def = 10
	}
	cycles := harness.EnvInt(t, "ZKD_ENSEMBLE_CYCLES", def)
	var gaps []time.Duration
	for c := 1; c <= cycles; c++ {
		parent := fmt.Sprintf("/kill-leader-%02d", c)
		gaps = append(gaps, killLeaderCycle(t, e, parent))
		if t.Failed() {
			break
		}
		c := dial(t, e.Addrs()...)
		deleteTree(t, c, parent)
		c.Close()
	}
	median, worst := durationStats(gaps)
	t.Logf("BENCH %s leader-kill write gap over %d cycles: median %v, max %v, all %v",
		e.Kind, len(gaps), median.Round(time.Millisecond), worst.Round(time.Millisecond), roundAll(gaps))
}

// testKillFollower kills a follower under a writer talking to the leader
// only: the leader keeps a quorum, so writes must not stall.
func testKillFollower(t *testing.T, e *harness.Ensemble) {
	leader := e.Leader(t)
	follower := followerOf(e, leader)
	w := startWriter(t, "/kill-follower", e.Servers[leader].Addr)
	w.waitAcks(t, warmAcks, time.Time{}, resumeBound)

	killed := time.Now()
	e.Kill(follower)
	w.waitAcks(t, 5*warmAcks, killed, resumeBound)
	worst := w.maxGapSince(killed)
	if worst > followerGapBound {
		t.Errorf("writes through the leader stalled for %v after follower server.%d died, want under %v", worst, follower+1, followerGapBound)
	}
	if now := e.LeaderAmong(t, e.Others(follower)...); now != leader {
		t.Errorf("leader after a follower died: got server.%d, want server.%d still", now+1, leader+1)
	}

	restart := time.Now()
	e.Restart(t, follower)
	rejoin := time.Since(restart)
	w.waitAcks(t, warmAcks, time.Now(), resumeBound)
	w.halt(t)
	acks, fails := w.stats()
	t.Logf("killed follower server.%d: longest write pause through leader server.%d %v; restarted it, serving after %v; %d writes acknowledged, %d failed",
		follower+1, leader+1, worst.Round(time.Millisecond), rejoin.Round(time.Millisecond), acks, fails)
	e.WaitQuorum(t)
	checkConverged(t, e, w.acked())
}

// testWipeRejoin kills a follower, wipes its data dir (all but myid), writes
// on, and restarts it. With snapCount=100 the servers snapshot every 51-100
// writes and compact their logs behind the snapshots (zkd keeps
// snapCount/2+1 entries behind a snapshot for slow followers), so the
// leader no longer has the log the wiped follower lacks and must send it a
// snapshot.
func testWipeRejoin(t *testing.T, e *harness.Ensemble) {
	n := harness.EnvInt(t, "ZKD_ENSEMBLE_WIPE_WRITES", 400)
	leader := e.Leader(t)
	follower := followerOf(e, leader)
	c := dial(t, e.Servers[leader].Addr)
	const parent = "/wipe"
	ensureNode(t, c, parent)
	acked := createMany(t, c, parent, 0, n)

	e.Kill(follower)
	e.Wipe(t, follower)
	acked = append(acked, createMany(t, c, parent, n, 2*n)...)
	restart := time.Now()
	e.Restart(t, follower)
	t.Logf("wiped follower server.%d after %d writes and %d more; restarted, serving after %v",
		follower+1, n, n, time.Since(restart).Round(time.Millisecond))
	c.Close()
	e.WaitQuorum(t)
	checkConverged(t, e, acked)
}

// testPartitionLeader cuts the leader off from the other servers' peer
// ports (its client port stays reachable): writes through it must not
// succeed, the other two must elect a leader and take writes, and after
// the partition heals all three must converge.
func testPartitionLeader(t *testing.T, e *harness.Ensemble) {
	harness.RequirePartitions(t)
	leader := e.Leader(t)
	others := e.Others(leader)
	var otherAddrs []string
	for _, i := range others {
		otherAddrs = append(otherAddrs, e.Servers[i].Addr)
	}
	const parent = "/partition"
	isolated := dial(t, e.Servers[leader].Addr)
	majority := dial(t, otherAddrs...)
	ensureNode(t, isolated, parent)

	cutting := time.Now()
	e.Isolate(t, leader)
	cut := time.Now()
	t.Logf("partition rules in place after %v", cut.Sub(cutting).Round(time.Millisecond))
	probe := probeWrites(isolated, parent+"/isolated")

	next := e.LeaderAmong(t, others...)
	elected := time.Since(cut)
	var acked []string
	for k := range warmAcks {
		p := fmt.Sprintf("%s/majority%03d", parent, k)
		if err := createWithin(majority, p, resumeBound); err != nil {
			t.Fatalf("write through the majority (leader server.%d) %v after the partition: %v", next+1, time.Since(cut).Round(time.Millisecond), err)
		}
		acked = append(acked, p)
	}
	majorityWrites := time.Since(cut)
	if wait := isolatedProbe - time.Since(cut); wait > 0 {
		time.Sleep(wait)
	}
	mode, modeErr := e.Servers[leader].Mode()

	healed := time.Now()
	e.Heal(t)
	results := probe.finish(t, isolated)
	tried := 0
	for _, r := range results {
		tried++
		if r.err == nil {
			acked = append(acked, r.path)
			if r.at.Before(healed) {
				t.Errorf("write %s through the isolated leader server.%d succeeded %v after the partition began", r.path, leader+1, r.at.Sub(cut).Round(time.Millisecond))
			}
		}
	}
	t.Logf("isolated leader server.%d: %d writes through it tried, none succeeded while cut off (its mode then %q, %v); server.%d elected after %v; %d writes through the majority done %v after the cut",
		leader+1, tried, mode, modeErr, next+1, elected.Round(time.Millisecond), warmAcks, majorityWrites.Round(time.Millisecond))
	isolated.Close()
	majority.Close()
	e.WaitQuorum(t)
	checkConverged(t, e, acked)
}

// probe tries writes through one client, one after another, until finish.
type probe struct {
	mu      sync.Mutex
	results []probeResult
	stop    chan struct{}
	done    chan struct{}
}

type probeResult struct {
	path string
	err  error
	at   time.Time
}

func probeWrites(c *client, prefix string) *probe {
	p := &probe{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for k := 0; k < 10_000; k++ {
			select {
			case <-p.stop:
				return
			default:
			}
			path := fmt.Sprintf("%s%04d", prefix, k)
			_, err := c.Create(path, []byte(path), 0, openACL)
			p.mu.Lock()
			p.results = append(p.results, probeResult{path, err, time.Now()})
			p.mu.Unlock()
			select {
			case <-p.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return p
}

// finish stops the probe, waiting (bounded) for the write in flight: after
// the heal it may still succeed, and then it counts as acknowledged.
func (p *probe) finish(t testing.TB, c *client) []probeResult {
	t.Helper()
	close(p.stop)
	select {
	case <-p.done:
	case <-time.After(resumeBound):
		c.Close()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Errorf("write probe still blocked 10s after closing its client")
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]probeResult(nil), p.results...)
}

// testObserver starts a 3+1 ensemble of its own: writes through the
// observer are forwarded, keep going when the leader dies, and the
// observer converges with the rest.
func testObserver(t *testing.T, kind string) {
	start := time.Now()
	e := harness.StartEnsemble(t, kind, 4, append(ensembleOptions, harness.WithObservers(1))...)
	const observer = 3
	if mode, err := e.Servers[observer].Mode(); mode != "observer" {
		t.Fatalf("server.%d mode: got %q, %v; want observer", observer+1, mode, err)
	}
	leader := e.Leader(t)
	t.Logf("3+1 ensemble serving after %v; leader server.%d", time.Since(start).Round(time.Millisecond), leader+1)
	w := startWriter(t, "/observer", e.Servers[observer].Addr)
	w.waitAcks(t, warmAcks, time.Time{}, resumeBound)

	killed := time.Now()
	e.Kill(leader)
	w.waitAcks(t, 1, killed, resumeBound)
	gap := w.gapAcross(killed)
	next := e.LeaderAmong(t, e.Others(leader, observer)...)
	e.Restart(t, leader)
	w.waitAcks(t, warmAcks, time.Now(), resumeBound)
	w.halt(t)
	acks, _ := w.stats()
	t.Logf("writes through observer server.%d: %v gap when leader server.%d died, new leader server.%d; %d acknowledged",
		observer+1, gap.Round(time.Millisecond), leader+1, next+1, acks)
	e.WaitQuorum(t)
	checkConverged(t, e, w.acked())
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for k, d := range ds {
		out[k] = d.Round(time.Millisecond)
	}
	return out
}

// testPauseLeader stops the leader's process (SIGSTOP) for longer than the
// session timeout while clients stay connected to the followers, then lets
// it run again. The resumed process still believes it leads until it hears
// from the others, and every session deadline it tracks has passed: no
// session may expire for that, since its clients were served all along.
func testPauseLeader(t *testing.T, e *harness.Ensemble) {
	leader := e.Leader(t)
	pid := e.Servers[leader].Pid()
	const parent = "/pause-leader"
	type held struct {
		c    *client
		path string
		sess int64
	}
	var hs []held
	for _, f := range e.Others(leader) {
		c := dial(t, e.Servers[f].Addr)
		ensureNode(t, c, parent)
		p := fmt.Sprintf("%s/eph-%d", parent, f+1)
		if _, err := c.Create(p, nil, zk.FlagEphemeral, openACL); err != nil {
			t.Fatalf("create %s through server.%d: %v", p, f+1, err)
		}
		hs = append(hs, held{c, p, c.SessionID()})
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP server.%d (pid %d): %v", leader+1, pid, err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
				t.Errorf("SIGCONT server.%d (pid %d): %v", leader+1, pid, err)
			}
		}
	}
	t.Cleanup(resume)
	next := e.LeaderAmong(t, e.Others(leader)...)
	time.Sleep(pauseLeaderFor)
	resume()
	e.WaitQuorum(t)
	// Long enough for the resumed server's expiry and role loops to run
	// several times.
	time.Sleep(2 * time.Second)
	check := dial(t, e.Addrs()...)
	for _, h := range hs {
		st, err := existsSynced(check, h.path)
		switch {
		case err != nil:
			t.Errorf("read %s: %v", h.path, err)
		case st == nil:
			t.Errorf("ephemeral %s is gone: its session 0x%x expired although its client stayed connected to a follower while the leader was paused", h.path, h.sess)
		case st.EphemeralOwner != h.sess:
			t.Errorf("ephemeral %s belongs to session 0x%x, want 0x%x", h.path, st.EphemeralOwner, h.sess)
		}
	}
	t.Logf("paused leader server.%d for %v; server.%d led meanwhile; every follower's session survived the old leader's return",
		leader+1, pauseLeaderFor, next+1)
	for _, h := range hs {
		h.c.Close()
	}
	deleteTree(t, check, parent)
	check.Close()
	checkConverged(t, e, nil)
}

// pauseLeaderFor is how long testPauseLeader stops the leader: past the
// negotiated session timeout (the harness's tickTime of 200ms caps it at
// maxSessionTimeout, 20 ticks = 4s), so every deadline the leader tracks
// passes.
const pauseLeaderFor = 6 * time.Second

// existsSynced reads path's stat after a sync, so that the server answering
// has everything the leader committed.
func existsSynced(c *client, path string) (*zk.Stat, error) {
	if _, err := c.Sync(path); err != nil {
		return nil, err
	}
	ok, st, err := c.Exists(path)
	if err != nil || !ok {
		return nil, err
	}
	return st, nil
}

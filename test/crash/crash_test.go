package crash

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd-io/zkd/test/harness"
)

const (
	crashWorkers        = 8
	crashSessionTimeout = 4 * time.Second
)

// outcome is what a client knows about one write.
type outcome int

const (
	acked   outcome = iota // the server answered success
	refused                // the server answered with an error: not applied
	unknown                // the connection broke first: applied or not
)

// classify maps a go-zookeeper error to an outcome. Only errors that are a
// server's answer to this request mean "not applied"; connection errors,
// and the session expiry go-zookeeper reports for requests in flight when a
// session ends, leave the outcome open.
func classify(err error) outcome {
	switch {
	case err == nil:
		return acked
	case errors.Is(err, zk.ErrNodeExists), errors.Is(err, zk.ErrNoNode), errors.Is(err, zk.ErrBadVersion),
		errors.Is(err, zk.ErrNotEmpty), errors.Is(err, zk.ErrNoChildrenForEphemerals), errors.Is(err, zk.ErrBadArguments),
		errors.Is(err, zk.ErrInvalidACL), errors.Is(err, zk.ErrNoAuth), errors.Is(err, zk.ErrAPIError):
		return refused
	}
	return unknown
}

type opKind int

const (
	opCreate opKind = iota
	opSequential
	opEphemeral
	opMulti // creates path+"-a" and path+"-b" and sets the worker's counter
	opDelete
	opSet
)

// op is one write a worker attempted.
type op struct {
	kind    opKind
	path    string // the path asked for (a sequential node's prefix)
	got     string // the path the server returned (sequential)
	data    []byte
	counter int // opSet, opMulti: the counter value written
	issued  time.Time
	done    time.Time
	outcome outcome
	err     error
}

// worker drives one client: creates, sequential creates, multis, deletes
// of its own nodes, counter updates and ephemerals.
type worker struct {
	id      int
	c       *client
	rng     *rand.Rand
	ops     []*op
	live    []string // acknowledged persistent creates not yet deleted
	counter int
	seq     int
}

func (w *worker) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		w.seq++
		r := w.rng.IntN(100)
		switch {
		case r < 50:
			w.create(opCreate, fmt.Sprintf("/crash/w%d/n%06d", w.id, w.seq), 0)
		case r < 65:
			w.create(opSequential, fmt.Sprintf("/crash/seq/w%d-", w.id), zk.FlagSequence)
		case r < 72:
			w.create(opEphemeral, fmt.Sprintf("/crash/eph/w%d-%06d", w.id, w.seq), zk.FlagEphemeral)
		case r < 82:
			w.multi(fmt.Sprintf("/crash/m/w%d-%06d", w.id, w.seq))
		case r < 92:
			w.delete()
		default:
			w.set()
		}
	}
}

func (w *worker) finish(o *op, err error) {
	o.done, o.err, o.outcome = time.Now(), err, classify(err)
	w.ops = append(w.ops, o)
}

func (w *worker) create(kind opKind, path string, flags int32) {
	o := &op{kind: kind, path: path, data: []byte(fmt.Sprintf("w%d-%d", w.id, w.seq)), issued: time.Now()}
	got, err := w.c.Create(path, o.data, flags, zk.WorldACL(zk.PermAll))
	o.got = got
	w.finish(o, err)
	if kind == opCreate && o.outcome == acked {
		w.live = append(w.live, path)
	}
}

func (w *worker) multi(path string) {
	w.counter++
	o := &op{kind: opMulti, path: path, data: []byte(path), counter: w.counter, issued: time.Now()}
	_, err := w.c.Multi(
		&zk.CreateRequest{Path: path + "-a", Data: o.data, Acl: zk.WorldACL(zk.PermAll)},
		&zk.CreateRequest{Path: path + "-b", Data: o.data, Acl: zk.WorldACL(zk.PermAll)},
		&zk.SetDataRequest{Path: fmt.Sprintf("/crash/w%d", w.id), Data: []byte(strconv.Itoa(w.counter)), Version: -1},
	)
	w.finish(o, err)
}

func (w *worker) delete() {
	if len(w.live) == 0 {
		return
	}
	i := w.rng.IntN(len(w.live))
	path := w.live[i]
	w.live[i] = w.live[len(w.live)-1]
	w.live = w.live[:len(w.live)-1]
	o := &op{kind: opDelete, path: path, issued: time.Now()}
	w.finish(o, w.c.Delete(path, -1))
}

func (w *worker) set() {
	w.counter++
	o := &op{kind: opSet, path: fmt.Sprintf("/crash/w%d", w.id), counter: w.counter, issued: time.Now()}
	_, err := w.c.Set(o.path, []byte(strconv.Itoa(w.counter)), -1)
	w.finish(o, err)
}

// TestCrashNoAckedWriteLost runs 8 clients against a zkd process that is
// SIGKILLed at random moments and restarted, then checks that every
// acknowledged write survived and that the tree is consistent.
func TestCrashNoAckedWriteLost(t *testing.T) {
	kills := harness.EnvInt(t, "ZKD_CRASH_KILLS", 30)
	rng := newRand(t)
	srv := harness.Zkd(t,
		harness.WithConfig("snapCount", "200"),
		harness.WithTickTime(500*time.Millisecond),
		harness.WithSessionTimeouts(time.Second, 10*time.Second))

	setup := dial(t, srv.Addr, crashSessionTimeout)
	for _, p := range []string{"/crash", "/crash/seq", "/crash/m", "/crash/eph"} {
		mustCreate(t, setup.Conn, p, nil)
	}
	workers := make([]*worker, crashWorkers)
	for i := range workers {
		mustCreate(t, setup.Conn, fmt.Sprintf("/crash/w%d", i), []byte("0"))
		workers[i] = &worker{id: i, c: dial(t, srv.Addr, crashSessionTimeout),
			rng: rand.New(rand.NewPCG(rng.Uint64(), uint64(i)))}
	}
	setup.Close()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(stop)
		}()
	}
	closeStop := sync.OnceFunc(func() { close(stop) })
	// On a failed check the server may be gone and the workers blocked in a
	// request: closing their clients is what releases them.
	t.Cleanup(func() {
		closeStop()
		for _, w := range workers {
			w.c.Close()
		}
		wg.Wait()
	})
	stopWorkers := func() {
		closeStop()
		done := make(chan struct{})
		go func() {
			wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("the workers did not finish their last request within 30s of the stop")
		}
	}

	start := time.Now()
	var restarts []time.Time
	var downtime time.Duration
	for k := 0; k < kills; k++ {
		time.Sleep(time.Duration(50+rng.IntN(351)) * time.Millisecond)
		srv.Kill()
		down := time.Now()
		srv.Restart(t)
		downtime += time.Since(down)
		restarts = append(restarts, time.Now())
	}
	// Let the clients reconnect and write after the last restart.
	time.Sleep(300 * time.Millisecond)
	stopWorkers()
	t.Logf("%d kills in %v; total downtime (kill to serving) %v, %v per restart",
		kills, time.Since(start).Round(time.Millisecond), downtime.Round(time.Millisecond), (downtime / time.Duration(kills)).Round(time.Millisecond))

	var all []*op
	counts := map[outcome]int{}
	for _, w := range workers {
		for _, o := range w.ops {
			counts[o.outcome]++
			all = append(all, o)
		}
		if n := w.c.expired.Load(); n > 0 {
			t.Errorf("worker %d: its session expired %d time(s); sessions must survive a restart that takes far less than their %v timeout", w.id, n, crashSessionTimeout)
		}
	}
	t.Logf("%d writes: %d acknowledged, %d refused, %d unknown (in flight at a kill)", len(all), counts[acked], counts[refused], counts[unknown])
	checkProgress(t, all, restarts)

	checker := dial(t, srv.Addr, crashSessionTimeout)
	// Ephemerals acknowledged to a live session survive the kills.
	for _, w := range workers {
		checkEphemerals(t, checker.Conn, w)
	}
	for _, w := range workers {
		w.c.Close()
	}
	// Every client closed its session, so every ephemeral must go (those of
	// sessions orphaned by a kill, after their timeout).
	waitNoEphemerals(t, checker.Conn, checker.SessionID(), 3*crashSessionTimeout)

	nodes, err := readTree(checker.Conn)
	if err != nil {
		t.Fatalf("reading the tree: %v", err)
	}
	t.Logf("tree: %d znodes", len(nodes))
	problems := checkTree(nodes, lastZxid(t, srv))
	problems = append(problems, checkWrites(workers, nodes)...)
	report(t, problems)
}

// checkProgress fails the test when the clients wrote nothing between most
// kills: a run that never loaded the server proves nothing.
func checkProgress(t *testing.T, ops []*op, restarts []time.Time) {
	t.Helper()
	ackedIn := make([]bool, len(restarts)+1)
	for _, o := range ops {
		if o.outcome != acked {
			continue
		}
		i := sort.Search(len(restarts), func(i int) bool { return restarts[i].After(o.done) })
		ackedIn[i] = true
	}
	n := 0
	for _, ok := range ackedIn {
		if ok {
			n++
		}
	}
	if n < len(ackedIn)/2 {
		t.Errorf("writes were acknowledged in only %d of %d run periods between kills; the load did not reach the server", n, len(ackedIn))
	}
}

// checkEphemerals: every acknowledged ephemeral of a session that never
// expired still exists and belongs to that session.
func checkEphemerals(t *testing.T, c *zk.Conn, w *worker) {
	t.Helper()
	if w.c.expired.Load() > 0 {
		return
	}
	for _, o := range w.ops {
		if o.kind != opEphemeral || o.outcome != acked {
			continue
		}
		ok, st, err := c.Exists(o.path)
		switch {
		case err != nil:
			t.Fatalf("exists %s: %v", o.path, err)
		case !ok:
			t.Errorf("acknowledged ephemeral %s of live session 0x%x is gone", o.path, w.c.SessionID())
		case st.EphemeralOwner != w.c.SessionID():
			t.Errorf("ephemeral %s: owner 0x%x, want the creating session 0x%x", o.path, st.EphemeralOwner, w.c.SessionID())
		}
	}
}

// waitNoEphemerals waits until no znode is owned by a session other than
// self's.
func waitNoEphemerals(t *testing.T, c *zk.Conn, self int64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		nodes, err := readTree(c)
		if err != nil {
			t.Fatalf("reading the tree: %v", err)
		}
		var left []string
		for p, n := range nodes {
			if o := n.stat.EphemeralOwner; o != 0 && o != self {
				left = append(left, fmt.Sprintf("%s (owner 0x%x)", p, o))
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			sort.Strings(left)
			t.Fatalf("%d ephemeral(s) still exist %v after every client closed its session: %v", len(left), d, first(left, 10))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkTree checks invariants that hold for any ZooKeeper tree at rest.
func checkTree(nodes map[string]*znode, last int64) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for p, n := range nodes {
		st := n.stat
		special := p == "/" || p == "/zookeeper" || strings.HasPrefix(p, "/zookeeper/")
		if p != "/" {
			parent, ok := nodes[parentOf(p)]
			switch {
			case !ok:
				bad("%s: parent missing", p)
			case !special && st.Czxid <= parent.stat.Czxid:
				bad("%s: czxid 0x%x not after its parent's 0x%x", p, st.Czxid, parent.stat.Czxid)
			case !special && parent.stat.Pzxid < st.Czxid:
				bad("%s: parent pzxid 0x%x older than this child's czxid 0x%x", p, parent.stat.Pzxid, st.Czxid)
			}
		}
		if int(st.NumChildren) != len(n.children) {
			bad("%s: numChildren %d, but getChildren lists %d", p, st.NumChildren, len(n.children))
		}
		if *n.childStat != *st {
			bad("%s: getData and getChildren2 disagree on the stat: %+v vs %+v", p, *st, *n.childStat)
		}
		if int(st.DataLength) != len(n.data) {
			bad("%s: dataLength %d, data is %d bytes", p, st.DataLength, len(n.data))
		}
		if st.EphemeralOwner != 0 && len(n.children) > 0 {
			bad("%s: ephemeral with %d children", p, len(n.children))
		}
		if special {
			continue
		}
		if st.Cversion < st.NumChildren {
			bad("%s: cversion %d below numChildren %d (every child create counts)", p, st.Cversion, st.NumChildren)
		}
		if st.Mzxid < st.Czxid || st.Pzxid < st.Czxid || st.Mtime < st.Ctime {
			bad("%s: czxid 0x%x mzxid 0x%x pzxid 0x%x ctime %d mtime %d out of order", p, st.Czxid, st.Mzxid, st.Pzxid, st.Ctime, st.Mtime)
		}
		for _, z := range []int64{st.Czxid, st.Mzxid, st.Pzxid} {
			if z > last {
				bad("%s: zxid 0x%x beyond the server's last zxid 0x%x", p, z, last)
			}
		}
		for _, k := range n.children {
			// Sequential suffixes come from the parent's cversion at create.
			if i := strings.LastIndexByte(k, '-'); strings.HasPrefix(p, "/crash/seq") && i >= 0 {
				if seq, err := strconv.Atoi(k[i+1:]); err != nil || len(k[i+1:]) != 10 {
					bad("%s/%s: sequence suffix is not 10 digits", p, k)
				} else if seq >= int(st.Cversion) {
					bad("%s/%s: sequence %d not below the parent's cversion %d", p, k, seq, st.Cversion)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// checkWrites compares the tree with what the clients were told.
func checkWrites(workers []*worker, nodes map[string]*znode) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	type ackedCreate struct {
		path            string
		issued, ackedAt time.Time
	}
	var creates []ackedCreate
	seqTags := map[string]bool{} // data of every sequential create attempted
	for _, w := range workers {
		deleted := map[string]outcome{}
		for _, o := range w.ops {
			if o.kind == opDelete {
				deleted[o.path] = o.outcome
			}
		}
		lastAcked, lastTried := 0, 0
		for _, o := range w.ops {
			switch o.kind {
			case opCreate, opSequential, opMulti:
				if o.kind == opSequential {
					seqTags[string(o.data)] = true
				}
				if o.outcome == refused {
					bad("worker %d: %v of fresh path %s refused: %v", w.id, o.kind, o.path, o.err)
				}
				if o.outcome != acked {
					continue
				}
				paths := []string{o.path}
				switch o.kind {
				case opSequential:
					paths = []string{o.got}
				case opMulti:
					paths = []string{o.path + "-a", o.path + "-b"}
				}
				for _, p := range paths {
					if _, gone := deleted[p]; gone {
						continue
					}
					n, ok := nodes[p]
					if !ok {
						bad("LOST: acknowledged create of %s (worker %d, acked %s) is missing", p, w.id, o.done.Format("15:04:05.000"))
						continue
					}
					if string(n.data) != string(o.data) {
						bad("%s: data %q, want %q", p, n.data, o.data)
					}
					creates = append(creates, ackedCreate{p, o.issued, o.done})
				}
			case opDelete:
				switch o.outcome {
				case acked:
					if _, ok := nodes[o.path]; ok {
						bad("LOST: acknowledged delete of %s (worker %d) undone", o.path, w.id)
					}
				case refused:
					bad("LOST: delete of acknowledged, never deleted %s refused: %v", o.path, o.err)
				}
			}
			if o.kind == opSet || o.kind == opMulti {
				lastTried = o.counter
				if o.outcome == acked {
					lastAcked = o.counter
				}
			}
		}
		cp := fmt.Sprintf("/crash/w%d", w.id)
		if n, ok := nodes[cp]; !ok {
			bad("%s missing", cp)
		} else if v, err := strconv.Atoi(string(n.data)); err != nil || v < lastAcked || v > lastTried {
			bad("LOST: counter %s is %q; acknowledged up to %d, tried up to %d", cp, n.data, lastAcked, lastTried)
		}
	}
	// Nodes no client asked for, and multis applied by halves.
	for p, n := range nodes {
		switch {
		case strings.HasPrefix(p, "/crash/seq/"):
			if !seqTags[string(n.data)] {
				bad("%s: sequential node with data %q that no client wrote", p, n.data)
			}
		case strings.HasPrefix(p, "/crash/m/"):
			base := p[:len(p)-2]
			if string(n.data) != base {
				bad("%s: data %q, want %q", p, n.data, base)
			}
			other := base + "-a"
			if strings.HasSuffix(p, "-a") {
				other = base + "-b"
			}
			if _, ok := nodes[other]; !ok {
				bad("multi applied by halves: %s exists, %s does not", p, other)
			}
		case strings.HasPrefix(p, "/crash/w") && strings.Count(p, "/") == 3:
			if want := fmt.Sprintf("w%s-%d", strings.TrimPrefix(strings.Split(p, "/")[2], "w"), atoiSuffix(p)); string(n.data) != want {
				bad("%s: data %q, want %q", p, n.data, want)
			}
		}
	}
	// Real-time order: a create issued after another was acknowledged gets
	// a larger zxid, across restarts too.
	sort.Slice(creates, func(i, j int) bool { return creates[i].ackedAt.Before(creates[j].ackedAt) })
	byIssue := append([]ackedCreate(nil), creates...)
	sort.Slice(byIssue, func(i, j int) bool { return byIssue[i].issued.Before(byIssue[j].issued) })
	var maxZxid int64
	var maxPath string
	k := 0
	for _, c := range byIssue {
		for k < len(creates) && creates[k].ackedAt.Before(c.issued) {
			if z := nodes[creates[k].path].stat.Czxid; z > maxZxid {
				maxZxid, maxPath = z, creates[k].path
			}
			k++
		}
		if z := nodes[c.path].stat.Czxid; z <= maxZxid {
			bad("zxid order: %s (czxid 0x%x) was issued after %s (czxid 0x%x) was acknowledged", c.path, z, maxPath, maxZxid)
		}
	}
	sort.Strings(out)
	return out
}

func atoiSuffix(p string) int {
	i := strings.LastIndexByte(p, 'n')
	v, _ := strconv.Atoi(p[i+1:])
	return v
}

func (k opKind) String() string {
	return [...]string{"create", "sequential create", "ephemeral create", "multi", "delete", "setData"}[k]
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("... and %d more", len(s)-n))
	}
	return s
}

func report(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range first(problems, 40) {
		t.Error(p)
	}
}

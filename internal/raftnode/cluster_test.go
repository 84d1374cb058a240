package raftnode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// peerHandler is what internal/transport calls on a node (its Handler minus
// HandleApp, which the server adds); *Node must keep satisfying it.
type peerHandler interface {
	Step(ctx context.Context, m *raftpb.Message) error
	ReceiveSnapshot(ctx context.Context, m *raftpb.Message, body io.Reader, size int64) error
	ReportUnreachable(id uint64)
	ReportSnapshot(id uint64, ok bool)
}

var _ peerHandler = (*Node)(nil)

// memNet is an in-memory network between the nodes of one test cluster.
// Messages travel in order per (from, to) pair, through one goroutine per
// pair, and are marshalled on the way, as a real transport would. A pair
// can be cut (messages dropped, the sender told the peer is unreachable)
// or delayed; a node that is down drops what is sent to it.
type memNet struct {
	t testing.TB

	mu     sync.Mutex
	nodes  map[uint64]*Node // running nodes
	links  map[[2]uint64]chan envelope
	cut    map[[2]uint64]bool
	delay  map[[2]uint64]time.Duration
	closed bool

	snapsOK       map[uint64]int // snapshots each node accepted
	snapsFailed   atomic.Int64
	truncateSnaps atomic.Int64 // cut this many snapshot streams short

	stopc chan struct{}
	wg    sync.WaitGroup
}

type envelope struct {
	m  []byte
	at time.Time
}

const linkQueue = 1024

func newMemNet(t testing.TB) *memNet {
	return &memNet{
		t:       t,
		nodes:   map[uint64]*Node{},
		links:   map[[2]uint64]chan envelope{},
		cut:     map[[2]uint64]bool{},
		delay:   map[[2]uint64]time.Duration{},
		snapsOK: map[uint64]int{},
		stopc:   make(chan struct{}),
	}
}

// close stops every link goroutine and snapshot transfer and waits for them.
func (nw *memNet) close() {
	nw.mu.Lock()
	if nw.closed {
		nw.mu.Unlock()
		return
	}
	nw.closed = true
	close(nw.stopc)
	nw.mu.Unlock()
	nw.wg.Wait()
}

func (nw *memNet) register(id uint64, n *Node) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	nw.nodes[id] = n
}

func (nw *memNet) unregister(id uint64) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	delete(nw.nodes, id)
}

// partition cuts every link between the two groups, both ways.
func (nw *memNet) partition(a, b []uint64) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	for _, x := range a {
		for _, y := range b {
			nw.cut[[2]uint64{x, y}] = true
			nw.cut[[2]uint64{y, x}] = true
		}
	}
}

func (nw *memNet) heal() {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	clear(nw.cut)
	clear(nw.delay)
}

func (nw *memNet) setDelay(from, to uint64, d time.Duration) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	nw.delay[[2]uint64{from, to}] = d
}

// target returns the node a message from -> to reaches, nil if none.
func (nw *memNet) target(from, to uint64) *Node {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if nw.cut[[2]uint64{from, to}] {
		return nil
	}
	return nw.nodes[to]
}

func (nw *memNet) snapshotsAccepted(id uint64) int {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return nw.snapsOK[id]
}

// memTransport is one node incarnation's end of the network.
type memTransport struct {
	nw   *memNet
	from uint64
	self atomic.Pointer[Node] // set once Start returns; reports go here
}

func (tr *memTransport) Send(msgs []*raftpb.Message) {
	for _, m := range msgs {
		b, err := proto.Marshal(m)
		if err != nil {
			tr.nw.t.Errorf("marshalling a %v message: %v", m.GetType(), err)
			continue
		}
		if !tr.nw.enqueue(tr.from, m.GetTo(), envelope{m: b, at: time.Now()}) {
			tr.unreachable(m.GetTo())
		}
	}
}

func (tr *memTransport) unreachable(to uint64) {
	if n := tr.self.Load(); n != nil {
		n.ReportUnreachable(to)
	}
}

// enqueue puts a message on its pair's queue, starting the pair's
// goroutine on first use; false when the queue is full or the net closed.
func (nw *memNet) enqueue(from, to uint64, e envelope) bool {
	nw.mu.Lock()
	if nw.closed {
		nw.mu.Unlock()
		return false
	}
	key := [2]uint64{from, to}
	ch, ok := nw.links[key]
	if !ok {
		ch = make(chan envelope, linkQueue)
		nw.links[key] = ch
		nw.wg.Add(1)
		go nw.runLink(from, to, ch)
	}
	nw.mu.Unlock()
	select {
	case ch <- e:
		return true
	default:
		return false
	}
}

func (nw *memNet) runLink(from, to uint64, ch chan envelope) {
	defer nw.wg.Done()
	for {
		select {
		case e := <-ch:
			nw.mu.Lock()
			d := nw.delay[[2]uint64{from, to}]
			nw.mu.Unlock()
			if wait := time.Until(e.at.Add(d)); d > 0 && wait > 0 {
				select {
				case <-time.After(wait):
				case <-nw.stopc:
					return
				}
			}
			n := nw.target(from, to)
			if n == nil {
				nw.reportUnreachable(from, to)
				continue
			}
			m := &raftpb.Message{}
			if err := proto.Unmarshal(e.m, m); err != nil {
				nw.t.Errorf("unmarshalling a message from %d to %d: %v", from, to, err)
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = n.Step(ctx, m) // a stopping node refuses; the network does not care
			cancel()
		case <-nw.stopc:
			return
		}
	}
}

func (nw *memNet) reportUnreachable(from, to uint64) {
	nw.mu.Lock()
	sender := nw.nodes[from]
	nw.mu.Unlock()
	if sender != nil {
		sender.ReportUnreachable(to)
	}
}

func (tr *memTransport) SendSnapshot(m *raftpb.Message, body io.ReadCloser, size int64) {
	nw := tr.nw
	nw.mu.Lock()
	if nw.closed {
		nw.mu.Unlock()
		body.Close()
		return
	}
	nw.wg.Add(1)
	nw.mu.Unlock()
	go func() {
		defer nw.wg.Done()
		ok := nw.deliverSnapshot(tr.from, m, body, size)
		body.Close()
		if ok {
			nw.mu.Lock()
			nw.snapsOK[m.GetTo()]++
			nw.mu.Unlock()
		} else {
			nw.snapsFailed.Add(1)
		}
		if n := tr.self.Load(); n != nil {
			n.ReportSnapshot(m.GetTo(), ok)
		}
	}()
}

func (nw *memNet) deliverSnapshot(from uint64, m *raftpb.Message, body io.Reader, size int64) bool {
	n := nw.target(from, m.GetTo())
	if n == nil {
		return false
	}
	if nw.truncateSnaps.Add(-1) >= 0 {
		// The connection breaks halfway: the receiver sees a short stream.
		body = io.LimitReader(body, size/2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clone := proto.Clone(m).(*raftpb.Message)
	err := n.ReceiveSnapshot(ctx, clone, body, size)
	if err != nil {
		nw.t.Logf("snapshot %d -> %d failed: %v", from, m.GetTo(), err)
	}
	return err == nil
}

// cluster is a test ensemble of Nodes on one memNet, each with its own
// data directory and listSM.
type cluster struct {
	t                testing.TB
	net              *memNet
	root             string
	voters, learners []uint64
	mutate           func(*Config)
	wrap             func(persister) persister // optional, for every node

	nodes map[uint64]*Node
	sms   map[uint64]*listSM
}

func newCluster(t testing.TB, voters, learners []uint64, mutate func(*Config)) *cluster {
	return newClusterWrapped(t, voters, learners, mutate, nil)
}

func newClusterWrapped(t testing.TB, voters, learners []uint64, mutate func(*Config), wrap func(persister) persister) *cluster {
	c := &cluster{
		t: t, net: newMemNet(t), root: t.TempDir(), voters: voters, learners: learners, mutate: mutate, wrap: wrap,
		nodes: map[uint64]*Node{}, sms: map[uint64]*listSM{},
	}
	t.Cleanup(c.stopAll)
	for _, id := range slices.Concat(voters, learners) {
		c.start(id)
	}
	return c
}

func (c *cluster) config(id uint64) (Config, *memTransport) {
	tr := &memTransport{nw: c.net, from: id}
	dir := filepath.Join(c.root, fmt.Sprintf("n%d", id))
	cfg := Config{
		ID:           id,
		Peers:        c.voters,
		Learners:     c.learners,
		WALDir:       filepath.Join(dir, "wal"),
		SnapDir:      filepath.Join(dir, "snap"),
		TickInterval: 10 * time.Millisecond,
		Logger:       testLogger(c.t),
		Transport:    tr,
	}
	if c.mutate != nil {
		c.mutate(&cfg)
	}
	return cfg, tr
}

// start starts (or restarts, from its directory) node id with a fresh listSM.
func (c *cluster) start(id uint64) {
	c.t.Helper()
	cfg, tr := c.config(id)
	sm := newListSM()
	n, err := start(cfg, sm, c.wrap)
	if err != nil {
		c.t.Fatalf("starting node %d: %v", id, err)
	}
	tr.self.Store(n)
	c.nodes[id], c.sms[id] = n, sm
	c.net.register(id, n)
}

func (c *cluster) stop(id uint64) {
	c.net.unregister(id)
	if n := c.nodes[id]; n != nil {
		n.Stop()
	}
	delete(c.nodes, id)
}

// wipe deletes node id's data, as when a server's disk is replaced.
func (c *cluster) wipe(id uint64) {
	c.t.Helper()
	if err := os.RemoveAll(filepath.Join(c.root, fmt.Sprintf("n%d", id))); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) stopAll() {
	for id := range c.nodes {
		c.stop(id)
	}
	c.net.close()
}

// leader waits until one of ids leads with a term above minTerm and every
// running node of ids follows it, and returns it.
func (c *cluster) leader(ids []uint64, minTerm uint64) uint64 {
	c.t.Helper()
	var lead uint64
	eventually(c.t, 5*time.Second, fmt.Sprintf("one leader among %v above term %d", ids, minTerm), func() bool {
		lead = 0
		for _, id := range ids {
			if n := c.nodes[id]; n != nil && n.Status().IsLeader && n.Status().Term > minTerm {
				lead = id
			}
		}
		if lead == 0 {
			return false
		}
		for _, id := range ids {
			if n := c.nodes[id]; n != nil && n.Status().Leader != lead {
				return false
			}
		}
		return true
	})
	return lead
}

func (c *cluster) propose(via uint64, data string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.nodes[via].Propose(ctx, []byte(data))
}

// write proposes data through via, retrying while the proposal is dropped
// (a leader change in progress), until every node of ids has applied it.
func (c *cluster) write(via uint64, data string, ids []uint64) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := c.propose(via, data); err != nil {
			c.t.Fatalf("Propose(%q) via %d: %v", data, via, err)
		}
		done := time.Now().Add(time.Second)
		for time.Now().Before(done) {
			if c.allHave(ids, data) {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%q proposed via %d not applied on all of %v within 10s", data, via, ids)
		}
	}
}

func (c *cluster) allHave(ids []uint64, data string) bool {
	for _, id := range ids {
		if !slices.Contains(c.sms[id].data(), data) {
			return false
		}
	}
	return true
}

// converge waits until every node of ids applied the same entries up to the
// same index.
func (c *cluster) converge(ids []uint64) {
	c.t.Helper()
	var desc string
	deadline := time.Now().Add(10 * time.Second)
	for {
		first := c.sms[ids[0]].snapshotOf()
		same := true
		desc = ""
		for _, id := range ids {
			got := c.sms[id].snapshotOf()
			desc += fmt.Sprintf(" node %d: %d entries, applied %d;", id, len(got), c.nodes[id].AppliedIndex())
			if c.nodes[id].AppliedIndex() != c.nodes[ids[0]].AppliedIndex() || !slices.EqualFunc(got, first, recEqual) {
				same = false
			}
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("nodes %v did not converge within 10s:%s", ids, desc)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func others(ids []uint64, not ...uint64) []uint64 {
	var out []uint64
	for _, id := range ids {
		if !slices.Contains(not, id) {
			out = append(out, id)
		}
	}
	return out
}

// TestProposalsWaitForALeaderInOrder: while no leader can be elected,
// proposals are held, not failed at once; once one is elected they enter
// the log in the order they were made; and one that waited ProposalWait
// fails with ErrProposalDropped and is never applied.
func TestProposalsWaitForALeaderInOrder(t *testing.T) {
	const wait = 2 * time.Second
	ids := []uint64{1, 2, 3}
	c := newCluster(t, ids, nil, func(cfg *Config) { cfg.ProposalWait = wait })
	lead := c.leader(ids, 0)
	rest := others(ids, lead)
	r, down := rest[0], rest[1]
	c.stop(lead)
	c.stop(down)
	eventually(t, 5*time.Second, "the last node to lose its leader", func() bool { return c.nodes[r].Status().Leader == 0 })

	propose := func(data string) chan error {
		errc := make(chan error, 1)
		c.nodes[r].ProposeAsync([]byte(data), func(err error) { errc <- err })
		return errc
	}
	start := time.Now()
	select {
	case err := <-propose("lost"):
		if !errors.Is(err, ErrProposalDropped) || time.Since(start) < wait {
			t.Fatalf("a proposal without a leader ended after %v with %v; want ErrProposalDropped after %v", time.Since(start), err, wait)
		}
	case <-time.After(wait + 3*time.Second):
		t.Fatalf("a proposal without a leader was neither taken nor failed after %v", wait+3*time.Second)
	}

	names := []string{"a", "b", "c"}
	var errcs []chan error
	for _, d := range names {
		errcs = append(errcs, propose(d))
	}
	time.Sleep(100 * time.Millisecond)
	for i, errc := range errcs {
		select {
		case err := <-errc:
			t.Fatalf("proposal %q ended with %v while no leader could be elected; want it held", names[i], err)
		default:
		}
	}
	c.start(down)
	for i, errc := range errcs {
		select {
		case err := <-errc:
			if err != nil {
				t.Fatalf("proposal %q: %v", names[i], err)
			}
		case <-time.After(wait):
			t.Fatalf("proposal %q not taken within %v of a leader being electable", names[i], wait)
		}
	}
	eventually(t, 5*time.Second, "a, b and c applied", func() bool { return c.allHave([]uint64{r}, "c") })
	var got []string
	for _, d := range c.sms[r].data() {
		if d == "a" || d == "b" || d == "c" || d == "lost" {
			got = append(got, d)
		}
	}
	if !slices.Equal(got, names) {
		t.Fatalf("applied %v, want %v in that order and nothing of the failed proposal", got, names)
	}
}

// saveGate holds the leader's own Save of marker (the first, if it is
// written more than once), and counts the Saves of it that the other nodes
// make meanwhile.
type saveGate struct {
	marker   string
	leader   atomic.Uint64 // set once the leader is known
	once     sync.Once
	blocked  chan struct{}
	release  chan struct{}
	released sync.Once
	others   atomic.Int32
}

type gatedSave struct {
	persister
	id uint64
	g  *saveGate
}

func (p *gatedSave) Save(hs *raftpb.HardState, ents []*raftpb.Entry) error {
	for _, e := range ents {
		if string(e.GetData()) != p.g.marker {
			continue
		}
		if p.id != p.g.leader.Load() {
			p.g.others.Add(1)
			continue
		}
		first := false
		p.g.once.Do(func() { first = true })
		if first {
			close(p.g.blocked)
			<-p.g.release
		}
	}
	return p.persister.Save(hs, ents)
}

// TestLeaderSendsAppendsBeforeItsOwnSave: the followers receive and write
// an entry while the leader is still writing it (raft thesis 10.2.1); the
// leader commits it on their copies meanwhile, but applies it only once its
// own write is done.
func TestLeaderSendsAppendsBeforeItsOwnSave(t *testing.T) {
	g := &saveGate{marker: "written-in-parallel", blocked: make(chan struct{}), release: make(chan struct{})}
	started := 0 // the cluster starts its nodes in the order of three
	c := newClusterWrapped(t, three, nil, nil, func(p persister) persister {
		started++
		return &gatedSave{persister: p, id: three[started-1], g: g}
	})
	t.Cleanup(func() { g.released.Do(func() { close(g.release) }) })
	lead := c.leader(three, 0)
	g.leader.Store(lead)
	c.write(lead, "warm-up", three)
	proposed := make(chan error, 1)
	go func() { proposed <- c.propose(lead, g.marker) }()
	select {
	case <-g.blocked:
	case <-time.After(5 * time.Second):
		t.Fatal("the leader never wrote the entry")
	}
	deadline := time.Now().Add(3 * time.Second)
	for g.others.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("followers that wrote the entry while the leader was writing it: %d, want 2", g.others.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The raft loop does not wait for the disk: while the leader's own
	// write is held, it steps the followers' acknowledgements and commits
	// the entry on their copies (its own Match stays behind).
	deadline = time.Now().Add(3 * time.Second)
	for {
		var commit, own uint64
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.nodes[lead].call(ctx, func(rn *raft.RawNode) {
			st := rn.Status()
			commit, own = st.GetCommit(), st.Progress[lead].Match
		})
		cancel()
		if err != nil {
			t.Fatalf("the leader's raft loop did not answer while its write was held: %v", err)
		}
		if commit > own {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leader's commit index %d never passed its own durable index %d while its write was held", commit, own)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if c.allHave([]uint64{lead}, g.marker) {
		t.Fatal("the leader applied the entry before its own write finished")
	}
	g.released.Do(func() { close(g.release) })
	if err := <-proposed; err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for !c.allHave(three, g.marker) {
		if time.Now().After(deadline) {
			t.Fatal("the entry was not applied everywhere after the leader's write")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

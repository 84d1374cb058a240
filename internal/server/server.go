package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/zkd-io/zkd/internal/config"
	"github.com/zkd-io/zkd/internal/fourlw"
	"github.com/zkd-io/zkd/internal/fsm"
	"github.com/zkd-io/zkd/internal/raftnode"
	"github.com/zkd-io/zkd/internal/session"
	"github.com/zkd-io/zkd/internal/transport"
	"github.com/zkd-io/zkd/internal/watch"
	"github.com/zkd-io/zkd/proto"
)

// Version is zkd's version, shown by srvr and stat.
var Version = "0.1.0"

// Server is one zkd server.
type Server struct {
	opts *config.Options
	log  *slog.Logger
	id   uint64

	node    *raftnode.Node
	tracker *session.Tracker
	watches *watch.Registry

	// Ensemble members only (nil when standalone).
	transport *transport.Transport
	peers     *peerHandler
	// serving is false while an ensemble member has no leader: clients
	// are refused, as by a ZooKeeper server without a quorum.
	serving     atomic.Bool
	leaderSince atomic.Int64 // unix nanoseconds of the last leadership gain
	// fault is set when persistence failed: writes are refused from then
	// on and srvr/mntr say why.
	fault atomic.Pointer[string]
	// digests is the hash 4lw's log of recent tree digests.
	digests digestLog
	// appliedTerm is the term of the last applied entry (apply goroutine).
	appliedTerm uint64

	adminMu sync.Mutex
	admin   *adminState // the AdminServer and metrics endpoints, nil when stopped

	// mu serialises Apply (writer) against reads and watch registration
	// (readers), so that a read and the watch it sets see one state.
	mu  sync.RWMutex
	fsm *fsm.FSM

	waiters waitTable
	reqSeq  atomic.Uint64
	nextSID atomic.Int64

	ln      net.Listener
	connsMu sync.Mutex
	conns   map[*conn]struct{}
	perIP   map[string]int
	owners  map[int64]*conn // session id -> the connection serving it

	stats   serverStats
	started time.Time

	baseCtx   context.Context // cancelled when the server stops
	cancel    context.CancelFunc
	fatalOnce sync.Once
	fatalErr  atomic.Value // error
	quit      chan struct{}
	wg        sync.WaitGroup
}

// New prepares a server from validated options. Start brings it up.
func New(opts *config.Options, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	id := opts.MyID
	if id == 0 {
		id = 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		baseCtx: ctx,
		cancel:  cancel,
		opts:    opts,
		log:     log,
		id:      id,
		tracker: session.NewTracker(),
		watches: watch.New(),
		fsm:     fsm.New(fsmOptions(opts)),
		conns:   map[*conn]struct{}{},
		perIP:   map[string]int{},
		owners:  map[int64]*conn{},
		quit:    make(chan struct{}),
	}
}

// snapBytes is the snapshot size trigger; snapSizeLimitInKb <= 0 turns it
// off, as in ZooKeeper.
func snapBytes(o *config.Options) uint64 {
	if o.SnapSizeLimitKB <= 0 {
		return math.MaxUint64
	}
	return uint64(o.SnapSizeLimitKB) << 10
}

// raftConfig is this server's raft node, from its options; Start adds the
// ensemble's members and the transport.
func (s *Server) raftConfig() raftnode.Config {
	tick, electionTicks := raftTiming(s.opts)
	return raftnode.Config{
		ID:             s.id,
		Peers:          []uint64{s.id},
		WALDir:         filepath.Join(s.opts.DataLogDir, "wal"),
		SnapDir:        filepath.Join(s.opts.DataDir, "snap"),
		TickInterval:   tick,
		ElectionTicks:  electionTicks,
		HeartbeatTicks: 1,
		SnapCount:      uint64(s.opts.SnapCount),
		SnapBytes:      snapBytes(s.opts),
		// A configured 0 means every sync is reported, not the default.
		SlowSyncThreshold:  max(s.opts.FsyncWarningThreshold, time.Nanosecond),
		SnapCatchUpEntries: commitLogCount(s.opts),
		WindowBytes:        uint64(s.opts.CommitLogSizeLimitKB) << 10,
		SnapRetainCount:    s.opts.SnapRetainCount,
		NoZeroFill:         !s.opts.WALZeroFill,
		ProposalWait:       max(2*s.electionTimeout(), 2*time.Second),
		Logger:             s.log,
	}
}

// commitLogCount is how many applied entries an ensemble member keeps in
// memory for peers that are slightly behind: commitLogCount when set, else
// etcd's 5000, or half of a small snapCount so that a snapshot really
// compacts the log.
func commitLogCount(o *config.Options) uint64 {
	if o.CommitLogCount > 0 {
		return uint64(o.CommitLogCount)
	}
	return min(5000, uint64(o.SnapCount)/2+1)
}

func fsmOptions(o *config.Options) fsm.Options {
	return fsm.Options{ExtendedTypes: o.ExtendedTypesEnabled, SuperDigest: o.SuperDigest, Config: configNode(o)}
}

// memberOf is a server.N line as conf and /zookeeper/config print it.
func memberOf(sv config.Server) fourlw.Member {
	return fourlw.Member{ID: sv.ID, Host: sv.Host, QuorumPort: sv.QuorumPort, ElectionPort: sv.ElectionPort,
		Observer: sv.Observer, ClientAddr: sv.ClientAddr, ClientPort: sv.ClientPort}
}

// configNode is /zookeeper/config's data on an ensemble member, in
// ZooKeeper's format: a server.N line per member, then the config version
// (0: reconfig is off). A standalone server leaves the node empty, as
// ZooKeeper does.
func configNode(o *config.Options) []byte {
	if o.Standalone() {
		return nil
	}
	var b strings.Builder
	for _, sv := range o.Servers {
		fmt.Fprintf(&b, "server.%d=%s\n", sv.ID, memberOf(sv).String())
	}
	b.WriteString("version=0")
	return []byte(b.String())
}

func (s *Server) fsmOptions() fsm.Options { return fsmOptions(s.opts) }

// Start recovers the state from disk, joins the Raft group and starts
// listening for clients.
func (s *Server) Start() error {
	s.started = time.Now()
	// Session ids are ZooKeeper's: the server id in the top byte, then the
	// start time in milliseconds, so ids stay unique across restarts.
	// Java's unsigned shift (>>>): the top byte must stay free for the id,
	// or the id could look like a TTL or container owner.
	s.nextSID.Store(int64(s.id)<<56 | int64(uint64(time.Now().UnixMilli()<<24)>>8))

	rc := s.raftConfig()
	if s.opts.Standalone() {
		s.serving.Store(true)
	} else {
		rc.Peers, rc.Learners, _ = members(s.opts)
		if err := s.startTransport(); err != nil {
			return err
		}
		rc.Transport = s.transport
	}
	node, err := raftnode.Start(rc, s)
	if err != nil {
		s.closeTransport()
		return err
	}
	s.node = node
	if s.peers != nil {
		s.peers.node.Store(node)
	}
	// Sessions recovered from disk get a full timeout, as after a leader
	// change: their clients may still come back.
	now := time.Now()
	s.mu.RLock()
	for _, ss := range s.fsm.Sessions() {
		s.tracker.Add(ss.ID, time.Duration(ss.Timeout)*time.Millisecond, now)
	}
	s.mu.RUnlock()

	addr := net.JoinHostPort(s.opts.ClientPortAddress, fmt.Sprint(s.opts.ClientPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		node.Stop()
		s.closeTransport()
		return fmt.Errorf("client port: %w", err)
	}
	s.ln = ln
	if err := s.startAdmin(); err != nil {
		ln.Close()
		node.Stop()
		s.closeTransport()
		return err
	}
	s.log.Info("listening for clients", "addr", ln.Addr().String(), "dataDir", s.opts.DataDir, "serverId", s.id)
	s.goRun(s.acceptLoop)
	s.goRun(s.expiryLoop)
	s.goRun(s.containerLoop)
	s.goRun(s.roleLoop)
	s.goRun(s.leaderWatch)
	s.goRun(s.purgeLoop)
	s.goRun(s.watchFatal)
	s.startFailpoints()
	return nil
}

func (s *Server) closeTransport() {
	if s.transport != nil {
		if err := s.transport.Close(); err != nil {
			s.log.Warn("closing the quorum port", "err", err)
		}
	}
}

func (s *Server) goRun(fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

// ctx is a context that ends when the server stops.
func (s *Server) ctx() context.Context { return s.baseCtx }

// Addr is the client listener's address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Done is closed when the server stops, by Close or by a fatal error.
func (s *Server) Done() <-chan struct{} { return s.quit }

// Err returns the fatal error that stopped the server, if any.
func (s *Server) Err() error {
	if v := s.fatalErr.Load(); v != nil {
		return v.(error)
	}
	return nil
}

// Close stops accepting, closes every connection, stops Raft and waits for
// every goroutine the server started.
func (s *Server) Close() error {
	s.stop()
	s.stopAdmin()
	s.wg.Wait()
	// Stop raft before the transport: the raft loop sends through it.
	if s.node != nil {
		s.node.Stop()
	}
	s.closeTransport()
	return s.Err()
}

func (s *Server) stop() {
	s.fatalOnce.Do(func() {
		close(s.quit)
		s.cancel()
		if s.ln != nil {
			s.ln.Close()
		}
		for _, c := range s.openConns() {
			c.close()
		}
		s.waiters.failAll()
	})
}

// openConns lists the client connections. Callers close them outside
// connsMu: a closing connection unregisters itself, which takes connsMu.
func (s *Server) openConns() []*conn {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	open := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		open = append(open, c)
	}
	return open
}

// watchFatal handles the raft node stopping on a persistence failure (a
// full disk, an I/O error): no write is acknowledged from then on, since
// none can be made durable, but the server stays up so that clients can
// still read and operators can see why in srvr and mntr. Restarting it
// once the disk is fixed recovers from what was made durable.
func (s *Server) watchFatal() {
	select {
	case err := <-s.node.Err():
		if err != nil {
			msg := fmt.Sprintf("persistence failed; writes are refused until the server is restarted: %v", err)
			s.fault.Store(&msg)
			s.log.Error("persistence failed: refusing writes until restarted; reads are still served", "err", err)
			// Pending writes will never be answered.
			s.waiters.failAll()
		}
	case <-s.quit:
	}
}

// Apply is called by raftnode with each committed entry, in log order.
func (s *Server) Apply(e *raftpb.Entry) {
	if e.GetType() != raftpb.EntryType_EntryNormal {
		return
	}
	if term := e.GetTerm(); term > s.appliedTerm {
		if s.appliedTerm != 0 {
			defer s.waiters.failOlder(term)
		}
		s.appliedTerm = term
	}
	s.mu.Lock()
	res, err := s.fsm.Apply(e.GetIndex(), e.GetTerm(), e.GetData())
	if err != nil {
		s.mu.Unlock()
		s.fatalErr.Store(fmt.Errorf("applying entry %d: %w", e.GetIndex(), err))
		s.log.Error("stopping: undecodable log entry", "index", e.GetIndex(), "err", err)
		go s.stop()
		return
	}
	// Watches fire under the lock: any read that runs after this entry
	// finds the event already queued on its connection.
	for _, ev := range res.Events {
		s.watches.Trigger(ev.Type, ev.Path)
	}
	if res.Zxid != 0 {
		s.digests.record(res.Zxid, s.fsm.Digest())
	}
	var restored []*fsm.Session
	if res.Op == fsm.OpRestore && res.Err == proto.ErrOK {
		restored = s.fsm.Sessions()
	}
	s.mu.Unlock()
	s.afterApply(res, restored)
}

// afterApply does what follows an applied entry outside the state lock.
// restored holds the session table after a successful OpRestore.
func (s *Server) afterApply(res fsm.Result, restored []*fsm.Session) {
	switch {
	case res.Op == proto.OpCreateSession:
		s.tracker.Add(res.Session, time.Duration(res.Timeout)*time.Millisecond, time.Now())
	case res.Closed != 0:
		s.tracker.Remove(res.Closed)
		s.sessionClosed(res.Closed)
	case res.Op == fsm.OpRestore && res.Err == proto.ErrOK:
		s.trackSessions(restored)
	case res.Op == fsm.OpRestore:
		// The proposer checked the snapshot first, so this is rare: a
		// member whose options differ, or a proposer of another version.
		s.log.Warn("a restore entry was refused; the state is unchanged", "zxid", hexID(res.Zxid), "reason", res.Reason)
	}
	if res.Origin == s.id {
		s.waiters.deliver(res.ReqID, res)
	}
	if res.Op == fsm.OpRestore && res.Err == proto.ErrOK {
		// Every watch and every connection's session refers to the state
		// that is gone: clients reconnect, re-attach to the restored
		// sessions (or learn theirs expired) and set their watches again.
		// Delivered first: dropping fails every waiting proposal.
		// (A restart replaying the entry has no clients yet: say less.)
		level := slog.LevelInfo
		if len(s.openConns()) > 0 {
			level = slog.LevelWarn
		}
		s.log.Log(s.baseCtx, level, "the state was replaced by a restore; closing every client connection",
			"zxid", hexID(res.Zxid), "sessions", len(restored))
		s.dropClients()
	}
}

// Snapshot implements raftnode.StateMachine.
func (s *Server) Snapshot() (func(io.Writer) error, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.fsm.Snapshot(), nil
}

// Restore implements raftnode.StateMachine. At start it loads the newest
// snapshot. A running ensemble member restores one when it fell so far
// behind that the leader sent a snapshot instead of log entries; its
// clients' watches were set on state that is gone, so they are
// disconnected: on reconnecting they re-send their watches with the last
// zxid they saw, and get the events they missed.
func (s *Server) Restore(r io.Reader) error {
	// Decode into a fresh state without the lock, so that reads go on
	// meanwhile, then swap it in.
	next := fsm.New(s.fsmOptions())
	if err := next.Restore(r); err != nil {
		return err
	}
	live := next.Sessions()
	s.mu.Lock()
	s.fsm = next
	s.mu.Unlock()
	s.trackSessions(live)
	s.dropClients()
	return nil
}

// trackSessions makes the expiry tracker follow a replaced session table:
// each session gets a full timeout, as after a leader change, since its
// client may still come back; sessions that are gone stop being tracked.
func (s *Server) trackSessions(live []*fsm.Session) {
	now := time.Now()
	keep := make(map[int64]bool, len(live))
	for _, ss := range live {
		keep[ss.ID] = true
		s.tracker.Add(ss.ID, time.Duration(ss.Timeout)*time.Millisecond, now)
	}
	for _, id := range s.tracker.IDs() {
		if !keep[id] {
			s.tracker.Remove(id)
		}
	}
}

// propose submits an entry without waiting for raft, and calls done with
// its result once it is applied, or with ok=false if the server stops
// first or the proposal fails. While an election runs, raftnode holds the
// proposal (ProposalWait) rather than fail it, which spares the client a
// lost connection, and keeps it in order with the ones after it.
func (s *Server) propose(e *fsm.Entry, done func(res fsm.Result, ok bool)) {
	e.Origin = s.id
	e.ReqID = s.reqSeq.Add(1)
	if e.Time == 0 {
		e.Time = time.Now().UnixMilli()
	}
	if s.fault.Load() != nil {
		done(fsm.Result{}, false)
		return
	}
	id, op := e.ReqID, e.Op
	s.waiters.add(id, done, s.node.Status().Term)
	s.node.ProposeAsync(e.Marshal(), func(err error) {
		// On the raft loop: nothing here may block.
		if err == nil {
			return
		}
		if fn := s.waiters.take(id); fn != nil {
			s.log.Warn("proposal failed", "op", op.String(), "err", err)
			fn(fsm.Result{}, false)
		}
	})
}

// newSessionID returns a fresh session id.
func (s *Server) newSessionID() int64 { return s.nextSID.Add(1) }

func newPassword() []byte {
	b := make([]byte, 16)
	rand.Read(b) // never fails: the runtime aborts if the OS has no randomness
	return b
}

// waitTable routes applied results to the requests waiting for them.
type waitTable struct {
	mu sync.Mutex
	m  map[uint64]*waiter
}

type waiter struct {
	fn    func(fsm.Result, bool)
	start time.Time
	term  uint64 // the raft term when it was proposed
}

// lostProposalTimeout bounds the wait for a proposal in any case: a
// proposal forwarded to a leader that lost it is never applied.
const lostProposalTimeout = 30 * time.Second

func (w *waitTable) add(id uint64, fn func(fsm.Result, bool), term uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[uint64]*waiter{}
	}
	w.m[id] = &waiter{fn: fn, start: time.Now(), term: term}
}

func (w *waitTable) take(id uint64) func(fsm.Result, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	wt := w.m[id]
	if wt == nil {
		return nil
	}
	delete(w.m, id)
	return wt.fn
}

func (w *waitTable) remove(id uint64) bool { return w.take(id) != nil }

func (w *waitTable) deliver(id uint64, res fsm.Result) {
	if fn := w.take(id); fn != nil {
		fn(res, true)
	}
}

// expire fails proposals that will probably never be applied: those made
// in an earlier term that have waited longer than grace (the leader they
// were forwarded to may have lost them), and any older than
// lostProposalTimeout. Their outcome is unknown; the client sees a lost
// connection, as with ZooKeeper.
func (w *waitTable) expire(now time.Time, term uint64, grace time.Duration) {
	w.failIf(func(wt *waiter) bool {
		age := now.Sub(wt.start)
		return (wt.term != term && age > grace) || age > lostProposalTimeout
	})
}

// failOlder fails proposals made before term. It is called when the first
// entry of term is applied: every entry of an earlier term that will ever
// commit has a lower index and has been applied, so a proposal of an
// earlier term still waiting was lost with its leader. (A proposal whose
// term was read just before a leader change may in fact have gone to the
// new leader; failing it only tells the client the outcome is unknown.)
func (w *waitTable) failOlder(term uint64) {
	w.failIf(func(wt *waiter) bool { return wt.term < term })
}

// failIf fails the waiting proposals lost says are lost, outside the lock.
func (w *waitTable) failIf(lost func(*waiter) bool) {
	w.mu.Lock()
	var fns []func(fsm.Result, bool)
	for id, wt := range w.m {
		if lost(wt) {
			fns = append(fns, wt.fn)
			delete(w.m, id)
		}
	}
	w.mu.Unlock()
	for _, fn := range fns {
		fn(fsm.Result{}, false)
	}
}

func (w *waitTable) failAll() {
	w.mu.Lock()
	m := w.m
	w.m = nil
	w.mu.Unlock()
	for _, wt := range m {
		wt.fn(fsm.Result{}, false)
	}
}

package transport

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

// Handler receives what peers send and learns the fate of what was sent.
// Methods are called from several transport goroutines at once (one reader
// per inbound connection, the snapshot goroutines and a notifier). Step and
// ReceiveSnapshot must return once ctx is done: Close waits for them.
// ReportUnreachable, ReportSnapshot and HandleApp must not block for long.
type Handler interface {
	// Step receives every raft message except MsgSnap, in the order the
	// peer sent them on one connection.
	Step(ctx context.Context, m *raftpb.Message) error
	// ReceiveSnapshot receives a MsgSnap and the raw bytes of the snapshot
	// file (size bytes). It must consume body or fail; the sender learns
	// ok or failed from the returned error.
	ReceiveSnapshot(ctx context.Context, m *raftpb.Message, body io.Reader, size int64) error
	// ReportUnreachable says a message to id was dropped (at most once per
	// 100ms per peer).
	ReportUnreachable(id uint64)
	// ReportSnapshot says whether a snapshot sent to id was applied.
	ReportSnapshot(id uint64, ok bool)
	// HandleApp receives an opaque application message; payload is the
	// handler's to keep.
	HandleApp(from uint64, kind uint8, payload []byte)
}

// Member is one server of the ensemble.
type Member struct {
	ID uint64
	// Addr is host:quorumPort, exactly as in server.N of zoo.cfg: every
	// server must list the same members, or the handshake refuses.
	Addr     string
	Observer bool
}

// Config configures a Transport.
type Config struct {
	// ID is this server's id (myid); it must be one of Members.
	ID uint64
	// Members is the whole ensemble, this server included.
	Members []Member
	// ListenAddr is where to accept peers; "" means this server's own
	// Member.Addr.
	ListenAddr string
	// Listener, if set, is used instead of binding ListenAddr, and the
	// Transport owns it (Close closes it). It lets tests and in-process
	// ensembles bind 127.0.0.1:0 first and then build Members from the
	// bound addresses, without a window in which the port could be taken.
	Listener net.Listener
	Handler  Handler
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// DialTimeout bounds one connection attempt (default 3s).
	DialTimeout time.Duration
}

// Fault is injected misbehaviour toward one peer, for tests and chaos runs.
// The zero Fault is a healthy link.
type Fault struct {
	// Drop discards everything to the peer (as if it were unreachable) and
	// everything received from it.
	Drop bool
	// Delay holds each outbound message to the peer for this long before it
	// is written, keeping the order; Send does not block.
	Delay time.Duration
}

const (
	defaultDialTimeout = 3 * time.Second
	// queueSize bounds the messages waiting for one peer's writer. Raft
	// keeps at most 256 appends in flight per follower, plus heartbeats and
	// votes; beyond this the peer is too slow and messages are dropped.
	queueSize = 4096
	// maxBatchBytes bounds one write so a large backlog is sent in pieces.
	maxBatchBytes = 4 << 20
	minBackoff    = 50 * time.Millisecond
	maxBackoff    = 2 * time.Second
	// unreachableEvery rate-limits Handler.ReportUnreachable per peer.
	unreachableEvery = 100 * time.Millisecond
	// refusalLogEvery rate-limits refusal logs per peer and reason.
	refusalLogEvery = 30 * time.Second
	// maxHandshakes bounds connections waiting in the handshake, so a flood
	// of connections that never speak cannot pin goroutines without limit.
	maxHandshakes = 64
)

// handshakeTimeout bounds the handshake of a connection; a variable so tests
// can shorten it.
var handshakeTimeout = 10 * time.Second

// Transport connects this server to the other members of its ensemble.
type Transport struct {
	id          uint64
	h           Handler
	log         *slog.Logger
	dialTimeout time.Duration
	ln          net.Listener

	peers    map[uint64]*peer // read-only after New
	peerList []*peer          // the same peers, by id
	members  string           // membersText of the sorted member list
	fp       [sha256.Size]byte

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	notify chan struct{} // wakes the notifier; capacity 1

	closedFlag atomic.Bool
	startOnce  sync.Once
	handshakes atomic.Int32
	batches    atomic.Uint64 // writes of stream batches, for tests
	discarded  atomic.Uint64 // inbound messages discarded by Fault.Drop, for tests
	limiter    limiter

	mu      sync.Mutex
	closed  bool
	conns   map[net.Conn]struct{} // every open connection, closed by Close
	inbound map[uint64]net.Conn   // the current inbound stream per peer
	wg      sync.WaitGroup
}

// New validates cfg and binds the listener; nothing runs until Start.
func New(cfg Config) (*Transport, error) {
	if cfg.Handler == nil {
		return nil, errors.New("transport: Handler must be set")
	}
	if cfg.ID == 0 {
		return nil, errors.New("transport: ID must not be 0")
	}
	var self *Member
	ids := make(map[uint64]bool, len(cfg.Members))
	addrs := make(map[string]uint64, len(cfg.Members))
	for i := range cfg.Members {
		m := &cfg.Members[i]
		if m.ID == 0 {
			return nil, fmt.Errorf("transport: member with address %q has id 0", m.Addr)
		}
		if ids[m.ID] {
			return nil, fmt.Errorf("transport: member id %d is listed twice", m.ID)
		}
		ids[m.ID] = true
		if _, _, err := net.SplitHostPort(m.Addr); err != nil || m.Addr == "" {
			return nil, fmt.Errorf("transport: member %d address %q is not host:port", m.ID, m.Addr)
		}
		if other, dup := addrs[m.Addr]; dup {
			return nil, fmt.Errorf("transport: members %d and %d share the address %s", other, m.ID, m.Addr)
		}
		addrs[m.Addr] = m.ID
		if m.ID == cfg.ID {
			self = m
		}
	}
	if self == nil {
		return nil, fmt.Errorf("transport: own id %d is not among the members", cfg.ID)
	}
	if cfg.DialTimeout < 0 {
		return nil, fmt.Errorf("transport: DialTimeout %v must not be negative", cfg.DialTimeout)
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = defaultDialTimeout
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	ln := cfg.Listener
	if ln == nil {
		addr := cfg.ListenAddr
		if addr == "" {
			addr = self.Addr
		}
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			return nil, fmt.Errorf("transport: listen on quorum address %s: %w", addr, err)
		}
	}
	sorted := sortedMembers(cfg.Members)
	ctx, cancel := context.WithCancel(context.Background())
	t := &Transport{
		id:          cfg.ID,
		h:           cfg.Handler,
		log:         logger.With("component", "transport", "id", cfg.ID),
		dialTimeout: cfg.DialTimeout,
		ln:          ln,
		peers:       make(map[uint64]*peer, len(sorted)),
		members:     membersText(sorted),
		fp:          fingerprint(sorted),
		ctx:         ctx,
		cancel:      cancel,
		notify:      make(chan struct{}, 1),
		conns:       make(map[net.Conn]struct{}),
		inbound:     make(map[uint64]net.Conn),
	}
	for _, m := range sorted {
		if m.ID == cfg.ID {
			continue
		}
		p := newPeer(m)
		t.peers[m.ID] = p
		t.peerList = append(t.peerList, p)
	}
	return t, nil
}

// Start starts accepting peers and connecting to them. Calls after the
// first, or after Close, do nothing.
func (t *Transport) Start() {
	t.startOnce.Do(func() {
		t.spawn(t.acceptLoop)
		t.spawn(t.runNotifier)
		for _, p := range t.peerList {
			t.spawn(func() { t.runPeer(p) })
		}
	})
}

// Addr is the bound listen address.
func (t *Transport) Addr() net.Addr { return t.ln.Addr() }

// Close closes the listener and every connection, stops every goroutine and
// waits for them. Snapshots in flight are aborted without a report.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.closedFlag.Store(true)
	conns := make([]net.Conn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()

	t.cancel()
	err := t.ln.Close()
	for _, c := range conns {
		c.Close()
	}
	t.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// Send queues raft messages for their peers and returns at once. The caller
// must not modify the messages afterwards. A message for a peer that is down,
// faulted with Drop, or whose queue is full is dropped and the Handler is
// told the peer is unreachable. MsgSnap must go through SendSnapshot.
func (t *Transport) Send(msgs []*raftpb.Message) {
	if t.closedFlag.Load() {
		return
	}
	now := time.Now()
	for _, m := range msgs {
		to := m.GetTo()
		p := t.peers[to]
		if p == nil {
			if t.limiter.allow(fmt.Sprintf("unknown-to|%d", to), refusalLogEvery) {
				t.log.Warn("dropping raft message for a server that is not a member", "peer", to, "type", m.GetType())
			}
			continue
		}
		if m.GetType() == raftpb.MessageType_MsgSnap {
			if t.limiter.allow(fmt.Sprintf("snap-via-send|%d", to), refusalLogEvery) {
				t.log.Error("MsgSnap passed to Send, dropped: snapshots must go through SendSnapshot", "peer", to)
			}
			// Tell raft it failed so it does not wait for this snapshot forever.
			p.snapFailPending.Store(true)
			t.wakeNotifier()
			continue
		}
		if !p.enqueue(item{m: m, at: now}) {
			t.reportUnreachable(p)
		}
	}
}

// SendApp queues an opaque message for peer to; it copies payload. It
// returns false when the message was not queued (unknown peer, peer down or
// faulted, queue full, payload over 1 MiB). Delivery is best effort.
func (t *Transport) SendApp(to uint64, kind uint8, payload []byte) bool {
	p := t.peers[to]
	if p == nil || t.closedFlag.Load() || len(payload) > maxAppPayload {
		return false
	}
	return p.enqueue(item{app: append([]byte(nil), payload...), appKind: kind, at: time.Now()})
}

// Connected reports whether the outbound stream to id is up (its handshake
// was accepted) and not faulted with Drop.
func (t *Transport) Connected(id uint64) bool {
	p := t.peers[id]
	return p != nil && p.up.Load() && !p.fault().Drop
}

// Refused reports whether the last attempt to connect to id found nothing
// listening on its port (ECONNREFUSED) and no connection is up since. On a
// reachable host that means the peer's process is gone, which a caller may
// act on faster than on a silence that could be a slow network. A peer cut
// off by a Drop fault or a firewall that drops packets is not Refused.
func (t *Transport) Refused(id uint64) bool {
	p := t.peers[id]
	return p != nil && p.refused.Load() && !p.up.Load()
}

// SetFault sets the fault toward peer; the zero Fault heals it. Unknown
// peers are ignored.
func (t *Transport) SetFault(peer uint64, f Fault) {
	p := t.peers[peer]
	if p == nil {
		return
	}
	p.faultp.Store(&f)
	select { // let a writer waiting on a delay re-evaluate
	case p.wake <- struct{}{}:
	default:
	}
}

// spawn runs f on a goroutine that Close waits for; it returns false, and
// runs nothing, once Close has begun.
func (t *Transport) spawn(f func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
	return true
}

// track registers c so that Close closes it; it returns false once Close
// has begun, and the caller must close c itself.
func (t *Transport) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *Transport) closeConn(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
	c.Close()
}

// sleep waits d or until Close; it returns false on Close.
func (t *Transport) sleep(d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-t.ctx.Done():
		return false
	}
}

// reportUnreachable asks the notifier to tell the Handler, at most once per
// unreachableEvery per peer, without blocking the caller.
func (t *Transport) reportUnreachable(p *peer) {
	now := time.Now().UnixNano()
	last := p.lastUnreach.Load()
	if now-last < int64(unreachableEvery) || !p.lastUnreach.CompareAndSwap(last, now) {
		return
	}
	p.unreachPending.Store(true)
	t.wakeNotifier()
}

func (t *Transport) wakeNotifier() {
	select {
	case t.notify <- struct{}{}:
	default:
	}
}

// runNotifier makes the Handler calls that Send and SendSnapshot must not
// make on the caller's goroutine (the raft loop), which the Handler may be
// about to wait on.
func (t *Transport) runNotifier() {
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-t.notify:
		}
		for _, p := range t.peerList {
			if p.unreachPending.Swap(false) {
				t.h.ReportUnreachable(p.id)
			}
			if p.snapFailPending.Swap(false) {
				t.h.ReportSnapshot(p.id, false)
			}
		}
	}
}

// limiter rate-limits log lines by key.
type limiter struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// maxLimiterKeys bounds the limiter's memory: keys can carry ids a stranger
// chose.
const maxLimiterKeys = 1024

func (l *limiter) allow(key string, every time.Duration) bool {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = make(map[string]time.Time)
	}
	if last, ok := l.last[key]; ok && now.Sub(last) < every {
		return false
	}
	if len(l.last) >= maxLimiterKeys {
		for k, v := range l.last {
			if now.Sub(v) >= every {
				delete(l.last, k)
			}
		}
		if len(l.last) >= maxLimiterKeys {
			clear(l.last)
		}
	}
	l.last[key] = now
	return true
}

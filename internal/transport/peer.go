package transport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/zkd-io/zkd/internal/jute"
)

// item is one queued outbound message: a raft message or an app message.
type item struct {
	m       *raftpb.Message
	app     []byte
	appKind uint8
	at      time.Time // when it was queued, for Fault.Delay
}

// peer is the outbound side toward one member.
type peer struct {
	id   uint64
	addr string
	q    chan item
	wake chan struct{} // pokes the writer when the fault changes

	up              atomic.Bool // outbound stream handshook and not yet broken
	refused         atomic.Bool // the last dial found the port closed (see Refused)
	faultp          atomic.Pointer[Fault]
	lastUnreach     atomic.Int64 // unix nanos of the last unreachable report
	unreachPending  atomic.Bool
	snapFailPending atomic.Bool
	snapBusy        atomic.Bool // a snapshot to this peer is in flight
}

func newPeer(m Member) *peer {
	return &peer{id: m.ID, addr: m.Addr, q: make(chan item, queueSize), wake: make(chan struct{}, 1)}
}

func (p *peer) fault() Fault {
	if f := p.faultp.Load(); f != nil {
		return *f
	}
	return Fault{}
}

// enqueue never blocks: it reports false when the message was dropped.
func (p *peer) enqueue(it item) bool {
	if !p.up.Load() || p.fault().Drop {
		return false
	}
	select {
	case p.q <- it:
		return true
	default:
		return false
	}
}

// refusedError is a handshake refused by either side.
type refusedError struct {
	peer   uint64
	reason string
	byUs   bool // we refused the peer's reply, rather than the peer us
}

func (e *refusedError) Error() string {
	if e.byUs {
		return fmt.Sprintf("refused the reply of peer %d: %s", e.peer, e.reason)
	}
	return fmt.Sprintf("peer %d refused the connection: %s", e.peer, e.reason)
}

var errClosed = errors.New("transport closed")

// runPeer owns the outbound stream to p: dial, handshake, write until the
// connection breaks, then redial with backoff, until Close.
func (t *Transport) runPeer(p *peer) {
	log := t.log.With("peer", p.id, "addr", p.addr)
	backoff := minBackoff
	reportedDown := false // logged the current down period already
	for t.ctx.Err() == nil {
		conn, err := t.dial(p, connStream)
		p.refused.Store(errors.Is(err, syscall.ECONNREFUSED))
		if err != nil {
			if t.ctx.Err() != nil {
				return
			}
			var re *refusedError
			switch {
			case errors.As(err, &re):
				if t.limiter.allow(fmt.Sprintf("refused|%d|%s", p.id, re.reason), refusalLogEvery) {
					log.Warn("peer connection refused", "err", err)
				}
			case !reportedDown:
				log.Info("cannot connect to peer; will keep retrying", "err", err)
			default:
				log.Debug("connect to peer failed", "err", err)
			}
			reportedDown = true
			// Full jitter in [backoff/2, backoff) so peers restarted together
			// do not redial in lockstep.
			d := backoff/2 + rand.N(backoff/2)
			if !t.sleep(d) {
				return
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		backoff = minBackoff
		reportedDown = false
		p.up.Store(true)
		log.Info("peer connected")
		err = t.streamOut(p, conn)
		p.up.Store(false)
		t.closeConn(conn)
		if t.ctx.Err() != nil {
			return
		}
		log.Info("peer disconnected", "err", err)
		reportedDown = true
		// Whatever is still queued is for a connection that no longer
		// exists; raft resends what matters.
		if dropQueued(p) {
			t.reportUnreachable(p)
		}
	}
}

// dropQueued empties p's queue without blocking; it reports whether any
// raft message was dropped.
func dropQueued(p *peer) bool {
	raft := false
	for {
		select {
		case it := <-p.q:
			raft = raft || it.m != nil
		default:
			return raft
		}
	}
}

// dial connects to p and runs the dialer's side of the handshake.
func (t *Transport) dial(p *peer, kind connKind) (net.Conn, error) {
	d := net.Dialer{Timeout: t.dialTimeout}
	conn, err := d.DialContext(t.ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	if !t.track(conn) {
		conn.Close()
		return nil, errClosed
	}
	if err := t.clientHandshake(p, conn, kind); err != nil {
		t.closeConn(conn)
		return nil, err
	}
	return conn, nil
}

func (t *Transport) hello(to uint64, kind connKind) hello {
	return hello{version: protocolVersion, kind: kind, fingerprint: t.fp, from: t.id, to: to, members: t.members}
}

func (t *Transport) clientHandshake(p *peer, conn net.Conn, kind connKind) error {
	conn.SetDeadline(time.Now().Add(handshakeTimeout))
	if _, err := conn.Write(appendHello(nil, t.hello(p.id, kind))); err != nil {
		return fmt.Errorf("sending handshake: %w", err)
	}
	b, err := jute.ReadFrame(conn, nil, maxHelloFrame)
	if err != nil {
		return fmt.Errorf("reading handshake reply: %w", err)
	}
	if reason, ok := decodeRefuse(b); ok {
		return &refusedError{peer: p.id, reason: reason}
	}
	var reason string
	h, err := decodeHello(b)
	switch {
	case err != nil:
		reason = err.Error()
	case h.kind != kind:
		reason = fmt.Sprintf("answered a %s connection as %s", kind, h.kind)
	default:
		reason = t.checkPeerHello(h, p.id)
	}
	if reason != "" {
		conn.Write(appendRefuse(nil, reason)) // best effort: the peer logs why
		return &refusedError{peer: p.id, reason: reason, byUs: true}
	}
	conn.SetDeadline(time.Time{})
	return nil
}

// checkPeerHello returns why a hello must be refused, or "". from is the id
// the hello must come from, or 0 for any member (the receiver's side).
func (t *Transport) checkPeerHello(h hello, from uint64) string {
	if h.fingerprint != t.fp || h.members != t.members {
		return fmt.Sprintf("peer %d has a different server list: theirs %s ours %s: every server's zoo.cfg must list the same server.N lines",
			h.from, truncate(h.members, maxReason/2), t.members)
	}
	if h.from == t.id {
		return fmt.Sprintf("peer claims this server's own id %d: two servers have the same myid", h.from)
	}
	if t.peers[h.from] == nil {
		return fmt.Sprintf("server id %d is not a member of this ensemble %s", h.from, t.members)
	}
	if from != 0 && h.from != from {
		return fmt.Sprintf("server %d answered at the address of server %d", h.from, from)
	}
	if h.to != t.id {
		return fmt.Sprintf("connection meant for server %d reached server %d: check the server.N addresses", h.to, t.id)
	}
	return ""
}

// streamOut writes p's queue to conn in batches until the connection breaks
// or Close. A reader goroutine watches conn so that a peer that closes or
// restarts is noticed at once, not at the next failed write.
func (t *Transport) streamOut(p *peer, conn net.Conn) error {
	done := make(chan struct{})
	var readErr error
	if !t.spawn(func() {
		defer close(done)
		readErr = t.watchOutbound(p, conn)
	}) {
		return errClosed
	}
	// The watcher exits once conn is closed; wait so readErr is settled.
	defer func() { conn.Close(); <-done }()

	var (
		pending []item
		buf     []byte
		timer   = time.NewTimer(time.Hour)
	)
	timer.Stop()
	defer timer.Stop()
	for {
		if len(pending) == 0 {
			select {
			case it := <-p.q:
				pending = append(pending, it)
				// Yield once so that messages the raft loop is
				// about to queue (the rest of its Ready) share this
				// write: one syscall instead of several.
				runtime.Gosched()
			case <-p.wake:
				continue
			case <-done:
				return readErr
			case <-t.ctx.Done():
				return errClosed
			}
		}
	drain:
		for len(pending) < queueSize {
			select {
			case it := <-p.q:
				pending = append(pending, it)
			default:
				break drain
			}
		}
		f := p.fault()
		if f.Drop {
			clear(pending)
			pending = pending[:0]
			continue
		}
		n := len(pending)
		if f.Delay > 0 {
			now := time.Now()
			n = 0
			for n < len(pending) && !pending[n].at.Add(f.Delay).After(now) {
				n++
			}
			if n == 0 {
				timer.Reset(pending[0].at.Add(f.Delay).Sub(now))
				select {
				case <-timer.C:
				case <-p.wake:
					timer.Stop()
				case <-done:
					return readErr
				case <-t.ctx.Done():
					return errClosed
				}
				continue
			}
		}
		buf = buf[:0]
		k := 0
		for ; k < n && len(buf) < maxBatchBytes; k++ {
			it := pending[k]
			if it.m == nil {
				buf = appendAppFrame(buf, it.appKind, it.app)
				continue
			}
			var err error
			if buf, err = appendRaftFrame(buf, it.m); err != nil {
				t.log.Error("dropping raft message that cannot be sent", "peer", p.id, "type", it.m.GetType(), "err", err)
			}
		}
		copy(pending, pending[k:])
		clear(pending[len(pending)-k:])
		pending = pending[:len(pending)-k]
		if len(buf) == 0 {
			continue
		}
		conn.SetWriteDeadline(time.Now().Add(transferTimeout(int64(len(buf)), 10*time.Second)))
		if _, err := conn.Write(buf); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		t.batches.Add(1)
		if cap(buf) > 2*maxBatchBytes {
			buf = nil // one huge message should not pin its buffer forever
		}
	}
}

// watchOutbound reads the outbound stream, on which the peer sends nothing
// after the handshake except possibly a refusal, until it breaks.
func (t *Transport) watchOutbound(p *peer, conn net.Conn) error {
	b, err := jute.ReadFrame(conn, nil, maxHelloFrame)
	if err != nil {
		return err
	}
	if reason, ok := decodeRefuse(b); ok {
		if t.limiter.allow(fmt.Sprintf("refused|%d|%s", p.id, reason), refusalLogEvery) {
			t.log.Warn("peer refused the stream", "peer", p.id, "reason", reason)
		}
		return &refusedError{peer: p.id, reason: reason}
	}
	return fmt.Errorf("unexpected %d-byte frame from peer on an outbound stream", len(b))
}

// transferTimeout is a deadline generous enough for n bytes at a slow
// 1 MiB/s on top of base, yet bounded.
func transferTimeout(n int64, base time.Duration) time.Duration {
	return base + time.Duration(n>>20)*time.Second
}

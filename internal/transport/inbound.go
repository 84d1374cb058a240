package transport

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/zkd-io/zkd/internal/jute"
)

// acceptLoop accepts connections until Close and hands each to its own
// goroutine.
func (t *Transport) acceptLoop() {
	const maxAcceptDelay = time.Second
	delay := 5 * time.Millisecond
	for {
		conn, err := t.ln.Accept()
		if err != nil {
			if t.ctx.Err() != nil {
				return
			}
			if errors.Is(err, net.ErrClosed) {
				t.log.Error("quorum listener closed; no longer accepting peers", "addr", t.ln.Addr().String())
				return
			}
			// Out of file descriptors and the like: back off rather than spin.
			if t.limiter.allow("accept|"+err.Error(), refusalLogEvery) {
				t.log.Warn("accepting peer connection failed", "err", err)
			}
			if !t.sleep(delay) {
				return
			}
			delay = min(delay*2, maxAcceptDelay)
			continue
		}
		delay = 5 * time.Millisecond
		if t.handshakes.Add(1) > maxHandshakes {
			t.handshakes.Add(-1)
			if t.limiter.allow("handshakes", refusalLogEvery) {
				t.log.Warn("too many connections waiting in the handshake; closing new ones", "limit", maxHandshakes)
			}
			conn.Close()
			continue
		}
		if !t.track(conn) {
			t.handshakes.Add(-1)
			conn.Close()
			return
		}
		if !t.spawn(func() { t.serveConn(conn) }) {
			t.handshakes.Add(-1)
			t.closeConn(conn)
			return
		}
	}
}

// serveConn runs the receiver's side of one connection.
func (t *Transport) serveConn(conn net.Conn) {
	defer t.closeConn(conn)
	h, p, br, ok := t.serverHandshake(conn)
	if !ok {
		return
	}
	switch h.kind {
	case connStream:
		t.streamIn(p, conn, br)
	case connSnapshot:
		t.receiveSnapshot(p, conn, br)
	}
}

// serverHandshake reads the dialer's hello and answers with ours or a
// refusal. Nothing after the hello is read unless it is accepted.
func (t *Transport) serverHandshake(conn net.Conn) (hello, *peer, *bufio.Reader, bool) {
	defer t.handshakes.Add(-1)
	remote := conn.RemoteAddr().String()
	conn.SetDeadline(time.Now().Add(handshakeTimeout))
	br := bufio.NewReaderSize(conn, 64<<10)
	b, err := jute.ReadFrame(br, nil, maxHelloFrame)
	if err != nil {
		if errors.Is(err, jute.ErrFrameTooLarge) || errors.Is(err, jute.ErrNegativeFrame) {
			t.refuse(conn, 0, remote, fmt.Sprintf("%v: %v", errNotPeer, err))
		} else {
			t.log.Debug("peer connection closed before its handshake", "remote", remote, "err", err)
		}
		return hello{}, nil, nil, false
	}
	h, err := decodeHello(b)
	if err != nil {
		t.refuse(conn, h.from, remote, err.Error())
		return hello{}, nil, nil, false
	}
	if reason := t.checkPeerHello(h, 0); reason != "" {
		t.refuse(conn, h.from, remote, reason)
		return hello{}, nil, nil, false
	}
	if _, err := conn.Write(appendHello(nil, t.hello(h.from, h.kind))); err != nil {
		t.log.Debug("answering peer handshake failed", "peer", h.from, "err", err)
		return hello{}, nil, nil, false
	}
	conn.SetDeadline(time.Time{})
	return h, t.peers[h.from], br, true
}

// refuse logs why a connection is refused (rate-limited per peer and
// reason) and tells the dialer. The caller closes conn.
func (t *Transport) refuse(conn net.Conn, from uint64, remote, reason string) {
	key := fmt.Sprintf("refuse|%d|%s", from, reason)
	if from == 0 {
		// A stranger: key by host, since its port changes every attempt.
		host, _, _ := net.SplitHostPort(remote)
		key = "refuse|" + host + "|" + reason
	}
	if t.limiter.allow(key, refusalLogEvery) {
		t.log.Warn("refused peer connection", "peer", from, "remote", remote, "reason", reason)
	}
	conn.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write(appendRefuse(nil, reason)); err != nil {
		return
	}
	// Closing with unread input makes the kernel send a reset, which can
	// destroy the refusal before the dialer reads it. Half-close and drain a
	// little first.
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	conn.SetReadDeadline(time.Now().Add(time.Second))
	io.Copy(io.Discard, io.LimitReader(conn, 1<<20))
}

func (t *Transport) setInbound(id uint64, conn net.Conn) {
	t.mu.Lock()
	old := t.inbound[id]
	t.inbound[id] = conn
	t.mu.Unlock()
	if old != nil {
		// The peer redialled: its old stream is dead or about to be, and two
		// readers from one peer would interleave its messages.
		old.Close()
	}
}

func (t *Transport) clearInbound(id uint64, conn net.Conn) {
	t.mu.Lock()
	if t.inbound[id] == conn {
		delete(t.inbound, id)
	}
	t.mu.Unlock()
}

// streamIn delivers the frames of an accepted inbound stream, in order,
// until the connection breaks or Close.
func (t *Transport) streamIn(p *peer, conn net.Conn, br *bufio.Reader) {
	log := t.log.With("peer", p.id)
	t.setInbound(p.id, conn)
	defer t.clearInbound(p.id, conn)
	log.Info("inbound stream from peer up", "remote", conn.RemoteAddr().String())
	var buf []byte
	for {
		b, err := jute.ReadFrame(br, buf, maxFrame)
		if err != nil {
			switch {
			case errors.Is(err, jute.ErrFrameTooLarge) || errors.Is(err, jute.ErrNegativeFrame):
				log.Error("frame from peer refused: size out of bounds; closing the connection", "err", err)
			case t.ctx.Err() == nil:
				log.Info("inbound stream from peer down", "err", err)
			}
			return
		}
		if cap(b) <= 1<<20 {
			buf = b[:0] // reuse, but do not pin a rare huge buffer
		}
		f, err := decodeFrame(b)
		if err != nil {
			log.Error("bad frame from peer; closing the connection", "err", err)
			return
		}
		switch f.kind {
		case kindRefuse:
			if t.limiter.allow(fmt.Sprintf("refused|%d|%s", p.id, f.reason), refusalLogEvery) {
				log.Warn("peer refused our handshake reply", "reason", f.reason)
			}
			return
		case kindRaft:
			t.deliver(p, f.msg)
		case kindApp:
			if p.fault().Drop {
				t.discarded.Add(1)
				continue
			}
			t.h.HandleApp(p.id, f.appKind, bytes.Clone(f.payload))
		}
	}
}

// relayed reports whether m is a message raft legitimately relays: a
// follower that is no longer leader passes a proposal or a ReadIndex on to
// the leader it knows, keeping the originator in From (the answer to a
// ReadIndex goes back to the originator). The originator must still be a
// member.
func (t *Transport) relayed(m *raftpb.Message) bool {
	switch m.GetType() {
	case raftpb.MessageType_MsgProp, raftpb.MessageType_MsgReadIndex:
		_, ok := t.peers[m.GetFrom()]
		return ok
	}
	return false
}

func (t *Transport) deliver(p *peer, m *raftpb.Message) {
	if p.fault().Drop {
		t.discarded.Add(1)
		return
	}
	if (m.GetFrom() != p.id && !t.relayed(m)) || m.GetTo() != t.id {
		if t.limiter.allow(fmt.Sprintf("misaddressed|%d", p.id), refusalLogEvery) {
			t.log.Warn("dropping raft message with a wrong sender or receiver", "peer", p.id,
				"from", m.GetFrom(), "to", m.GetTo(), "type", m.GetType())
		}
		return
	}
	if m.GetType() == raftpb.MessageType_MsgSnap {
		if t.limiter.allow(fmt.Sprintf("snap-on-stream|%d", p.id), refusalLogEvery) {
			t.log.Error("dropping MsgSnap received on a stream; snapshots use their own connection", "peer", p.id)
		}
		return
	}
	if err := t.h.Step(t.ctx, m); err != nil && t.ctx.Err() == nil {
		t.log.Debug("raft refused a message", "peer", p.id, "type", m.GetType(), "err", err)
	}
}

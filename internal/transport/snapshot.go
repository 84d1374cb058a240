package transport

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/zkd-io/zkd/internal/jute"
)

// snapshotBase is the fixed part of a snapshot deadline; transferTimeout adds
// a second per MiB.
const snapshotBase = time.Minute

// SendSnapshot streams a MsgSnap and size bytes of body to m.To on a
// connection of its own, in the background, then closes body and calls
// Handler.ReportSnapshot(m.To, ok). At most one snapshot per peer is in
// flight; another one fails at once. A snapshot aborted by Close is not
// reported.
func (t *Transport) SendSnapshot(m *raftpb.Message, body io.ReadCloser, size int64) {
	to := m.GetTo()
	p := t.peers[to]
	fail := func(why string) {
		body.Close()
		t.log.Warn("snapshot not sent", "peer", to, "size", size, "reason", why)
		if p != nil {
			p.snapFailPending.Store(true)
			t.wakeNotifier()
		}
	}
	switch {
	case p == nil:
		fail("not a member")
		return
	case m.GetType() != raftpb.MessageType_MsgSnap:
		fail(fmt.Sprintf("message is %s, not MsgSnap", m.GetType()))
		return
	case size < 0 || size > maxSnapshotSize:
		fail(fmt.Sprintf("size %d out of range", size))
		return
	case t.closedFlag.Load():
		body.Close()
		return
	case p.fault().Drop:
		fail("link faulted with Drop")
		return
	case !p.snapBusy.CompareAndSwap(false, true):
		fail("another snapshot to this peer is in flight")
		return
	}
	ok := t.spawn(func() {
		defer p.snapBusy.Store(false)
		err := t.sendSnapshot(p, m, body, size)
		if t.closedFlag.Load() {
			return
		}
		if err != nil {
			t.log.Warn("sending snapshot failed", "peer", to, "size", size, "err", err)
		}
		t.h.ReportSnapshot(to, err == nil)
	})
	if !ok {
		p.snapBusy.Store(false)
		body.Close()
	}
}

func (t *Transport) sendSnapshot(p *peer, m *raftpb.Message, body io.ReadCloser, size int64) error {
	defer body.Close()
	start := time.Now()
	hdr, err := appendSnapHeader(nil, m, size)
	if err != nil {
		return err
	}
	conn, err := t.dial(p, connSnapshot)
	if err != nil {
		return err
	}
	defer t.closeConn(conn)
	conn.SetDeadline(time.Now().Add(transferTimeout(size, snapshotBase)))
	bw := bufio.NewWriterSize(conn, 256<<10)
	bw.Write(hdr)
	if _, err := io.CopyN(bw, body, size); err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("snapshot body is shorter than its announced size %d", size)
		}
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	// The receiver may persist and restore before it answers.
	conn.SetDeadline(time.Now().Add(transferTimeout(size, snapshotBase)))
	b, err := jute.ReadFrame(conn, nil, maxHelloFrame)
	if err != nil {
		return fmt.Errorf("waiting for the receiver's status: %w", err)
	}
	if err := decodeSnapStatus(b); err != nil {
		return err
	}
	t.log.Info("snapshot sent", "peer", p.id, "size", size, "index", m.GetSnapshot().GetMetadata().GetIndex(),
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}

// receiveSnapshot runs the receiver's side of an accepted snapshot
// connection: one header, the body handed to the Handler, one status back.
func (t *Transport) receiveSnapshot(p *peer, conn net.Conn, br *bufio.Reader) {
	log := t.log.With("peer", p.id)
	conn.SetDeadline(time.Now().Add(handshakeTimeout))
	b, err := jute.ReadFrame(br, nil, maxFrame)
	if err != nil {
		log.Warn("reading snapshot header failed", "err", err)
		return
	}
	m, size, err := decodeSnapHeader(b)
	if err == nil && (m.GetFrom() != p.id || m.GetTo() != t.id) {
		err = fmt.Errorf("snapshot from %d to %d arrived on a connection from %d to %d", m.GetFrom(), m.GetTo(), p.id, t.id)
	}
	if err == nil && p.fault().Drop {
		err = errors.New("link faulted with Drop")
	}
	if err != nil {
		log.Warn("refusing snapshot", "err", err)
		conn.Write(appendSnapStatus(nil, err))
		return
	}
	conn.SetDeadline(time.Now().Add(transferTimeout(size, snapshotBase)))
	start := time.Now()
	body := &io.LimitedReader{R: br, N: size}
	err = t.h.ReceiveSnapshot(t.ctx, m, body, size)
	if err == nil && body.N > 0 {
		err = fmt.Errorf("snapshot handler left %d of %d bytes unread", body.N, size)
	}
	if t.ctx.Err() != nil {
		return
	}
	if err != nil {
		log.Warn("receiving snapshot failed", "size", size, "err", err)
	} else {
		log.Info("snapshot received", "size", size, "index", m.GetSnapshot().GetMetadata().GetIndex(),
			"took", time.Since(start).Round(time.Millisecond))
	}
	conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	conn.Write(appendSnapStatus(nil, err))
}

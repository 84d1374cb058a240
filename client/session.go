package client

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"

	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/proto"
)

// replyHeaderSize is the encoded size of a ReplyHeader.
const replyHeaderSize = 16

// pingFrame is a complete ping request (xid -2, op ping).
var pingFrame = []byte{0, 0, 0, 8, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, byte(proto.OpPing)}

// link is one TCP connection to a server, with a negotiated session.
type link struct {
	nc           net.Conn
	addr         string
	readTimeout  time.Duration // silence longer than this is a dead connection
	pingInterval time.Duration // ping after this long without sending
	done         chan struct{} // closed by fail
	once         sync.Once
	err          error
}

// fail closes the connection, once; the first error wins.
func (l *link) fail(err error) {
	l.once.Do(func() {
		l.err = err
		close(l.done)
		l.nc.Close()
	})
}

// run owns the connection life cycle: it tries hosts in turn, serves each
// connection until it dies, and stops when the session is over or Close
// cancels it.
func (c *Conn) run() {
	defer close(c.runDone)
	failures := 0
	for c.ctx.Err() == nil && !c.over() {
		if failures > 0 && failures%len(c.hosts) == 0 {
			// A whole round failed: pause before the next one, with jitter
			// so that many clients do not reconnect in step.
			d := c.opts.retryDelay/2 + rand.N(c.opts.retryDelay/2+1)
			if !c.sleep(d) {
				return
			}
		}
		addr := c.nextHost()
		l, err := c.connect(addr)
		if err != nil {
			failures++
			c.mu.Lock()
			c.lastErr = err
			queued := c.outgoing
			c.outgoing = nil
			c.mu.Unlock()
			c.log.Debug("connection attempt failed", "server", addr, "err", err)
			// As ZooKeeper's client does, requests queued during a failed
			// attempt fail with ConnectionLoss rather than wait forever.
			c.failAll(queued, proto.ErrConnectionLoss)
			continue
		}
		failures = 0
		c.serve(l)
	}
}

// over reports whether the session is over (expired, auth failed, closed).
func (c *Conn) over() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.final != nil || c.closing
}

// sleep waits d, or returns false when the Conn is closing.
func (c *Conn) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

func (c *Conn) nextHost() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.hosts[c.next]
	c.next = (c.next + 1) % len(c.hosts)
	return h
}

// errExpired is returned by connect when the server refused the session.
var errExpired = errors.New("session expired")

// connect dials addr and runs the handshake. On success the link is
// installed, the state event sent and the priming requests (auth,
// SetWatches) queued ahead of everything else.
func (c *Conn) connect(addr string) (*link, error) {
	c.mu.Lock()
	timeout := c.timeout
	req := proto.ConnectRequest{
		ProtocolVersion: 0,
		LastZxidSeen:    c.lastZxid.Load(),
		TimeOut:         int32(c.opts.sessionTimeout / time.Millisecond),
		Passwd:          c.passwd,
		ReadOnly:        c.opts.readOnly,
		HasReadOnly:     true,
	}
	if c.seenRW {
		// A session created by a read-only server is not valid on others
		// until a read-write server has accepted it, as in ZooKeeper.
		req.SessionID = c.sessionID
	}
	c.mu.Unlock()

	attempt := timeout / time.Duration(len(c.hosts))
	ctx, cancel := context.WithTimeout(c.ctx, attempt)
	defer cancel()
	nc, err := c.opts.dialer(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	// Close interrupts the handshake.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	resp, err := c.handshake(nc, &req, time.Now().Add(attempt))
	if !stop() || err != nil {
		nc.Close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("handshake with %s: %w", addr, err)
	}
	if resp.TimeOut <= 0 {
		nc.Close()
		c.log.Info("server says the session is expired", "server", addr, "session", fmt.Sprintf("0x%x", uint64(req.SessionID)))
		c.terminate(StateExpired, proto.ErrSessionExpired)
		return nil, errExpired
	}
	negotiated := time.Duration(resp.TimeOut) * time.Millisecond
	l := &link{
		nc:           nc,
		addr:         addr,
		readTimeout:  negotiated * 2 / 3,
		pingInterval: negotiated / 3,
		done:         make(chan struct{}),
	}
	state := StateSyncConnected
	if resp.ReadOnly {
		state = StateConnectedReadOnly
	}

	c.mu.Lock()
	if c.final != nil || c.closing {
		c.mu.Unlock()
		nc.Close()
		return nil, ErrClosed
	}
	c.sessionID, c.passwd, c.timeout = resp.SessionID, resp.Passwd, negotiated
	if !resp.ReadOnly {
		c.seenRW = true
	}
	c.link, c.lastAddr, c.lastErr = l, addr, nil
	c.setStateLocked(state)
	prime := c.primeLocked()
	c.outgoing = append(prime, c.outgoing...)
	c.mu.Unlock()
	c.log.Info("session established", "server", addr, "session", fmt.Sprintf("0x%x", uint64(resp.SessionID)),
		"timeout", negotiated, "readOnly", resp.ReadOnly)
	c.sessionEvent(Event{Type: EventNone, State: state})
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return l, nil
}

// handshake writes the connect request and reads the response.
func (c *Conn) handshake(nc net.Conn, req *proto.ConnectRequest, deadline time.Time) (*proto.ConnectResponse, error) {
	if err := nc.SetDeadline(deadline); err != nil {
		return nil, err
	}
	w := jute.NewWriter(64)
	w.Int(0)
	req.Encode(w)
	w.SetInt(0, int32(w.Len()-4))
	if _, err := nc.Write(w.Bytes()); err != nil {
		return nil, err
	}
	frame, err := jute.ReadFrame(nc, nil, c.opts.maxBuffer)
	if err != nil {
		if errors.Is(err, io.EOF) {
			// ZooKeeper closes without an answer when it cannot serve the
			// session, e.g. when the client has seen a newer zxid.
			err = fmt.Errorf("server closed the connection during the handshake: %w", err)
		}
		return nil, err
	}
	var resp proto.ConnectResponse
	if err := resp.Decode(jute.NewReader(frame)); err != nil {
		return nil, fmt.Errorf("%w: connect response: %v", ErrBadReply, err)
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return &resp, nil
}

// primeLocked builds the requests that restore the session's credentials
// and watches on a new connection: every AddAuth credential, then the
// watches in SetWatches (or SetWatches2 when persistent watches are in the
// batch) packets of about 128 KB of paths each, as ZooKeeper's client does.
func (c *Conn) primeLocked() []*request {
	var reqs []*request
	for _, a := range c.auths {
		r := newRequest(proto.OpAuth, "", &proto.AuthPacket{Scheme: a.scheme, Auth: a.auth}, nil)
		reqs = append(reqs, r.setXid(proto.XidAuth))
	}
	for _, sw := range setWatchesBatches(c.watches.lists(c.serverPath), c.lastZxid.Load(), setWatchesMaxLength) {
		reqs = append(reqs, sw.setXid(proto.XidSetWatches))
	}
	return reqs
}

// setWatchesMaxLength is the number of path bytes after which a SetWatches
// packet is cut (ZooKeeper's SET_WATCHES_MAX_LENGTH); the last path may
// overshoot it.
const setWatchesMaxLength = 128 * 1024

// setWatchesBatches cuts the watch lists into packets.
func setWatchesBatches(lists [numKinds][]string, zxid int64, max int) []*request {
	var out []*request
	k, i := watchKind(0), 0
	for {
		var batch [numKinds][]string
		n := 0
		for n < max {
			for k < numKinds && i >= len(lists[k]) {
				k, i = k+1, 0
			}
			if k == numKinds {
				break
			}
			batch[k] = append(batch[k], lists[k][i])
			n += len(lists[k][i])
			i++
		}
		if n == 0 && len(batch[kindData])+len(batch[kindExist])+len(batch[kindChild])+
			len(batch[kindPersistent])+len(batch[kindRecursive]) == 0 {
			return out
		}
		if len(batch[kindPersistent]) == 0 && len(batch[kindRecursive]) == 0 {
			// Servers before 3.6 know only SetWatches.
			out = append(out, newRequest(proto.OpSetWatches, "", &proto.SetWatches{
				RelativeZxid: zxid, DataWatches: batch[kindData], ExistWatches: batch[kindExist], ChildWatches: batch[kindChild],
			}, nil))
		} else {
			out = append(out, newRequest(proto.OpSetWatches2, "", &proto.SetWatches2{
				RelativeZxid: zxid, DataWatches: batch[kindData], ExistWatches: batch[kindExist], ChildWatches: batch[kindChild],
				PersistentWatches: batch[kindPersistent], PersistentRecursiveWatches: batch[kindRecursive],
			}, nil))
		}
	}
}

// serve runs the reader and writer of l until the connection dies or the
// Conn closes, then fails what was in flight.
func (c *Conn) serve(l *link) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.readLoop(l) }()
	go func() { defer wg.Done(); c.writeLoop(l) }()
	select {
	case <-l.done:
	case <-c.ctx.Done():
		l.fail(ErrClosed)
	}
	wg.Wait()

	c.mu.Lock()
	c.link = nil
	inflight := append(append(c.pending, c.authWait...), c.outgoing...)
	c.pending, c.authWait, c.outgoing = nil, nil, nil
	err := c.final
	if err == nil {
		err = proto.ErrConnectionLoss
		if !c.closing {
			c.setStateLocked(StateDisconnected)
		}
	}
	quiet := c.closing || c.final != nil
	c.lastErr = l.err
	c.mu.Unlock()
	if !quiet {
		c.log.Info("connection lost", "server", l.addr, "err", l.err)
		c.sessionEvent(Event{Type: EventNone, State: StateDisconnected})
	}
	c.failAll(inflight, err)
}

// writeLoop writes queued requests in batches, and pings when nothing was
// sent for a third of the session timeout.
func (c *Conn) writeLoop(l *link) {
	bw := bufio.NewWriterSize(l.nc, 32<<10)
	ping := time.NewTimer(l.pingInterval)
	defer ping.Stop()
	var batch []*request
	for {
		select {
		case <-l.done:
			return
		case <-c.wake:
		case <-ping.C:
			if err := c.flush(l, bw, nil, pingFrame); err != nil {
				l.fail(err)
				return
			}
			ping.Reset(l.pingInterval)
			continue
		}
		batch = c.takeOutgoing(l, batch[:0])
		if len(batch) == 0 {
			continue
		}
		err := c.flush(l, bw, batch, nil)
		clear(batch)
		if err != nil {
			l.fail(err)
			return
		}
		ping.Reset(l.pingInterval)
	}
}

func (c *Conn) flush(l *link, bw *bufio.Writer, batch []*request, extra []byte) error {
	if err := l.nc.SetWriteDeadline(time.Now().Add(l.readTimeout)); err != nil {
		return err
	}
	for _, r := range batch {
		bw.Write(r.frame) // a write error is sticky and returned by Flush
	}
	if extra != nil {
		bw.Write(extra)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write to %s: %w", l.addr, err)
	}
	return nil
}

// takeOutgoing moves the queued requests to the awaiting lists before they
// are written, so the reader always finds a request its reply answers.
func (c *Conn) takeOutgoing(l *link, batch []*request) []*request {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link != l {
		return batch
	}
	for _, r := range c.outgoing {
		if r.abandoned.Load() && r.xid > 0 {
			// The caller gave up before it was sent. Credentials still go:
			// they are part of the session from the moment AddAuth is called.
			continue
		}
		batch = append(batch, r)
		if r.op == proto.OpAuth {
			c.authWait = append(c.authWait, r)
		} else {
			c.pending = append(c.pending, r)
		}
	}
	clear(c.outgoing)
	c.outgoing = c.outgoing[:0]
	return batch
}

// readLoop reads frames until the connection dies. A connection silent for
// two thirds of the session timeout is dead.
func (c *Conn) readLoop(l *link) {
	br := bufio.NewReaderSize(l.nc, 32<<10)
	var buf []byte
	var lenBuf [4]byte
	rd := jute.NewReader(nil)
	for {
		if err := l.nc.SetReadDeadline(time.Now().Add(l.readTimeout)); err != nil {
			l.fail(err)
			return
		}
		if _, err := io.ReadFull(br, lenBuf[:]); err != nil {
			l.fail(c.readError(l, err))
			return
		}
		n := int32(binary.BigEndian.Uint32(lenBuf[:]))
		if n < replyHeaderSize {
			l.fail(fmt.Errorf("%w: frame length %d from %s", ErrBadReply, n, l.addr))
			return
		}
		if int64(n) > int64(c.opts.maxBuffer) {
			if err := c.skipLarge(l, br, int64(n)); err != nil {
				l.fail(err)
				return
			}
			continue
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(br, buf); err != nil {
			l.fail(c.readError(l, err))
			return
		}
		rd.Reset(buf)
		if err := c.handleReply(l, rd); err != nil {
			l.fail(err)
			return
		}
	}
}

func (c *Conn) readError(l *link, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("no reply from %s for %v: connection considered lost", l.addr, l.readTimeout)
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("server %s closed the connection", l.addr)
	}
	return fmt.Errorf("read from %s: %w", l.addr, err)
}

// skipLarge discards a reply larger than the maximum buffer size and fails
// the request it answers with ErrResponseTooLarge; the stream stays in step.
func (c *Conn) skipLarge(l *link, br *bufio.Reader, n int64) error {
	var hb [replyHeaderSize]byte
	if _, err := io.ReadFull(br, hb[:]); err != nil {
		return c.readError(l, err)
	}
	var h proto.ReplyHeader
	if err := h.Decode(jute.NewReader(hb[:])); err != nil {
		return fmt.Errorf("%w: %v", ErrBadReply, err)
	}
	if _, err := io.CopyN(io.Discard, br, n-replyHeaderSize); err != nil {
		return c.readError(l, err)
	}
	tooLarge := fmt.Errorf("%w: reply of %d bytes, maximum %d", ErrResponseTooLarge, n, c.opts.maxBuffer)
	if h.Xid < 0 {
		// A notification or another special reply: nobody to tell but the
		// connection.
		return fmt.Errorf("xid %d: %w", h.Xid, tooLarge)
	}
	r, err := c.popPending(h.Xid)
	if err != nil {
		return err
	}
	c.log.Warn("reply too large", "op", r.op, "bytes", n, "max", c.opts.maxBuffer)
	r.code, r.err = proto.ErrOK, tooLarge
	c.complete(r)
	return nil
}

// popPending takes the oldest awaiting request, which must have xid.
func (c *Conn) popPending(xid int32) (*request, error) {
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: reply with xid %d but no request outstanding", ErrBadReply, xid)
	}
	r := c.pending[0]
	c.pending[0] = nil
	c.pending = c.pending[1:]
	c.mu.Unlock()
	if r.xid != xid {
		// Replies come in request order; anything else means the stream
		// cannot be trusted.
		r.code = proto.ErrConnectionLoss
		c.complete(r)
		return nil, fmt.Errorf("%w: xid out of order: got %d, want %d (%s)", ErrBadReply, xid, r.xid, r.op)
	}
	return r, nil
}

// handleReply dispatches one frame: a notification, a ping or auth reply,
// or the reply to the oldest pending request. An error drops the
// connection.
func (c *Conn) handleReply(l *link, rd *jute.Reader) error {
	var h proto.ReplyHeader
	if err := h.Decode(rd); err != nil {
		return fmt.Errorf("%w: reply header: %v", ErrBadReply, err)
	}
	switch h.Xid {
	case proto.XidPing:
		return nil
	case proto.XidNotification:
		var we proto.WatcherEvent
		if err := we.Decode(rd); err != nil {
			return fmt.Errorf("%w: watch event: %v", ErrBadReply, err)
		}
		ev := Event{Type: EventType(we.Type), State: State(we.State), Path: c.clientPath(we.Path), Zxid: h.Zxid}
		c.log.Debug("watch event", "event", ev)
		c.watches.fire(ev)
		return nil
	case proto.XidAuth:
		c.mu.Lock()
		var r *request
		if len(c.authWait) > 0 {
			r = c.authWait[0]
			c.authWait[0] = nil
			c.authWait = c.authWait[1:]
		}
		c.mu.Unlock()
		if r != nil {
			r.code = h.Err
			c.complete(r)
		}
		if h.Err == proto.ErrAuthFailed {
			c.terminate(StateAuthFailed, proto.ErrAuthFailed)
			return proto.ErrAuthFailed
		}
		return nil
	}
	r, err := c.popPending(h.Xid)
	if err != nil {
		return err
	}
	if h.Zxid > 0 {
		c.lastZxid.Store(h.Zxid)
	}
	r.code, r.zxid = h.Err, h.Zxid
	if h.Err == proto.ErrOK && r.resp != nil {
		if err := r.resp.Decode(rd); err != nil {
			// The frame was length-delimited, so the stream is still in
			// step: only this request fails.
			r.code, r.err = proto.ErrMarshallingError, fmt.Errorf("%w: %s reply: %v", ErrBadReply, r.op, err)
		}
	}
	if r.op == proto.OpSetWatches || r.op == proto.OpSetWatches2 {
		if h.Err != proto.ErrOK {
			c.log.Warn("server refused to restore watches", "err", h.Err)
		}
	}
	c.complete(r)
	return nil
}

// serverPath prepends the chroot to a client path.
func (c *Conn) serverPath(p string) string {
	if c.chroot == "" {
		return p
	}
	if p == "/" {
		return c.chroot
	}
	return c.chroot + p
}

// clientPath strips the chroot from a server path.
func (c *Conn) clientPath(p string) string {
	if c.chroot == "" {
		return p
	}
	if p == c.chroot {
		return "/"
	}
	if len(p) > len(c.chroot) && p[:len(c.chroot)] == c.chroot && p[len(c.chroot)] == '/' {
		return p[len(c.chroot):]
	}
	return p
}

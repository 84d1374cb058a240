package server

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/proto"
)

// outLimit bounds the bytes queued for one client. A client that stops
// reading is disconnected when it is reached, so memory stays bounded.
const outLimit = 16 << 20

// inQueue bounds the requests read ahead of processing for one connection.
// When it is full the read loop stops reading: TCP pushes back on the client.
const inQueue = 1024

// conn is one client connection. The read loop decodes frames and, when it
// has nothing more to read, runs them; the process loop runs them when a
// write completes or the read loop is busy; the write loop sends watch
// events and replies that found another write in progress.
type conn struct {
	s      *Server
	nc     net.Conn
	ip     string
	remote string

	session atomic.Int64
	closing atomic.Bool // the client asked to close its session
	timeout time.Duration
	auth    []proto.ID // procMu, once the session is up
	since   time.Time

	// The read loop queues requests on in and runs them itself when the
	// process loop is idle; procMu makes the two take turns.
	in      chan *request
	wake    chan struct{}
	procMu  sync.Mutex
	reqs    []*request // procMu: read, started or waiting for an answer
	stopped bool       // procMu: closing; nothing more is processed

	outMu    sync.Mutex
	out      []byte
	spare    []byte
	writing  bool // a goroutine is writing a batch taken from out
	outWake  chan struct{}
	flushEnd bool // close once everything queued has been written

	closed    chan struct{}
	closeOnce sync.Once

	received, sent atomic.Int64
	lastZxid       atomic.Int64
	// For cons: the opcode of the newest answered request that ZooKeeper
	// names (lop; 0 before any), and the newest request's xid (lcxid; -1
	// before any). Plain atomics: noteRequest runs for every request.
	lastOp   atomic.Int32
	lastCxid atomic.Int64
	lat      latency
}

func newConn(s *Server, nc net.Conn) *conn {
	host, _, _ := net.SplitHostPort(nc.RemoteAddr().String())
	c := &conn{
		s: s, nc: nc, ip: host, remote: nc.RemoteAddr().String(), since: time.Now(),
		in: make(chan *request, inQueue), wake: make(chan struct{}, 1),
		outWake: make(chan struct{}, 1), closed: make(chan struct{}),
	}
	c.lastCxid.Store(-1)
	return c
}

func (s *Server) acceptLoop() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.quit:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.log.Error("accept failed", "err", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		c := newConn(s, nc)
		if !s.register(c) {
			s.log.Warn("too many connections from one address", "addr", c.ip, "max", s.opts.MaxClientCnxns)
			nc.Close()
			continue
		}
		s.goRun(c.readLoop)
		s.goRun(c.writeLoop)
	}
}

// register admits c unless its address already has maxClientCnxns
// connections.
func (s *Server) register(c *conn) bool {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	select {
	case <-s.quit:
		return false
	default:
	}
	if max := s.opts.MaxClientCnxns; max > 0 && s.perIP[c.ip] >= max {
		return false
	}
	s.perIP[c.ip]++
	s.conns[c] = struct{}{}
	s.stats.connections.Add(1)
	return true
}

func (s *Server) unregister(c *conn) {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	if _, ok := s.conns[c]; !ok {
		return
	}
	delete(s.conns, c)
	s.stats.connections.Add(-1)
	if s.perIP[c.ip]--; s.perIP[c.ip] <= 0 {
		delete(s.perIP, c.ip)
	}
	if id := c.session.Load(); id != 0 && s.owners[id] == c {
		delete(s.owners, id)
	}
}

// close tears the connection down. The session lives on until it expires or
// is closed; a client may resume it on another connection.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.nc.Close()
		c.s.watches.RemoveAll(c)
		c.s.unregister(c)
	})
}

func (c *conn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func (c *conn) readLoop() {
	defer func() {
		// A refusal (bad session, auth failure) is queued with
		// closeAfterFlush: let the write loop send it before closing.
		if c.flushing() {
			select {
			case <-c.closed:
			case <-time.After(c.writeTimeout()):
			}
		}
		c.close()
	}()
	br := bufio.NewReaderSize(c.nc, 64<<10)
	// A connection must say who it is within ten ticks, as in ZooKeeper.
	c.nc.SetReadDeadline(time.Now().Add(10 * c.s.opts.TickTime))
	if c.maybeFourLetterWord(br) {
		return
	}
	max := c.s.opts.JuteMaxBuffer
	frame, err := jute.ReadFrame(br, nil, max)
	if err != nil {
		c.logReadErr("reading the connect request", err)
		return
	}
	if !c.handshake(frame) {
		return
	}
	c.nc.SetReadDeadline(time.Time{})
	c.s.goRun(c.processLoop)
	var buf []byte
	for {
		buf, err = jute.ReadFrame(br, buf[:0], max)
		if err != nil {
			c.logReadErr("reading a request", err)
			return
		}
		req, err := c.parse(buf)
		if err != nil {
			c.s.log.Warn("closing connection: malformed request", "remote", c.remote, "session", hexID(c.session.Load()), "err", err)
			return
		}
		// Every packet, pings included, shows the session is alive.
		c.s.tracker.Touch(c.session.Load(), time.Now())
		if c.flushing() {
			return // closing: read nothing more, as ZooKeeper disables receive
		}
		c.received.Add(1)
		c.s.stats.received.Add(1)
		c.s.stats.outstanding.Add(1)
		select {
		case c.in <- req:
		default:
			c.signal() // full: the process loop must make room
			select {
			case c.in <- req:
			case <-c.closed:
				return
			}
		}
		if frameBuffered(br) {
			continue // read the burst first, so its writes are proposed together
		}
		// Nothing more to read yet: run the requests here, sparing them a
		// hand-off to the process loop, unless it is running already.
		if !c.procMu.TryLock() {
			c.signal()
			continue
		}
		stop := c.step()
		c.procMu.Unlock()
		if stop {
			return
		}
	}
}

// frameBuffered reports whether br holds a whole frame already.
func frameBuffered(br *bufio.Reader) bool {
	n := br.Buffered()
	if n < 4 {
		return false
	}
	b, _ := br.Peek(4)
	return int64(n)-4 >= int64(binary.BigEndian.Uint32(b))
}

func (c *conn) logReadErr(what string, err error) {
	if c.isClosed() || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.s.log.Info("closing connection that sent no request in time", "remote", c.remote)
		return
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return
	}
	c.s.log.Warn("closing connection", "remote", c.remote, "session", hexID(c.session.Load()), "while", what, "err", err)
}

// enqueue appends one reply frame to the outbound buffer and wakes the
// write loop. It never blocks: a client that lets outLimit bytes pile up is
// disconnected.
func (c *conn) enqueue(payload []byte) {
	if c.queue(payload) {
		c.wakeWriter()
	}
}

// queue appends one reply frame to the outbound buffer without waking
// anyone; the process loop's replies leave with its flush. It reports
// false if the connection was closed for having too much queued.
func (c *conn) queue(payload []byte) bool {
	c.outMu.Lock()
	if len(c.out)+len(payload) > outLimit {
		c.outMu.Unlock()
		c.s.log.Warn("closing connection: client is not reading its replies", "remote", c.remote, "session", hexID(c.session.Load()), "queuedBytes", len(c.out))
		c.close()
		return false
	}
	c.out = jute.AppendFrame(c.out, payload)
	c.outMu.Unlock()
	c.sent.Add(1)
	c.s.stats.sent.Add(1)
	return true
}

func (c *conn) wakeWriter() {
	select {
	case c.outWake <- struct{}{}:
	default:
	}
}

// flushing reports whether the connection is closing once its queue drains.
func (c *conn) flushing() bool {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return c.flushEnd
}

// closeAfterFlush closes the connection once everything queued so far has
// been written.
func (c *conn) closeAfterFlush() {
	c.outMu.Lock()
	c.flushEnd = true
	c.outMu.Unlock()
	c.wakeWriter()
}

// writeLoop writes whatever has been queued in one syscall per batch:
// watch events, and replies the process loop left to it.
func (c *conn) writeLoop() {
	defer c.close()
	for {
		select {
		case <-c.outWake:
		case <-c.closed:
			return
		}
		if end, err := c.flush(); err != nil || end {
			return
		}
	}
}

// flush writes what is queued, unless another goroutine is writing (it
// wakes the write loop when it is done if more was queued meanwhile). The
// process loop calls it once it has answered what it could, which spares
// most replies a hand-off to the write loop. end reports that the
// connection is to close, everything queued having been written.
func (c *conn) flush() (end bool, err error) {
	c.outMu.Lock()
	if c.writing {
		c.outMu.Unlock()
		return false, nil
	}
	buf := c.out
	c.out = c.spare[:0]
	end = c.flushEnd
	c.writing = true
	c.outMu.Unlock()
	if len(buf) > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(c.writeTimeout()))
		_, err = c.nc.Write(buf)
	}
	c.outMu.Lock()
	c.writing = false
	if cap(buf) <= 1<<20 {
		c.spare = buf[:0]
	}
	more := len(c.out) > 0 || c.flushEnd && !end
	c.outMu.Unlock()
	if err != nil {
		return false, err
	}
	if more {
		c.wakeWriter()
		return false, nil
	}
	return end, nil
}

func (c *conn) writeTimeout() time.Duration {
	if c.timeout > 0 {
		return c.timeout
	}
	return 10 * c.s.opts.TickTime
}

// Notify queues a watch event (watch.Watcher).
func (c *conn) Notify(ev proto.WatcherEvent) {
	w := getWriter()
	hdr := proto.ReplyHeader{Xid: proto.XidNotification, Zxid: -1}
	hdr.Encode(w)
	ev.Encode(w)
	c.enqueue(w.Bytes())
	putWriter(w)
}

var writers = sync.Pool{New: func() any { return new(jute.Writer) }}

func getWriter() *jute.Writer { w := writers.Get().(*jute.Writer); w.Reset(); return w }

func putWriter(w *jute.Writer) {
	if w.Len() <= 1<<20 {
		writers.Put(w)
	}
}

// reply queues a reply frame.
func (c *conn) reply(xid int32, zxid int64, code proto.ErrCode, body proto.Record) {
	w := getWriter()
	hdr := proto.ReplyHeader{Xid: xid, Zxid: zxid, Err: code}
	hdr.Encode(w)
	if body != nil && code == proto.ErrOK {
		body.Encode(w)
	}
	c.queue(w.Bytes())
	putWriter(w)
	c.lastZxid.Store(zxid)
}

package diff

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"

	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/proto"
)

// Timeouts of the scenario client. A correct server answers in
// milliseconds; these only bound how long a broken one can stall the suite.
const (
	replyTimeout = 3 * time.Second // a reply or event we wait for
	closeTimeout = time.Second     // the server closing a connection
	writeTimeout = 2 * time.Second
	maxReads     = 10000 // packets read while waiting for one reply
)

// Client is one recorded connection of a scenario. Every request it sends
// and every packet it reads becomes a transcript line, in the order they
// happen. Once the connection is closed or a reply times out, the client is
// dead: later requests are recorded as not sent.
type Client struct {
	s    *S
	Name string // c1, c2... in the transcript

	conn      *Conn
	Resp      *proto.ConnectResponse // nil when the handshake failed
	SessionID int64
	Passwd    []byte
	LastZxid  int64 // highest reply zxid seen, as the Java client tracks it

	xid     int32
	pending []pendingReq
	dead    bool
	closed  bool // closeSession answered
}

type pendingReq struct {
	xid   int32
	op    proto.OpCode
	quiet bool // barrier ping: recorded without its zxid
}

// Reply is the outcome of one request.
type Reply struct {
	Xid  int32
	Zxid int64
	Err  proto.ErrCode
	Resp proto.Record // decoded body; nil when there was none
	Lost bool         // no reply: the connection closed or timed out
}

// OK reports whether the request got a reply with no error.
func (r Reply) OK() bool { return !r.Lost && r.Err == proto.ErrOK }

// Stat returns the Stat of a reply that carries one (zero Stat otherwise).
func (r Reply) Stat() proto.Stat {
	switch x := r.Resp.(type) {
	case *proto.Create2Response:
		return x.Stat
	case *proto.ExistsResponse:
		return x.Stat
	case *proto.SetDataResponse:
		return x.Stat
	case *proto.SetACLResponse:
		return x.Stat
	case *proto.GetDataResponse:
		return x.Stat
	case *proto.GetACLResponse:
		return x.Stat
	case *proto.GetChildren2Response:
		return x.Stat
	}
	return proto.Stat{}
}

// Path returns the path of a create reply ("" otherwise).
func (r Reply) Path() string {
	switch x := r.Resp.(type) {
	case *proto.CreateResponse:
		return x.Path
	case *proto.Create2Response:
		return x.Path
	}
	return ""
}

func (c *Client) line(format string, args ...any) {
	c.s.record(c.Name + " " + fmt.Sprintf(format, args...))
}

// closedReason classifies a read or write error without the details (local
// ports, errno text) that differ between runs. EOF and reset are the same
// to a client: the connection is gone.
func closedReason(err error) string {
	switch {
	case errors.Is(err, ErrTimeout):
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "closed"
	}
	return "error"
}

func (c *Client) kill(reason string, err error) {
	if c.dead {
		return
	}
	c.dead = true
	if c.conn != nil {
		c.conn.Close()
	}
	if reason == "error" || reason == "timeout" {
		c.s.logf("%s: %v", c.Name, err)
	}
}

// Send sends a request with the next xid without waiting; it returns the xid.
func (c *Client) Send(op proto.OpCode, body proto.Record) int32 {
	c.xid++
	c.SendXid(c.xid, op, body)
	return c.xid
}

// SendXid sends a request with the given xid (any value, including the
// reserved ones and duplicates) without waiting.
func (c *Client) SendXid(xid int32, op proto.OpCode, body proto.Record) {
	c.sendXid(xid, op, body, false)
}

func (c *Client) sendXid(xid int32, op proto.OpCode, body proto.Record, quiet bool) {
	desc := strings.TrimSpace(fmt.Sprintf("> #%d %s %s", xid, op, c.s.n.Record(body)))
	if quiet {
		desc = "> ping (barrier)"
	}
	if c.dead {
		c.line("%s (not sent: connection closed)", desc)
		return
	}
	c.line("%s", desc)
	if err := c.conn.Send(xid, op, body, writeTimeout); err != nil {
		c.sendFailed(err)
		return
	}
	c.pending = append(c.pending, pendingReq{xid: xid, op: op, quiet: quiet})
}

// SendRaw sends payload as one frame (length prefix added); desc names it in
// the transcript. Nothing is expected back in particular.
func (c *Client) SendRaw(desc string, payload []byte) {
	c.sendBytes(desc, jute.AppendFrame(nil, payload))
}

// SendRawAs is SendRaw for a payload whose header has xid and op, so that
// a reply to it is decoded as op's response.
func (c *Client) SendRawAs(desc string, xid int32, op proto.OpCode, payload []byte) {
	c.sendBytes(desc, jute.AppendFrame(nil, payload))
	if !c.dead {
		c.pending = append(c.pending, pendingReq{xid: xid, op: op})
	}
	c.xid = max(c.xid, xid)
}

// sentinelPath is read (and never exists) to mark a point in a connection's
// reply stream without using the ping xid.
const sentinelPath = "/zookeeper/diff-sentinel"

// Probe sends a request and then a sentinel exists request, and reads until
// the sentinel's reply. It is Call for requests that may get no reply, or a
// reply with another xid: whatever the server sent is recorded without
// waiting for a timeout.
func (c *Client) Probe(op proto.OpCode, body proto.Record) {
	c.Send(op, body)
	c.Sentinel()
}

// Sentinel sends the sentinel request and reads until its reply.
func (c *Client) Sentinel() {
	x := c.Send(proto.OpExists, &proto.ExistsRequest{Path: sentinelPath})
	if !c.dead {
		c.Await(x)
	}
}

// SendBytes sends b with no framing, for malformed length prefixes.
func (c *Client) SendBytes(desc string, b []byte) { c.sendBytes(desc, b) }

func (c *Client) sendBytes(desc string, b []byte) {
	if c.dead {
		c.line("> raw %s (not sent: connection closed)", desc)
		return
	}
	c.line("> raw %s (%d bytes)", desc, len(b))
	if err := c.conn.WriteRaw(b, writeTimeout); err != nil {
		c.sendFailed(err)
	}
}

// sendFailed records a failed write. A server that closes the connection
// (an oversized frame, a bad handshake) may do so while the client is
// still writing, or after: which one the client sees is timing, not
// behaviour (a 1 MiB frame fills the socket buffers, and a fast server
// closes before the client has written it all). So a write that finds the
// connection closed is recorded as a read that does, "< closed".
func (c *Client) sendFailed(err error) {
	r := closedReason(err)
	if r == "closed" {
		c.line("< closed")
	} else {
		c.line("! send failed: %s", r)
	}
	c.kill(r, err)
}

// readOne reads and records one packet. It returns false when the
// connection is dead (after recording why).
func (c *Client) readOne(timeout time.Duration) (Reply, bool) {
	if c.dead {
		return Reply{Lost: true}, false
	}
	p, err := c.conn.ReadPacket(timeout)
	if err != nil {
		r := closedReason(err)
		if r == "timeout" {
			c.line("< nothing within %v", timeout)
		} else {
			c.line("< %s", r)
		}
		c.kill(r, err)
		return Reply{Lost: true}, false
	}
	return c.recordPacket(p), true
}

// recordPacket decodes and records one packet and returns it as a Reply.
func (c *Client) recordPacket(p Packet) Reply {
	h := p.Header
	rep := Reply{Xid: h.Xid, Zxid: h.Zxid, Err: h.Err}
	n := c.s.n
	// A reply to a request sent with the notification xid looks like an
	// event; it is decoded as the reply when such a request is pending.
	if h.Xid == proto.XidNotification && !c.hasPending(h.Xid) {
		var ev proto.WatcherEvent
		r := jute.NewReader(p.Body)
		text := ""
		if ev.Decode(r) != nil {
			text = "undecodable event 0x" + hexShort(p.Body)
		} else {
			text = n.Record(&ev)
			if r.Remaining() > 0 {
				text += fmt.Sprintf(" +%d trailing bytes", r.Remaining())
			}
			rep.Resp = &ev
		}
		c.line("< event %s zxid=%s err=%s", text, n.Zxid(h.Zxid), h.Err.Name())
		return rep
	}
	// Match the oldest pending request with this xid.
	op, known, quiet := proto.OpCode(0), false, false
	for i, pr := range c.pending {
		if pr.xid == h.Xid {
			op, known, quiet = pr.op, true, pr.quiet
			c.pending = append(c.pending[:i], c.pending[i+1:]...)
			break
		}
	}
	if h.Zxid > c.LastZxid {
		c.LastZxid = h.Zxid
	}
	if quiet {
		if h.Err != proto.ErrOK || len(p.Body) > 0 {
			c.line("< ping (barrier) %s body=0x%s", h.Err.Name(), hexShort(p.Body))
		} else {
			c.line("< ping (barrier)")
		}
		return rep
	}
	rec, text := n.decodeBody(op, known, p.Body)
	rep.Resp = rec
	what := op.String()
	if !known {
		what = "(no request with this xid)"
	}
	line := fmt.Sprintf("< #%d %s %s %s", h.Xid, n.Zxid(h.Zxid), h.Err.Name(), what)
	if text != "" {
		line += " " + text
	}
	c.line("%s", line)
	return rep
}

func (c *Client) hasPending(xid int32) bool {
	for _, pr := range c.pending {
		if pr.xid == xid {
			return true
		}
	}
	return false
}

// Await reads packets (recording each, events included) until the reply
// with xid arrives.
func (c *Client) Await(xid int32) Reply {
	for i := 0; i < maxReads; i++ {
		rep, ok := c.readOne(replyTimeout)
		if !ok {
			return rep
		}
		if rep.Xid == xid {
			return rep
		}
	}
	c.line("! gave up after %d packets without #%d", maxReads, xid)
	c.kill("error", errors.New("too many packets"))
	return Reply{Lost: true}
}

// AwaitAll reads until every pending request has its reply.
func (c *Client) AwaitAll() {
	for i := 0; i < maxReads && len(c.pending) > 0; i++ {
		if _, ok := c.readOne(replyTimeout); !ok {
			return
		}
	}
}

// Call sends a request with the next xid and waits for its reply.
func (c *Client) Call(op proto.OpCode, body proto.Record) Reply {
	xid := c.Send(op, body)
	if c.dead {
		return Reply{Lost: true}
	}
	return c.Await(xid)
}

// CallXid is Call with a chosen xid.
func (c *Client) CallXid(xid int32, op proto.OpCode, body proto.Record) Reply {
	c.SendXid(xid, op, body)
	if c.dead {
		return Reply{Lost: true}
	}
	return c.Await(xid)
}

// Barrier sends a ping and reads until its reply, recording every event
// that arrived before it. A server queues a watch event before the reply to
// any later request of the same connection, so after another client's write
// has been answered, a barrier shows exactly the events it triggered.
func (c *Client) Barrier() {
	if c.dead {
		return
	}
	c.sendXid(proto.XidPing, proto.OpPing, nil, true)
	if !c.dead {
		c.Await(proto.XidPing)
	}
}

// ExpectClosed reads (recording everything) until the server closes the
// connection, or records that it stayed open.
func (c *Client) ExpectClosed() {
	for i := 0; i < maxReads && !c.dead; i++ {
		p, err := c.conn.ReadPacket(closeTimeout)
		if err != nil {
			r := closedReason(err)
			if r == "timeout" {
				c.line("< still open after %v", closeTimeout)
			} else {
				c.line("< %s", r)
			}
			c.kill(r, nil)
			return
		}
		c.recordPacket(p)
	}
}

// ClosedOrUsable shows what became of the connection after a request the
// server may reject by hanging up: it reads (recording everything) until
// the server closes the connection or is silent for closeTimeout, and in
// the latter case checks with a sentinel request that it still answers.
func (c *Client) ClosedOrUsable() {
	for i := 0; i < maxReads && !c.dead; i++ {
		p, err := c.conn.ReadPacket(closeTimeout)
		if err == nil {
			c.recordPacket(p)
			continue
		}
		if r := closedReason(err); r != "timeout" {
			c.line("< %s", r)
			c.kill(r, err)
			return
		}
		c.line("< (connection still open)")
		c.Sentinel()
		return
	}
}

// Close sends closeSession, waits for its reply and for the server to close
// the connection.
func (c *Client) Close() Reply {
	rep := c.Call(proto.OpCloseSession, nil)
	if rep.OK() {
		c.closed = true
		c.s.closedSessions[c.SessionID] = true
	}
	c.ExpectClosed()
	return rep
}

// Drop closes the TCP connection without closing the session.
func (c *Client) Drop() {
	c.line("drop connection")
	c.kill("closed", nil)
}

// Dead reports whether the connection is gone.
func (c *Client) Dead() bool { return c.dead }

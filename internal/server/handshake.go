package server

import (
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/zkd-io/zkd/internal/fsm"
	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/proto"
)

// handshake answers the connect request. It returns false when the
// connection must close (the reply, if any, is already queued).
func (c *conn) handshake(frame []byte) bool {
	var req proto.ConnectRequest
	if err := req.Decode(jute.NewReader(frame)); err != nil {
		c.s.log.Warn("closing connection: malformed connect request", "remote", c.remote, "err", err)
		return false
	}
	c.s.mu.RLock()
	last := c.s.fsm.LastZxid()
	c.s.mu.RUnlock()
	if req.LastZxidSeen > last {
		// The client has seen state this server does not have yet; serving
		// it would take the client back in time.
		c.s.log.Warn("refusing session: client has seen a newer zxid; it must try another server",
			"remote", c.remote, "clientZxid", hexID(req.LastZxidSeen), "serverZxid", hexID(last))
		return false
	}
	c.timeout = c.negotiate(req.TimeOut)
	c.auth = []proto.ID{{Scheme: "ip", ID: c.ip}}
	if req.SessionID == 0 {
		return c.newSession(&req)
	}
	return c.resume(&req)
}

func (c *conn) negotiate(ms int32) time.Duration {
	t := time.Duration(ms) * time.Millisecond
	if t < c.s.opts.MinSessionTimeout {
		t = c.s.opts.MinSessionTimeout
	}
	if t > c.s.opts.MaxSessionTimeout {
		t = c.s.opts.MaxSessionTimeout
	}
	return t
}

func (c *conn) newSession(req *proto.ConnectRequest) bool {
	id := c.s.newSessionID()
	passwd := newPassword()
	type outcome struct {
		res fsm.Result
		ok  bool
	}
	done := make(chan outcome, 1)
	c.s.propose(&fsm.Entry{
		Session: id, Op: proto.OpCreateSession,
		Timeout: int32(c.timeout / time.Millisecond), Passwd: passwd,
	}, func(res fsm.Result, ok bool) { done <- outcome{res, ok} })
	var o outcome
	select {
	case o = <-done:
	case <-c.closed:
		return false
	}
	if !o.ok {
		c.s.log.Warn("could not create a session", "remote", c.remote)
		return false
	}
	c.attach(id)
	c.s.log.Debug("session established", "session", hexID(id), "remote", c.remote, "timeout", c.timeout)
	c.sendConnectResponse(req, id, passwd)
	return true
}

func (c *conn) resume(req *proto.ConnectRequest) bool {
	c.s.mu.RLock()
	ss := c.s.fsm.Session(req.SessionID)
	c.s.mu.RUnlock()
	valid := ss != nil && subtle.ConstantTimeCompare(ss.Passwd, req.Passwd) == 1 &&
		c.s.tracker.Touch(req.SessionID, time.Now())
	if !valid {
		// ZooKeeper answers an unknown session or a wrong password with a
		// zero timeout and session id; the client reports it as expired.
		c.s.log.Info("refusing to resume an invalid session", "session", hexID(req.SessionID), "remote", c.remote)
		// ZooKeeper also drops the connection currently serving that
		// session id.
		c.s.connsMu.Lock()
		owner := c.s.owners[req.SessionID]
		c.s.connsMu.Unlock()
		if owner != nil {
			owner.close()
		}
		c.sendConnectResponse(req, 0, make([]byte, 16))
		c.closeAfterFlush()
		return false
	}
	c.attach(req.SessionID)
	c.sendConnectResponse(req, req.SessionID, ss.Passwd)
	return true
}

// attach makes c the connection serving session id. A connection that served
// it before is closed: the client has moved.
func (c *conn) attach(id int64) {
	c.session.Store(id)
	c.s.connsMu.Lock()
	old := c.s.owners[id]
	c.s.owners[id] = c
	c.s.connsMu.Unlock()
	if old != nil && old != c {
		old.close()
	}
}

func (c *conn) sendConnectResponse(req *proto.ConnectRequest, id int64, passwd []byte) {
	timeout := int32(0)
	if id != 0 {
		timeout = int32(c.timeout / time.Millisecond)
	}
	w := getWriter()
	resp := proto.ConnectResponse{ProtocolVersion: 0, TimeOut: timeout, SessionID: id, Passwd: passwd}
	// ZooKeeper always writes the readOnly flag, even to clients that did
	// not send one; they ignore the trailing byte.
	resp.Encode(w)
	c.enqueue(w.Bytes())
	putWriter(w)
}

// sessionClosed is called after a closeSession entry is applied. The
// connection serving the session is closed, unless it asked for the close
// itself (it then closes after sending its reply).
func (s *Server) sessionClosed(id int64) {
	s.connsMu.Lock()
	c := s.owners[id]
	s.connsMu.Unlock()
	if c != nil && !c.closing.Load() {
		c.close()
	}
}

func hexID(id int64) string { return fmt.Sprintf("0x%x", uint64(id)) }

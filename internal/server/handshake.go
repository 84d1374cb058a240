package server

import (
	"context"
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
	if !c.s.serving.Load() {
		c.s.log.Info("refusing client: this server has no leader and is not serving", "remote", c.remote, "session", hexID(req.SessionID))
		return false
	}
	if last := c.s.lastZxid(); req.LastZxidSeen > last && !c.s.catchUp(req.LastZxidSeen) {
		// The client has seen state this server does not have yet; serving
		// it would take the client back in time.
		c.s.log.Warn("refusing session: client has seen a newer zxid; it must try another server",
			"remote", c.remote, "session", hexID(req.SessionID), "clientZxid", hexID(req.LastZxidSeen), "serverZxid", hexID(c.s.lastZxid()))
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

// catchUp waits, bounded, until this server has applied everything the
// leader had committed, and reports whether it has then reached zxid. A
// client that saw zxid on another server may be served from here only
// then.
func (s *Server) catchUp(zxid int64) bool {
	if s.transport == nil {
		return false // standalone: nobody else can be ahead
	}
	ctx, cancel := context.WithTimeout(s.ctx(), max(2*s.electionTimeout(), time.Second))
	defer cancel()
	idx, err := s.node.ReadIndex(ctx)
	if err == nil {
		err = s.node.WaitApplied(ctx, idx)
	}
	return err == nil && s.lastZxid() >= zxid
}

// proposeWait proposes e and waits for its result; ok is false if the
// proposal failed or the connection closed first. The handshake's entries
// (createSession with a fresh id, moveSession) may be applied twice without
// harm, so one lost with a dying leader is proposed again rather than
// costing the client another reconnect.
func (c *conn) proposeWait(e *fsm.Entry) (fsm.Result, bool) {
	type outcome struct {
		res fsm.Result
		ok  bool
	}
	for attempt := 0; ; attempt++ {
		done := make(chan outcome, 1)
		c.s.propose(e, func(res fsm.Result, ok bool) { done <- outcome{res, ok} })
		select {
		case o := <-done:
			if o.ok || attempt == 2 || c.s.fault.Load() != nil || !c.s.serving.Load() {
				return o.res, o.ok
			}
		case <-c.closed:
			return fsm.Result{}, false
		}
	}
}

func (c *conn) newSession(req *proto.ConnectRequest) bool {
	id := c.s.newSessionID()
	passwd := newPassword()
	if _, ok := c.proposeWait(&fsm.Entry{
		Session: id, Op: proto.OpCreateSession,
		Timeout: int32(c.timeout / time.Millisecond), Passwd: passwd,
	}); !ok {
		c.s.log.Warn("could not create a session", "remote", c.remote)
		return false
	}
	if !c.attach(id) {
		c.s.log.Warn("a new session was closed before its connection could serve it", "session", hexID(id), "remote", c.remote)
		return false
	}
	c.s.log.Debug("session established", "session", hexID(id), "remote", c.remote, "timeout", c.timeout)
	c.sendConnectResponse(req, id, passwd)
	return true
}

func (c *conn) resume(req *proto.ConnectRequest) bool {
	c.s.mu.RLock()
	ss := c.s.fsm.Session(req.SessionID)
	c.s.mu.RUnlock()
	// The replicated session table decides, not the local tracker: a
	// session whose close this server proposed is still alive until the
	// close commits, and the close may be lost with a leader. If it does
	// commit, this connection is closed then and the client learns of the
	// expiry.
	valid := ss != nil && subtle.ConstantTimeCompare(ss.Passwd, req.Passwd) == 1
	if valid {
		c.s.tracker.Touch(req.SessionID, time.Now())
	}
	if valid && ss.Owner != c.s.id {
		// The client moved here from another server. Taking ownership is a
		// log entry, so that every server agrees which connection may
		// write for the session: writes still arriving through the old
		// one fail with SessionMoved.
		res, ok := c.proposeWait(&fsm.Entry{Session: req.SessionID, Op: fsm.OpMoveSession})
		if !ok {
			c.s.log.Warn("could not move a session here; closing the connection so the client retries", "session", hexID(req.SessionID), "remote", c.remote)
			return false
		}
		valid = res.Err == proto.ErrOK
		if valid {
			c.s.log.Info("session moved here", "session", hexID(req.SessionID), "from", ss.Owner, "remote", c.remote)
		}
	}
	if valid && !c.attach(req.SessionID) {
		// Closed since it was checked (by its owner, another connection
		// or expiry), while the move was being committed.
		valid = false
	}
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
	c.sendConnectResponse(req, req.SessionID, ss.Passwd)
	return true
}

// attach makes c the connection serving session id, if the session still
// exists, and reports whether it does. A connection that served it before
// is closed: the client has moved.
//
// The check and the registration happen under the state lock, so they
// cannot straddle the session's close: either the close is applied first
// and attach fails, or c is registered first and the close, once applied,
// finds c and closes it. Without this a client could be told it is
// connected to a session that no longer exists, and never learn otherwise.
func (c *conn) attach(id int64) bool {
	if testHookBeforeAttach != nil {
		testHookBeforeAttach(c.s, id)
	}
	c.s.mu.RLock()
	alive := c.s.fsm.Session(id) != nil
	var old *conn
	if alive {
		c.session.Store(id)
		c.s.connsMu.Lock()
		old = c.s.owners[id]
		c.s.owners[id] = c
		c.s.connsMu.Unlock()
	}
	c.s.mu.RUnlock()
	if old != nil && old != c {
		old.close()
	}
	return alive
}

// testHookBeforeAttach, when set by a test, runs when a handshake has
// found its session valid and is about to serve it.
var testHookBeforeAttach func(s *Server, id int64)

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
		s.log.Info("session closed; closing its connection", "session", hexID(id), "remote", c.remote)
		c.close()
	}
}

func hexID(id int64) string { return fmt.Sprintf("0x%x", uint64(id)) }

package server

import (
	"fmt"
	"time"

	"github.com/zkd-io/zkd/internal/fsm"
	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/internal/watch"
	"github.com/zkd-io/zkd/proto"
)

// kind says how the pipeline treats a request.
type kind uint8

const (
	kindRead  kind = iota // served locally when it reaches the head of the queue
	kindWrite             // proposed at once, answered when applied
	kindSync              // answered once everything committed before it is applied
)

type request struct {
	xid   int32
	op    proto.OpCode
	rec   proto.Record // decoded body; nil for an unknown opcode
	body  []byte       // raw body, for proposing
	kind  kind
	start time.Time
	err   proto.ErrCode // set when the body could not be decoded

	started bool          // procMu: the write was proposed / the sync begun
	done    chan struct{} // closed when a write or sync has its result
	res     fsm.Result
	ok      bool
}

// writeOps are the opcodes that change state and so go through the log.
var writeOps = map[proto.OpCode]bool{
	proto.OpCreate: true, proto.OpCreate2: true, proto.OpCreateContainer: true, proto.OpCreateTTL: true,
	proto.OpDelete: true, proto.OpSetData: true, proto.OpSetACL: true, proto.OpCheck: true,
	proto.OpMulti: true, proto.OpReconfig: true, proto.OpCloseSession: true,
	proto.OpDeleteContainer: true,
}

// parse decodes a request frame. Only a frame too short for its header is an
// error (the connection closes); a bad body is answered with
// MarshallingError, as ZooKeeper does.
func (c *conn) parse(frame []byte) (*request, error) {
	r := jute.NewReader(frame)
	var hdr proto.RequestHeader
	if err := hdr.Decode(r); err != nil {
		return nil, fmt.Errorf("request header: %w", err)
	}
	req := &request{xid: hdr.Xid, op: hdr.Type, start: time.Now()}
	body := frame[len(frame)-r.Remaining():]
	switch {
	case hdr.Type == proto.OpPing, hdr.Type == proto.OpCloseSession:
	case hdr.Type == proto.OpAuth:
		req.rec = &proto.AuthPacket{}
	case hdr.Type == proto.OpSetWatches:
		req.rec = &proto.SetWatches{}
	case hdr.Type == proto.OpSetWatches2:
		req.rec = &proto.SetWatches2{}
	case hdr.Type == proto.OpDeleteContainer:
		// Logged like any write (ZooKeeper spends a zxid on it); apply
		// refuses it from clients: only the server's sweep deletes
		// containers.
		req.rec = &proto.Empty{}
	case hdr.Type == proto.OpCreateSession:
		req.err = proto.ErrMarshallingError
		return req, nil
	default:
		rec, ok := proto.NewRequest(hdr.Type)
		if !ok {
			req.err = proto.ErrUnimplemented
			return req, nil
		}
		req.rec = rec
	}
	// The frame's buffer is reused for the next request. A write keeps its
	// own copy of the body for the log, so its record is decoded in place
	// from that copy rather than copied once more.
	newReader := jute.NewReader
	if writeOps[hdr.Type] {
		req.body = append([]byte(nil), body...)
		body, newReader = req.body, jute.NewAliasReader
	}
	if req.rec != nil {
		br := newReader(body)
		// Like ZooKeeper's deserializer, ignore bytes after the record.
		if err := req.rec.Decode(br); err != nil {
			req.err = proto.ErrMarshallingError
			return req, nil
		}
	}
	if !enumsValid(req.rec) {
		req.err = proto.ErrMarshallingError // ZooKeeper cannot map the enum value
		return req, nil
	}
	if hdr.Type == proto.OpMulti || hdr.Type == proto.OpMultiRead {
		if !multiOpsAllowed(hdr.Type, req.rec.(*proto.MultiRequest)) {
			req.err = proto.ErrMarshallingError
			return req, nil
		}
	}
	switch {
	case writeOps[hdr.Type]:
		req.kind = kindWrite
		req.done = make(chan struct{})
	case hdr.Type == proto.OpSync:
		req.kind = kindSync
		req.done = make(chan struct{})
	}
	return req, nil
}

// enumsValid checks the enum fields ZooKeeper converts while decoding: an
// unknown watch mode or watcher type fails there as a marshalling error.
func enumsValid(rec proto.Record) bool {
	switch r := rec.(type) {
	case *proto.AddWatchRequest:
		return r.Mode == proto.AddWatchPersistent || r.Mode == proto.AddWatchPersistentRecursive
	case *proto.CheckWatchesRequest:
		return watchKinds(r.Type) != 0
	case *proto.RemoveWatchesRequest:
		return watchKinds(r.Type) != 0
	}
	return true
}

func multiOpsAllowed(op proto.OpCode, m *proto.MultiRequest) bool {
	for _, o := range m.Ops {
		if proto.IsMultiReadOp(o.Type) != (op == proto.OpMultiRead) {
			return false
		}
	}
	return true
}

// processLoop runs the session's requests in arrival order whenever the
// read loop does not run them itself (see readLoop): after a write or sync
// completes, and when requests arrive while another step is running.
// Writes are proposed as soon as they arrive, so one session can have many
// in flight; replies still leave in request order, and a read waits until
// every earlier write of its session has been applied.
func (c *conn) processLoop() {
	for {
		select {
		case <-c.wake:
		case <-c.closed:
			return
		}
		c.procMu.Lock()
		stop := c.step()
		c.procMu.Unlock()
		if stop {
			return
		}
	}
}

// step takes every request the read loop has queued, starts and answers
// what it can, and writes the replies. The caller holds procMu, so steps
// never overlap and requests join the queue in arrival order. stop reports
// that the connection is closing and nothing more is to be processed.
func (c *conn) step() (stop bool) {
	if c.stopped {
		return true
	}
	for more := true; more; {
		select {
		case req := <-c.in:
			c.reqs = append(c.reqs, req)
		default:
			more = false
		}
	}
	for {
		c.startReady(c.reqs)
		var progressed bool
		if c.reqs, progressed = c.drain(c.reqs); !progressed || len(c.reqs) == 0 {
			break
		}
	}
	if c.isClosed() || c.flushing() {
		c.wakeWriter() // the write loop sends what is queued, then closes
		c.stopped = true
		return true
	}
	// Send the replies now rather than hand them to the write loop.
	if end, err := c.flush(); err != nil || end {
		c.close()
		c.stopped = true
		return true
	}
	return false
}

// startReady starts the asynchronous part of queued requests, in order, up
// to the first read not yet answered, even one at the head of the queue: a
// write proposed before an earlier read has run could be applied before it
// and change what that read sees. drain answers the read, and the process
// loop then calls startReady again.
//
// A sync starts only at the head of the queue, once every earlier request
// of the session is answered: its reply reports the state it waited for,
// which must include the session's earlier writes.
func (c *conn) startReady(queue []*request) {
	for i, req := range queue {
		if req.kind == kindRead || req.kind == kindSync && i > 0 && !req.started {
			return
		}
		if !req.started {
			req.started = true
			c.begin(req)
		}
		// A sync is a barrier too: its reply reports the state it waited
		// for, so later writes wait for it.
		if req.kind == kindSync && req.done != nil && !isDone(req.done) {
			return
		}
	}
}

// drain answers requests from the head of the queue while they are ready,
// and reports whether it answered any.
func (c *conn) drain(queue []*request) ([]*request, bool) {
	progressed := false
	for len(queue) > 0 {
		head := queue[0]
		if head.done != nil {
			select {
			case <-head.done:
			default:
				goto wait
			}
		}
		c.finish(head)
		progressed = true
		queue[0] = nil
		queue = queue[1:]
		if c.isClosed() || c.flushing() {
			// Closing: nothing after this reply may be answered.
			return nil, false
		}
	}
wait:
	return queue, progressed
}

func isDone(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// begin starts a request's asynchronous part: proposing a write, or the
// ReadIndex of a sync.
func (c *conn) begin(req *request) {
	switch req.kind {
	case kindWrite:
		if req.err != proto.ErrOK {
			close(req.done)
			return
		}
		if req.op == proto.OpCloseSession {
			c.closing.Store(true)
			c.s.tracker.MarkClosing(c.session.Load())
		}
		sid := c.session.Load()
		c.s.propose(&fsm.Entry{
			Session: sid, Op: req.op, Auth: c.auth, Body: req.body,
		}, func(res fsm.Result, ok bool) {
			if !ok && req.op == proto.OpCloseSession {
				c.s.tracker.Retry(sid) // the close was lost: expiry may close it later
			}
			req.res, req.ok = res, ok
			close(req.done)
			c.signal()
		})
	case kindSync:
		c.s.goRun(func() { c.s.syncWait(req); c.signal() })
	}
}

// finish answers a request that has reached the head of the queue.
func (c *conn) finish(req *request) {
	c.noteRequest(req.op, req.xid)
	defer func() {
		c.s.stats.outstanding.Add(-1)
		took := time.Since(req.start)
		c.lat.add(took.Microseconds())
		c.s.stats.requestDone(req.kind == kindWrite, took)
	}()
	if req.err != proto.ErrOK {
		zxid := c.s.lastZxid()
		if req.err == proto.ErrUnimplemented {
			zxid = -1 // as ZooKeeper's UnimplementedRequestProcessor answers
		}
		c.reply(req.xid, zxid, req.err, nil)
		return
	}
	switch req.kind {
	case kindWrite:
		if !req.ok {
			// The server is stopping or the proposal failed: the client
			// will see the connection drop and retry elsewhere.
			c.close()
			return
		}
		c.reply(req.xid, req.res.Zxid, req.res.Err, req.res.Resp)
		// The session now lives on another server: as ZooKeeper does
		// (ZOOKEEPER-710), the connection left behind is closed after the
		// SessionMoved reply, so a client still using it reconnects and
		// takes its session back rather than failing every write.
		if req.op == proto.OpCloseSession || req.res.Err == proto.ErrSessionMoved {
			c.closeAfterFlush()
		}
		return
	case kindSync:
		if !req.ok {
			c.close()
			return
		}
	}
	c.serveLocal(req)
}

func (s *Server) syncWait(req *request) {
	defer close(req.done)
	s.stats.pendingSyncs.Add(1)
	defer s.stats.pendingSyncs.Add(-1)
	idx, err := s.node.ReadIndex(s.ctx())
	if err == nil {
		err = s.node.WaitApplied(s.ctx(), idx)
	}
	req.ok = err == nil
	// The reply reports the state the sync waited for. It is sent later,
	// when drain answers the sync, and by then the session's next write
	// (started once this one is done) may be applied.
	req.res.Zxid = s.lastZxid()
}

func (s *Server) lastZxid() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.fsm.LastZxid()
}

// serveLocal answers requests that need no log entry.
func (c *conn) serveLocal(req *request) {
	switch req.op {
	case proto.OpPing:
		c.reply(proto.XidPing, c.s.lastZxid(), proto.ErrOK, nil)
	case proto.OpAuth:
		c.authenticate(req)
	case proto.OpSetWatches, proto.OpSetWatches2:
		c.setWatches(req)
	case proto.OpSasl:
		// No SASL provider is configured: ZooKeeper answers with an
		// empty token.
		c.reply(req.xid, 0, proto.ErrOK, &proto.SetSASLResponse{})
	case proto.OpAddWatch:
		r := req.rec.(*proto.AddWatchRequest)
		k := watch.Persistent
		if r.Mode == proto.AddWatchPersistentRecursive {
			k = watch.Recursive
		}
		// Under the lock, for the same reason as a read's watch: the
		// reply must leave before any event the watch produces.
		c.s.mu.RLock()
		c.s.watches.Add(r.Path, c, k)
		c.reply(req.xid, c.s.fsm.LastZxid(), proto.ErrOK, &proto.ErrorResponse{Err: proto.ErrOK})
		c.s.mu.RUnlock()
		afterRead(c.s, req)
	case proto.OpCheckWatches, proto.OpRemoveWatches:
		c.removeWatches(req)
	default:
		c.read(req)
	}
}

// read runs a read under the state's read lock and registers its watch in
// the same critical section, so no change can slip between the two.
func (c *conn) read(req *request) {
	s := c.s
	if req.kind == kindSync && testHookBeforeSyncReply != nil {
		testHookBeforeSyncReply(s)
	}
	s.mu.RLock()
	resp, code := s.fsm.Read(req.op, req.rec, c.session.Load(), c.auth)
	zxid := s.fsm.LastZxid()
	if req.kind == kindSync {
		zxid = req.res.Zxid
	}
	// multiRead sets no watches, whatever its ops' watch flags say, as in
	// ZooKeeper.
	if k, path := watchFor(req, code); k != 0 && s.mayWatch(req, path, c.auth) {
		s.watches.Add(path, c, k)
		// The reply is queued before the lock is released: a write applied
		// just after would otherwise queue its event first, and a client
		// files the watch only when the reply arrives, so it would drop
		// the event and wait for it forever.
		c.reply(req.xid, zxid, code, resp)
		s.mu.RUnlock()
		afterRead(s, req)
		return
	}
	s.mu.RUnlock()
	afterRead(s, req)
	c.reply(req.xid, zxid, code, resp)
}

// testHookAfterRead, when set by a test, runs after a read or an addWatch
// released the server's lock, to widen the window in which a write can be
// applied.
var testHookAfterRead func(s *Server, op proto.OpCode)

// testHookBeforeSyncReply, when set by a test, runs when a finished sync is
// about to be answered, so that the session's next write can be applied
// first.
var testHookBeforeSyncReply func(s *Server)

func afterRead(s *Server, req *request) {
	if testHookAfterRead != nil {
		testHookAfterRead(s, req.op)
	}
}

// mayWatch: exists answers without any permission, but, as in ZooKeeper,
// only leaves a watch on an existing node for a caller who may read it.
func (s *Server) mayWatch(req *request, path string, ids []proto.ID) bool {
	if _, ok := req.rec.(*proto.ExistsRequest); !ok {
		return true
	}
	n := s.fsm.Tree().Get(path)
	return n == nil || s.fsm.Checker().Allowed(n.ACL(), proto.PermRead, ids)
}

// watchFor returns the watch a read leaves behind. exists watches even a
// missing node (to learn of its creation); the others only watch nodes they
// could read.
func watchFor(req *request, code proto.ErrCode) (watch.Kind, string) {
	switch r := req.rec.(type) {
	case *proto.ExistsRequest:
		if r.Watch && (code == proto.ErrOK || code == proto.ErrNoNode) {
			return watch.Data, r.Path
		}
	case *proto.GetDataRequest:
		if r.Watch && code == proto.ErrOK {
			return watch.Data, r.Path
		}
	case *proto.GetChildrenRequest:
		if r.Watch && code == proto.ErrOK {
			return watch.Child, r.Path
		}
	case *proto.GetChildren2Request:
		if r.Watch && code == proto.ErrOK {
			return watch.Child, r.Path
		}
	}
	return 0, ""
}

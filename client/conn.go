package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/proto"
)

// sessionEventLimit bounds the session events kept for a reader that does
// not read Events; the oldest are dropped first.
const sessionEventLimit = 256

// closeTimeout bounds how long Close waits for the server to answer
// closeSession.
const closeTimeout = 3 * time.Second

type authInfo struct {
	scheme string
	auth   []byte
}

// Conn is a ZooKeeper session. It is safe for concurrent use; requests from
// any number of goroutines are pipelined on one connection.
type Conn struct {
	hosts  []string // shuffled once
	chroot string   // "" or a path without trailing "/"
	opts   options
	log    *slog.Logger

	mu        sync.Mutex
	state     State
	final     error // why the session is over: ErrClosed, proto.ErrSessionExpired, proto.ErrAuthFailed
	closing   bool  // Close started: no user requests, no reconnects
	link      *link // the live connection; nil while disconnected
	outgoing  []*request
	pending   []*request // written; replies come back in this order
	authWait  []*request // written auth packets; their replies may overtake others
	xid       int32
	sessionID int64
	passwd    []byte
	timeout   time.Duration // negotiated; the requested one until the first handshake
	seenRW    bool          // a read-write server has accepted the session
	auths     []authInfo
	next      int           // index in hosts of the next host to try
	stateCh   chan struct{} // closed and replaced on every state change
	lastAddr  string        // server of the live (or last) connection
	lastErr   error         // why the last connection attempt failed

	lastZxid atomic.Int64
	watches  watchManager
	events   *mailbox
	hookMu   sync.Mutex // serializes the default watcher's calls

	wake      chan struct{} // capacity 1: outgoing has requests
	ctx       context.Context
	cancel    context.CancelFunc // ends the run loop and any attempt in progress
	pumpsQuit chan struct{}      // closed last in Close: mailbox pumps give up
	runDone   chan struct{}
	wg        sync.WaitGroup // mailbox pumps
	closeOnce sync.Once
}

// New starts a session with the servers of connectString (see
// ParseConnectString) in the background and returns at once; requests made
// before the first connection wait for it. Use Connect to wait for the
// session.
func New(connectString string, opts ...Option) (*Conn, error) {
	c, err := newConn(connectString, opts...)
	if err != nil {
		return nil, err
	}
	go c.run()
	return c, nil
}

// newConn builds a Conn without starting it.
func newConn(connectString string, opts ...Option) (*Conn, error) {
	hosts, chroot, err := ParseConnectString(connectString)
	if err != nil {
		return nil, err
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	rand.Shuffle(len(hosts), func(i, j int) { hosts[i], hosts[j] = hosts[j], hosts[i] })
	c := &Conn{
		hosts:     hosts,
		chroot:    chroot,
		opts:      o,
		log:       o.log,
		state:     StateDisconnected,
		sessionID: o.sessionID,
		passwd:    o.passwd,
		timeout:   o.sessionTimeout,
		seenRW:    o.sessionID != 0,
		auths:     append([]authInfo(nil), o.auth...),
		stateCh:   make(chan struct{}),
		wake:      make(chan struct{}, 1),
		pumpsQuit: make(chan struct{}),
		runDone:   make(chan struct{}),
	}
	if c.passwd == nil {
		c.passwd = make([]byte, 16)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.watches.init()
	if o.defaultWatcher != nil {
		c.watches.notify = c.notify
	}
	c.events = newMailbox(sessionBuffer, sessionEventLimit, &c.wg, c.pumpsQuit)
	return c, nil
}

// Connect is New followed by waiting until the session is established
// (SyncConnected or ConnectedReadOnly). If ctx ends first, or the session
// cannot be established (expired, auth failed), the Conn is closed and the
// error says why, including the last connection error.
func Connect(ctx context.Context, connectString string, opts ...Option) (*Conn, error) {
	c, err := New(connectString, opts...)
	if err != nil {
		return nil, err
	}
	if err := c.WaitConnected(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// WaitConnected waits until the session is connected. It fails when ctx
// ends or the session is over.
func (c *Conn) WaitConnected(ctx context.Context) error {
	for {
		c.mu.Lock()
		st, ch, final, lastErr := c.state, c.stateCh, c.final, c.lastErr
		c.mu.Unlock()
		if st.Connected() {
			return nil
		}
		if final != nil {
			return fmt.Errorf("zk: no session: %w", final)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("zk: no session with %v: %w (last error: %v)", c.hosts, ctx.Err(), lastErr)
			}
			return fmt.Errorf("zk: no session with %v: %w", c.hosts, ctx.Err())
		}
	}
}

// Events returns the channel of session events (Type EventNone): every
// state change. It is closed after the final event (Expired, AuthFailed or
// Closed) once Close has been called. Up to 256 unread events are kept.
func (c *Conn) Events() <-chan Event { return c.events.ch }

// StateChanged returns the current state and a channel closed at the next
// state change. Unlike Events it has any number of readers: loop on it to
// follow the session (a Disconnected/SyncConnected pair may show as one
// change, but a connected session that changed at all was disconnected).
func (c *Conn) StateChanged() (State, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state, c.stateCh
}

// State returns the current session state.
func (c *Conn) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// SessionID returns the session id (0 before the first handshake).
func (c *Conn) SessionID() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessionID
}

// SessionPassword returns the session password, for WithSession.
func (c *Conn) SessionPassword() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.passwd...)
}

// SessionTimeout returns the negotiated session timeout (the requested one
// before the first handshake).
func (c *Conn) SessionTimeout() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timeout
}

// Server returns the address of the server of the current (or last)
// connection.
func (c *Conn) Server() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastAddr
}

// Chroot returns the chroot of the connect string ("" if none).
func (c *Conn) Chroot() string { return c.chroot }

// LastZxid returns the zxid of the last reply seen.
func (c *Conn) LastZxid() int64 { return c.lastZxid.Load() }

// Close closes the session: it asks the server to close it (waiting up to
// three seconds when connected), fails every outstanding request with
// ErrClosed, ends every watch, sends the Closed event, and waits for the
// client's goroutines. It is idempotent and always returns nil.
func (c *Conn) Close() error {
	c.closeOnce.Do(c.close)
	return nil
}

func (c *Conn) close() {
	c.mu.Lock()
	c.closing = true
	connected := c.link != nil && c.final == nil
	c.mu.Unlock()
	if connected {
		ctx, cancel := context.WithTimeout(context.Background(), min(closeTimeout, c.SessionTimeout()))
		r := newRequest(proto.OpCloseSession, "", nil, nil)
		if c.enqueue(r, true) == nil {
			select {
			case <-r.done:
			case <-ctx.Done():
				r.abandoned.Store(true)
			}
		}
		cancel()
	}
	c.terminate(StateClosed, ErrClosed)
	c.cancel()
	<-c.runDone
	c.events.close()
	close(c.pumpsQuit)
	c.wg.Wait()
}

// terminate ends the session for good: later requests fail with err, queued
// ones too, the live connection is dropped (its in-flight requests then fail
// with err), every watch ends, and the final state event is sent.
func (c *Conn) terminate(st State, err error) {
	c.mu.Lock()
	if c.final != nil {
		c.mu.Unlock()
		return
	}
	c.final = err
	l := c.link
	queued := c.outgoing
	c.outgoing = nil
	c.mu.Unlock()
	c.log.Info("session ended", "state", st, "err", err)
	// Watchers end before the state turns final, and the state before
	// requests fail: whoever sees a request fail for it, or the final
	// state, finds every watch channel already holding its last event.
	c.watches.endAll(st, err)
	c.mu.Lock()
	c.setStateLocked(st)
	c.mu.Unlock()
	c.failAll(queued, err)
	if l != nil {
		l.fail(err)
	}
	c.sessionEvent(Event{Type: EventNone, State: st, Err: err})
}

// sessionEvent reports a state change on Events and to the default watcher.
func (c *Conn) sessionEvent(ev Event) {
	c.events.put(ev)
	c.notify(ev)
}

// notify calls the default watcher, one call at a time.
func (c *Conn) notify(ev Event) {
	if c.opts.defaultWatcher == nil {
		return
	}
	c.hookMu.Lock()
	defer c.hookMu.Unlock()
	c.opts.defaultWatcher(ev)
}

// setStateLocked records a state change and wakes WaitConnected.
func (c *Conn) setStateLocked(st State) {
	c.state = st
	close(c.stateCh)
	c.stateCh = make(chan struct{})
}

// request is one call in flight.
type request struct {
	op        proto.OpCode
	path      string // as the caller gave it, for errors
	xid       int32
	frame     []byte       // length, header, body; the xid is patched in at enqueue
	resp      proto.Record // decoded from a successful reply
	watch     *watcher     // filed when the reply's code allows it
	unwatch   *removal     // applied when the request completes
	abandoned atomic.Bool  // the caller stopped waiting; not sent if still queued
	done      chan struct{}

	// Set before done is closed.
	code proto.ErrCode
	zxid int64
	err  error // local failure
}

// newRequest encodes a request; its xid is assigned when it is queued
// (special requests keep the reserved xid set here with setXid).
func newRequest(op proto.OpCode, path string, body, resp proto.Record) *request {
	w := jute.NewWriter(64)
	w.Int(0) // frame length, patched below
	w.Int(0) // xid, patched at enqueue
	w.Int(int32(op))
	if body != nil {
		body.Encode(w)
	}
	w.SetInt(0, int32(w.Len()-4))
	return &request{op: op, path: path, frame: w.Bytes(), resp: resp, done: make(chan struct{})}
}

// setXid gives a request a reserved xid (auth, setWatches).
func (r *request) setXid(xid int32) *request {
	r.xid = xid
	patchXid(r.frame, xid)
	return r
}

func patchXid(frame []byte, xid int32) {
	frame[4], frame[5], frame[6], frame[7] = byte(xid>>24), byte(xid>>16), byte(xid>>8), byte(xid)
}

// error converts a failure into the *Error the caller sees.
func (r *request) error(err error) error {
	e := &Error{Op: r.op, Path: r.path}
	var code proto.ErrCode
	if errors.As(err, &code) {
		e.Code = code
	} else {
		e.Err = err
	}
	return e
}

// result returns the request's outcome once done is closed.
func (r *request) result() error {
	if r.err == nil && r.code == proto.ErrOK {
		return nil
	}
	return &Error{Op: r.op, Path: r.path, Code: r.code, Err: r.err}
}

// enqueue queues r for the writer. force lets closeSession through while
// closing.
func (c *Conn) enqueue(r *request, force bool) error {
	c.mu.Lock()
	if c.final != nil {
		err := c.final
		c.mu.Unlock()
		return err
	}
	if c.closing && !force {
		c.mu.Unlock()
		return ErrClosed
	}
	if r.xid == 0 {
		c.xid++
		if c.xid == math.MaxInt32 {
			c.xid = 1
		}
		r.xid = c.xid
		patchXid(r.frame, r.xid)
	}
	c.outgoing = append(c.outgoing, r)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// call sends r and waits for its reply or for ctx.
func (c *Conn) call(ctx context.Context, r *request) error {
	if err := ctx.Err(); err != nil {
		return r.error(err)
	}
	if err := c.enqueue(r, false); err != nil {
		return r.error(err)
	}
	select {
	case <-r.done:
		return r.result()
	case <-ctx.Done():
		r.abandoned.Store(true)
		if r.watch != nil {
			// The reply may have filed the watch already.
			c.watches.discard(r.watch)
		}
		return r.error(ctx.Err())
	}
}

// complete finishes r with a reply code (already stored) or a failure,
// applying its watch registration or removal first, as ZooKeeper's
// finishPacket does, so a watch is in place before the caller returns.
func (c *Conn) complete(r *request) {
	if r.watch != nil && r.err == nil {
		c.watches.register(r.watch, r.code, &r.abandoned)
	}
	if r.unwatch != nil && r.err == nil {
		r.code = c.watches.unregister(r.unwatch, r.code)
	}
	close(r.done)
}

// failAll fails requests that will get no reply with err.
func (c *Conn) failAll(reqs []*request, err error) {
	var code proto.ErrCode
	isCode := errors.As(err, &code)
	for _, r := range reqs {
		if isCode {
			r.code = code
		} else {
			r.code, r.err = proto.ErrOK, err
			if r.unwatch != nil && r.unwatch.local {
				// A local removal succeeds whatever the connection does.
				r.code, r.err = proto.ErrConnectionLoss, nil
			}
		}
		c.complete(r)
	}
}

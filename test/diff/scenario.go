package diff

import (
	"fmt"
	"strings"
	"time"

	"github.com/zkd-io/zkd/proto"
)

// Scenario is one differential case: Run drives one or more clients against
// a server, and everything they send and receive is its transcript.
type Scenario struct {
	Name string
	// Fresh scenarios get a server of their own, for facts about the whole
	// tree (the initial nodes, counts from "/").
	Fresh bool
	// NoRoot scenarios get no per-scenario root node (S.Root is still set,
	// but not created), for scenarios that look at "/" itself.
	NoRoot bool
	Run    func(s *S)
}

// Env is where a scenario runs.
type Env struct {
	Addr      string                           // the server's client address
	Root      string                           // a path unique to this run of the scenario on this server
	Logf      func(format string, args ...any) // diagnostics that are not part of the transcript
	MakeRoot  func(path string) error          // creates Root before the scenario (nil: not created)
	SuperAuth string                           // "user:password" of the server's superDigest, "" if none
	Now       func() time.Time                 // clock for the time plausibility check (nil: time.Now)
	Deadline  time.Time                        // after this, connects are refused without trying (zero: none)
}

// S is the context a scenario runs in.
type S struct {
	Root      string // the scenario's root node; rendered as /R in the transcript
	SuperAuth string // "user:password" accepted as super (DigestAuthenticationProvider.superDigest)

	env            Env
	n              *Normalizer
	lines          []string
	quiet          int // >0 while polling: nothing is recorded
	clients        []*Client
	sessions       map[int64][]byte // every session created, for cleanup
	closedSessions map[int64]bool
}

// P returns the absolute path of rel (which starts with "/") under the
// scenario's root.
func (s *S) P(rel string) string { return s.Root + rel }

// Note records a free-form line, for facts a scenario computes.
func (s *S) Note(format string, args ...any) { s.record("note: " + fmt.Sprintf(format, args...)) }

// N exposes the normaliser, for scenarios that note zxids or sessions.
func (s *S) N() *Normalizer { return s.n }

func (s *S) record(line string) {
	if s.quiet > 0 {
		return
	}
	s.lines = append(s.lines, strings.ReplaceAll(line, s.Root, "/R"))
}

func (s *S) logf(format string, args ...any) {
	if s.env.Logf != nil {
		s.env.Logf(format, args...)
	}
}

// Eventually polls probe every 50ms until it returns true or max passes,
// recording only the outcome. The probe's own requests are not recorded and
// do not touch the normaliser, so how many polls it took cannot change the
// transcript. Use it only for effects that happen on a timer (session
// expiry, container and TTL deletion).
func (s *S) Eventually(desc string, max time.Duration, probe func() bool) bool {
	deadline := time.Now().Add(max)
	ok := false
	s.Quietly(func() {
		for i := 0; i < 10000; i++ {
			if ok = probe(); ok || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	s.record(fmt.Sprintf("eventually %s: %v", desc, ok))
	return ok
}

// Quietly runs fn without recording it and without touching the
// normaliser, for setup whose details are not the point of the scenario.
//
// The xids a client used meanwhile depend on how long polling took, so
// afterwards each such client's xid counter jumps to the next multiple of
// 1000: the xids of later requests are the same in every run.
func (s *S) Quietly(fn func()) {
	saved := s.n
	s.n = NewNormalizer(saved.now)
	before := make([]int32, len(s.clients))
	for i, c := range s.clients {
		before[i] = c.xid
	}
	s.quiet++
	fn()
	s.quiet--
	s.n = saved
	for i, c := range s.clients[:len(before)] {
		if c.xid != before[i] {
			c.xid = (c.xid/1000 + 1) * 1000
		}
	}
}

// ConnectOpts are the fields of a ConnectRequest. The zero value asks for a
// new session with a 10s timeout, like a Java client.
type ConnectOpts struct {
	Timeout         int32 // ms; 0 means 10000
	SessionID       int64
	Passwd          []byte // nil means 16 zero bytes (a new session's)
	LastZxidSeen    int64
	ReadOnly        bool
	NoReadOnlyByte  bool // omit the trailing readOnly byte, as pre-3.4 clients do
	ProtocolVersion int32
}

// Client connects a new session with default options.
func (s *S) Client() *Client { return s.Connect(ConnectOpts{}) }

// Connect opens a connection and performs the handshake with o, recording
// both. A refused handshake leaves a dead client.
func (s *S) Connect(o ConnectOpts) *Client {
	c := &Client{s: s, Name: fmt.Sprintf("c%d", len(s.clients)+1)}
	s.clients = append(s.clients, c)
	req := &proto.ConnectRequest{
		ProtocolVersion: o.ProtocolVersion,
		LastZxidSeen:    o.LastZxidSeen,
		TimeOut:         o.Timeout,
		SessionID:       o.SessionID,
		Passwd:          o.Passwd,
		ReadOnly:        o.ReadOnly,
		HasReadOnly:     !o.NoReadOnlyByte,
	}
	if req.TimeOut == 0 {
		req.TimeOut = 10000
	}
	if req.Passwd == nil {
		req.Passwd = make([]byte, 16)
	}
	lz := s.n.ZxidNear(o.LastZxidSeen)
	sess := "new"
	if o.SessionID != 0 {
		sess = s.n.Session(o.SessionID)
	}
	ro := fmt.Sprint(o.ReadOnly)
	if o.NoReadOnlyByte {
		ro = "absent"
	}
	c.line("connect proto=%d timeout=%d session=%s passwd=%s lastZxid=%s ro=%s",
		req.ProtocolVersion, req.TimeOut, sess, passwd(req.Passwd), lz, ro)
	if !s.env.Deadline.IsZero() && time.Now().After(s.env.Deadline) {
		c.line("! not connected: the suite's time budget is spent")
		c.dead = true
		return c
	}
	conn, err := Dial(s.env.Addr, writeTimeout)
	if err != nil {
		c.line("! dial failed")
		s.logf("%s: dial %s: %v", c.Name, s.env.Addr, err)
		c.dead = true
		return c
	}
	c.conn = conn
	resp, err := conn.Handshake(req, replyTimeout)
	if err != nil {
		if resp == nil {
			r := closedReason(err)
			c.line("< handshake %s", r)
			c.kill(r, err)
			return c
		}
		c.line("! %v", err) // decoded, with trailing bytes
	}
	c.Resp = resp
	c.line("< connected %s", s.n.Record(resp))
	if resp.SessionID != 0 {
		c.SessionID = resp.SessionID
		c.Passwd = resp.Passwd
		if _, ok := s.sessions[resp.SessionID]; !ok || o.SessionID == 0 {
			s.sessions[resp.SessionID] = resp.Passwd
		}
	}
	return c
}

// Run runs sc in env and returns its transcript. Before the scenario it
// creates env.Root; after it, it drains every open client (recording the
// events that were still coming) and closes every session the scenario
// created, so none expires later in another scenario's transcript.
func Run(sc Scenario, env Env) []string {
	now := time.Now
	if env.Now != nil {
		now = env.Now
	}
	s := &S{
		Root:           env.Root,
		SuperAuth:      env.SuperAuth,
		env:            env,
		n:              NewNormalizer(now()),
		sessions:       map[int64][]byte{},
		closedSessions: map[int64]bool{},
	}
	if !sc.NoRoot && env.MakeRoot != nil {
		if err := env.MakeRoot(env.Root); err != nil {
			s.record(fmt.Sprintf("! cannot create the scenario root: %v", err))
			return s.lines
		}
	}
	sc.Run(s)
	s.finish()
	return s.lines
}

// finish drains open clients (recorded), then closes sessions (not recorded).
func (s *S) finish() {
	first := true
	for _, c := range s.clients {
		if c.dead || c.closed {
			continue
		}
		if first {
			s.record("-- end: pending events --")
			first = false
		}
		c.Barrier()
	}
	s.Quietly(func() {
		for _, c := range s.clients {
			if !c.dead && !c.closed {
				c.Close()
			}
		}
		for id, pw := range s.sessions {
			if s.closedSessions[id] {
				continue
			}
			c := s.Connect(ConnectOpts{SessionID: id, Passwd: pw})
			if !c.dead && c.Resp != nil && c.Resp.TimeOut > 0 {
				c.Close()
			}
			if c.conn != nil {
				c.conn.Close()
			}
		}
	})
}

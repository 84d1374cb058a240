package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/zkd-io/zkd/internal/config"
	"github.com/zkd-io/zkd/internal/raftnode"
	"github.com/zkd-io/zkd/internal/transport"
)

// App message kinds carried by the peer transport next to raft's messages.
const (
	// appTouch reports, to the leader, the sessions that showed life on the
	// sending server since its previous report: a list of 8-byte ids.
	appTouch uint8 = 1
)

// maxTouchReport bounds one liveness report (8 bytes per session).
const maxTouchReport = 64 << 10

// raftTiming derives raft's clock from zoo.cfg. ZooKeeper lets a follower
// lag syncLimit ticks before the leader drops it; zkd's election timeout is
// a twentieth of that, so that at the defaults (tickTime 2000 ms, syncLimit
// 5) a dead leader is noticed after 0.5–1 s (raft randomises the timeout
// between one and two times the base) and replaced about a second after it
// died. The floor keeps loaded test machines from electing on every
// hiccup. A raft tick is a tenth of the timeout; the leader sends a
// heartbeat every tick.
func raftTiming(o *config.Options) (tick time.Duration, electionTicks int) {
	const floor = 200 * time.Millisecond
	limit := o.SyncLimit
	if limit <= 0 {
		limit = 5
	}
	election := max(o.TickTime*time.Duration(limit)/20, floor)
	return election / 10, 10
}

// electionTimeout is the base election timeout raftTiming chose.
func (s *Server) electionTimeout() time.Duration { return ElectionTimeout(s.opts) }

// ElectionTimeout is the base election timeout a server started with o
// uses; raft waits between one and two times it before standing for
// election. zkd check prints it.
func ElectionTimeout(o *config.Options) time.Duration {
	tick, n := raftTiming(o)
	return tick * time.Duration(n)
}

// members lists the ensemble for raft and the transport.
func members(o *config.Options) (voters, learners []uint64, peers []transport.Member) {
	for _, sv := range o.Servers {
		if sv.Observer {
			learners = append(learners, sv.ID)
		} else {
			voters = append(voters, sv.ID)
		}
		peers = append(peers, transport.Member{
			ID: sv.ID, Addr: net.JoinHostPort(sv.Host, strconv.Itoa(sv.QuorumPort)), Observer: sv.Observer,
		})
	}
	return voters, learners, peers
}

// peerHandler receives what other servers send. Messages that arrive before
// the raft node is up are refused; raft retransmits.
type peerHandler struct {
	s    *Server
	node atomic.Pointer[raftnode.Node]
}

var errNotReady = errors.New("server: raft node not started yet")

func (h *peerHandler) Step(ctx context.Context, m *raftpb.Message) error {
	if n := h.node.Load(); n != nil {
		return n.Step(ctx, m)
	}
	return errNotReady
}

func (h *peerHandler) ReceiveSnapshot(ctx context.Context, m *raftpb.Message, body io.Reader, size int64) error {
	if n := h.node.Load(); n != nil {
		return n.ReceiveSnapshot(ctx, m, body, size)
	}
	return errNotReady
}

func (h *peerHandler) ReportUnreachable(id uint64) {
	if n := h.node.Load(); n != nil {
		n.ReportUnreachable(id)
	}
}

func (h *peerHandler) ReportSnapshot(id uint64, ok bool) {
	if n := h.node.Load(); n != nil {
		n.ReportSnapshot(id, ok)
	}
}

func (h *peerHandler) HandleApp(from uint64, kind uint8, payload []byte) {
	switch kind {
	case appTouch:
		h.s.touchReported(from, payload)
	default:
		h.s.log.Warn("unknown message kind from peer", "peer", from, "kind", kind)
	}
}

// FailpointDelayFile names the file in the data directory through which
// the chaos suite delays a failpoints build's messages to its peers (see
// failpoint_on.go). Regular builds never read it.
const FailpointDelayFile = "failpoint-peer-delay"

// startTransport opens the quorum port. The raft node is attached later.
func (s *Server) startTransport() error {
	_, _, peers := members(s.opts)
	self, _ := s.opts.Self()
	h := &peerHandler{s: s}
	t, err := transport.New(transport.Config{
		ID:         s.id,
		Members:    peers,
		ListenAddr: net.JoinHostPort(self.Host, strconv.Itoa(self.QuorumPort)),
		Handler:    h,
		Logger:     s.log,
	})
	if err != nil {
		return fmt.Errorf("quorum port: %w", err)
	}
	s.peers, s.transport = h, t
	t.Start()
	return nil
}

// touchReported extends the deadlines of sessions another server saw alive.
// Only the leader expires sessions; a report that reaches a former leader
// is harmless.
func (s *Server) touchReported(from uint64, payload []byte) {
	if len(payload)%8 != 0 || len(payload) > maxTouchReport {
		s.log.Warn("malformed session liveness report", "peer", from, "bytes", len(payload))
		return
	}
	now := time.Now()
	for i := 0; i < len(payload); i += 8 {
		s.tracker.Touch(int64(binary.BigEndian.Uint64(payload[i:])), now)
	}
}

// roleLoop follows leadership. A server that becomes leader gives every
// session a full timeout before expiring any. Other servers report the
// sessions their clients kept alive to the leader, every half tick as
// ZooKeeper's followers ping. A server that has no leader for longer than
// the election timeout stops serving clients, as a ZooKeeper server that
// lost its quorum does, so that clients move to servers that can answer.
func (s *Server) roleLoop() {
	interval := min(s.opts.TickTime/2, s.electionTimeout()/2)
	t := time.NewTicker(interval)
	defer t.Stop()
	wasLeader := false
	var leaderless time.Time
	for {
		select {
		case <-s.quit:
			return
		case now := <-t.C:
			st := s.node.Status()
			// leaderWatch logs the role change (roleTracker).
			if st.IsLeader && !wasLeader {
				s.tracker.ResetAll(now)
				s.leaderSince.Store(now.UnixNano())
			}
			wasLeader = st.IsLeader
			touched := s.tracker.TakeTouched()
			if s.transport == nil {
				continue // standalone: always the leader, always serving
			}
			if !st.IsLeader && st.Leader != 0 {
				for len(touched) > 0 {
					n := min(len(touched), maxTouchReport/8)
					s.transport.SendApp(st.Leader, appTouch, encodeTouched(touched[:n]))
					touched = touched[n:]
				}
			}
			s.followQuorum(st, now, &leaderless)
			s.waiters.expire(now, st.Term, 2*s.electionTimeout())
		}
	}
}

// followQuorum switches serving off after a leaderless election timeout,
// and back on once a leader is known.
func (s *Server) followQuorum(st raftnode.Status, now time.Time, leaderless *time.Time) {
	if st.Leader != 0 {
		*leaderless = time.Time{}
		if !s.serving.Load() {
			s.serving.Store(true)
			s.log.Info("serving clients", "leader", st.Leader, "term", st.Term)
		}
		return
	}
	if leaderless.IsZero() {
		*leaderless = now
	}
	if s.serving.Load() && now.Sub(*leaderless) > s.electionTimeout() {
		s.serving.Store(false)
		s.log.Warn("no leader: not serving clients until one is elected", "waited", now.Sub(*leaderless))
		s.dropClients()
	}
}

func encodeTouched(ids []int64) []byte {
	b := make([]byte, 8*len(ids))
	for i, id := range ids {
		binary.BigEndian.PutUint64(b[8*i:], uint64(id))
	}
	return b
}

// dropClients closes every client connection and fails every pending
// proposal: their outcome is unknown, which the clients learn as a lost
// connection, as they would from ZooKeeper.
func (s *Server) dropClients() {
	for _, c := range s.openConns() {
		if c.session.Load() != 0 {
			c.close()
		}
	}
	s.waiters.failAll()
}

// leaderWatch shortens failover when the leader's process dies. A dead
// process's peer port refuses connections at once, while a silent network
// only times out; on refusal every follower forgets the leader, and one of
// them, the lowest-id voter it can still reach (every follower makes the
// same choice when they see the same peers), stands for election at once
// instead of after an election timeout. ZooKeeper's followers likewise
// start an election as soon as the leader's connection closes.
//
// It also logs every role change (see roleTracker), polling every raft
// tick so that election timings are accurate to a tick. A standalone
// server logs its one role change, to leading, and stops polling.
func (s *Server) leaderWatch() {
	tick, _ := raftTiming(s.opts)
	t := time.NewTicker(tick)
	defer t.Stop()
	roles := roleTracker{log: s.log, started: s.started}
	var actedTerm uint64
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		st := s.node.Status()
		roles.observe(st, time.Now())
		if s.transport == nil {
			if st.IsLeader {
				return
			}
			continue
		}
		if st.IsLeader || st.Leader == 0 || st.Term == actedTerm || !s.transport.Refused(st.Leader) {
			continue
		}
		actedTerm = st.Term
		campaign := s.candidateAfter(st.Leader) == s.id
		s.log.Info("the leader's quorum port refuses connections: its process is gone; electing a new leader now",
			"leader", st.Leader, "term", st.Term, "campaign", campaign)
		if err := s.node.LeaderGone(s.ctx(), campaign); err != nil {
			s.log.Warn("starting an early election", "err", err)
		}
	}
}

// candidateAfter picks who stands for election when leader died: the
// lowest-id voter other than leader that is this server or reachable from
// it.
func (s *Server) candidateAfter(leader uint64) uint64 {
	voters, _ := s.node.Members()
	for _, id := range voters { // sorted
		if id != leader && (id == s.id || s.transport.Connected(id)) {
			return id
		}
	}
	return 0
}

// Roles as ZooKeeper names its server states (LOOKING, LEADING, FOLLOWING,
// OBSERVING), lower-cased.
const (
	roleLooking   = "looking"
	roleLeading   = "leading"
	roleFollowing = "following"
	roleObserving = "observing"
)

// roleTracker turns polls of the raft status into one log line per role
// change, with timings, like ZooKeeper's "FOLLOWING - LEADER ELECTION TOOK
// - 25 MS":
//
//   - looking (no leader known; a warning once a leader was seen): the
//     previous role and leader and how long it lasted;
//   - leading, following, observing: the leader and term, and
//     election_took, the time since this server last saw a leader (to
//     within one poll), or since_start for the first leader after start
//     (which includes recovering the data directory).
//
// A new leader or a new term is a change even when the poll missed the
// leaderless moment in between. Its owner is the one goroutine polling.
type roleTracker struct {
	log     *slog.Logger
	started time.Time

	role      string // "" before the first poll
	hadLeader bool   // a leader was seen since start
	leader    uint64
	term      uint64
	since     time.Time // when role was first seen
	lastOK    time.Time // the last poll that saw the current leader
	lostAt    time.Time // first poll without a leader; zero while one is known
}

func roleOf(st raftnode.Status) string {
	switch {
	case st.Leader == 0:
		return roleLooking
	case st.IsLeader:
		return roleLeading
	case st.Role == "observer":
		return roleObserving
	}
	return roleFollowing
}

func (r *roleTracker) observe(st raftnode.Status, now time.Time) {
	role := roleOf(st)
	changed := role != r.role || role != roleLooking && (st.Leader != r.leader || st.Term != r.term)
	if !changed {
		if role != roleLooking {
			r.lastOK = now
		}
		return
	}
	attrs := []any{"term", st.Term}
	if r.role != "" {
		attrs = append(attrs, "previous", r.role, "previous_for", now.Sub(r.since).Round(time.Millisecond))
		if r.leader != 0 {
			attrs = append(attrs, "previous_leader", r.leader)
		}
	}
	if role == roleLooking {
		r.lostAt = now
		level := slog.LevelWarn
		if !r.hadLeader {
			level = slog.LevelInfo // the first election after start is expected
		}
		r.log.Log(context.Background(), level, role, attrs...)
	} else {
		attrs = append([]any{"leader", st.Leader}, attrs...)
		switch {
		case !r.hadLeader:
			attrs = append(attrs, "since_start", now.Sub(r.started).Round(time.Millisecond))
		case !r.lostAt.IsZero():
			attrs = append(attrs, "election_took", now.Sub(r.lostAt).Round(time.Millisecond))
		default:
			// The leader changed between two polls: the election took
			// at most the time since the old leader was last seen.
			attrs = append(attrs, "election_took", now.Sub(r.lastOK).Round(time.Millisecond))
		}
		r.lostAt = time.Time{}
		r.lastOK = now
		r.hadLeader = true
		r.log.Info(role, attrs...)
	}
	r.role, r.leader, r.term, r.since = role, st.Leader, st.Term, now
}

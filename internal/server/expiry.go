package server

import (
	"time"

	"github.com/zkd-io/zkd/internal/fsm"
	"github.com/zkd-io/zkd/proto"
)

// expiryLoop closes sessions whose clients have gone quiet for longer than
// their timeout. Closing is a log entry, so every server removes the
// session's ephemerals at the same point of the log. The entry carries the
// leader's term and counts only if it commits in that term.
//
// A tick that comes far later than due means this process was stopped
// (SIGSTOP, a VM pause) or starved: every deadline may have passed without
// the clients being at fault, and the reports that would have kept them
// alive were not read. Such a tick gives every session a full timeout
// again instead of expiring them all, as a new leader does.
func (s *Server) expiryLoop() {
	interval := s.opts.TickTime / 2
	t := time.NewTicker(interval)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		now := time.Now() // monotonic, unlike the ticker's value after a pause
		s.expireDue(now, now.Sub(last), interval)
		last = now
	}
}

// expireDue is one tick of expiryLoop, gap after the previous one.
func (s *Server) expireDue(now time.Time, gap, interval time.Duration) {
	st := s.node.Status()
	if !st.IsLeader {
		return // the leader owns expiry
	}
	if gap > clockJump(interval) {
		s.log.Warn("session expiry resumed after a stall: every session gets a full timeout again",
			"stalled", gap.Round(time.Millisecond))
		s.tracker.ResetAll(now)
		return
	}
	for _, id := range s.tracker.Expire(now) {
		s.log.Info("session expired", "session", hexID(id))
		s.stats.expired.Add(1)
		s.propose(&fsm.Entry{Session: id, Op: fsm.OpExpireSession, Body: fsm.ExpiryBody(st.Term)}, func(res fsm.Result, ok bool) {
			if !ok || res.Err != proto.ErrOK {
				// Lost, or stale (this server no longer led when it
				// committed): the current leader decides again.
				s.tracker.Retry(id)
			}
		})
	}
}

// clockJump is how late a tick of period interval must come to count as a
// stall of the whole process rather than scheduling noise.
func clockJump(interval time.Duration) time.Duration {
	return max(4*interval, time.Second)
}

// containerLoop removes containers whose last child has gone and TTL nodes
// that have outlived their TTL, like ZooKeeper's ContainerManager. Candidates
// are chosen here with the local clock; apply re-checks each one against the
// entry's time.
func (s *Server) containerLoop() {
	interval := s.opts.ContainerCheckInterval
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case now := <-t.C:
			if !s.node.Status().IsLeader {
				continue // the leader sweeps, as ZooKeeper's leader does
			}
			for _, p := range s.expiredNodes(now.UnixMilli()) {
				done := make(chan struct{})
				s.propose(&fsm.Entry{Op: fsm.OpDeleteExpired, Path: p, Time: now.UnixMilli()},
					func(fsm.Result, bool) { close(done) })
				select {
				case <-done:
				case <-s.quit:
					return
				}
			}
		}
	}
}

func (s *Server) expiredNodes(nowMs int64) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.fsm.Tree()
	var out []string
	for _, p := range t.Containers() {
		if n := t.Get(p); n != nil && n.NumChildren == 0 && n.Cversion > 0 {
			out = append(out, p)
		}
	}
	for _, p := range t.TTLNodes() {
		if n := t.Get(p); n != nil && n.NumChildren == 0 && nowMs-n.Mtime > n.TTL() {
			out = append(out, p)
		}
	}
	return out
}

// purgeLoop runs autopurge every autopurge.purgeInterval, as ZooKeeper's
// DatadirCleanupManager does. zkd also purges after every snapshot it
// takes (a Raft log must be compacted behind its snapshots anyway); the
// timer additionally bounds what arrives otherwise, such as snapshots
// received from the leader, and keeps the key meaning what ZooKeeper users
// expect.
func (s *Server) purgeLoop() {
	if s.opts.PurgeInterval <= 0 {
		return
	}
	t := time.NewTicker(s.opts.PurgeInterval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			if err := s.node.Purge(s.ctx(), s.opts.SnapRetainCount); err != nil {
				s.log.Warn("autopurge failed", "err", err)
			} else {
				s.log.Info("autopurge done", "retained", s.opts.SnapRetainCount)
			}
		}
	}
}

package server

import (
	"time"

	"github.com/zkd-io/zkd/internal/fsm"
	"github.com/zkd-io/zkd/proto"
)

// expiryLoop closes sessions whose clients have gone quiet for longer than
// their timeout. Closing is a log entry, so every server removes the
// session's ephemerals at the same point of the log.
func (s *Server) expiryLoop() {
	t := time.NewTicker(s.opts.TickTime / 2)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case now := <-t.C:
			if !s.node.Status().IsLeader {
				continue // the leader owns expiry
			}
			for _, id := range s.tracker.Expire(now) {
				s.log.Info("session expired", "session", hexID(id))
				s.stats.expired.Add(1)
				s.propose(&fsm.Entry{Session: id, Op: proto.OpCloseSession}, func(_ fsm.Result, ok bool) {
					if !ok {
						s.tracker.Retry(id)
					}
				})
			}
		}
	}
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

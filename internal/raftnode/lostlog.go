package raftnode

import (
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// A server whose data directory was wiped (or restored from an older
// backup) comes back with its old id but a shorter log than the leader
// recorded for it. raft assumes a member never loses entries it
// acknowledged: the leader keeps that peer's Match and never probes below
// it, and the follower, told by a heartbeat that entries it no longer has
// are committed, stops with a raft panic. Both sides are handled here,
// outside raft:
//
//   - the follower lowers such a heartbeat's commit index to its own last
//     index (committing less than the leader says is always safe) and tells
//     the leader, with a rejection naming its real last index, which raft
//     on the leader ignores as stale;
//   - the leader, seeing a rejection below what it believes the peer holds,
//     hands leadership to another up-to-date voter. A new leader starts
//     every peer's progress afresh, probes the wiped server, and catches it
//     up, by snapshot when the log was compacted.
//
// A wiped voter has also forgotten whom it voted for in the current term.
// As in ZooKeeper, rejoining automatically is preferred over refusing.

// lostLog is the bookkeeping of the above; the zero value is ready.
type lostLog struct {
	lastWarn     atomic.Int64 // unix nanos of the follower's last warning
	lastHandoff  atomic.Int64 // unix nanos of the leader's last hand-off
	handoffCount atomic.Int64 // hand-offs started, for tests
}

// checkHeartbeat runs on a follower for each MsgHeartbeat before raft sees
// it, and returns the message raft should see.
func (n *Node) checkHeartbeat(m *raftpb.Message) *raftpb.Message {
	last, err := n.ms.LastIndex()
	if err != nil || m.GetCommit() <= last {
		return m
	}
	if now := time.Now().UnixNano(); now-n.lost.lastWarn.Load() > int64(10*time.Second) {
		n.lost.lastWarn.Store(now)
		n.log.Warn("the leader believes this server holds entries it does not have: its data was lost or replaced by an older copy; catching up from the leader",
			"leader", m.GetFrom(), "leader_commit", m.GetCommit(), "last_index", last)
	}
	if n.cfg.Transport != nil {
		n.cfg.Transport.Send([]*raftpb.Message{{
			Type: raftpb.MsgAppResp.Enum(), From: new(n.cfg.ID), To: new(m.GetFrom()), Term: new(m.GetTerm()),
			Index: new(m.GetCommit()), Reject: new(true), RejectHint: new(last),
		}})
	}
	c := proto.Clone(m).(*raftpb.Message)
	c.Commit = new(last)
	return c
}

// checkRejection runs on the leader for each rejected MsgAppResp.
func (n *Node) checkRejection(m *raftpb.Message) {
	if !n.isLeader.Load() {
		return
	}
	st := n.raw.Status()
	pr, ok := st.Progress[m.GetFrom()]
	if !ok || m.GetTerm() != st.GetTerm() || m.GetRejectHint() >= pr.Match {
		return
	}
	now := time.Now().UnixNano()
	if now-n.lost.lastHandoff.Load() < int64(time.Duration(n.cfg.ElectionTicks)*n.cfg.TickInterval) {
		return // one hand-off at a time
	}
	n.lost.lastHandoff.Store(now)
	var to, best uint64
	for id := range st.Config.Voters.IDs() {
		p, ok := st.Progress[id]
		if id == st.ID || id == m.GetFrom() || !ok || !p.RecentActive || p.IsLearner {
			continue
		}
		if to == 0 || p.Match > best {
			to, best = id, p.Match
		}
	}
	if to == 0 {
		n.log.Error("a peer lost its log, and no other voter can take over leadership to catch it up; it stays behind until leadership changes",
			"peer", m.GetFrom(), "believed_match", pr.Match, "peer_last_index", m.GetRejectHint())
		return
	}
	n.log.Warn("a peer lost its log (its data was wiped or restored from an older copy); handing leadership over so that a new leader catches it up",
		"peer", m.GetFrom(), "believed_match", pr.Match, "peer_last_index", m.GetRejectHint(), "new_leader", to)
	n.lost.handoffCount.Add(1)
	n.raw.TransferLeader(to)
}

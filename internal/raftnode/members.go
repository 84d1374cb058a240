package raftnode

import (
	"cmp"
	"context"
	"slices"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/tracker"
)

// syncedSlack is how many entries a follower may trail the leader's last
// index by and still count as synced: what may be in flight to it at once
// (one entry per message at the least, MaxInflightMsgs messages). A
// follower within it keeps up with the write rate; one beyond it is
// catching up.
const syncedSlack = maxInflightMsgs

// PeerProgress is the leader's view of one other member.
type PeerProgress struct {
	ID uint64
	// Learner is set for observers (non-voting members).
	Learner bool
	// Match is the highest log index known to be in the peer's log.
	Match uint64
	// Active says the peer answered within the last election timeout.
	Active bool
	// Synced says the leader is streaming entries to the peer (not probing
	// it or sending it a snapshot) and the peer's Match is within
	// MaxInflightMsgs (256) entries of the leader's last index.
	Synced bool
}

// Members returns the ids of the voting members and of the learners
// (observers) in the configuration applied so far, each sorted. During a
// joint configuration change, voters of both halves are listed.
func (n *Node) Members() (voters, learners []uint64) {
	n.confMu.Lock()
	cs := n.confState
	n.confMu.Unlock()
	voters = slices.Concat(cs.GetVoters(), cs.GetVotersOutgoing())
	slices.Sort(voters)
	voters = slices.Compact(voters)
	for _, id := range slices.Concat(cs.GetLearners(), cs.GetLearnersNext()) {
		if !slices.Contains(voters, id) && !slices.Contains(learners, id) {
			learners = append(learners, id)
		}
	}
	slices.Sort(learners)
	return voters, learners
}

// Progress reports every other member's replication state, sorted by id,
// when this node is the leader, and nil otherwise.
func (n *Node) Progress() []PeerProgress {
	if n.checkRunning() != nil || !n.isLeader.Load() {
		return nil
	}
	var st raft.Status
	if n.call(context.Background(), func(rn *raft.RawNode) { st = rn.Status() }) != nil {
		return nil
	}
	if st.RaftState != raft.StateLeader {
		return nil
	}
	// The leader's own Match is its last durable index.
	last := st.Progress[st.ID].Match
	out := make([]PeerProgress, 0, len(st.Progress))
	for id, pr := range st.Progress {
		if id == st.ID {
			continue
		}
		out = append(out, PeerProgress{
			ID:      id,
			Learner: pr.IsLearner,
			Match:   pr.Match,
			Active:  pr.RecentActive,
			Synced:  pr.State == tracker.StateReplicate && pr.Match+syncedSlack >= last,
		})
	}
	slices.SortFunc(out, func(a, b PeerProgress) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (n *Node) role() string {
	switch raft.StateType(n.raftState.Load()) {
	case raft.StateLeader:
		return "leader"
	case raft.StateCandidate, raft.StatePreCandidate:
		return "candidate"
	}
	n.confMu.Lock()
	learner := slices.Contains(n.confState.GetLearners(), n.cfg.ID)
	n.confMu.Unlock()
	if learner {
		return "observer"
	}
	return "follower"
}

// LeaderGone tells this node that its leader's process is known to be dead
// (its peer port refuses connections), so the ensemble need not wait out an
// election timeout. Every follower that learns it forgets the leader, which
// lets it grant pre-votes at once (with PreVote and CheckQuorum a follower
// that heard from a live leader recently refuses them); campaign asks this
// node to stand for election too. A quorum must agree before anyone wins,
// so a single mistaken follower cannot depose a live leader; hearing from
// the leader again makes it a normal follower.
func (n *Node) LeaderGone(ctx context.Context, campaign bool) error {
	if err := n.checkRunning(); err != nil {
		return err
	}
	var err error
	if cerr := n.call(ctx, func(rn *raft.RawNode) {
		if err = rn.ForgetLeader(); err == nil && campaign {
			err = rn.Campaign()
		}
	}); cerr != nil {
		return cerr
	}
	return err
}

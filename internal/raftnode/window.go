package raftnode

import (
	"errors"
	"fmt"
	"math"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.etcd.io/raft/v3/tracker"

	"github.com/zkd-io/zkd/internal/storage"
)

// The in-memory raft log is a window, not the whole log since the last
// snapshot. raft reads entries back only to send them to peers, so a member
// keeps the applied entries its peers may still ask for and drops the rest:
//
//   - a lone member keeps none (its membership is fixed while it runs);
//   - an ensemble member keeps SnapCatchUpEntries behind its applied index
//     (fewer if their data passes WindowBytes), and a leader also keeps
//     every entry some peer has not acknowledged;
//   - an ensemble member drops nothing past a snapshot being written, so
//     that the snapshot joins the log once written.
//
// A peer that needs an entry the window has dropped gets a snapshot, as a
// ZooKeeper follower outside the leader's committed log gets SNAP. When the
// newest snapshot ends before the window starts (a member that became
// leader may have dropped entries behind it as a follower), the member
// takes a fresh one and raft sends it once written.
//
// Without the window a member held every entry since its last snapshot:
// up to SnapCount entries, or about the tree's size in bytes.

// trimEvery is how many applied entries the window gathers past its bound
// before trimLog drops them, so the copy Compact makes of the entries it
// keeps is paid once per trimEvery entries. A window of fewer entries
// (large ones) gathers a quarter of its size instead.
const trimEvery = 1024

// trimLog drops the entries before the window from the in-memory raft log.
// It runs on the raft loop.
func (n *Node) trimLog() error {
	n.trimMu.Lock()
	defer n.trimMu.Unlock()
	first, err := n.ms.FirstIndex()
	if err != nil {
		return nil
	}
	applied := n.applied.Load()
	ensemble := !n.alone()
	keep, slack := uint64(0), uint64(trimEvery)
	if ensemble {
		keep = n.windowKeep(first, applied)
		slack = min(trimEvery, keep/4+1)
	}
	if applied < first+keep+slack {
		return nil // spares windowStart's visit of the peers
	}
	to := applied - keep
	if ensemble {
		if to = n.windowStart(applied, keep); to < first+slack {
			return nil
		}
	}
	if err := n.ms.Compact(to); err != nil && !errors.Is(err, raft.ErrCompacted) {
		return fmt.Errorf("raftnode: trimming the in-memory raft log to %d: %w", to, err)
	}
	return nil
}

// windowKeep is how many applied entries an ensemble member keeps (see
// weigh). It weighs them again once an eighth of the last count has been
// applied since. It runs on the raft loop.
func (n *Node) windowKeep(first, applied uint64) uint64 {
	if applied >= n.keptAt && applied-n.keptAt < max(n.kept/8, 1) {
		return n.kept
	}
	n.keptAt, n.kept = applied, n.cfg.SnapCatchUpEntries
	if last, err := n.ms.LastIndex(); err != nil || applied < first || applied > last {
		return n.kept // nothing applied in the log to weigh (Entries would panic past last)
	}
	if k, err := n.weigh(first, applied); err == nil {
		n.kept = k
	}
	return n.kept
}

// weigh is how many of the log's entries up to index at an ensemble member
// keeps: SnapCatchUpEntries, or fewer if their data would pass
// WindowBytes. The log must hold first..at.
func (n *Node) weigh(first, at uint64) (uint64, error) {
	lo := first
	if at-first >= n.cfg.SnapCatchUpEntries {
		lo = at - n.cfg.SnapCatchUpEntries + 1
	}
	ents, err := n.ms.Entries(lo, at+1, math.MaxUint64)
	if err != nil {
		return 0, err
	}
	var bytes uint64
	for i := len(ents) - 1; i >= 0; i-- {
		if bytes += uint64(len(ents[i].GetData())); bytes > n.cfg.WindowBytes {
			return uint64(len(ents) - 1 - i), nil
		}
	}
	return uint64(len(ents)), nil
}

// logSnapshot lets the in-memory raft log know of a snapshot written at
// meta and compacts the log behind it to a window, weighed as windowKeep's
// (this is what bounds a leader's window held back by a peer that is
// down; that peer gets the snapshot when it returns). It runs
// on the append goroutine; trimMu keeps trimLog from compacting past the
// snapshot between the check and CreateSnapshot, which would index the log
// below its start. A lone member's log may be trimmed past the snapshot
// already; it has no peer to send it to. An ensemble member's window never
// passes a snapshot being written.
func (n *Node) logSnapshot(meta storage.SnapshotMeta) error {
	n.trimMu.Lock()
	defer n.trimMu.Unlock()
	first, _ := n.ms.FirstIndex()
	if meta.Index+1 < first {
		return nil // a lone member's log trimmed past the snapshot
	}
	if _, err := n.ms.CreateSnapshot(meta.Index, meta.ConfState, nil); err != nil && !errors.Is(err, raft.ErrSnapOutOfDate) {
		return fmt.Errorf("raftnode: snapshot %d in the in-memory raft log: %w", meta.Index, err)
	}
	if meta.Index < first {
		return nil // the snapshot is where the log starts: nothing behind it
	}
	keep, err := n.weigh(first, meta.Index)
	if err != nil { // not expected: the log holds first..meta.Index
		n.log.Warn("cannot weigh the in-memory raft log behind a snapshot; leaving it to the next trim", "snapshot", meta.Index, "err", err)
		return nil
	}
	if meta.Index > keep {
		compact := meta.Index - keep
		if err := n.ms.Compact(compact); err != nil && !errors.Is(err, raft.ErrCompacted) {
			return fmt.Errorf("raftnode: compacting the in-memory raft log to %d: %w", compact, err)
		}
	}
	return nil
}

// windowStart is the index an ensemble member may compact its in-memory log
// to, keeping keep entries: keep behind the oldest of applied and, on a
// leader, every peer's acknowledged index; and never past a snapshot being
// written. It runs on the raft loop.
func (n *Node) windowStart(applied, keep uint64) uint64 {
	to := applied
	if n.isLeader.Load() {
		n.raw.WithProgress(func(id uint64, _ raft.ProgressType, pr tracker.Progress) {
			if id != n.cfg.ID {
				to = min(to, pr.Match)
			}
		})
	}
	if to <= keep {
		return 0
	}
	to -= keep
	if n.snapping.Load() {
		to = min(to, n.snapIndex.Load())
	}
	return to
}

// alone reports whether this member is the configuration's only voter and
// there are no learners.
func (n *Node) alone() bool {
	n.confMu.Lock()
	cs := n.confState
	n.confMu.Unlock()
	v := cs.GetVoters()
	return len(v) == 1 && v[0] == n.cfg.ID && len(cs.GetVotersOutgoing()) == 0 &&
		len(cs.GetLearners()) == 0 && len(cs.GetLearnersNext()) == 0
}

// windowStorage is the in-memory raft log as raft sees it. A snapshot that
// ends before the log starts cannot bring a peer up to the log, so
// Snapshot reports it unavailable (raft tries again on the peer's next
// response) and asks for a fresh one.
type windowStorage struct {
	*raft.MemoryStorage
	n *Node
}

func (s windowStorage) Snapshot() (*raftpb.Snapshot, error) {
	snap, err := s.MemoryStorage.Snapshot()
	if err != nil {
		return snap, err
	}
	if first, _ := s.MemoryStorage.FirstIndex(); snap.GetMetadata().GetIndex()+1 < first {
		s.n.wantSnapshot(first)
		return nil, raft.ErrSnapshotTemporarilyUnavailable
	}
	return snap, nil
}

// wantSnapshot asks the apply goroutine for a snapshot now, for a peer that
// needs entries before first. A snapshot being written already reaches the
// log (windowStart keeps it), so raft will send that one. It runs on the
// raft loop, inside raft, so it only sets a flag and wakes apply.
func (n *Node) wantSnapshot(first uint64) {
	if n.snapping.Load() || n.snapWanted.Swap(true) {
		return
	}
	n.log.Info("a peer needs entries older than the in-memory raft log; taking a snapshot to send it", "logStart", first)
	select {
	case n.applyc <- &applyBatch{}: // an empty batch: apply checks for a due snapshot
	default: // apply has batches queued and checks after each
	}
}

package raftnode

import (
	"errors"
	"fmt"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/zkd-io/zkd/internal/storage"
)

// errQuit ends the raft loop without a new error: the node is stopping or
// has already failed.
var errQuit = errors.New("raftnode: loop quit")

type applyBatch struct {
	// snap, when set, is a snapshot received from the leader: the state
	// machine is restored from its file before ents are applied.
	snap *storage.SnapshotMeta
	ents []*raftpb.Entry
	// done, when set, is closed after the batch is applied; the raft loop
	// waits for it when the batch holds a configuration change.
	done chan struct{}
}

type snapDone struct {
	meta storage.SnapshotMeta
	err  error
}

type purgeReq struct {
	retain int
	errc   chan error
}

// run is the raft loop: the only goroutine that touches the RawNode. It
// ticks it, steps what the inbox holds, and handles each Ready: WAL write,
// sends, hand-off to apply, Advance.
func (n *Node) run() {
	defer n.wg.Done()
	defer n.endProposals()
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	for {
		var err error
		select {
		case <-ticker.C:
			n.raw.Tick()
		case <-n.inbox.wake:
		case d := <-n.snapDonec:
			err = n.finishSnapshot(d)
		case req := <-n.purgec:
			req.errc <- n.st.Purge(req.retain)
		case <-n.stopc:
			return
		case <-n.failc:
			return
		}
		if err == nil {
			n.drainInbox()
			for err == nil && n.raw.HasReady() {
				rd := n.raw.Ready()
				if err = n.handleReady(rd); err == nil {
					n.raw.Advance(rd)
				}
			}
			if err == nil {
				err = n.trimLog()
			}
		}
		if err != nil {
			if !errors.Is(err, errQuit) {
				n.fail(err)
			}
			return
		}
	}
}

// handleReady persists, sends and hands off one Ready (the caller then
// calls Advance). A follower or candidate sends nothing before the
// HardState and entries of this Ready are durable, as the raft README
// requires; a leader sends its appends and heartbeats first (see below).
// Committed entries, already durable on a quorum, may be applied meanwhile.
func (n *Node) handleReady(rd raft.Ready) error {
	// A read index is the leader's commit index; callers wait for apply,
	// which happens only to committed entries, so answering early is safe.
	if len(rd.ReadStates) > 0 {
		n.deliverReads(rd.ReadStates)
	}
	// A snapshot from the leader is recorded in the WAL before the
	// HardState that commits it and the entries that follow it, as etcd
	// does: a restart then starts from the snapshot, never from a commit
	// index beyond the log it can read.
	var snap *storage.SnapshotMeta
	if !raft.IsEmptySnap(rd.Snapshot) {
		var err error
		if snap, err = n.recordReceivedSnapshot(rd.Snapshot); err != nil {
			return err
		}
	}
	confChange := hasConfChange(rd.CommittedEntries)
	// Committed entries are durable on a quorum already (on a one-member
	// group, on this disk: its own append is what commits them), so they
	// go to apply before this Ready's new entries are written, as etcd's
	// server does: a batch's apply and replies overlap the next batch's
	// fdatasync instead of waiting behind it. Snapshots and configuration
	// changes keep the strict order below.
	early := snap == nil && !confChange && len(rd.CommittedEntries) > 0
	if early {
		if err := n.handOff(&applyBatch{ents: rd.CommittedEntries}); err != nil {
			return err
		}
	}
	// A leader's appends and heartbeats leave before its own fdatasync, as
	// etcd's server sends them (raft thesis 10.2.1), so the followers write
	// while the leader does. Raft counts the leader's own copy only at
	// Advance, after this Save, so an entry still commits only once a
	// majority has it on disk. Replies raft holds until the append is
	// durable (append and vote responses) wait for the Save all the same.
	afterSave := rd.Messages
	if !confChange && snap == nil && n.leadsIn(rd) {
		afterSave = n.sendBeforeAppend(rd.Messages)
	}
	// One Save per Ready: every entry proposed since the last Ready shares
	// one fdatasync (group commit).
	if err := n.st.Save(rd.HardState, rd.Entries); err != nil {
		return err
	}
	if snap != nil {
		if err := n.ms.ApplySnapshot(rd.Snapshot); err != nil && !errors.Is(err, raft.ErrSnapOutOfDate) {
			return fmt.Errorf("raftnode: loading the leader's snapshot %d into the raft log: %w", snap.Index, err)
		}
	}
	if err := n.ms.Append(rd.Entries); err != nil {
		return fmt.Errorf("raftnode: appending to the in-memory raft log: %w", err)
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		n.term.Store(rd.HardState.GetTerm())
	}
	if rd.SoftState != nil {
		n.setSoftState(rd.SoftState)
	}

	// As in etcd, a batch that changes membership is applied before this
	// node sends anything more, so that it never counts votes or acks with
	// a stale configuration.
	if !confChange {
		n.send(afterSave)
	}
	if !early && (len(rd.CommittedEntries) > 0 || snap != nil) {
		b := &applyBatch{snap: snap, ents: rd.CommittedEntries}
		if confChange {
			b.done = make(chan struct{})
		}
		if err := n.handOff(b); err != nil {
			return err
		}
		if confChange {
			// Apply calls back into raft (ApplyConfChange) through the
			// inbox, which must keep moving meanwhile.
		wait:
			for {
				select {
				case <-b.done:
					break wait
				case <-n.inbox.wake:
					n.drainInbox()
				case <-n.stopc:
					return errQuit
				case <-n.failc:
					return errQuit
				}
			}
			n.send(rd.Messages)
		}
	}
	return nil
}

// leadsIn reports whether this node leads as of rd.
func (n *Node) leadsIn(rd raft.Ready) bool {
	if rd.SoftState != nil {
		return rd.SoftState.RaftState == raft.StateLeader
	}
	return n.isLeader.Load()
}

// sendBeforeAppend sends msgs except those raft means to leave only once
// this Ready's entries are durable, which it returns.
func (n *Node) sendBeforeAppend(msgs []*raftpb.Message) (afterSave []*raftpb.Message) {
	now := make([]*raftpb.Message, 0, len(msgs))
	for _, m := range msgs {
		if afterAppend(m.GetType()) {
			afterSave = append(afterSave, m)
		} else {
			now = append(now, m)
		}
	}
	n.send(now)
	return afterSave
}

// afterAppend reports whether raft holds messages of type t until the
// entries of their Ready are on disk.
func afterAppend(t raftpb.MessageType) bool {
	return t == raftpb.MsgAppResp || t == raftpb.MsgVoteResp || t == raftpb.MsgPreVoteResp
}

// handOff queues a batch for the apply goroutine. The channel's buffer
// bounds how far apply may lag behind the log.
func (n *Node) handOff(b *applyBatch) error {
	select {
	case n.applyc <- b:
		return nil
	case <-n.stopc:
		return errQuit
	case <-n.failc:
		return errQuit
	}
}

func hasConfChange(ents []*raftpb.Entry) bool {
	for _, e := range ents {
		if t := e.GetType(); t == raftpb.EntryConfChange || t == raftpb.EntryConfChangeV2 {
			return true
		}
	}
	return false
}

// send hands messages to the transport. A MsgSnap carries only the
// snapshot's metadata, so it leaves on its own with the snapshot file.
func (n *Node) send(msgs []*raftpb.Message) {
	if len(msgs) == 0 {
		return
	}
	snaps := 0
	for _, m := range msgs {
		if m.GetType() == raftpb.MsgSnap {
			snaps++
		}
	}
	if snaps > 0 {
		rest := make([]*raftpb.Message, 0, len(msgs)-snaps)
		for _, m := range msgs {
			if m.GetType() == raftpb.MsgSnap {
				n.sendSnapshot(m)
			} else {
				rest = append(rest, m)
			}
		}
		msgs = rest
	}
	if len(msgs) > 0 && n.cfg.Transport != nil {
		n.cfg.Transport.Send(msgs)
	}
}

func (n *Node) setSoftState(ss *raft.SoftState) {
	n.lead.Store(ss.Lead)
	n.isLeader.Store(ss.RaftState == raft.StateLeader)
	n.raftState.Store(uint64(ss.RaftState))
	n.statusMu.Lock()
	close(n.statusc)
	n.statusc = make(chan struct{})
	n.statusMu.Unlock()
}

func (n *Node) deliverReads(rs []raft.ReadState) {
	n.readMu.Lock()
	defer n.readMu.Unlock()
	for _, r := range rs {
		if ch, ok := n.reads[string(r.RequestCtx)]; ok {
			select {
			case ch <- r.Index:
			default: // a retry already got its answer
			}
		}
	}
}

// finishSnapshot runs on the raft loop once a snapshot file is on disk:
// record it in the WAL, let raft's in-memory log know, and compact that log
// behind it, keeping a tail for peers that are only slightly behind.
func (n *Node) finishSnapshot(d snapDone) error {
	if d.err != nil {
		return fmt.Errorf("raftnode: writing the snapshot at index %d: %w", d.meta.Index, d.err)
	}
	if err := n.st.RecordSnapshot(d.meta); err != nil {
		return err
	}
	// A lone member's log may be trimmed past the snapshot already (see
	// trimLog); it has no peer to send the snapshot to.
	if first, _ := n.ms.FirstIndex(); d.meta.Index+1 >= first {
		if _, err := n.ms.CreateSnapshot(d.meta.Index, d.meta.ConfState, nil); err != nil && !errors.Is(err, raft.ErrSnapOutOfDate) {
			return fmt.Errorf("raftnode: snapshot %d in the in-memory raft log: %w", d.meta.Index, err)
		}
	}
	if d.meta.Index > n.cfg.SnapCatchUpEntries {
		compact := d.meta.Index - n.cfg.SnapCatchUpEntries
		if err := n.ms.Compact(compact); err != nil && !errors.Is(err, raft.ErrCompacted) {
			return fmt.Errorf("raftnode: compacting the in-memory raft log to %d: %w", compact, err)
		}
	}
	if n.cfg.SnapRetainCount > 0 {
		// Failing to delete old files costs disk, not durability.
		if err := n.st.Purge(n.cfg.SnapRetainCount); err != nil {
			n.log.Warn("purging old snapshots and WAL segments", "err", err)
		}
	}
	n.snapping.Store(false)
	n.log.Info("snapshot taken", "index", d.meta.Index, "term", d.meta.Term)
	return nil
}

// trimEvery is how many applied entries a lone member's in-memory raft log
// gathers before trimLog drops them, so the copy Compact makes of the rest
// (the entries not yet applied) is paid once per trimEvery entries.
const trimEvery = 1024

// trimLog drops the applied entries from the in-memory raft log of a member
// that is alone in its configuration. Such a log serves only raft itself,
// which never reads an entry again once it is applied; the tail kept behind
// each snapshot is for peers that fall slightly behind, and a lone member
// has none (its membership is fixed while it runs). Without this a
// standalone server holds up to SnapCount entries in memory, ~45 MB for
// 100-byte creates, beside the tree they built.
func (n *Node) trimLog() error {
	applied := n.applied.Load()
	first, err := n.ms.FirstIndex()
	if err != nil || applied < first+trimEvery || !n.alone() {
		return nil
	}
	if err := n.ms.Compact(applied); err != nil && !errors.Is(err, raft.ErrCompacted) {
		return fmt.Errorf("raftnode: trimming the in-memory raft log to %d: %w", applied, err)
	}
	return nil
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

package raftnode

import (
	"context"
	"fmt"
	"io"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/zkd-io/zkd/internal/storage"
)

// Snapshots between peers. raft asks for a snapshot to be sent when a
// follower needs entries the leader has compacted away; the MsgSnap it
// emits names the leader's newest snapshot but holds no data. The leader
// streams that file with the message; the follower stores it, and only
// then lets raft see the message, so that whenever raft hands back a
// snapshot in a Ready its file is already on disk.

// sendSnapshot runs on the raft loop for each MsgSnap raft emits.
func (n *Node) sendSnapshot(m *raftpb.Message) {
	md := m.GetSnapshot().GetMetadata()
	meta := storage.SnapshotMeta{Index: md.GetIndex(), Term: md.GetTerm()}
	if n.cfg.Transport == nil {
		n.raw.ReportSnapshot(m.GetTo(), raft.SnapshotFailure)
		return
	}
	body, size, err := n.st.OpenRawSnapshot(meta)
	if err != nil {
		// Purged since raft chose it (a newer one replaced it): raft
		// probes the peer again and picks the current snapshot.
		n.log.Warn("cannot open the snapshot raft wants sent to a peer; reporting the transfer as failed",
			"to", m.GetTo(), "index", meta.Index, "err", err)
		n.raw.ReportSnapshot(m.GetTo(), raft.SnapshotFailure)
		return
	}
	n.log.Info("sending snapshot", "to", m.GetTo(), "index", meta.Index, "term", meta.Term, "bytes", size)
	n.cfg.Transport.SendSnapshot(m, body, size)
}

// ReceiveSnapshot takes a MsgSnap from the leader with the snapshot file
// it names: size bytes are read from body into the snapshot directory and
// checked (header, every chunk's CRC, index and term against the message),
// synced, and only then is the message handed to raft. The error tells the
// transport, and through it the leader, whether the transfer failed. A
// snapshot raft then finds out of date is ignored by raft, and its file is
// deleted at the next purge or start.
func (n *Node) ReceiveSnapshot(ctx context.Context, m *raftpb.Message, body io.Reader, size int64) error {
	if m.GetType() != raftpb.MsgSnap || m.GetSnapshot().GetMetadata() == nil {
		return fmt.Errorf("raftnode: ReceiveSnapshot got a %v message from %d without snapshot metadata, want MsgSnap", m.GetType(), m.GetFrom())
	}
	n.recvMu.RLock()
	defer n.recvMu.RUnlock()
	if err := n.checkRunning(); err != nil {
		return err
	}
	md := m.GetSnapshot().GetMetadata()
	meta := storage.SnapshotMeta{Index: md.GetIndex(), Term: md.GetTerm(), ConfState: md.GetConfState()}
	n.log.Info("receiving snapshot", "from", m.GetFrom(), "index", meta.Index, "term", meta.Term, "bytes", size)
	if err := n.st.SaveSnapshotFile(meta, &stopReader{r: body, ctx: ctx, stopc: n.stopc, failc: n.failc}, size); err != nil {
		if err2 := n.checkRunning(); err2 != nil {
			return err2
		}
		n.log.Warn("snapshot from the leader refused", "from", m.GetFrom(), "index", meta.Index, "err", err)
		return err
	}
	return n.step(ctx, m)
}

// stopReader aborts a long transfer when the node stops or the caller gives up.
type stopReader struct {
	r     io.Reader
	ctx   context.Context
	stopc <-chan struct{}
	failc <-chan struct{}
}

func (s *stopReader) Read(p []byte) (int, error) {
	select {
	case <-s.stopc:
		return 0, ErrStopped
	case <-s.failc:
		return 0, ErrStopped
	case <-s.ctx.Done():
		return 0, s.ctx.Err()
	default:
		return s.r.Read(p)
	}
}

// ReportUnreachable tells raft that a message to peer id was lost, so the
// leader stops streaming appends to it and probes it instead.
func (n *Node) ReportUnreachable(id uint64) {
	if n.checkRunning() != nil {
		return
	}
	n.inbox.do(func(rn *raft.RawNode) { rn.ReportUnreachable(id) })
}

// ReportSnapshot tells raft how a SendSnapshot to peer id ended: on success
// the leader resumes appending after the snapshot; on failure it probes the
// peer and sends a snapshot again if one is still needed.
func (n *Node) ReportSnapshot(id uint64, ok bool) {
	if n.checkRunning() != nil {
		return
	}
	status := raft.SnapshotFinish
	if !ok {
		status = raft.SnapshotFailure
	}
	n.inbox.do(func(rn *raft.RawNode) { rn.ReportSnapshot(id, status) })
}

// recordReceivedSnapshot runs on the append goroutine when raft accepted a
// snapshot from the leader: the file ReceiveSnapshot stored must be there,
// and is recorded in the WAL.
func (n *Node) recordReceivedSnapshot(s *raftpb.Snapshot) (*storage.SnapshotMeta, error) {
	md := s.GetMetadata()
	meta := &storage.SnapshotMeta{
		Index: md.GetIndex(), Term: md.GetTerm(),
		ConfState: proto.Clone(confStateOrEmpty(md.GetConfState())).(*raftpb.ConfState),
	}
	r, err := n.st.OpenSnapshot(*meta)
	if err != nil {
		return nil, fmt.Errorf("raftnode: raft accepted the leader's snapshot at index %d, but its file cannot be opened: %w", meta.Index, err)
	}
	r.Close()
	if err := n.st.RecordSnapshot(*meta); err != nil {
		return nil, err
	}
	n.log.Info("installing snapshot from the leader", "index", meta.Index, "term", meta.Term)
	return meta, nil
}

// restoreSnapshot runs on the apply goroutine: the state machine is
// replaced by the snapshot's state, which also becomes the point the next
// snapshot is counted from.
func (n *Node) restoreSnapshot(meta *storage.SnapshotMeta) error {
	r, err := n.st.OpenSnapshot(*meta)
	if err != nil {
		return fmt.Errorf("raftnode: opening the leader's snapshot %d: %w", meta.Index, err)
	}
	cr := &storage.CountingReader{R: r}
	err = n.sm.Restore(cr)
	r.Close() // read-only: nothing to lose
	if err != nil {
		return fmt.Errorf("raftnode: restoring the leader's snapshot %d into the state machine: %w", meta.Index, err)
	}
	n.confMu.Lock()
	n.confState = meta.ConfState
	n.confMu.Unlock()
	n.snapIndex.Store(meta.Index)
	n.snapBytes, n.appliedTerm = 0, meta.Term
	n.snapSize.Store(uint64(cr.N))
	n.log.Info("restored the state machine from the leader's snapshot", "index", meta.Index, "term", meta.Term)
	return nil
}

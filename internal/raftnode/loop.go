package raftnode

import (
	"errors"
	"runtime"
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
	// resps are raft's responses to deliver once ents are applied
	// (MsgStorageApplyResp).
	resps []*raftpb.Message
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
// ticks it, steps what the inbox holds, and handles each Ready: sends,
// hands log writes to the append goroutine and commits to apply. It never
// waits for the disk (raft runs with AsyncStorageWrites), so a leader's
// acknowledgements and commits keep flowing while its own log syncs.
func (n *Node) run() {
	defer n.wg.Done()
	defer close(n.loopDone)
	defer n.endProposals()
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			n.raw.Tick()
		case <-n.inbox.wake:
			// Yield once before draining: connections and peer streams
			// that are already runnable add their proposals and
			// messages to this Ready, so one append and one broadcast
			// carry more entries (fewer raft messages, socket writes and
			// fdatasyncs per write). Nothing waits longer than the work
			// that was already runnable.
			runtime.Gosched()
		case <-n.stopc:
			return
		case <-n.failc:
			return
		}
		n.drainInbox()
		var err error
		for err == nil && n.raw.HasReady() {
			err = n.handleReady(n.raw.Ready())
		}
		if err == nil {
			err = n.trimLog()
		}
		if err != nil {
			if !errors.Is(err, errQuit) {
				n.fail(err)
			}
			return
		}
	}
}

// handleReady dispatches one Ready. raft has already put every message
// that must wait for this node's log write (append and vote responses)
// among the responses of its MsgStorageAppend, which the append goroutine
// delivers once the write is durable; everything else leaves now. A
// leader's appends thus reach the followers before its own fdatasync (raft
// thesis 10.2.1); its own acknowledgement still counts only once its write
// is done, and raft hands an entry to apply only once it is durable here.
func (n *Node) handleReady(rd raft.Ready) error {
	// A read index is the leader's commit index; callers wait for apply,
	// which happens only to committed entries, so answering early is safe.
	if len(rd.ReadStates) > 0 {
		n.deliverReads(rd.ReadStates)
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		n.term.Store(rd.HardState.GetTerm())
	}
	if rd.SoftState != nil {
		n.setSoftState(rd.SoftState)
	}
	var apply *raftpb.Message
	out := make([]*raftpb.Message, 0, len(rd.Messages))
	for _, m := range rd.Messages {
		switch m.GetTo() {
		case raft.LocalAppendThread:
			n.appendq.push(m)
		case raft.LocalApplyThread:
			apply = m
		default:
			out = append(out, m)
		}
	}
	if apply == nil {
		n.send(out)
		return nil
	}
	b := &applyBatch{ents: apply.GetEntries(), resps: apply.GetResponses()}
	if !hasConfChange(b.ents) {
		n.send(out)
		return n.handOff(b)
	}
	// As in etcd, a batch that changes membership is applied before this
	// node sends anything more, so that it never counts votes or acks with
	// a stale configuration. Apply calls back into raft (ApplyConfChange)
	// through the inbox, which must keep moving meanwhile.
	b.done = make(chan struct{})
	if err := n.handOff(b); err != nil {
		return err
	}
	for {
		select {
		case <-b.done:
			n.send(out)
			return nil
		case <-n.inbox.wake:
			n.drainInbox()
		case <-n.stopc:
			return errQuit
		case <-n.failc:
			return errQuit
		}
	}
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

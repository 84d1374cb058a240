package raftnode

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// maxInboxMsgs bounds the peer messages waiting for the raft loop; past it
// new ones are dropped, which raft tolerates as it does network loss.
const maxInboxMsgs = 16384

// maxPropBatch bounds the entry bytes stepped into raft as one proposal
// message, so one batch never exceeds what raft accepts uncommitted.
const maxPropBatch = maxSizePerMsg

// inbox carries work from other goroutines to the raft loop, which alone
// touches the RawNode. Callers append under a mutex and wake the loop; the
// loop takes everything queued at once, so proposals that arrive together
// enter raft as one message (one append, one broadcast) and no caller
// waits for the loop to pick its work up.
type inbox struct {
	mu    sync.Mutex
	props []proposal
	msgs  []*raftpb.Message
	// local holds the responses of this node's own append and apply
	// goroutines (MsgStorageAppendResp, the leader's MsgAppResp to itself,
	// MsgStorageApplyResp, ...). Unlike peers' messages they are never
	// dropped: raft waits for each of them, and bounds how many can be
	// outstanding.
	local []*raftpb.Message
	ops   []func(*raft.RawNode)
	err   error // once set (the loop ended or the node failed), new work fails with it
	wake  chan struct{}
}

// proposal is one entry's data and whom to tell whether raft took it.
type proposal struct {
	data   []byte
	queued time.Time
	// done is called once, with nil when raft appended the entry or the
	// error that made it drop it. It runs on the raft loop (or on the
	// caller's goroutine after the loop ended) and must not block.
	done func(error)
}

func newInbox() *inbox { return &inbox{wake: make(chan struct{}, 1)} }

func (b *inbox) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *inbox) propose(p proposal) {
	b.mu.Lock()
	if err := b.err; err != nil {
		b.mu.Unlock()
		p.done(err)
		return
	}
	p.queued = time.Now()
	b.props = append(b.props, p)
	b.mu.Unlock()
	b.signal()
}

// message queues a peer's message; it reports false if it was dropped.
func (b *inbox) message(m *raftpb.Message) bool {
	return b.add(func() bool {
		if len(b.msgs) >= maxInboxMsgs {
			return false
		}
		b.msgs = append(b.msgs, m)
		return true
	})
}

// respond queues responses of the append or apply goroutine, in order.
func (b *inbox) respond(ms []*raftpb.Message) {
	if len(ms) == 0 {
		return
	}
	b.add(func() bool {
		b.local = append(b.local, ms...)
		return true
	})
}

// do queues op to run on the raft loop; it reports false if the loop has
// ended, and op will never run.
func (b *inbox) do(op func(*raft.RawNode)) bool {
	return b.add(func() bool {
		b.ops = append(b.ops, op)
		return true
	})
}

// add runs queue under the lock unless the loop has ended, and wakes the
// loop if queue reports that it queued something.
func (b *inbox) add(queue func() bool) bool {
	b.mu.Lock()
	ok := b.err == nil && queue()
	b.mu.Unlock()
	if ok {
		b.signal()
	}
	return ok
}

// take returns everything queued and empties the queues.
func (b *inbox) take(props []proposal, local, msgs []*raftpb.Message, ops []func(*raft.RawNode)) ([]proposal, []*raftpb.Message, []*raftpb.Message, []func(*raft.RawNode)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	props, b.props = b.props, props[:0]
	local, b.local = b.local, local[:0]
	msgs, b.msgs = b.msgs, msgs[:0]
	ops, b.ops = b.ops, ops[:0]
	return props, local, msgs, ops
}

// close ends the inbox: queued and later proposals fail with err, queued
// and later operations never run.
func (b *inbox) close(err error) []proposal {
	b.mu.Lock()
	props := b.props
	b.props, b.local, b.msgs, b.ops, b.err = nil, nil, nil, nil, err
	b.mu.Unlock()
	return props
}

// endProposals fails every proposal still queued or held, once the raft
// loop has ended.
func (n *Node) endProposals() {
	err := n.stoppedErr()
	for _, p := range append(n.held, n.inbox.close(err)...) {
		p.done(err)
	}
	n.held = nil
}

// call runs op on the raft loop and waits for it; it fails if the node
// stops or ctx ends first.
func (n *Node) call(ctx context.Context, op func(*raft.RawNode)) error {
	done := make(chan struct{})
	if !n.inbox.do(func(rn *raft.RawNode) { op(rn); close(done) }) {
		return n.stoppedErr()
	}
	return n.await(ctx, done)
}

// step steps m into raft on the raft loop and returns raft's verdict.
func (n *Node) step(ctx context.Context, m *raftpb.Message) error {
	var err error
	if cerr := n.call(ctx, func(rn *raft.RawNode) { err = rn.Step(m) }); cerr != nil {
		return cerr
	}
	return err
}

// drainInbox steps everything queued into raft: the append and apply
// goroutines' responses first (an operation queued after a waiter saw an
// apply must find raft knowing of it), then operations, then peers'
// messages, then local proposals (held ones first) as one message per
// maxPropBatch bytes. When raft drops a batch for want of a leader, it
// and everything after it are held, to be stepped again at the next call
// (the loop runs at least every tick), until the oldest has waited
// ProposalWait: then all held fail, so that none can overtake another.
func (n *Node) drainInbox() {
	n.props, n.local, n.msgs, n.ops = n.inbox.take(n.props, n.local, n.msgs, n.ops)
	if len(n.held) > 0 {
		n.props = append(n.held, n.props...)
		n.held = nil
	}
	for i, m := range n.local {
		if err := n.raw.Step(m); err != nil {
			n.log.Debug("raft refused a local storage response", "type", m.GetType().String(), "err", err)
		}
		n.local[i] = nil
	}
	for i, op := range n.ops {
		op(n.raw)
		n.ops[i] = nil
	}
	for i, m := range n.msgs {
		switch {
		case m.GetType() == raftpb.MsgHeartbeat:
			m = n.checkHeartbeat(m)
		case m.GetType() == raftpb.MsgAppResp && m.GetReject():
			n.checkRejection(m)
		}
		if err := n.raw.Step(m); err != nil {
			n.log.Debug("raft refused a peer's message", "type", m.GetType().String(), "from", m.GetFrom(), "err", err)
		}
		n.msgs[i] = nil
	}
	for props := n.props; len(props) > 0; {
		k, size := 0, 0
		for k < len(props) && (k == 0 || size+len(props[k].data) <= maxPropBatch) {
			size += len(props[k].data)
			k++
		}
		ents := make([]*raftpb.Entry, k)
		for i := range ents {
			ents[i] = &raftpb.Entry{Data: props[i].data}
		}
		err := n.raw.Step(&raftpb.Message{Type: raftpb.MsgProp.Enum(), From: new(n.cfg.ID), Entries: ents})
		if errors.Is(err, raft.ErrProposalDropped) {
			if time.Since(props[0].queued) < n.cfg.ProposalWait {
				n.held = append(n.held[:0:0], props...)
			} else {
				for _, p := range props {
					p.done(err)
				}
			}
			clear(props)
			return
		}
		for i := range k {
			props[i].done(err)
			props[i] = proposal{}
		}
		props = props[k:]
	}
}

package raftnode

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/zkd-io/zkd/internal/storage"
)

// runApply applies committed batches in log order. It is the only caller of
// StateMachine.Apply and Snapshot.
func (n *Node) runApply() {
	defer n.wg.Done()
	for {
		select {
		case b := <-n.applyc:
			if err := n.apply(b); err != nil {
				n.fail(err)
				return
			}
		case <-n.stopc:
			return
		case <-n.failc:
			return
		}
	}
}

func (n *Node) apply(b *applyBatch) error {
	applied := n.applied.Load()
	if b.snap != nil && b.snap.Index > applied {
		if err := n.restoreSnapshot(b.snap); err != nil {
			return err
		}
		applied = b.snap.Index
	}
	for _, e := range b.ents {
		if e.GetIndex() <= applied {
			continue // already in the restored snapshot
		}
		switch e.GetType() {
		case raftpb.EntryNormal:
			n.sm.Apply(e)
		case raftpb.EntryConfChange:
			cc := &raftpb.ConfChange{}
			if err := proto.Unmarshal(e.GetData(), cc); err != nil {
				return fmt.Errorf("raftnode: entry %d: decoding a configuration change: %w", e.GetIndex(), err)
			}
			n.applyConfChange(cc)
		case raftpb.EntryConfChangeV2:
			cc := &raftpb.ConfChangeV2{}
			if err := proto.Unmarshal(e.GetData(), cc); err != nil {
				return fmt.Errorf("raftnode: entry %d: decoding a configuration change: %w", e.GetIndex(), err)
			}
			n.applyConfChange(cc)
		}
		applied, n.appliedTerm = e.GetIndex(), e.GetTerm()
		n.snapBytes += uint64(len(e.GetData()))
	}
	n.applied.Store(applied)
	// raft hears of the apply before any waiter can act on it (a sole
	// voter's campaign at start is refused while raft believes a
	// configuration change is still being applied).
	n.inbox.respond(b.resps)
	n.waits.trigger(applied)
	if b.done != nil {
		close(b.done)
	}
	return n.maybeSnapshot()
}

func (n *Node) applyConfChange(cc raftpb.ConfChangeI) {
	var cs *raftpb.ConfState
	if n.call(context.Background(), func(rn *raft.RawNode) { cs = rn.ApplyConfChange(cc) }) != nil {
		return // raft node stopped
	}
	n.confMu.Lock()
	n.confState = cs
	n.confMu.Unlock()
}

// maybeSnapshot captures the state machine once snapDue says so (within
// SnapCount entries, or snapLimit bytes of entry data), or at once when a
// peer needs a snapshot that reaches the log (wantSnapshot), and serializes it
// on another goroutine, so apply never waits for the disk. At most one
// snapshot is in progress; entries keep arriving meanwhile and the next
// snapshot is taken after the current one finishes.
func (n *Node) maybeSnapshot() error {
	applied := n.applied.Load()
	if n.snapping.Load() {
		return nil
	}
	wanted := n.snapWanted.Swap(false) && applied > n.snapIndex.Load()
	if !wanted && !n.snapDue.due(n.cfg, applied-n.snapIndex.Load(), n.snapBytes, n.snapLimit()) {
		return nil
	}
	write, err := n.sm.Snapshot()
	if err != nil {
		return fmt.Errorf("raftnode: capturing a state machine snapshot at index %d: %w", applied, err)
	}
	n.confMu.Lock()
	cs := proto.Clone(confStateOrEmpty(n.confState)).(*raftpb.ConfState)
	n.confMu.Unlock()
	meta := storage.SnapshotMeta{Index: applied, Term: n.appliedTerm, ConfState: cs}
	n.snapIndex.Store(applied)
	n.snapBytes = 0
	n.snapDue.roll(n.cfg)
	n.snapping.Store(true)
	n.wg.Add(1) // the apply goroutine holds a count, so this never races Wait at zero
	go n.writeSnapshot(meta, write)
	return nil
}

// snapLimit is the byte trigger in force: SnapBytes, or the size of the
// last snapshot when that is larger. Each snapshot writes the whole tree,
// so a fixed trigger under a tree several times its size would write the
// tree several times over for each byte of log; sized to the tree,
// snapshots write at most about as much as the log they follow. The log
// between snapshots is what a restart replays: it stays within the tree's
// size (and SnapCount entries).
func (n *Node) snapLimit() uint64 {
	return max(n.cfg.SnapBytes, n.snapSize.Load())
}

func (n *Node) writeSnapshot(meta storage.SnapshotMeta, write func(io.Writer) error) {
	defer n.wg.Done()
	start := time.Now()
	sw := &stopWriter{stopc: n.stopc}
	err := n.st.WriteSnapshot(meta, func(w io.Writer) error {
		sw.w = w
		return write(sw)
	})
	if err == nil {
		n.snapSize.Store(sw.n)
		n.log.Debug("snapshot serialized", "index", meta.Index, "bytes", sw.n, "took", time.Since(start))
	}
	select {
	case n.snapDonec <- snapDone{meta: meta, err: err}:
	case <-n.stopc:
	case <-n.failc:
	}
}

// stopWriter aborts a long serialization when the node stops, and counts
// the bytes serialized.
type stopWriter struct {
	w     io.Writer
	stopc <-chan struct{}
	n     uint64
}

func (s *stopWriter) Write(p []byte) (int, error) {
	select {
	case <-s.stopc:
		return 0, ErrStopped
	default:
		k, err := s.w.Write(p)
		s.n += uint64(k)
		return k, err
	}
}

// applyWaits wakes WaitApplied callers when the applied index reaches
// theirs. Waiters for one index share a channel; trigger skips the scan
// while no waiter is due.
type applyWaits struct {
	mu      sync.Mutex
	applied uint64
	waits   map[uint64]chan struct{}
	minWait uint64
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (w *applyWaits) init() {
	w.waits = make(map[uint64]chan struct{})
	w.minWait = math.MaxUint64
}

func (w *applyWaits) wait(index uint64) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if index <= w.applied {
		return closedChan
	}
	ch, ok := w.waits[index]
	if !ok {
		ch = make(chan struct{})
		w.waits[index] = ch
		w.minWait = min(w.minWait, index)
	}
	return ch
}

func (w *applyWaits) trigger(applied uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.applied = applied
	if applied < w.minWait {
		return
	}
	next := uint64(math.MaxUint64)
	for idx, ch := range w.waits {
		if idx <= applied {
			close(ch)
			delete(w.waits, idx)
		} else {
			next = min(next, idx)
		}
	}
	w.minWait = next
}

// snapDue is when the next snapshot falls due, drawn as ZooKeeper's
// SyncRequestProcessor draws it: past half of SnapCount entries plus a
// random part of the other half, or past half of the byte trigger plus a
// random part of the other half, whichever comes first. Members of a group
// then snapshot at different times, and never all stall on the disk at
// once.
type snapDue struct {
	count uint64  // random part, below half of SnapCount
	share float64 // random part of the byte trigger's other half, in [0, 1)
}

// roll draws the next due point; start draws the first.
func (d *snapDue) roll(cfg Config) {
	d.count = rand.Uint64N(max(cfg.SnapCount/2, 1))
	d.share = rand.Float64()
}

// due reports whether a snapshot is due after entries entries and bytes
// bytes of entry data since the last one, under a byte trigger of limit
// (see snapLimit).
func (d *snapDue) due(cfg Config, entries, bytes, limit uint64) bool {
	return entries >= cfg.SnapCount/2+d.count+1 || bytes >= d.byteThreshold(limit)
}

// byteThreshold is the entry data past which a snapshot is due under a
// byte trigger of limit: in (limit/2, limit].
func (d *snapDue) byteThreshold(limit uint64) uint64 {
	half := limit / 2
	return half + uint64(d.share*float64(limit-half-1)) + 1
}

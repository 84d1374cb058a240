// Package raftnode owns zkd's etcd raft node. One goroutine, the raft loop,
// ticks it and handles each Ready; raft runs with AsyncStorageWrites, so the
// loop never waits for the disk: it sends, and hands log writes to the
// append goroutine and committed entries to the apply goroutine as raft's
// MsgStorageAppend and MsgStorageApply messages. The append goroutine is the
// only writer of the WAL (group commit: every append queued while one
// fdatasync runs shares the next), and delivers the responses raft attached
// once they are durable; the apply goroutine applies committed entries to
// the state machine in log order; a short-lived one streams a snapshot to
// disk when one is due.
//
// Peers are reached through a Transport the caller provides. raft's
// MemoryStorage holds snapshot metadata only, so a snapshot for a lagging
// peer travels beside its raft message: the leader streams its snapshot
// file (Transport.SendSnapshot), and the follower checks and stores the
// stream before raft sees the message (ReceiveSnapshot), then restores the
// state machine from that file on the apply goroutine.
//
// It is the only code that touches raft and the WAL. raft's RawNode is driven
// by the raft loop itself, not by raft's own goroutine: other goroutines
// queue proposals, peers' messages and operations in an inbox that the loop
// drains in one go, so concurrent proposals enter raft as one batch and no
// proposer waits for a goroutine hand-off. It must never
// acknowledge what raft has not made durable, never drop a persistence error
// (the node stops and reports it on Err), and never interpret entry data,
// which belongs to the state machine.
package raftnode

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/zkd-io/zkd/internal/storage"
)

// StateMachine is what raftnode applies committed entries to.
type StateMachine interface {
	// Apply is called for every committed EntryNormal, in log order, on one
	// goroutine, including the empty entry each new leader appends at the
	// start of its term: that is how the state machine learns the new term
	// (the zxid epoch) before any entry of that term. Configuration change
	// entries are applied to raft by raftnode and not passed here.
	Apply(e *raftpb.Entry)
	// Snapshot is called on the apply goroutine between two Apply calls. It
	// must capture the state cheaply and return a function that serializes
	// that captured state; the function runs on another goroutine while
	// Apply continues, so it must not read state that Apply changes.
	Snapshot() (func(io.Writer) error, error)
	// Restore replaces the whole state from a snapshot stream: at Start,
	// before any Apply, and on the apply goroutine between two Apply calls
	// when the leader sent a snapshot because this server lagged too far
	// behind its log. The reader returns an error if the file is corrupt.
	// A serializer returned by an earlier Snapshot may still be running and
	// must keep its captured view.
	Restore(r io.Reader) error
}

// Transport delivers raft messages to peers. Both methods are called from
// the raft loop and must not block for long.
type Transport interface {
	// Send delivers messages other than MsgSnap, best effort; a peer that
	// cannot be reached should be reported with Node.ReportUnreachable.
	Send(msgs []*raftpb.Message)
	// SendSnapshot delivers a MsgSnap together with the snapshot file it
	// names (size bytes), to be handed to the peer's Node.ReceiveSnapshot.
	// It must close body, and call Node.ReportSnapshot(m.To, ok) when the
	// transfer has finished or failed: raft sends the peer nothing else
	// until then.
	SendSnapshot(m *raftpb.Message, body io.ReadCloser, size int64)
}

// Config configures a Node. Zero values take the defaults noted.
type Config struct {
	// ID is this server's id (myid), never 0.
	ID uint64
	// Peers are the voting members (ids) used only when the data directory
	// is empty; afterwards membership comes from the log.
	Peers []uint64
	// Learners are the non-voting members (observers) at first start.
	Learners []uint64
	// WALDir holds only WAL segments; SnapDir holds snapshots and the lock.
	WALDir, SnapDir string
	// TickInterval is the raft tick (default 100ms).
	TickInterval time.Duration
	// ElectionTicks (default 10) must exceed HeartbeatTicks (default 1).
	ElectionTicks, HeartbeatTicks int
	// SnapCount bounds the applied entries between snapshots (default
	// 100000). As in ZooKeeper, each snapshot is due after a random count
	// between half of it and all of it, so that the members of a group do
	// not all snapshot at once.
	SnapCount uint64
	// SnapBytes also takes a snapshot once this many bytes of entry data
	// were applied since the last one (default 64 MiB; due, likewise, at a
	// random point past half of it), so that large entries do not grow the
	// log (and a lagging peer's catch-up) without bound between SnapCount
	// snapshots. It is raised to the size of the last snapshot when that
	// is larger (see snapLimit).
	SnapBytes uint64
	// SlowSyncThreshold is how long a WAL or snapshot fsync may take
	// before it is logged as slow (fsync.warningthresholdms); 0 keeps the
	// storage default (1 s).
	SlowSyncThreshold time.Duration
	// SnapCatchUpEntries is how many applied entries an ensemble member
	// keeps in its in-memory raft log, so that slightly lagging peers catch
	// up from the log rather than a snapshot; a leader also keeps what its
	// peers have not acknowledged (see window.go). Default 5000.
	SnapCatchUpEntries uint64
	// WindowBytes bounds the entry data of those SnapCatchUpEntries
	// entries: fewer are kept if theirs would pass it (default 64 MiB).
	WindowBytes uint64
	// ProposalWait is how long a proposal raft drops for want of a leader
	// (an election is running) is held and stepped again, in order with
	// those queued after it, before it fails (default 2s).
	ProposalWait time.Duration
	// SnapRetainCount, when > 0, purges after each snapshot: the newest
	// SnapRetainCount snapshots and the WAL behind them are kept. With 0,
	// nothing is deleted unless Purge is called.
	SnapRetainCount int
	// NoZeroFill keeps the log's segments as the WAL preallocates them
	// (storage.WithoutZeroFill).
	NoZeroFill bool
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Transport may be nil for a one-member group.
	Transport Transport
}

const (
	defaultTickInterval       = 100 * time.Millisecond
	defaultElectionTicks      = 10
	defaultHeartbeatTicks     = 1
	defaultSnapCount          = 100000
	defaultProposalWait       = 2 * time.Second
	defaultSnapBytes          = 64 << 20
	defaultSnapCatchUpEntries = 5000
	defaultWindowBytes        = 64 << 20

	// Flow control, as etcd sets it: a message carries at most 1 MiB of
	// entries, 256 may be in flight per follower, and proposals beyond
	// 256 MiB of uncommitted payload are refused (ErrProposalDropped) so a
	// stalled quorum cannot grow memory without bound.
	maxSizePerMsg             = 1 << 20
	maxInflightMsgs           = 256
	maxUncommittedEntriesSize = 256 << 20

	// peerPropQueue bounds proposals forwarded by peers and not yet handed
	// to raft; peerPropWait bounds how long one waits for a leader.
	peerPropQueue = 4096
	peerPropWait  = 5 * time.Second

	// readIndexRetry re-sends a ReadIndex that got no answer, e.g. because
	// it reached a follower with no leader and raft dropped it.
	readIndexRetry = 500 * time.Millisecond
)

func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.ID == 0 {
		return out, errors.New("raftnode: ID must not be 0")
	}
	if out.WALDir == "" || out.SnapDir == "" {
		return out, fmt.Errorf("raftnode: WALDir %q and SnapDir %q must both be set", out.WALDir, out.SnapDir)
	}
	if out.TickInterval < 0 || out.ElectionTicks < 0 || out.HeartbeatTicks < 0 || out.SnapRetainCount < 0 {
		return out, fmt.Errorf("raftnode: TickInterval %v, ElectionTicks %d, HeartbeatTicks %d and SnapRetainCount %d must not be negative",
			out.TickInterval, out.ElectionTicks, out.HeartbeatTicks, out.SnapRetainCount)
	}
	if out.TickInterval == 0 {
		out.TickInterval = defaultTickInterval
	}
	if out.ElectionTicks == 0 {
		out.ElectionTicks = defaultElectionTicks
	}
	if out.HeartbeatTicks == 0 {
		out.HeartbeatTicks = defaultHeartbeatTicks
	}
	if out.ElectionTicks <= out.HeartbeatTicks {
		return out, fmt.Errorf("raftnode: ElectionTicks %d must be greater than HeartbeatTicks %d", out.ElectionTicks, out.HeartbeatTicks)
	}
	if out.SnapCount == 0 {
		out.SnapCount = defaultSnapCount
	}
	if out.SnapBytes == 0 {
		out.SnapBytes = defaultSnapBytes
	}
	if out.ProposalWait == 0 {
		out.ProposalWait = defaultProposalWait
	}
	if out.SnapCatchUpEntries == 0 {
		out.SnapCatchUpEntries = defaultSnapCatchUpEntries
	}
	if out.WindowBytes == 0 {
		out.WindowBytes = defaultWindowBytes
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	return out, nil
}

// Errors.
var (
	// ErrStopped is returned by calls on a Node after Stop.
	ErrStopped = errors.New("raftnode: stopped")
	// ErrProposalDropped is raft's: no leader accepted the proposal, or the
	// uncommitted log is full. The caller may retry.
	ErrProposalDropped = raft.ErrProposalDropped
)

// Status is this node's view of leadership.
type Status struct {
	ID, Leader, Term uint64
	IsLeader         bool
	// Role is "leader", "follower", "observer" (a learner in the current
	// configuration) or "candidate" (also while pre-voting).
	Role string
}

// Stats are counters for metrics.
type Stats struct {
	storage.Stats
	AppliedIndex uint64
}

// persister is what the node's goroutines need from storage; tests wrap it to
// inject failures.
type persister interface {
	Save(hs *raftpb.HardState, ents []*raftpb.Entry) error
	WriteSnapshot(meta storage.SnapshotMeta, write func(io.Writer) error) error
	RecordSnapshot(meta storage.SnapshotMeta) error
	OpenSnapshot(meta storage.SnapshotMeta) (io.ReadCloser, error)
	OpenRawSnapshot(meta storage.SnapshotMeta) (io.ReadCloser, int64, error)
	SaveSnapshotFile(meta storage.SnapshotMeta, r io.Reader, size int64) error
	Purge(retainCount int) error
	Stats() storage.Stats
	Close() error
}

// Node is a running raft member. Its methods are safe for concurrent use.
type Node struct {
	cfg Config
	log *slog.Logger
	sm  StateMachine
	st  persister
	ms  *raft.MemoryStorage
	raw *raft.RawNode // raft loop only (see inbox)

	inbox *inbox
	// The raft loop's reusable buffers for what it takes from the inbox,
	// and the proposals raft dropped for want of a leader, oldest first.
	held  []proposal
	props []proposal
	local []*raftpb.Message
	msgs  []*raftpb.Message
	ops   []func(*raft.RawNode)

	appendq   *appendQueue // raft loop to append goroutine (runAppend)
	applyc    chan *applyBatch
	snapDonec chan snapDone
	purgec    chan purgeReq
	peerProps chan *raftpb.Message // proposals forwarded by peers (runPeerProposals)

	stopc    chan struct{}
	loopDone chan struct{} // closed when the raft loop has returned
	stopOnce sync.Once
	wg       sync.WaitGroup

	failc    chan struct{}
	failOnce sync.Once
	failErr  error // written once, before failc is closed
	errc     chan error

	// Owned by the apply goroutine, except as noted.
	applied     atomic.Uint64 // read anywhere
	waits       applyWaits
	appliedTerm uint64
	snapIndex   atomic.Uint64 // the last snapshot, or the one being written; read by the raft loop
	snapBytes   uint64        // entry data applied since snapIndex
	snapDue     snapDue       // when the next snapshot is due
	snapSize    atomic.Uint64 // payload bytes of the last snapshot written or restored
	snapping    atomic.Bool   // set by apply, cleared by the append goroutine
	snapWanted  atomic.Bool   // a peer needs a snapshot now (wantSnapshot)
	trimMu      sync.Mutex    // trimLog against logSnapshot
	// The raft loop's last windowKeep: entries kept, at which applied index.
	kept, keptAt uint64
	confMu       sync.Mutex
	confState    *raftpb.ConfState

	lead      atomic.Uint64
	term      atomic.Uint64
	isLeader  atomic.Bool
	raftState atomic.Uint64 // raft.StateType
	statusMu  sync.Mutex
	statusc   chan struct{} // closed and replaced on every leadership change

	readMu     sync.Mutex
	reads      map[string]chan uint64
	readSeq    atomic.Uint64
	readPrefix [8]byte

	lost lostLog

	// recvMu is read-held by each ReceiveSnapshot for its whole run, so
	// that Stop can wait for them before closing storage.
	recvMu sync.RWMutex
}

// Start opens the data directories, restores the newest snapshot into sm,
// starts raft, and returns once every entry committed before the restart
// has been applied to sm, so the caller never serves older state than it
// acknowledged. A fresh directory is bootstrapped with Peers and Learners.
// A one-member group elects itself before Start returns.
func Start(cfg Config, sm StateMachine) (*Node, error) {
	return start(cfg, sm, nil)
}

func start(cfg Config, sm StateMachine, wrap func(persister) persister) (*Node, error) {
	if sm == nil {
		return nil, errors.New("raftnode: nil state machine")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger.With("component", "raftnode", "id", cfg.ID)
	spec := speculate(cfg.SnapDir, sm)
	var stOpts []storage.Option
	if cfg.NoZeroFill {
		stOpts = append(stOpts, storage.WithoutZeroFill())
	}
	st, rec, err := storage.Open(cfg.WALDir, cfg.SnapDir, cfg.Logger, stOpts...)
	if err != nil {
		<-spec.done
		return nil, err
	}
	restored, err := spec.settle(sm, rec.Snapshot)
	if err != nil {
		st.Close()
		return nil, err
	}
	if cfg.SlowSyncThreshold != 0 {
		st.SetSlowSyncThreshold(cfg.SlowSyncThreshold)
	}
	var p persister = st
	if wrap != nil {
		p = wrap(st)
	}
	n := &Node{
		cfg:       cfg,
		log:       logger,
		sm:        sm,
		st:        p,
		ms:        raft.NewMemoryStorage(),
		appendq:   newAppendQueue(),
		applyc:    make(chan *applyBatch, 16),
		snapDonec: make(chan snapDone),
		purgec:    make(chan purgeReq),
		inbox:     newInbox(),
		peerProps: make(chan *raftpb.Message, peerPropQueue),
		stopc:     make(chan struct{}),
		loopDone:  make(chan struct{}),
		failc:     make(chan struct{}),
		errc:      make(chan error, 1),
		statusc:   make(chan struct{}),
		reads:     make(map[string]chan uint64),
		confState: &raftpb.ConfState{},
	}
	n.waits.init()
	n.snapDue.roll(cfg)
	if _, err := rand.Read(n.readPrefix[:]); err != nil {
		p.Close()
		return nil, fmt.Errorf("raftnode: read-request id: %w", err)
	}
	hs, err := n.load(rec, restored)
	if err != nil {
		p.Close()
		return nil, err
	}
	n.raw, err = raft.NewRawNode(&raft.Config{
		ID:                        cfg.ID,
		ElectionTick:              cfg.ElectionTicks,
		HeartbeatTick:             cfg.HeartbeatTicks,
		Storage:                   windowStorage{MemoryStorage: n.ms, n: n},
		Applied:                   n.applied.Load(),
		MaxSizePerMsg:             maxSizePerMsg,
		MaxInflightMsgs:           maxInflightMsgs,
		MaxUncommittedEntriesSize: maxUncommittedEntriesSize,
		AsyncStorageWrites:        true,
		CheckQuorum:               true,
		PreVote:                   true,
		Logger:                    &raftLogger{l: logger},
	})
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("raftnode: starting raft: %w", err)
	}
	n.term.Store(hs.GetTerm())
	n.wg.Add(4)
	go n.run()
	go n.runAppend()
	go n.runApply()
	go n.runPeerProposals()

	// Committed entries after the snapshot come back through Ready; wait
	// for them so the state machine is current before anyone reads it.
	if err := n.WaitApplied(context.Background(), hs.GetCommit()); err != nil {
		n.Stop()
		return nil, fmt.Errorf("raftnode: replaying the log: %w", err)
	}
	n.log.Info("raft node started", "applied", n.applied.Load(), "term", hs.GetTerm(), "commit", hs.GetCommit())
	if err := n.campaignIfSole(); err != nil {
		n.Stop()
		return nil, err
	}
	return n, nil
}

// load seeds the in-memory raft log and the state machine from disk, or
// writes the bootstrap log for a fresh directory. It returns the HardState
// raft restarts from. restored says the state machine holds rec.Snapshot
// already (see speculate).
func (n *Node) load(rec *storage.Recovered, restored bool) (*raftpb.HardState, error) {
	hs := rec.HardState
	ents := rec.Entries
	if snap := rec.Snapshot; snap != nil {
		if !restored {
			if err := n.restoreFrom(*snap); err != nil {
				return nil, err
			}
		}
		cs := proto.Clone(confStateOrEmpty(snap.ConfState)).(*raftpb.ConfState)
		err := n.ms.ApplySnapshot(&raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{
			Index: new(snap.Index), Term: new(snap.Term), ConfState: cs,
		}})
		if err != nil {
			return nil, fmt.Errorf("raftnode: loading snapshot %d into the raft log: %w", snap.Index, err)
		}
		n.confState = cs
		n.snapIndex.Store(snap.Index)
		n.appliedTerm = snap.Term
		n.applied.Store(snap.Index)
		n.waits.trigger(snap.Index)
		n.log.Info("restored snapshot", "index", snap.Index, "term", snap.Term, "while_reading_wal", restored)
		// A snapshot covers only committed entries.
		if hs.GetCommit() < snap.Index {
			hs = proto.Clone(hs).(*raftpb.HardState)
			hs.Commit = new(snap.Index)
		}
	} else if raft.IsEmptyHardState(hs) && len(ents) == 0 {
		var err error
		if ents, hs, err = bootstrapLog(n.cfg); err != nil {
			return nil, err
		}
		if err := n.st.Save(hs, ents); err != nil {
			return nil, fmt.Errorf("raftnode: writing the bootstrap log: %w", err)
		}
		n.log.Info("bootstrapped a new raft log", "voters", n.cfg.Peers, "learners", n.cfg.Learners)
	}
	last := n.applied.Load()
	if len(ents) > 0 {
		last = ents[len(ents)-1].GetIndex()
	}
	if hs.GetCommit() > last {
		return nil, fmt.Errorf("raftnode: the WAL in %s says entries up to %d are committed but holds entries only up to %d; the log is damaged",
			n.cfg.WALDir, hs.GetCommit(), last)
	}
	if err := n.ms.SetHardState(hs); err != nil {
		return nil, err
	}
	if err := n.ms.Append(ents); err != nil {
		return nil, fmt.Errorf("raftnode: loading WAL entries into the raft log: %w", err)
	}
	return hs, nil
}

// restoreFrom restores the state machine from the snapshot file meta names.
func (n *Node) restoreFrom(meta storage.SnapshotMeta) error {
	r, err := n.st.OpenSnapshot(meta)
	if err != nil {
		return fmt.Errorf("raftnode: opening snapshot %d: %w", meta.Index, err)
	}
	defer r.Close()
	cr := &storage.CountingReader{R: r}
	if err := n.sm.Restore(cr); err != nil {
		return fmt.Errorf("raftnode: restoring snapshot %d into the state machine: %w", meta.Index, err)
	}
	n.snapSize.Store(uint64(cr.N))
	return nil
}

// bootstrapLog is the first log of a new member: one committed
// configuration change per member. Every member must be started with the
// same lists; they are sorted so that configuration order does not matter.
// (raft's StartNode bootstraps voters only; observers need learners.)
func bootstrapLog(cfg Config) ([]*raftpb.Entry, *raftpb.HardState, error) {
	voters, learners := slices.Clone(cfg.Peers), slices.Clone(cfg.Learners)
	slices.Sort(voters)
	slices.Sort(learners)
	if len(voters) == 0 {
		return nil, nil, errors.New("raftnode: a new data directory needs at least one voter in Peers")
	}
	seen := map[uint64]bool{}
	for _, id := range slices.Concat(voters, learners) {
		if id == 0 || seen[id] {
			return nil, nil, fmt.Errorf("raftnode: member id %d in Peers %v / Learners %v is zero or listed twice", id, cfg.Peers, cfg.Learners)
		}
		seen[id] = true
	}
	if !seen[cfg.ID] {
		return nil, nil, fmt.Errorf("raftnode: this server's ID %d is in neither Peers %v nor Learners %v", cfg.ID, cfg.Peers, cfg.Learners)
	}
	var ents []*raftpb.Entry
	add := func(id uint64, typ raftpb.ConfChangeType) error {
		data, err := proto.Marshal(&raftpb.ConfChange{Type: typ.Enum(), NodeId: new(id)})
		if err != nil {
			return err
		}
		ents = append(ents, &raftpb.Entry{
			Type: raftpb.EntryConfChange.Enum(), Term: new(uint64(1)), Index: new(uint64(len(ents) + 1)), Data: data,
		})
		return nil
	}
	for _, id := range voters {
		if err := add(id, raftpb.ConfChangeAddNode); err != nil {
			return nil, nil, err
		}
	}
	for _, id := range learners {
		if err := add(id, raftpb.ConfChangeAddLearnerNode); err != nil {
			return nil, nil, err
		}
	}
	hs := &raftpb.HardState{Term: new(uint64(1)), Vote: new(uint64(0)), Commit: new(uint64(len(ents)))}
	return ents, hs, nil
}

// campaignIfSole makes a one-voter group leader now instead of after an
// election timeout, and waits (bounded) until the new term is durable.
// The campaign is issued by the raft loop: raft ignores a campaign while
// committed configuration changes are not yet marked applied, which it
// learns from the apply goroutine's MsgStorageApplyResp; apply queues that
// response before it wakes Start's WaitApplied, and the raft loop steps
// responses before operations, so raft knows by the time it campaigns.
func (n *Node) campaignIfSole() error {
	n.confMu.Lock()
	cs := n.confState
	n.confMu.Unlock()
	if len(cs.GetVoters()) != 1 || cs.GetVoters()[0] != n.cfg.ID || len(cs.GetVotersOutgoing()) != 0 {
		return nil
	}
	timeout := max(2*time.Duration(n.cfg.ElectionTicks)*n.cfg.TickInterval, 5*time.Second)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	if !n.inbox.do(func(rn *raft.RawNode) {
		if err := rn.Campaign(); err != nil {
			n.log.Warn("campaign", "err", err)
		}
	}) {
		return n.stoppedErr()
	}
	for !n.isLeader.Load() {
		select {
		case <-n.statusChanged():
		case <-timer.C:
			n.log.Warn("sole voter did not become leader in time; raft will keep trying", "waited", timeout)
			return nil
		case <-n.failc:
			return n.failErr
		}
	}
	return nil
}

// Propose hands data to raft. It returns once raft has accepted the
// proposal, not when it is committed: the caller learns the outcome from
// the state machine (register a waiter by an id inside data, then propose).
func (n *Node) Propose(ctx context.Context, data []byte) error {
	errc := make(chan error, 1)
	n.ProposeAsync(data, func(err error) { errc <- err })
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ProposeAsync queues data for raft and returns at once. done is called
// exactly once: with nil when raft appended the entry to its log, or with
// the reason it did not (ErrProposalDropped when no leader appeared within
// ProposalWait, ErrStopped, the fatal error). done runs on the raft loop and
// must not block; the entry's outcome comes from the state machine, as for
// Propose. Proposals enter raft in the order ProposeAsync was called, also
// when they had to wait for a leader. Once the node has stopped, done is
// called at once with the reason.
func (n *Node) ProposeAsync(data []byte, done func(error)) {
	n.inbox.propose(proposal{data: data, done: done})
}

// ReadIndex returns a log index such that once AppliedIndex reaches it, the
// state machine reflects every write committed before ReadIndex was called.
// Follow it with WaitApplied.
func (n *Node) ReadIndex(ctx context.Context) (uint64, error) {
	if err := n.checkRunning(); err != nil {
		return 0, err
	}
	id := make([]byte, 16)
	copy(id, n.readPrefix[:])
	binary.BigEndian.PutUint64(id[8:], n.readSeq.Add(1))
	ch := make(chan uint64, 1)
	n.readMu.Lock()
	n.reads[string(id)] = ch
	n.readMu.Unlock()
	defer func() {
		n.readMu.Lock()
		delete(n.reads, string(id))
		n.readMu.Unlock()
	}()
	for {
		if !n.inbox.do(func(rn *raft.RawNode) { rn.ReadIndex(id) }) {
			return 0, n.stoppedErr()
		}
		t := time.NewTimer(readIndexRetry)
		select {
		case idx := <-ch:
			t.Stop()
			return idx, nil
		case <-t.C:
			n.log.Debug("ReadIndex unanswered; retrying")
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-n.stopc:
			t.Stop()
			return 0, ErrStopped
		case <-n.failc:
			t.Stop()
			return 0, n.failErr
		}
	}
}

// WaitApplied blocks until AppliedIndex >= index.
func (n *Node) WaitApplied(ctx context.Context, index uint64) error {
	if n.applied.Load() >= index {
		return nil
	}
	return n.await(ctx, n.waits.wait(index))
}

// await waits for done to close; it fails if ctx ends or the node stops
// first.
func (n *Node) await(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-n.stopc:
		return ErrStopped
	case <-n.failc:
		return n.failErr
	}
}

// AppliedIndex is the index of the last entry applied to the state machine.
func (n *Node) AppliedIndex() uint64 { return n.applied.Load() }

// Status reports leadership as of the last Ready the raft loop handled.
func (n *Node) Status() Status {
	return Status{ID: n.cfg.ID, Leader: n.lead.Load(), Term: n.term.Load(), IsLeader: n.isLeader.Load(), Role: n.role()}
}

// Step delivers a message from a peer, except MsgSnap, which needs its
// snapshot file and comes through ReceiveSnapshot.
func (n *Node) Step(ctx context.Context, m *raftpb.Message) error {
	switch m.GetType() {
	case raftpb.MsgSnap:
		return fmt.Errorf("raftnode: a MsgSnap from %d reached Step without its snapshot file; it must come through ReceiveSnapshot", m.GetFrom())
	case raftpb.MsgProp:
		// raft blocks a proposal until this node knows a leader. The
		// caller is a peer's stream, and the votes and heartbeats queued
		// behind the proposal are what would elect one: a separate queue
		// keeps the stream moving (as etcd's rafthttp does).
		select {
		case n.peerProps <- m:
			return nil
		default:
			return ErrProposalDropped
		}
	}
	if err := n.checkRunning(); err != nil {
		return err
	}
	if !n.inbox.message(m) {
		n.log.Debug("raft inbox full or closed; dropping a peer's message", "type", m.GetType().String(), "from", m.GetFrom())
	}
	return nil
}

// runPeerProposals steps proposals forwarded by peers, waiting for a
// leader when there is none; a full queue drops them (the proposer's
// waiter fails, as for any proposal lost with a leader).
func (n *Node) runPeerProposals() {
	defer n.wg.Done()
	// ctx ends when the node stops, so that a proposal waiting for a
	// leader never holds up Stop. The watcher ends with this function.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-n.stopc:
		case <-n.failc:
		case <-ctx.Done():
		}
		cancel()
	}()
	for {
		select {
		case m := <-n.peerProps:
			pctx, done := context.WithTimeout(ctx, peerPropWait)
			if err := n.stepProposal(pctx, m); err != nil {
				n.log.Debug("dropping a forwarded proposal", "from", m.GetFrom(), "err", err)
			}
			done()
		case <-ctx.Done():
			return
		}
	}
}

// stepProposal steps a peer's forwarded proposal, waiting for a leader
// while raft drops it for want of one.
func (n *Node) stepProposal(ctx context.Context, m *raftpb.Message) error {
	for {
		changed := n.statusChanged()
		if err := n.step(ctx, m); !errors.Is(err, raft.ErrProposalDropped) {
			return err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Err delivers the fatal error that stopped the node, once. After it the
// node acknowledges nothing; the server should shut down and Stop it.
func (n *Node) Err() <-chan error { return n.errc }

// Stats returns the storage counters and the applied index.
func (n *Node) Stats() Stats {
	return Stats{Stats: n.st.Stats(), AppliedIndex: n.applied.Load()}
}

// Purge keeps the newest retainCount snapshots and deletes older ones and
// the WAL segments behind the oldest kept one (autopurge).
func (n *Node) Purge(ctx context.Context, retainCount int) error {
	if err := n.checkRunning(); err != nil {
		return err
	}
	req := purgeReq{retain: retainCount, errc: make(chan error, 1)}
	select {
	case n.purgec <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-n.stopc:
		return ErrStopped
	case <-n.failc:
		return n.failErr
	}
	select {
	case err := <-req.errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop stops every goroutine of the node, waits for them and for
// ReceiveSnapshot calls in progress (they fail at their next read of the
// stream), and closes the WAL and the directory lock. It is safe to call
// more than once.
func (n *Node) Stop() {
	n.stopOnce.Do(func() {
		close(n.stopc)
		n.wg.Wait()
		n.recvMu.Lock() // no receiver runs after this; new ones see stopc
		n.recvMu.Unlock()
		if err := n.st.Close(); err != nil {
			n.log.Error("closing storage", "err", err)
		}
		n.log.Info("raft node stopped")
	})
}

func (n *Node) checkRunning() error {
	select {
	case <-n.failc:
		return n.failErr
	case <-n.stopc:
		return ErrStopped
	default:
		return nil
	}
}

// stoppedErr is why the node no longer takes work: its fatal error, or
// ErrStopped.
func (n *Node) stoppedErr() error {
	select {
	case <-n.failc:
		return n.failErr
	default:
		return ErrStopped
	}
}

// fail stops the node on a fatal error: the raft node is stopped so that no
// further proposal is accepted, and the error is delivered on Err.
func (n *Node) fail(err error) {
	n.failOnce.Do(func() {
		n.failErr = err
		n.log.Error("raft node stopped by a fatal error; no further writes will be acknowledged", "err", err)
		// New proposals fail from now on, not only once the raft loop has
		// noticed (the append goroutine may be the one failing).
		for _, p := range n.inbox.close(err) {
			p.done(err)
		}
		// failc closes first: whoever hears of the error on Err finds
		// every method already failing with it.
		close(n.failc)
		n.errc <- err
	})
}

func (n *Node) statusChanged() <-chan struct{} {
	n.statusMu.Lock()
	defer n.statusMu.Unlock()
	return n.statusc
}

func confStateOrEmpty(cs *raftpb.ConfState) *raftpb.ConfState {
	if cs == nil {
		return &raftpb.ConfState{}
	}
	return cs
}

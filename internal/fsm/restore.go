package fsm

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/internal/tree"
	"github.com/zkd-io/zkd/proto"
)

// OpRestore replaces the whole replicated state, the tree and the session
// table, with a snapshot: the AdminServer's restore command. Its Body is
// the snapshot stream exactly as Snapshot writes it (what the snapshot
// command downloads). It is internal: no client opcode has this value.
//
// It is a log entry rather than a swap of the state under the running
// server so that it is replicated to every member and survives a restart
// (the WAL replays it onto the older snapshot). Only the tree and the
// sessions come from the snapshot: the entry takes the next zxid of the
// log like any other, so zxids stay monotonic for clients, while the
// restored nodes keep the czxid, mzxid and pzxid they were written with.
const OpRestore proto.OpCode = -1002

// MaxRestoreBytes bounds an OpRestore Body: the whole snapshot travels as
// one log entry. Raft cuts a message to MaxSizePerMsg (1 MiB) of entries
// but always carries at least one, so a bigger entry goes alone in its
// own append; the peer transport then refuses any frame (one raft message)
// over 64 MiB (internal/transport's maxFrame), and raft refuses a proposal
// that would grow the uncommitted log past 256 MiB. An entry of 63 MiB
// keeps a whole MiB for the Entry, raftpb.Entry and raftpb.Message
// envelopes (a few hundred bytes) below the transport's limit.
const MaxRestoreBytes = 63 << 20

// ErrRestoreTooLarge is returned for a snapshot over MaxRestoreBytes.
var ErrRestoreTooLarge = errors.New("fsm: snapshot too large to restore")

// CheckRestore decodes and validates snapshot exactly as applying an
// OpRestore entry carrying it would, without changing any state. The
// proposer calls it first, so that a bad snapshot is refused with its
// reason instead of becoming a log entry that every member rejects.
func CheckRestore(opts Options, snapshot []byte) error {
	_, err := decodeRestore(opts, snapshot)
	return err
}

// PeekSnapshot reads the header of a snapshot stream: the zxid it was
// taken at and the digest of its tree (0 for a version 1 snapshot). ok is
// false when b does not start with a snapshot header.
func PeekSnapshot(b []byte) (zxid int64, digest uint64, ok bool) {
	if len(b) < 4 {
		return 0, 0, false
	}
	frame, err := jute.ReadFrame(bytes.NewReader(b), nil, min(len(b)-4, 1<<16))
	if err != nil {
		return 0, 0, false
	}
	h, err := readSnapHeader(jute.NewReader(frame))
	if err != nil {
		return 0, 0, false
	}
	return h.epoch<<32 | h.counter, h.digest, true
}

// restore applies an OpRestore entry. A snapshot that does not decode or
// validate leaves the state as it was; the reason is deterministic (it
// depends only on the bytes and the options), so every member refuses it
// alike.
func (f *FSM) restore(e *Entry) Result {
	if e.Session != 0 {
		return Result{Err: proto.ErrBadArguments, Reason: "restore is not a client operation"}
	}
	next, err := decodeRestore(f.opts, e.Body)
	if err != nil {
		return Result{Err: proto.ErrBadArguments, Reason: err.Error()}
	}
	// The zxid counters (already advanced for this entry by Apply) and
	// the applied index stay the log's.
	f.tree, f.sessions = next.tree, next.sessions
	f.restoredAt = f.LastZxid()
	return Result{}
}

// decodeRestore decodes snapshot into a fresh state with opts, checks the
// digest it recorded (Restore does), then checks that it is a tree this
// server can run on.
func decodeRestore(opts Options, snapshot []byte) (*FSM, error) {
	if len(snapshot) > MaxRestoreBytes {
		return nil, fmt.Errorf("%w: %d bytes, over the %d-byte (63 MiB) limit of one log entry", ErrRestoreTooLarge, len(snapshot), MaxRestoreBytes)
	}
	if _, _, ok := PeekSnapshot(snapshot); !ok {
		return nil, fmt.Errorf("snapshot: the data does not start with a zkd snapshot header (%q, version 1 or %d): "+
			"a restore takes what the snapshot command returns, not a file from the data directory", snapMagic, snapVersion)
	}
	next := New(opts)
	if err := next.Restore(bytes.NewReader(snapshot)); err != nil {
		return nil, err
	}
	if len(opts.Config) == 0 {
		// A standalone server: a snapshot from an ensemble carries its
		// membership in /zookeeper/config, which means nothing here.
		fresh := tree.New().Get(tree.ConfigPath)
		if n := next.tree.Get(tree.ConfigPath); n != nil && !sameNode(n, fresh) {
			next.tree.Insert(tree.ConfigPath, fresh.Data(), fresh.ACL(), fresh.PersistedStat())
		}
	}
	if err := next.validate(); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return next, nil
}

func sameNode(a, b *tree.Node) bool {
	return bytes.Equal(a.Data(), b.Data()) && a.PersistedStat() == b.PersistedStat()
}

// validate checks what Restore trusts because its own snapshots always
// hold it, and what the rest of the server relies on: the nodes every
// tree starts with exist, every path is valid, each node's child count
// is its number of children, no ephemeral has children, and every
// ephemeral's session exists (else nothing would ever delete it).
func (f *FSM) validate() error {
	for _, p := range []string{tree.RootPath, tree.ProcPath, tree.QuotaPath, tree.ConfigPath} {
		if !f.tree.Has(p) {
			return fmt.Errorf("it has no %s node", p)
		}
	}
	var bad error
	f.tree.Walk(func(n *tree.Node) bool {
		p := n.Path()
		if err := proto.ValidatePath(p, false); err != nil {
			bad = fmt.Errorf("node %q: %v", p, err)
			return false
		}
		kids := 0
		f.tree.EachChild(p, func(*tree.Node) bool { kids++; return true })
		if int(n.NumChildren) != kids {
			bad = fmt.Errorf("node %q says it has %d children, it has %d", p, n.NumChildren, kids)
			return false
		}
		if kids > 0 && n.IsEphemeral() {
			bad = fmt.Errorf("ephemeral node %q has children", p)
			return false
		}
		return true
	})
	if bad != nil {
		return bad
	}
	for _, id := range f.tree.EphemeralSessions() {
		if f.sessions[id] == nil {
			return fmt.Errorf("%d ephemeral node(s) belong to session 0x%x, which is not in its session table", len(f.tree.Ephemerals(id)), uint64(id))
		}
	}
	if f.sessions[0] != nil {
		return errors.New("it has a session with id 0")
	}
	return nil
}

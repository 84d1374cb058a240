package admin

import (
	"errors"
	"io"
	"time"

	"github.com/zkd-io/zkd/internal/fourlw"
	"github.com/zkd-io/zkd/proto"
)

// Source is what the admin endpoints read from the server. Methods are
// called concurrently from HTTP handlers and must be safe for that; results
// are not kept.
//
// A Source may also implement fourlw.StatsResetter (stat_reset),
// fourlw.ConnStatsResetter (connection_stat_reset), fourlw.WatchLister
// (watches, watches_by_path), fourlw.Digester (hash) and Snapshotter
// (snapshot, restore); without them those commands answer with an error.
type Source interface {
	fourlw.Source
	// Ensemble is this server's place in the ensemble.
	Ensemble() Ensemble
	// Health is the cheap subset of Stats the probes need.
	Health() Health
	// Raft is the consensus and storage counters for /metrics.
	Raft() Raft
	// Sessions lists the sessions the dump command shows: those with
	// ephemeral nodes, and those whose expiry this server tracks.
	Sessions() []Session
	// LastSnapshot describes the newest snapshot on disk; ok is false when
	// there is none yet.
	LastSnapshot() (info SnapshotInfo, ok bool)
	// InitialConfig is the text of the configuration file the server
	// started from; ok is false when it is not known (ZooKeeper prints
	// null then, as it does on every quorum member).
	InitialConfig() (text string, ok bool)
	// Authorized reports whether ids pass ZooKeeper's checkACL for
	// proto.PermAll on "/", which snapshot and restore require. A super
	// user always passes.
	Authorized(ids []proto.ID) bool
}

// Snapshotter backs the snapshot and restore commands.
type Snapshotter interface {
	// Snapshot captures the state at one point (cheaply, under the
	// server's lock) and returns the zxid it covers and a function that
	// serialises the capture; write may run long after Snapshot returns.
	Snapshot() (zxid int64, write func(io.Writer) error, err error)
	// CanRestore reports whether Restore could run now; an error wrapping
	// ErrNotSupported says why not. It is checked before the request
	// counts against the rate limit.
	CanRestore() error
	// Restore replaces the state with the snapshot read from r (the
	// format Snapshot writes) and returns the zxid the restore took
	// effect at: the server's last zxid once it has.
	Restore(r io.Reader) (zxid int64, err error)
}

// Errors a Snapshotter wraps (%w) to choose the HTTP status of a failed
// restore; the reply carries the error's text. Any other error is a 500.
var (
	// ErrNotSupported marks an operation zkd cannot perform in its
	// current state or at all: 501.
	ErrNotSupported = errors.New("not supported")
	// ErrBadSnapshot marks a request body that is not a snapshot the
	// server can restore (corrupt, truncated, not zkd's format): 400.
	ErrBadSnapshot = errors.New("invalid snapshot")
	// ErrTooLarge marks a snapshot over the size a restore can carry: 413.
	ErrTooLarge = errors.New("snapshot too large")
	// ErrUnavailable marks a server that cannot restore right now (no
	// quorum, persistence failed, stopping): 503.
	ErrUnavailable = errors.New("unavailable")
)

// Ensemble is the server's view of its ensemble.
type Ensemble struct {
	// Standalone is true for a server without an ensemble; the other
	// fields except ClientAddress are then zero.
	Standalone bool
	MyID       uint64
	// LeaderID is the current leader's id, 0 when none is known.
	LeaderID uint64
	// IsLeader is true on the leader.
	IsLeader bool
	// Voting is true for a participant, false for an observer.
	Voting bool
	// Serving is false while the member has no quorum (electing).
	Serving bool
	// LastZxid is the last zxid applied here.
	LastZxid int64
	// ClientAddress is this server's client listener, "host:port".
	ClientAddress string
	// Members is the configured ensemble, sorted by id.
	Members []Member
	// Observers is the leader's view of its observers; nil elsewhere.
	Observers []Observer
}

// Member is one configured server (a server.N line).
type Member struct {
	ID           uint64
	Host         string
	QuorumPort   int
	ElectionPort int
	Observer     bool
	// ClientAddress is "host:port" from the line's client part; "" if none.
	ClientAddress string
}

// Observer is one observer as the leader sees it.
type Observer struct {
	ID uint64
	// Active is raft's RecentActive: the observer answered lately.
	Active bool
	// Synced is true when it replicates normally and is caught up.
	Synced bool
	// Match is the highest log index known to be replicated to it.
	Match uint64
}

// Health is what /readyz needs.
type Health struct {
	// Serving is false while an ensemble member has no quorum.
	Serving bool
	// LeaderID is the known leader, 0 for none.
	LeaderID uint64
	// Fault is set when the server refuses writes after a persistence
	// failure.
	Fault string
}

// Raft is the consensus and storage state exported on /metrics.
type Raft struct {
	Term, AppliedIndex, LeaderID uint64
	// WALSyncs counts fdatasyncs of WAL appends; Fsyncs every sync storage
	// issued; Snapshots the snapshot files written since start.
	WALSyncs, Fsyncs, Snapshots uint64
	// LastWALSync is how long the latest synced WAL append took.
	LastWALSync time.Duration
}

// Session is one dump entry.
type Session struct {
	ID int64
	// Expiry is when the session expires unless it shows life; zero when
	// this server does not track it.
	Expiry time.Time
	// Ephemerals are the session's ephemeral nodes, sorted.
	Ephemerals []string
}

// SnapshotInfo is the last_snapshot reply.
type SnapshotInfo struct {
	Zxid int64
	// Time is when the snapshot file was written.
	Time time.Time
}

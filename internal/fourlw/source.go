package fourlw

import "time"

// KV is one ordered key/value pair of a conf or envi reply.
type KV struct{ Key, Value string }

// Source is what the server supplies to Run. Every method is called at most
// once per Run, from the goroutine that called Run; results are not kept.
type Source interface {
	// Stats is a point-in-time copy of the server's counters.
	Stats() Stats
	// Conns lists the client connections in the order cons and stat print
	// them. ZooKeeper includes the four-letter-word connection itself (with
	// no session); see ConnInfo.
	Conns() []ConnInfo
	// Conf is the conf reply, in order. Each pair prints as "key=value\n";
	// a pair with an empty Key prints its Value verbatim (no '=', no newline
	// added), which is how the quorum "membership: " block is carried.
	// ServerConf.KVs builds ZooKeeper's exact list.
	Conf() []KV
	// Env is the envi reply after its "Environment:" header, in order, one
	// "key=value" line each. DefaultEnv builds ZooKeeper's key list.
	Env() []KV
	// ReadOnly reports whether the server serves only read-only clients
	// (ZooKeeper's ReadOnlyZooKeeperServer): isro says "ro", srvr and stat
	// print the READ-ONLY line.
	ReadOnly() bool
}

// Optional interfaces. A Source that also implements one of these gets the
// matching command; otherwise Run answers with the NotSupported line.

// StatsResetter backs srst ("Server stats reset."): it must zero the
// server's latency min/avg/max, the packet counters, the auth-failure count
// and the client response size stats, and on a leader the proposal sizes.
type StatsResetter interface{ ResetStats() }

// ConnStatsResetter backs crst ("Connection stats reset."): it must reset
// every connection's counters and latencies (ZooKeeper's
// resetAllConnectionStats).
type ConnStatsResetter interface{ ResetConnStats() }

// WatchLister backs wchc and wchp. As in ZooKeeper (DataTree.dumpWatches)
// only data watches are listed: those set by getData and exists, not child
// watches. The order of the slices is the order printed.
//
// Listings are bounded by lim, unlike ZooKeeper's: a server holding
// millions of watches would otherwise build a reply of gigabytes, and hold
// its watch table while doing it. A listing holds at most lim.Watches
// (session, path) pairs and about lim.Bytes of paths; omitted is how many
// data watches it left out (an estimate when watches changed meanwhile; a
// negative value when unknown), 0 when it is complete. Run prints a
// closing line saying what was cut (see TruncatedLine).
type WatchLister interface {
	WatchesBySession(lim WatchLimit) (ws []SessionWatches, omitted int)
	WatchesByPath(lim WatchLimit) (ws []PathWatches, omitted int)
}

// WatchLimit bounds a WatchLister listing.
type WatchLimit struct {
	Watches int // (session, path) pairs listed at most
	Bytes   int // bytes of listed paths, about
}

// DefaultWatchLimit is the bound wchc and wchp (and the admin commands
// watches and watches_by_path) use: replies stay under about 10 MiB.
var DefaultWatchLimit = WatchLimit{Watches: 100_000, Bytes: 8 << 20}

// ServingReporter is optional: Run uses it, when the Source has it, to
// check whether the server serves clients without building Stats, for the
// commands that need nothing else from Stats (cons, conf, isro, wchc, wchp,
// srst, crst, hash). Building Stats counts the whole tree and watch table.
type ServingReporter interface{ Serving() bool }

// SessionWatches is one wchc entry: a session and the paths it watches.
type SessionWatches struct {
	SessionID int64
	Paths     []string
}

// PathWatches is one wchp entry: a path and the sessions watching it.
type PathWatches struct {
	Path       string
	SessionIDs []int64
}

// Digester backs hash: the recent tree digests, oldest first
// (ZooKeeper's DataTree.getDigestLog).
type Digester interface{ DigestLog() []ZxidDigest }

// ZxidDigest is one hash line: the digest of the tree after Zxid.
type ZxidDigest struct {
	Zxid   int64
	Digest int64
}

// Stats is the server-wide data behind srvr, stat, mntr, wchs and dirs.
// Field comments name the reply fields they feed. Counts that ZooKeeper
// reports as -1 until the first sample exists (proposal and client response
// sizes) take 0 here for "no sample yet" and are printed as -1, because a
// real packet is never 0 bytes long.
type Stats struct {
	// Version is zkd's own version ("0.4.1"); replies show it as
	// 3.9.0-zkd-<Version>. See FullVersion.
	Version string
	// Built is when the binary was built; printed in UTC to the minute.
	Built time.Time
	// NotServing makes every command that needs a running server answer
	// "This ZooKeeper instance is not currently serving requests" (isro:
	// "null"), as ZooKeeper does while it has no quorum or is starting.
	NotServing bool
	// Fault, when set, says why the server refuses writes (a persistence
	// failure such as a full disk). srvr and stat print it as a "Fault:"
	// line after Mode, mntr as zk_fault: a zkd addition, absent while
	// the server is healthy, so healthy output matches ZooKeeper's.
	Fault string
	// Mode is "standalone", "leader", "follower" or "observer" (srvr Mode,
	// mntr zk_server_state). Empty is printed as "standalone".
	Mode string
	// PeerState is mntr's zk_peer_state, printed for ensemble members only.
	// Empty means "<leading|following|observing> - broadcast" from Mode.
	PeerState string
	// ObserverMasterID is mntr's zk_observer_master_id (observers only):
	// the server id of the member this observer learns from.
	ObserverMasterID int64

	// Request latency over the server's lifetime (or since srst), in ms:
	// "Latency min/avg/max" and zk_min/avg/max_latency. AvgLatency is
	// rounded half-up to 4 decimals when printed, as ZooKeeper does.
	MinLatency, MaxLatency int64
	AvgLatency             float64
	// Received and Sent count client packets (srvr, zk_packets_*).
	Received, Sent int64
	// Connections is the number of live client connections, including the
	// four-letter-word one (srvr Connections, zk_num_alive_connections).
	Connections int
	// Outstanding is requests received and not yet answered.
	Outstanding int64
	// Zxid is the last zxid applied locally (srvr "Zxid: 0x...").
	Zxid int64
	// NodeCount is the number of znodes, including /zookeeper and its
	// children (srvr "Node count", zk_znode_count).
	NodeCount int

	// Watches is zk_watch_count: every watch of every kind.
	Watches int
	// WatchConnections, WatchPaths and DataWatches feed wchs, which in
	// ZooKeeper counts data watches only (getData and exists):
	// "<WatchConnections> connections watching <WatchPaths> paths" and
	// "Total watches:<DataWatches>".
	WatchConnections, WatchPaths, DataWatches int

	// Ephemerals is zk_ephemerals_count; ApproxDataSize is
	// zk_approximate_data_size (bytes of paths and data).
	Ephemerals     int
	ApproxDataSize int64
	// GlobalSessions and LocalSessions are zk_global_sessions and
	// zk_local_sessions.
	GlobalSessions, LocalSessions int
	// AuthFailed is zk_auth_failed_count.
	AuthFailed int64
	// OpenFDs and MaxFDs are zk_open/max_file_descriptor_count. A negative
	// value leaves the key out, as ZooKeeper does on non-Unix systems.
	OpenFDs, MaxFDs int64
	// Uptime is zk_uptime (printed in ms).
	Uptime time.Duration
	// DataDirSize and LogDirSize are dirs' datadir_size and logdir_size,
	// in bytes.
	DataDirSize, LogDirSize int64
	// Last/Min/MaxClientResponseSize are zk_*_client_response_size in
	// bytes; 0 = no response yet (printed -1).
	LastClientResponseSize, MinClientResponseSize, MaxClientResponseSize int64

	// QuorumSize is zk_quorum_size (voting members), ensemble members only.
	QuorumSize int
	// Leader only. Followers is zk_learners (ZooKeeper 3.4 called it
	// zk_followers): followers plus observers connected to this leader.
	Followers, SyncedFollowers, SyncedNonVotingFollowers, SyncedObservers int
	// PendingSyncs is zk_pending_syncs.
	PendingSyncs int
	// LeaderUptime is zk_leader_uptime (printed in ms).
	LeaderUptime time.Duration
	// Last/Min/MaxProposalSize feed stat's "Proposal sizes last/min/max"
	// and zk_*_proposal_size, in bytes; 0 = no proposal yet (printed -1).
	LastProposalSize, MinProposalSize, MaxProposalSize int64

	// Counters sets any other mntr metric by its name without "zk_"
	// ("fsynctime" is a summary, "snap_count" a counter): a name of
	// ZooKeeper's list keeps its place, other names are printed after
	// ZooKeeper's counters, sorted. Unset ZooKeeper metrics print 0
	// (connection_drop_probability: 0.0). Metrics that have a field above
	// always come from that field. Names containing spaces or control
	// characters are dropped.
	Counters map[string]int64
	// Summaries sets mntr's avg_/min_/max_/cnt_/sum_ (and p50_..p999_)
	// metric groups by base name, e.g. "fsynctime" or
	// "a_write_per_namespace"; names outside ZooKeeper's list follow its
	// summaries, sorted.
	Summaries map[string]Summary
}

// Summary is one mntr summary metric (ZooKeeper's AvgMinMaxCounter, or
// AvgMinMaxPercentileCounter when Percentiles is set or the name is one
// ZooKeeper keeps percentiles for).
type Summary struct {
	// Count and Sum give avg_ (Sum/Count, rounded half-up to 4 decimals).
	Count, Sum, Min, Max int64
	P50, P95, P99, P999  int64
	// P90 is not printed by mntr; /metrics exports it because ZooKeeper's
	// Prometheus summaries carry the quantiles 0.5, 0.9 and 0.99.
	P90 int64
	// Percentiles prints the p50_..p999_ lines for a name outside
	// ZooKeeper's list (ZooKeeper's own names decide for themselves).
	Percentiles bool
}

// ConnInfo is one client connection as cons (full) and stat (brief) print
// it. Times and latencies are in milliseconds, as in ZooKeeper.
type ConnInfo struct {
	// Remote is the peer address as Go prints it ("127.0.0.1:4711",
	// "[::1]:4711"); it is shown the Java way ("/127.0.0.1:4711").
	Remote string
	// InterestOps is the value ZooKeeper shows in brackets: 1 while the
	// connection is read from normally, 0 when reading is paused
	// (throttled, or the four-letter-word connection itself), 5 when a
	// write is also pending. Printed in hex.
	InterestOps int
	// Queued is requests received from this connection and not yet
	// answered; Received and Sent count its packets.
	Queued, Received, Sent int64

	// The rest is printed by cons only, and only when SessionID != 0.
	SessionID int64
	// LastOp is the four-letter name of the last operation answered
	// ("GETD", "SETD"; see LastOpName). Empty prints "NA".
	LastOp string
	// Established is when the connection was accepted (est, Unix ms).
	Established time.Time
	// Timeout is the negotiated session timeout (to), in ms.
	Timeout int
	// LastCxid is the xid of the last request answered; a negative value
	// (ZooKeeper's -1 before the first request) omits lcxid.
	LastCxid int64
	// LastZxid is the zxid of the last reply (lzxid); -1 before any.
	LastZxid int64
	// LastResponse is when the last reply was sent (lresp), in ms on the
	// server's monotonic clock: ZooKeeper prints Time.currentElapsedTime(),
	// not wall time.
	LastResponse int64
	// Latencies of this connection's requests (llat, minlat, avglat,
	// maxlat); ZooKeeper's avglat is integer division.
	LastLatency, MinLatency, AvgLatency, MaxLatency int64
}

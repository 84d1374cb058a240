package fourlw

import (
	"slices"
	"strconv"
	"strings"
)

// mntr prints, like ZooKeeper 3.8: zk_version and zk_server_state (plus
// zk_peer_state on ensemble members and zk_observer_master_id on
// observers), then the metrics provider's gauges, counters and summaries.
// ZooKeeper's order is its ConcurrentHashMap iteration order; the lists
// below copy the order ZooKeeper 3.8 printed as standalone server, leader
// and follower (the role-specific gauges slot into one shared order).

// Who prints a gauge.
const (
	everyRole  = iota
	leaderOnly // registered by LeaderZooKeeperServer
	quorumOnly // registered by QuorumZooKeeperServer: leader, follower, observer
)

type gauge struct {
	name string
	role int
	// value reads the gauge from Stats; nil means Stats.Counters or def.
	value func(*Stats) (string, bool)
	def   string // printed when neither Stats nor Counters sets it
}

func i64(f func(*Stats) int64) func(*Stats) (string, bool) {
	return func(s *Stats) (string, bool) { return strconv.FormatInt(f(s), 10), true }
}

func size(f func(*Stats) int64) func(*Stats) (string, bool) {
	return func(s *Stats) (string, bool) { return bufferStat(f(s)), true }
}

// fd leaves the file descriptor gauges out when negative (not Unix).
func fd(f func(*Stats) int64) func(*Stats) (string, bool) {
	return func(s *Stats) (string, bool) {
		n := f(s)
		return strconv.FormatInt(n, 10), n >= 0
	}
}

var gauges = []gauge{
	{"ephemerals_count", everyRole, i64(func(s *Stats) int64 { return int64(s.Ephemerals) }), ""},
	{"num_alive_connections", everyRole, i64(func(s *Stats) int64 { return int64(s.Connections) }), ""},
	{"avg_latency", everyRole, func(s *Stats) (string, bool) { return javaDouble(roundHalfUp4(s.AvgLatency)), true }, ""},
	{"min_proposal_size", leaderOnly, size(func(s *Stats) int64 { return s.MinProposalSize }), ""},
	{"outstanding_requests", everyRole, i64(func(s *Stats) int64 { return s.Outstanding }), ""},
	{"znode_count", everyRole, i64(func(s *Stats) int64 { return int64(s.NodeCount) }), ""},
	{"global_sessions", everyRole, i64(func(s *Stats) int64 { return int64(s.GlobalSessions) }), ""},
	{"non_mtls_remote_conn_count", everyRole, nil, "0"},
	{"last_client_response_size", everyRole, size(func(s *Stats) int64 { return s.LastClientResponseSize }), ""},
	{"packets_sent", everyRole, i64(func(s *Stats) int64 { return s.Sent }), ""},
	{"packets_received", everyRole, i64(func(s *Stats) int64 { return s.Received }), ""},
	{"max_proposal_size", leaderOnly, size(func(s *Stats) int64 { return s.MaxProposalSize }), ""},
	{"max_client_response_size", everyRole, size(func(s *Stats) int64 { return s.MaxClientResponseSize }), ""},
	{"synced_followers", leaderOnly, i64(func(s *Stats) int64 { return int64(s.SyncedFollowers) }), ""},
	{"connection_drop_probability", everyRole, nil, "0.0"},
	{"watch_count", everyRole, i64(func(s *Stats) int64 { return int64(s.Watches) }), ""},
	{"synced_non_voting_followers", leaderOnly, i64(func(s *Stats) int64 { return int64(s.SyncedNonVotingFollowers) }), ""},
	{"synced_observers", leaderOnly, i64(func(s *Stats) int64 { return int64(s.SyncedObservers) }), ""},
	{"auth_failed_count", everyRole, i64(func(s *Stats) int64 { return s.AuthFailed }), ""},
	{"min_latency", everyRole, i64(func(s *Stats) int64 { return s.MinLatency }), ""},
	{"max_file_descriptor_count", everyRole, fd(func(s *Stats) int64 { return s.MaxFDs }), ""},
	{"approximate_data_size", everyRole, i64(func(s *Stats) int64 { return s.ApproxDataSize }), ""},
	{"open_file_descriptor_count", everyRole, fd(func(s *Stats) int64 { return s.OpenFDs }), ""},
	{"last_proposal_size", leaderOnly, size(func(s *Stats) int64 { return s.LastProposalSize }), ""},
	{"pending_syncs", leaderOnly, i64(func(s *Stats) int64 { return int64(s.PendingSyncs) }), ""},
	{"leader_uptime", leaderOnly, i64(func(s *Stats) int64 { return s.LeaderUptime.Milliseconds() }), ""},
	{"local_sessions", everyRole, i64(func(s *Stats) int64 { return int64(s.LocalSessions) }), ""},
	{"uptime", everyRole, i64(func(s *Stats) int64 { return s.Uptime.Milliseconds() }), ""},
	{"max_latency", everyRole, i64(func(s *Stats) int64 { return s.MaxLatency }), ""},
	{"outstanding_tls_handshake", everyRole, nil, "0"},
	{"learners", leaderOnly, i64(func(s *Stats) int64 { return int64(s.Followers) }), ""},
	{"min_client_response_size", everyRole, size(func(s *Stats) int64 { return s.MinClientResponseSize }), ""},
	{"non_mtls_local_conn_count", everyRole, nil, "0"},
	{"quorum_size", quorumOnly, i64(func(s *Stats) int64 { return int64(s.QuorumSize) }), ""},
}

// counters are ZooKeeper 3.8's ServerMetrics counters, in printed order.
var counters = []string{
	"proposal_count", "watch_bytes", "outstanding_changes_removed", "throttled_ops",
	"stale_requests_dropped", "large_requests_rejected", "insecure_admin_count",
	"connection_rejected", "cnxn_closed_without_zk_server_running", "sessionless_connections_expired",
	"looking_count", "dead_watchers_queued", "stale_requests", "connection_drop_count",
	"learner_proposal_received_count", "digest_mismatches_count", "dead_watchers_cleared",
	"response_packet_cache_hits", "bytes_received_count", "add_dead_watcher_stall_time",
	"request_throttle_wait_count", "requests_not_forwarded_to_commit_processor",
	"response_packet_cache_misses", "ensemble_auth_success", "prep_processor_request_queued",
	"learner_commit_received_count", "stale_replies", "connection_request_count", "response_bytes",
	"ensemble_auth_fail", "diff_count", "response_packet_get_children_cache_misses",
	"connection_revalidate_count", "quit_leading_due_to_disloyal_voter", "snap_count",
	"unrecoverable_error_count", "unsuccessful_handshake", "commit_count", "stale_sessions_expired",
	"response_packet_get_children_cache_hits", "sync_processor_request_queued",
	"outstanding_changes_queued", "request_commit_queued", "ensemble_auth_skip",
	"skip_learner_request_to_next_processor_count", "tls_handshake_exceeded", "revalidate_count",
}

// summaries print avg_, min_, max_, cnt_ and sum_ (SummaryLevel.BASIC).
var summaries = []string{
	"socket_closing_time", "proposal_process_time", "leader_unavailable_time",
	"node_created_watch_count", "session_queues_drained", "write_commit_proc_req_queued",
	"connection_token_deficit", "read_commit_proc_req_queued", "node_deleted_watch_count",
	"startup_txns_load_time", "sync_processor_queue_size", "follower_sync_time",
	"prep_processor_queue_size", "fsynctime", "inflight_snap_count",
	"reads_issued_from_session_queue", "learner_request_processor_queue_size", "snapshottime",
	"unavailable_time", "startup_txns_loaded", "reads_after_write_in_session_queue",
	"requests_in_session_queue", "write_commit_proc_issued", "prep_process_time",
	"pending_session_queue_size", "time_waiting_empty_pool_in_commit_processor_read_ms",
	"commit_process_time", "dbinittime", "inflight_diff_count", "netty_queued_buffer_capacity",
	"election_time", "commit_commit_proc_req_queued", "sync_processor_batch_size",
	"node_children_watch_count", "write_batch_time_in_commit_processor", "read_commit_proc_issued",
	"concurrent_request_processing_in_commit_processor", "observer_sync_time",
	"node_changed_watch_count", "sync_process_time", "startup_snap_load_time",
}

// percentileSummaries also print p50_, p95_, p99_ and p999_
// (SummaryLevel.ADVANCED).
var percentileSummaries = []string{
	"prep_processor_queue_time_ms", "jvm_pause_time_ms", "close_session_prep_time",
	"read_commitproc_time_ms", "updatelatency", "local_write_committed_time_ms",
	"request_throttle_queue_time_ms", "readlatency", "quorum_ack_latency",
	"om_commit_process_time_ms", "read_final_proc_time_ms", "commit_propagation_latency",
	"dead_watchers_cleaner_latency", "write_final_proc_time_ms", "proposal_ack_creation_latency",
	"proposal_latency", "om_proposal_process_time_ms", "sync_processor_queue_and_flush_time_ms",
	"propagation_latency", "server_write_committed_time_ms", "sync_processor_queue_time_ms",
	"sync_processor_queue_flush_time_ms", "write_commitproc_time_ms",
}

// floatGauges hold doubles in ZooKeeper, so their values print as Java
// doubles even when set through Stats.Counters.
var floatGauges = map[string]bool{"connection_drop_probability": true}

// writeMntr writes the mntr reply: "zk_<name>\t<value>\n" per metric.
func writeMntr(b *strings.Builder, st *Stats) {
	m := mode(st)
	quorum := m != "standalone"
	line := func(name, value string) {
		if !validName(name) {
			return
		}
		b.WriteString("zk_")
		b.WriteString(name)
		b.WriteByte('\t')
		b.WriteString(value)
		b.WriteByte('\n')
	}
	line("version", FullVersion(st.Version, st.Built))
	line("server_state", m)
	if st.Fault != "" {
		line("fault", oneLine(st.Fault))
	}
	if quorum {
		ps := st.PeerState
		if ps == "" {
			ps = defaultPeerState(m)
		}
		line("peer_state", ps)
	}
	if m == "observer" {
		line("observer_master_id", strconv.FormatInt(st.ObserverMasterID, 10))
	}

	known := make(map[string]bool, len(gauges)+len(counters))
	for _, g := range gauges {
		known[g.name] = true
		if g.role == leaderOnly && m != "leader" || g.role == quorumOnly && !quorum {
			continue
		}
		if g.value != nil {
			if v, ok := g.value(st); ok {
				line(g.name, v)
			}
			continue
		}
		line(g.name, counterValue(st, g.name, g.def))
	}
	for _, name := range counters {
		known[name] = true
		line(name, counterValue(st, name, "0"))
	}
	for _, name := range sortedKeys(st.Counters) {
		if !known[name] {
			line(name, counterValue(st, name, "0"))
		}
	}

	sknown := make(map[string]bool, len(summaries)+len(percentileSummaries))
	for _, name := range summaries {
		sknown[name] = true
		writeSummary(line, name, st.Summaries[name], false)
	}
	for _, name := range percentileSummaries {
		sknown[name] = true
		writeSummary(line, name, st.Summaries[name], true)
	}
	for _, name := range sortedKeys(st.Summaries) {
		if !sknown[name] {
			writeSummary(line, name, st.Summaries[name], false)
		}
	}
}

// counterValue is Stats.Counters[name], or def when unset.
func counterValue(st *Stats, name, def string) string {
	v, ok := st.Counters[name]
	switch {
	case !ok:
		return def
	case floatGauges[name]:
		return javaDouble(float64(v))
	default:
		return strconv.FormatInt(v, 10)
	}
}

// writeSummary prints one summary group as ZooKeeper's AvgMinMaxCounter
// (and AvgMinMaxPercentileCounter) do: an empty summary is all zeros.
func writeSummary(line func(name, value string), name string, s Summary, percentiles bool) {
	avg := 0.0
	if s.Count > 0 {
		avg = roundHalfUp4(float64(s.Sum) / float64(s.Count))
	}
	line("avg_"+name, javaDouble(avg))
	line("min_"+name, strconv.FormatInt(s.Min, 10))
	line("max_"+name, strconv.FormatInt(s.Max, 10))
	line("cnt_"+name, strconv.FormatInt(s.Count, 10))
	line("sum_"+name, strconv.FormatInt(s.Sum, 10))
	if percentiles || s.Percentiles {
		line("p50_"+name, strconv.FormatInt(s.P50, 10))
		line("p95_"+name, strconv.FormatInt(s.P95, 10))
		line("p99_"+name, strconv.FormatInt(s.P99, 10))
		line("p999_"+name, strconv.FormatInt(s.P999, 10))
	}
}

// defaultPeerState is QuorumPeer.getDetailedPeerState for a member that is
// serving: its role, then the Zab phase "broadcast".
func defaultPeerState(mode string) string {
	switch mode {
	case "leader":
		return "leading - broadcast"
	case "follower":
		return "following - broadcast"
	case "observer":
		return "observing - broadcast"
	}
	return mode
}

// validName keeps a caller's metric name from breaking the line format:
// mntr parsers split on the tab and the newline.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

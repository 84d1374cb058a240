package admin

import (
	"log/slog"
	"net/http"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/zkd-io/zkd/internal/fourlw"
)

// newRegistry builds the /metrics registry: the server's metrics, read at
// scrape time, plus the Go runtime and process collectors (the Go
// counterpart of the JVM metrics ZooKeeper's Prometheus provider exports).
// Each admin server has its own registry so that servers sharing a process
// (tests) do not collide.
func newRegistry(src Source) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&serverCollector{src: src},
	)
	return reg
}

func metricsHandler(reg *prometheus.Registry, log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// serverCollector turns Source's counters into metrics on every scrape. It
// describes nothing up front (an "unchecked" collector) because the set
// depends on the server's role and on which counters it keeps.
type serverCollector struct{ src Source }

func (c *serverCollector) Describe(chan<- *prometheus.Desc) {}

// emitter sends const metrics, dropping names that are invalid or already
// sent (a Stats.Counters key that repeats a gauge would fail the scrape).
type emitter struct {
	ch   chan<- prometheus.Metric
	seen map[string]bool
}

func (e *emitter) emit(name, help string, typ prometheus.ValueType, v float64, labels ...string) {
	if e.seen[name] && len(labels) == 0 {
		return
	}
	e.seen[name] = true
	var keys, vals []string
	for i := 0; i+1 < len(labels); i += 2 {
		keys, vals = append(keys, labels[i]), append(vals, labels[i+1])
	}
	m, err := prometheus.NewConstMetric(prometheus.NewDesc(name, help, keys, nil), typ, v, vals...)
	if err == nil {
		e.ch <- m
	}
}

func (e *emitter) gauge(name, help string, v float64, labels ...string) {
	e.emit(name, help, prometheus.GaugeValue, v, labels...)
}

func (e *emitter) counter(name, help string, v float64) {
	e.emit(name, help, prometheus.CounterValue, v)
}

func (e *emitter) summary(name string, s fourlw.Summary) {
	if e.seen[name] {
		return
	}
	e.seen[name] = true
	var q map[float64]float64
	if s.Percentiles || s.P50 != 0 || s.P90 != 0 || s.P95 != 0 || s.P99 != 0 || s.P999 != 0 || name == "readlatency" || name == "updatelatency" {
		// ZooKeeper's Prometheus provider exports 0.5, 0.9 and 0.99 for
		// its percentile summaries; mntr's 0.95 and 0.999 come along.
		q = map[float64]float64{0.5: float64(s.P50), 0.9: float64(s.P90), 0.95: float64(s.P95), 0.99: float64(s.P99), 0.999: float64(s.P999)}
	}
	m, err := prometheus.NewConstSummary(prometheus.NewDesc(name, name+" (ZooKeeper summary metric, in its unit: ms for latencies)", nil, nil),
		uint64(max(s.Count, 0)), float64(s.Sum), q)
	if err == nil {
		e.ch <- m
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Collect exports, with ZooKeeper's Prometheus names, what
// ZooKeeperServer.registerMetrics (and the leader's and quorum member's
// additions) register, then Stats.Counters and Stats.Summaries under their
// own names, then zkd's consensus and storage state under zkd_ names.
func (c *serverCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Stats()
	h := c.src.Health()
	raft := c.src.Raft()
	e := &emitter{ch: ch, seen: map[string]bool{}}
	g := func(name, help string, v int64) { e.gauge(name, help, float64(v)) }

	g("znode_count", "Number of znodes, counted as ZooKeeper counts them.", int64(st.NodeCount))
	g("watch_count", "Number of watches of every kind.", int64(st.Watches))
	g("outstanding_requests", "Requests received and not yet answered.", st.Outstanding)
	g("num_alive_connections", "Open client connections.", int64(st.Connections))
	g("packets_received", "Client packets received (reset by stat_reset).", st.Received)
	g("packets_sent", "Client packets sent (reset by stat_reset).", st.Sent)
	e.gauge("avg_latency", "Average request latency in ms.", roundHalfUp4(st.AvgLatency))
	g("min_latency", "Minimum request latency in ms.", st.MinLatency)
	g("max_latency", "Maximum request latency in ms.", st.MaxLatency)
	g("uptime", "Time since the server started, in ms.", st.Uptime.Milliseconds())
	g("ephemerals_count", "Number of ephemeral znodes.", int64(st.Ephemerals))
	g("approximate_data_size", "Approximate bytes of znode paths and data.", st.ApproxDataSize)
	g("global_sessions", "Number of sessions.", int64(st.GlobalSessions))
	g("local_sessions", "Number of local sessions.", int64(st.LocalSessions))
	if st.OpenFDs >= 0 {
		g("open_file_descriptor_count", "Open file descriptors.", st.OpenFDs)
	}
	if st.MaxFDs >= 0 {
		g("max_file_descriptor_count", "File descriptor limit.", st.MaxFDs)
	}
	g("auth_failed_count", "Failed authentications.", st.AuthFailed)
	g("last_client_response_size", "Size of the last client response in bytes; -1 before the first.", bufferSize(st.LastClientResponseSize))
	g("min_client_response_size", "Smallest client response in bytes; -1 before the first.", bufferSize(st.MinClientResponseSize))
	g("max_client_response_size", "Largest client response in bytes; -1 before the first.", bufferSize(st.MaxClientResponseSize))
	m := mode(&st)
	if m != "standalone" {
		g("quorum_size", "Number of voting members.", int64(st.QuorumSize))
	}
	if m == "leader" {
		g("learners", "Followers and observers connected to the leader.", int64(st.Followers))
		g("synced_followers", "Followers in sync with the leader.", int64(st.SyncedFollowers))
		g("synced_non_voting_followers", "Non-voting followers in sync with the leader.", int64(st.SyncedNonVotingFollowers))
		g("synced_observers", "Observers in sync with the leader.", int64(st.SyncedObservers))
		g("pending_syncs", "Sync requests waiting on the leader.", int64(st.PendingSyncs))
		g("leader_uptime", "Time since this server became leader, in ms.", st.LeaderUptime.Milliseconds())
		g("last_proposal_size", "Size of the last proposal in bytes; -1 before the first.", bufferSize(st.LastProposalSize))
		g("min_proposal_size", "Smallest proposal in bytes; -1 before the first.", bufferSize(st.MinProposalSize))
		g("max_proposal_size", "Largest proposal in bytes; -1 before the first.", bufferSize(st.MaxProposalSize))
	}

	digest, hasDigest := st.Counters["tree_digest"]
	for _, name := range sortedKeys(st.Counters) {
		if name != "tree_digest" {
			e.counter(name, name+" (ZooKeeper server metric counter).", float64(st.Counters[name]))
		}
	}
	for _, name := range sortedKeys(st.Summaries) {
		e.summary(name, st.Summaries[name])
	}

	e.gauge("zkd_build_info", "zkd's version; always 1.", 1, "version", st.Version)
	e.gauge("zkd_server_state", "The server's role; always 1.", 1, "state", m)
	e.gauge("zkd_serving", "1 while the server serves clients (it has a quorum).", b2f(h.Serving))
	e.gauge("zkd_fault", "1 while writes are refused after a persistence failure.", b2f(h.Fault != ""))
	e.gauge("zkd_last_zxid", "The last zxid applied.", float64(st.Zxid))
	if hasDigest {
		// A float64 holds 53 bits exactly; servers that applied the same
		// log show the same value.
		e.gauge("zkd_tree_digest", "Low 53 bits of the tree digest; equal on servers that applied the same log.", float64(uint64(digest)&(1<<53-1)))
	}
	e.gauge("zkd_raft_term", "Current raft term (the zxid epoch of new transactions).", float64(raft.Term))
	e.gauge("zkd_raft_applied_index", "Raft index of the last applied log entry.", float64(raft.AppliedIndex))
	e.gauge("zkd_raft_leader_id", "Server id of the known leader; 0 for none.", float64(raft.LeaderID))
	e.counter("zkd_wal_syncs_total", "WAL appends made durable with fdatasync (group commits).", float64(raft.WALSyncs))
	e.counter("zkd_storage_fsyncs_total", "Every sync storage issued: WAL appends, snapshot files and directories.", float64(raft.Fsyncs))
	e.counter("zkd_snapshots_written_total", "Snapshot files written since start.", float64(raft.Snapshots))
	e.gauge("zkd_wal_last_sync_seconds", "Duration of the latest durable WAL append (write and fdatasync).", raft.LastWALSync.Seconds())
	e.gauge("zkd_data_dir_size_bytes", "Bytes in the data directory (snapshots).", float64(st.DataDirSize))
	e.gauge("zkd_log_dir_size_bytes", "Bytes in the log directory (WAL).", float64(st.LogDirSize))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

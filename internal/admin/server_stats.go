package admin

import (
	"net"
	"strconv"

	"github.com/zkd-io/zkd/internal/fourlw"
)

// bufferSize prints a response or proposal size as ZooKeeper's BufferStats
// does: -1 until the first sample (fourlw.Stats keeps 0 for that).
func bufferSize(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

func bufferStats(last, minSize, maxSize int64) Object {
	return Object{
		{"last_buffer_size", bufferSize(last)},
		{"min_buffer_size", bufferSize(minSize)},
		{"max_buffer_size", bufferSize(maxSize)},
	}
}

func mode(st *fourlw.Stats) string {
	if st.Mode == "" {
		return "standalone"
	}
	return st.Mode
}

// serverStatsObject is ServerStats as Jackson prints it (snake_case getter
// names, in the order ZooKeeper 3.8 printed them standalone).
func serverStatsObject(st *fourlw.Stats) Object {
	fsyncExceeded := st.Counters["fsync_threshold_exceed_count"]
	return Object{
		{"packets_sent", st.Sent},
		{"packets_received", st.Received},
		{"fsync_threshold_exceed_count", fsyncExceeded},
		{"client_response_stats", bufferStats(st.LastClientResponseSize, st.MinClientResponseSize, st.MaxClientResponseSize)},
		{"data_dir_size", st.DataDirSize},
		{"log_dir_size", st.LogDirSize},
		{"provider_null", false},
		{"server_state", mode(st)},
		{"last_processed_zxid", st.Zxid},
		{"outstanding_requests", st.Outstanding},
		{"avg_latency", roundHalfUp4(st.AvgLatency)},
		{"max_latency", st.MaxLatency},
		{"min_latency", st.MinLatency},
		{"num_alive_client_connections", st.Connections},
		{"uptime", st.Uptime.Milliseconds()},
		{"auth_failed_count", st.AuthFailed},
		// zkd has no TLS client port, so no connection is non-mTLS.
		{"non_mtlsremote_conn_count", 0},
		{"non_mtlslocal_conn_count", 0},
	}
}

func cmdServerStats(c *call) *response {
	st := c.stats()
	r := c.reply()
	r.data.Put("version", fourlw.FullVersion(st.Version, st.Built))
	r.data.Put("read_only", c.s.src.ReadOnly())
	r.data.Put("server_stats", serverStatsObject(st))
	r.data.Put("client_response", bufferStats(st.LastClientResponseSize, st.MinClientResponseSize, st.MaxClientResponseSize))
	if mode(st) == "leader" {
		r.data.Put("proposal_stats", bufferStats(st.LastProposalSize, st.MinProposalSize, st.MaxProposalSize))
	}
	r.data.Put("node_count", st.NodeCount)
	return r
}

func cmdStats(c *call) *response {
	r := cmdServerStats(c)
	r.command = c.cmd.names[0]
	r.data.Put("connections", connList(c.s.src, true))
	r.data.Put("secure_connections", []Object{})
	return r
}

func hostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// cmdVotingView lists the voting members (participants), keyed by id.
func cmdVotingView(c *call) *response {
	e := c.s.src.Ensemble()
	view := Object{}
	for _, m := range e.Members {
		if m.Observer {
			continue
		}
		client := m.ClientAddress
		if m.ID == e.MyID && e.ClientAddress != "" {
			// As in ZooKeeper, a server knows its own client address even
			// when its server.N line does not carry one.
			client = e.ClientAddress
		}
		view = append(view, Field{strconv.FormatUint(m.ID, 10), Object{
			{"server_addresses", []string{hostPort(m.Host, m.QuorumPort)}},
			{"election_addresses", []string{hostPort(m.Host, m.ElectionPort)}},
			{"client_address", client},
			{"learner_type", "participant"},
		}})
	}
	r := c.reply()
	r.data.Put("current_config", view)
	return r
}

// multipleAddresses is how Jackson prints ZooKeeper's MultipleAddresses for
// a server with one address: every getter of the class. zkd does not probe
// reachability, so the reachable variants repeat the configured address.
func multipleAddresses(host string, port int) Object {
	addr := hostPort(host, port)
	return Object{
		{"empty", false},
		{"all_addresses", []string{addr}},
		{"all_reachable_addresses", []string{addr}},
		{"one", addr},
		{"reachable_address", addr},
		{"wildcard_addresses", []string{hostPort("0.0.0.0", port)}},
		{"all_ports", []int64{int64(port)}},
		{"all_host_strings", []string{host}},
		{"all_reachable_addresses_or_all", []string{addr}},
		{"reachable_or_one", addr},
	}
}

// cmdZabState maps raft's state onto Zab's phases: a serving member is in
// BROADCAST; one without a leader is in ELECTION. Discovery and
// synchronisation have no raft counterpart that can be observed.
func cmdZabState(c *call) *response {
	e := c.s.src.Ensemble()
	r := c.reply()
	if e.Standalone {
		r.data.Put("voting", false)
		r.data.Put("zabstate", "")
		return r
	}
	var self Member
	for _, m := range e.Members {
		if m.ID == e.MyID {
			self = m
		}
	}
	state := "broadcast"
	if !e.Serving || e.LeaderID == 0 {
		state = "election"
	}
	r.data.Put("myid", e.MyID)
	r.data.Put("is_leader", e.IsLeader)
	r.data.Put("quorum_address", multipleAddresses(self.Host, self.QuorumPort))
	r.data.Put("election_address", multipleAddresses(self.Host, self.ElectionPort))
	r.data.Put("client_address", e.ClientAddress)
	r.data.Put("voting", e.Voting)
	r.data.Put("last_zxid", "0x"+strconv.FormatUint(uint64(e.LastZxid), 16))
	r.data.Put("zab_epoch", e.LastZxid>>32)
	r.data.Put("zab_counter", e.LastZxid&0xffffffff)
	r.data.Put("zabstate", state)
	return r
}

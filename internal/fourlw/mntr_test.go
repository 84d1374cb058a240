package fourlw

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// mntrLines runs mntr for st and splits the reply into lines.
func mntrLines(t *testing.T, st Stats) []string {
	t.Helper()
	got, err := run("mntr", allowAll, &fakeSource{st: st})
	if err != nil {
		t.Fatalf("Run(mntr): got error %v, want none", err)
	}
	if !strings.HasSuffix(got, "\n") {
		t.Fatalf("Run(mntr): got %q, want a reply ending in a newline", got)
	}
	return strings.Split(strings.TrimSuffix(got, "\n"), "\n")
}

// mntrValue finds one key's value, failing the test when absent.
func mntrValue(t *testing.T, lines []string, key string) string {
	t.Helper()
	for _, l := range lines {
		if k, v, _ := strings.Cut(l, "\t"); k == key {
			return v
		}
	}
	t.Fatalf("mntr: key %s missing", key)
	return ""
}

func TestMntrStandaloneHead(t *testing.T) {
	// ZooKeeper 3.8 standalone: version and state, the gauges in its hash
	// order, then its counters. Every line is "zk_<name>\t<value>".
	want := []string{
		"zk_version\t3.9.0-zkd-0.4.1, built on 11/21/2026 12:00 GMT",
		"zk_server_state\tstandalone",
		"zk_ephemerals_count\t1",
		"zk_num_alive_connections\t2",
		"zk_avg_latency\t2.5714",
		"zk_outstanding_requests\t0",
		"zk_znode_count\t8",
		"zk_global_sessions\t1",
		"zk_non_mtls_remote_conn_count\t0",
		"zk_last_client_response_size\t84",
		"zk_packets_sent\t22",
		"zk_packets_received\t23",
		"zk_max_client_response_size\t93",
		"zk_connection_drop_probability\t0.0",
		"zk_watch_count\t3",
		"zk_auth_failed_count\t0",
		"zk_min_latency\t1",
		"zk_max_file_descriptor_count\t20000",
		"zk_approximate_data_size\t44",
		"zk_open_file_descriptor_count\t38",
		"zk_local_sessions\t0",
		"zk_uptime\t8369",
		"zk_max_latency\t10",
		"zk_outstanding_tls_handshake\t0",
		"zk_min_client_response_size\t16",
		"zk_non_mtls_local_conn_count\t0",
		"zk_proposal_count\t0",
		"zk_watch_bytes\t0",
	}
	lines := mntrLines(t, fixedStats())
	for i, w := range want {
		if i >= len(lines) || lines[i] != w {
			var got string
			if i < len(lines) {
				got = lines[i]
			}
			t.Errorf("mntr line %d: got %q, want %q", i, got, w)
		}
	}
	// The counters end, the summaries follow: 47 counters in all.
	tail := []string{
		"zk_tls_handshake_exceeded\t0",
		"zk_revalidate_count\t0",
		"zk_avg_socket_closing_time\t0.0",
		"zk_min_socket_closing_time\t0",
		"zk_max_socket_closing_time\t0",
		"zk_cnt_socket_closing_time\t0",
		"zk_sum_socket_closing_time\t0",
		"zk_avg_proposal_process_time\t0.0",
	}
	for i, w := range tail {
		if got := lines[26+45+i]; got != w {
			t.Errorf("mntr line %d: got %q, want %q", 26+45+i, got, w)
		}
	}
	last := []string{
		"zk_avg_write_commitproc_time_ms\t0.0",
		"zk_min_write_commitproc_time_ms\t0",
		"zk_max_write_commitproc_time_ms\t0",
		"zk_cnt_write_commitproc_time_ms\t0",
		"zk_sum_write_commitproc_time_ms\t0",
		"zk_p50_write_commitproc_time_ms\t0",
		"zk_p95_write_commitproc_time_ms\t0",
		"zk_p99_write_commitproc_time_ms\t0",
		"zk_p999_write_commitproc_time_ms\t0",
	}
	if got, want := strings.Join(lines[len(lines)-len(last):], "\n"), strings.Join(last, "\n"); got != want {
		t.Errorf("mntr end:\ngot  %q\nwant %q", got, want)
	}
}

func TestMntrRoles(t *testing.T) {
	// Line counts of ZooKeeper 3.8's mntr by role, without the per-namespace
	// and per-learner summary sets (which depend on the data and peers).
	tests := []struct {
		mode      string
		wantLines int
		// wantHead is the first keys; leader keys interleave with the rest.
		wantHead []string
		absent   []string
	}{
		{"standalone", 485,
			[]string{"zk_version", "zk_server_state", "zk_ephemerals_count", "zk_num_alive_connections", "zk_avg_latency", "zk_outstanding_requests"},
			[]string{"zk_peer_state", "zk_quorum_size", "zk_learners", "zk_observer_master_id"}},
		{"follower", 487,
			[]string{"zk_version", "zk_server_state", "zk_peer_state", "zk_ephemerals_count", "zk_num_alive_connections", "zk_avg_latency", "zk_outstanding_requests"},
			[]string{"zk_learners", "zk_pending_syncs", "zk_observer_master_id"}},
		{"observer", 488,
			[]string{"zk_version", "zk_server_state", "zk_peer_state", "zk_observer_master_id", "zk_ephemerals_count"},
			[]string{"zk_learners", "zk_synced_followers"}},
		{"leader", 496,
			[]string{"zk_version", "zk_server_state", "zk_peer_state", "zk_ephemerals_count", "zk_num_alive_connections",
				"zk_avg_latency", "zk_min_proposal_size", "zk_outstanding_requests", "zk_znode_count", "zk_global_sessions",
				"zk_non_mtls_remote_conn_count", "zk_last_client_response_size", "zk_packets_sent", "zk_packets_received",
				"zk_max_proposal_size", "zk_max_client_response_size", "zk_synced_followers", "zk_connection_drop_probability",
				"zk_watch_count", "zk_synced_non_voting_followers", "zk_synced_observers", "zk_auth_failed_count",
				"zk_min_latency", "zk_max_file_descriptor_count", "zk_approximate_data_size", "zk_open_file_descriptor_count",
				"zk_last_proposal_size", "zk_pending_syncs", "zk_leader_uptime", "zk_local_sessions", "zk_uptime",
				"zk_max_latency", "zk_outstanding_tls_handshake", "zk_learners", "zk_min_client_response_size",
				"zk_non_mtls_local_conn_count", "zk_quorum_size", "zk_proposal_count"},
			[]string{"zk_observer_master_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			st := fixedStats()
			st.Mode = tt.mode
			lines := mntrLines(t, st)
			if len(lines) != tt.wantLines {
				t.Errorf("mntr as %s: got %d lines, want %d", tt.mode, len(lines), tt.wantLines)
			}
			seen := map[string]bool{}
			for i, l := range lines {
				k, _, ok := strings.Cut(l, "\t")
				if !ok || !strings.HasPrefix(k, "zk_") {
					t.Fatalf("mntr line %d: got %q, want zk_<key>\\t<value>", i, l)
				}
				if seen[k] {
					t.Errorf("mntr as %s: key %s printed twice", tt.mode, k)
				}
				seen[k] = true
				if i < len(tt.wantHead) && k != tt.wantHead[i] {
					t.Errorf("mntr as %s line %d: got key %s, want %s", tt.mode, i, k, tt.wantHead[i])
				}
			}
			for _, k := range tt.absent {
				if seen[k] {
					t.Errorf("mntr as %s: got key %s, want it absent", tt.mode, k)
				}
			}
		})
	}
}

func TestMntrLeaderValues(t *testing.T) {
	st := fixedStats()
	st.Mode = "leader"
	st.QuorumSize = 3
	st.Followers, st.SyncedFollowers, st.SyncedNonVotingFollowers, st.SyncedObservers = 3, 2, 0, 1
	st.PendingSyncs = 4
	st.LeaderUptime = 14504 * time.Millisecond
	st.LastProposalSize = 60
	lines := mntrLines(t, st)
	want := map[string]string{
		"zk_server_state":                "leader",
		"zk_peer_state":                  "leading - broadcast",
		"zk_quorum_size":                 "3",
		"zk_learners":                    "3",
		"zk_synced_followers":            "2",
		"zk_synced_non_voting_followers": "0",
		"zk_synced_observers":            "1",
		"zk_pending_syncs":               "4",
		"zk_leader_uptime":               "14504",
		"zk_last_proposal_size":          "60",
		"zk_min_proposal_size":           "-1",
		"zk_max_proposal_size":           "-1",
	}
	for k, w := range want {
		if got := mntrValue(t, lines, k); got != w {
			t.Errorf("mntr %s: got %q, want %q", k, got, w)
		}
	}
	st.Mode, st.PeerState, st.ObserverMasterID = "observer", "observing - synchronization", 2
	lines = mntrLines(t, st)
	if got := mntrValue(t, lines, "zk_peer_state"); got != "observing - synchronization" {
		t.Errorf("mntr zk_peer_state with PeerState set: got %q, want %q", got, "observing - synchronization")
	}
	if got := mntrValue(t, lines, "zk_observer_master_id"); got != "2" {
		t.Errorf("mntr zk_observer_master_id: got %q, want 2", got)
	}
}

func TestMntrCountersAndSummaries(t *testing.T) {
	st := fixedStats()
	st.OpenFDs, st.MaxFDs = -1, -1 // not Unix: ZooKeeper leaves both out
	st.Counters = map[string]int64{
		"snap_count":                  2,
		"connection_drop_probability": 1,
		"watch_count":                 99, // has a Stats field: ignored
		"zkd_b_extra":                 7,
		"zkd_a_extra":                 -3,
		"bad name":                    1,
		"bad\tname":                   1,
	}
	st.Summaries = map[string]Summary{
		"fsynctime":                    {Count: 3, Sum: 10, Min: 1, Max: 6},
		"updatelatency":                {Count: 2, Sum: 5, Min: 2, Max: 3, P50: 2, P95: 3, P99: 3, P999: 3},
		"a_write_per_namespace":        {Count: 1, Sum: 8, Min: 8, Max: 8},
		"1_learner_handler_qp_time_ms": {Count: 0, Percentiles: true},
	}
	lines := mntrLines(t, st)
	text := strings.Join(lines, "\n") + "\n"
	for _, k := range []string{"zk_open_file_descriptor_count", "zk_max_file_descriptor_count", "zk_bad name"} {
		if strings.Contains(text, k+"\t") {
			t.Errorf("mntr: got key %s, want it left out", k)
		}
	}
	if strings.Contains(text, "bad\tname") {
		t.Errorf("mntr: got a metric name with a tab, want it dropped")
	}
	want := map[string]string{
		"zk_snap_count":                  "2",
		"zk_connection_drop_probability": "1.0",
		"zk_watch_count":                 "3",
		"zk_avg_fsynctime":               "3.3333",
		"zk_min_fsynctime":               "1",
		"zk_max_fsynctime":               "6",
		"zk_cnt_fsynctime":               "3",
		"zk_sum_fsynctime":               "10",
		"zk_avg_updatelatency":           "2.5",
		"zk_p95_updatelatency":           "3",
		"zk_p999_updatelatency":          "3",
	}
	for k, w := range want {
		if got := mntrValue(t, lines, k); got != w {
			t.Errorf("mntr %s: got %q, want %q", k, got, w)
		}
	}
	// Extra counters follow ZooKeeper's counters, sorted; extra summaries
	// close the reply, sorted, percentiles only where asked for.
	extraCounters := "zk_revalidate_count\t0\nzk_zkd_a_extra\t-3\nzk_zkd_b_extra\t7\nzk_avg_socket_closing_time\t0.0\n"
	if !strings.Contains(text, extraCounters) {
		t.Errorf("mntr: want extra counters sorted after zk_revalidate_count:\n%q", extraCounters)
	}
	extraSummaries := "zk_p999_write_commitproc_time_ms\t0\n" +
		"zk_avg_1_learner_handler_qp_time_ms\t0.0\nzk_min_1_learner_handler_qp_time_ms\t0\n" +
		"zk_max_1_learner_handler_qp_time_ms\t0\nzk_cnt_1_learner_handler_qp_time_ms\t0\n" +
		"zk_sum_1_learner_handler_qp_time_ms\t0\nzk_p50_1_learner_handler_qp_time_ms\t0\n" +
		"zk_p95_1_learner_handler_qp_time_ms\t0\nzk_p99_1_learner_handler_qp_time_ms\t0\n" +
		"zk_p999_1_learner_handler_qp_time_ms\t0\n" +
		"zk_avg_a_write_per_namespace\t8.0\nzk_min_a_write_per_namespace\t8\n" +
		"zk_max_a_write_per_namespace\t8\nzk_cnt_a_write_per_namespace\t1\nzk_sum_a_write_per_namespace\t8\n"
	if !strings.HasSuffix(text, extraSummaries) {
		t.Errorf("mntr end: got %q, want it to end with %q", text[len(text)-len(extraSummaries):], extraSummaries)
	}
}

func TestMntrFault(t *testing.T) {
	st := fixedStats()
	if lines := mntrLines(t, st); slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "zk_fault") }) {
		t.Fatal("a healthy server printed zk_fault")
	}
	st.Fault = "persistence failed:\tdisk full"
	lines := mntrLines(t, st)
	if got, want := lines[2], "zk_fault\tpersistence failed: disk full"; got != want {
		t.Fatalf("third mntr line: got %q, want %q", got, want)
	}
}

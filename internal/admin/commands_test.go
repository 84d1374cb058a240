package admin

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// zooKeeperCommands is ZooKeeper 3.9's command list (Commands.java), every
// name and alias.
var zooKeeperCommands = map[string][]string{
	"connection_stat_reset": {"crst"}, "configuration": {"conf", "config"}, "connections": {"cons"},
	"hash": nil, "dirs": nil, "dump": nil, "environment": {"env", "envi"}, "get_trace_mask": {"gtmk"},
	"initial_configuration": {"icfg"}, "is_read_only": {"isro"}, "last_snapshot": {"lsnp"},
	"leader": {"lead"}, "monitor": {"mntr"}, "observer_connection_stat_reset": {"orst"},
	"restore": {"rest"}, "ruok": nil, "set_trace_mask": {"stmk"}, "snapshot": {"snap"},
	"server_stats": {"srvr"}, "stats": {"stat"}, "stat_reset": {"srst"}, "observers": {"obsr"},
	"system_properties": {"sysp"}, "voting_view": nil, "watches": {"wchc"},
	"watches_by_path": {"wchp"}, "watch_summary": {"wchs"}, "zabstate": nil,
}

func TestCommandList(t *testing.T) {
	var want []string
	for name, aliases := range zooKeeperCommands {
		want = append(want, name)
		if got := CommandAliases(name); !slices.Equal(got, append([]string{name}, aliases...)) {
			t.Errorf("%s: got names %v, want %v", name, got, append([]string{name}, aliases...))
		}
	}
	slices.Sort(want)
	if got := CommandNames(); !slices.Equal(got, want) {
		t.Errorf("got commands %v, want %v", got, want)
	}
	// The /commands page links each primary name, sorted, like Jetty's.
	srv := newTestServer(standaloneSource())
	for _, path := range []string{"/commands", "/commands/"} {
		rec := do(srv.AdminHandler(), "GET", path, nil)
		var links []string
		for _, line := range strings.Split(rec.Body.String(), "\n") {
			if strings.HasPrefix(line, "<a href=") {
				links = append(links, line)
			}
		}
		if len(links) != len(want) || !strings.Contains(links[0], `href="/commands/configuration"`) {
			t.Errorf("%s: got %d links starting %q, want %d starting with configuration", path, len(links), links[0], len(want))
		}
	}
}

// The shapes below are ZooKeeper's: the field lists of its CommandsTest
// (3.9) and the replies of Debian's ZooKeeper 3.8 AdminServer, captured
// standalone and as leader of a 3+1 ensemble. Order matters where
// ZooKeeper's order is fixed (LinkedHashMap), so it is compared too.
func TestCommandShapes(t *testing.T) {
	tests := []struct {
		name   string
		quorum bool
		query  string
		want   []string
	}{
		{"configuration", false, "", []string{"client_port", "data_dir", "data_log_dir", "tick_time", "max_client_cnxns", "min_session_timeout", "max_session_timeout", "server_id", "client_port_listen_backlog"}},
		{"connection_stat_reset", false, "", nil},
		{"connections", false, "", []string{"connections", "secure_connections"}},
		{"hash", false, "", []string{"digests"}},
		{"dirs", false, "", []string{"datadir_size", "logdir_size"}},
		{"dump", false, "", []string{"expiry_time_to_session_ids", "session_id_to_ephemeral_paths"}},
		{"environment", false, "", []string{"zookeeper.version", "host.name", "java.version", "java.vendor", "java.home", "java.class.path", "java.library.path", "java.io.tmpdir", "java.compiler", "os.name", "os.arch", "os.version", "user.name", "user.home", "user.dir", "os.memory.free", "os.memory.max", "os.memory.total"}},
		{"get_trace_mask", false, "", []string{"tracemask"}},
		{"initial_configuration", false, "", []string{"initial_configuration"}},
		{"is_read_only", false, "", []string{"read_only"}},
		{"last_snapshot", false, "", []string{"zxid", "timestamp"}},
		{"observer_connection_stat_reset", false, "", nil},
		{"observers", false, "", []string{"synced_observers", "observers"}},
		{"ruok", false, "", nil},
		{"server_stats", false, "", []string{"version", "read_only", "server_stats", "client_response", "node_count"}},
		{"set_trace_mask", false, "?traceMask=1", []string{"tracemask"}},
		{"stats", false, "", []string{"version", "read_only", "server_stats", "client_response", "node_count", "connections", "secure_connections"}},
		{"stat_reset", false, "", nil},
		{"voting_view", false, "", []string{"current_config"}},
		{"watches", false, "", []string{"session_id_to_watched_paths"}},
		{"watches_by_path", false, "", []string{"path_to_session_ids"}},
		{"watch_summary", false, "", []string{"num_connections", "num_paths", "num_total_watches"}},
		{"zabstate", false, "", []string{"voting", "zabstate"}},
		{"leader", true, "", []string{"is_leader", "leader_id", "leader_ip"}},
		{"observers", true, "", []string{"synced_observers", "observers"}},
		{"server_stats", true, "", []string{"version", "read_only", "server_stats", "client_response", "proposal_stats", "node_count"}},
		{"voting_view", true, "", []string{"current_config"}},
		{"zabstate", true, "", []string{"myid", "is_leader", "quorum_address", "election_address", "client_address", "voting", "last_zxid", "zab_epoch", "zab_counter", "zabstate"}},
	}
	for _, tt := range tests {
		src := standaloneSource()
		if tt.quorum {
			src = quorumSource()
		}
		srv := newTestServer(src)
		for _, name := range CommandAliases(tt.name) {
			rec := do(srv.AdminHandler(), "GET", "/commands/"+name+tt.query, nil)
			if rec.Code != http.StatusOK {
				t.Errorf("%s (quorum %v): got status %d, want 200; body %s", name, tt.quorum, rec.Code, rec.Body)
				continue
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s: got Content-Type %q, want application/json", name, ct)
			}
			want := append(slices.Clone(tt.want), "command", "error")
			if got := topKeys(t, rec.Body.Bytes()); !slices.Equal(got, want) {
				t.Errorf("%s (quorum %v): got keys %v, want %v", name, tt.quorum, got, want)
			}
			m := decode(t, rec.Body.Bytes())
			// An alias answers with the primary name, as in ZooKeeper.
			if m["command"] != tt.name || m["error"] != nil {
				t.Errorf("%s: got command %v error %v, want %s and null", name, m["command"], m["error"], tt.name)
			}
		}
	}
}

func TestNestedShapes(t *testing.T) {
	srv := newTestServer(quorumSource())
	h := srv.AdminHandler()

	m := decode(t, do(h, "GET", "/commands/server_stats", nil).Body.Bytes())
	wantStats := []string{"packets_sent", "packets_received", "fsync_threshold_exceed_count", "client_response_stats",
		"data_dir_size", "log_dir_size", "provider_null", "server_state", "last_processed_zxid", "outstanding_requests",
		"avg_latency", "max_latency", "min_latency", "num_alive_client_connections", "uptime", "auth_failed_count",
		"non_mtlsremote_conn_count", "non_mtlslocal_conn_count"}
	if got := keysOf(t, m["server_stats"]); !slices.Equal(got, sorted(wantStats)) {
		t.Errorf("server_stats.server_stats: got keys %v, want %v", got, sorted(wantStats))
	}
	buf := []string{"last_buffer_size", "max_buffer_size", "min_buffer_size"}
	for _, k := range []string{"client_response", "proposal_stats"} {
		if got := keysOf(t, m[k]); !slices.Equal(got, buf) {
			t.Errorf("server_stats.%s: got keys %v, want %v", k, got, buf)
		}
	}

	m = decode(t, do(h, "GET", "/commands/stats", nil).Body.Bytes())
	brief := []string{"interest_ops", "outstanding_requests", "packets_received", "packets_sent", "remote_socket_address"}
	if got := keysOf(t, m["connections"].([]any)[0]); !slices.Equal(got, brief) {
		t.Errorf("stats.connections[0]: got keys %v, want %v", got, brief)
	}

	m = decode(t, do(h, "GET", "/commands/monitor", nil).Body.Bytes())
	// ZooKeeper's CommandsTest.testMonitor fields (zkd adds counters, never removes).
	for _, k := range []string{"version", "avg_latency", "max_latency", "min_latency", "packets_received", "packets_sent",
		"num_alive_connections", "outstanding_requests", "server_state", "znode_count", "watch_count", "ephemerals_count",
		"approximate_data_size", "open_file_descriptor_count", "max_file_descriptor_count", "last_client_response_size",
		"max_client_response_size", "min_client_response_size", "auth_failed_count", "non_mtls_remote_conn_count",
		"non_mtls_local_conn_count", "uptime", "global_sessions", "local_sessions", "connection_drop_probability",
		"outstanding_tls_handshake", "quorum_size", "learners", "synced_followers", "synced_observers", "pending_syncs",
		"leader_uptime", "avg_readlatency", "p99_readlatency", "cnt_fsynctime"} {
		if _, ok := m[k]; !ok {
			t.Errorf("monitor: missing %q", k)
		}
	}
	if v := m["avg_latency"]; v == nil || v.(interface{ String() string }).String() != "4.0" {
		t.Errorf("monitor avg_latency: got %v, want the number 4.0", v)
	}
	if v, ok := m["server_state"].(string); !ok || v != "leader" {
		t.Errorf("monitor server_state: got %v, want the string leader", m["server_state"])
	}
}

// Byte-for-byte replies of ZooKeeper 3.8's AdminServer, for inputs that
// match what it served.
func TestRepliesMatchZooKeeperBytes(t *testing.T) {
	src := standaloneSource()
	src.sessions[0].Expiry = time.UnixMilli(4224000)
	q := quorumSource()
	q.ens.Members[2].ClientAddress = ""
	tests := []struct {
		src  *fakeSource
		path string
		want string
	}{
		{src, "/commands/connections", `{
  "connections" : [ {
    "remote_socket_address" : "127.0.0.1:48472",
    "interest_ops" : 1,
    "outstanding_requests" : 0,
    "packets_received" : 0,
    "packets_sent" : 0,
    "session_id" : 72057869577814016,
    "last_operation" : "NA",
    "established" : 1795290177726,
    "session_timeout" : 10000,
    "last_cxid" : -1,
    "last_zxid" : -1,
    "last_response_time" : 0,
    "last_latency" : 0,
    "min_latency" : 0,
    "avg_latency" : 0,
    "max_latency" : 0
  } ],
  "secure_connections" : [ ],
  "command" : "connections",
  "error" : null
}`},
		{src, "/commands/dump", `{
  "expiry_time_to_session_ids" : {
    "4224000" : [ 72057869577814016 ]
  },
  "session_id_to_ephemeral_paths" : {
    "72057869577814016" : [ "/e" ]
  },
  "command" : "dump",
  "error" : null
}`},
		{src, "/commands/leader", `{
  "error" : "server is not initialized",
  "command" : "leader"
}`},
		{src, "/commands/watches", `{
  "session_id_to_watched_paths" : {
    "72057869577814016" : [ "/a", "/e" ]
  },
  "command" : "watches",
  "error" : null
}`},
		{src, "/commands/watch_summary", `{
  "num_connections" : 1,
  "num_paths" : 2,
  "num_total_watches" : 2,
  "command" : "watch_summary",
  "error" : null
}`},
		{src, "/commands/nosuch", `{
  "command" : "nosuch",
  "error" : "Unknown command: nosuch"
}`},
		{src, "/commands/stats/extra", `{
  "command" : "stats/extra",
  "error" : "Unknown command: stats/extra"
}`},
		{src, "/commands/set_trace_mask", `{
  "error" : "setTraceMask requires long traceMask argument",
  "command" : "set_trace_mask"
}`},
		{src, "/commands/zabstate", `{
  "voting" : false,
  "zabstate" : "",
  "command" : "zabstate",
  "error" : null
}`},
		{q, "/commands/voting_view", `{
  "current_config" : {
    "1" : {
      "server_addresses" : [ "127.0.0.1:2889" ],
      "election_addresses" : [ "127.0.0.1:3889" ],
      "client_address" : "",
      "learner_type" : "participant"
    },
    "2" : {
      "server_addresses" : [ "127.0.0.1:2890" ],
      "election_addresses" : [ "127.0.0.1:3890" ],
      "client_address" : "",
      "learner_type" : "participant"
    },
    "3" : {
      "server_addresses" : [ "127.0.0.1:2891" ],
      "election_addresses" : [ "127.0.0.1:3891" ],
      "client_address" : "127.0.0.1:22193",
      "learner_type" : "participant"
    }
  },
  "command" : "voting_view",
  "error" : null
}`},
		{q, "/commands/leader", `{
  "is_leader" : true,
  "leader_id" : 3,
  "leader_ip" : "127.0.0.1",
  "command" : "leader",
  "error" : null
}`},
		{q, "/commands/zabstate", `{
  "myid" : 3,
  "is_leader" : true,
  "quorum_address" : {
    "empty" : false,
    "all_addresses" : [ "127.0.0.1:2891" ],
    "all_reachable_addresses" : [ "127.0.0.1:2891" ],
    "one" : "127.0.0.1:2891",
    "reachable_address" : "127.0.0.1:2891",
    "wildcard_addresses" : [ "0.0.0.0:2891" ],
    "all_ports" : [ 2891 ],
    "all_host_strings" : [ "127.0.0.1" ],
    "all_reachable_addresses_or_all" : [ "127.0.0.1:2891" ],
    "reachable_or_one" : "127.0.0.1:2891"
  },
  "election_address" : {
    "empty" : false,
    "all_addresses" : [ "127.0.0.1:3891" ],
    "all_reachable_addresses" : [ "127.0.0.1:3891" ],
    "one" : "127.0.0.1:3891",
    "reachable_address" : "127.0.0.1:3891",
    "wildcard_addresses" : [ "0.0.0.0:3891" ],
    "all_ports" : [ 3891 ],
    "all_host_strings" : [ "127.0.0.1" ],
    "all_reachable_addresses_or_all" : [ "127.0.0.1:3891" ],
    "reachable_or_one" : "127.0.0.1:3891"
  },
  "client_address" : "127.0.0.1:22193",
  "voting" : true,
  "last_zxid" : "0x100000000",
  "zab_epoch" : 1,
  "zab_counter" : 0,
  "zabstate" : "broadcast",
  "command" : "zabstate",
  "error" : null
}`},
	}
	for _, tt := range tests {
		rec := do(newTestServer(tt.src).AdminHandler(), "GET", tt.path, nil)
		if got := rec.Body.String(); got != tt.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.path, got, tt.want)
		}
	}
}

func TestCommandValues(t *testing.T) {
	src := standaloneSource()
	srv := newTestServer(src)
	h := srv.AdminHandler()
	get := func(path string) map[string]any { return decode(t, do(h, "GET", path, nil).Body.Bytes()) }

	if m := get("/commands/configuration"); m["client_port"].(interface{ String() string }).String() != "2181" || m["data_dir"] != "/data" {
		t.Errorf("configuration: got client_port %v data_dir %v, want 2181 and /data", m["client_port"], m["data_dir"])
	}
	if m := get("/commands/get_trace_mask"); m["tracemask"].(interface{ String() string }).String() != "306" {
		t.Errorf("get_trace_mask: got %v, want ZooKeeper's default 306", m["tracemask"])
	}
	get("/commands/stmk?traceMask=1")
	if m := get("/commands/gtmk"); m["tracemask"].(interface{ String() string }).String() != "1" {
		t.Errorf("get_trace_mask after set 1: got %v, want 1", m["tracemask"])
	}
	if m := get("/commands/stmk?traceMask=x"); m["error"] != "setTraceMask requires long traceMask argument, got x" {
		t.Errorf("set_trace_mask x: got error %v", m["error"])
	}
	// No snapshot yet: ZooKeeper's "no information" answer.
	if m := get("/commands/last_snapshot"); m["zxid"] != "ffffffffffffffff" || m["timestamp"].(interface{ String() string }).String() != "-1" {
		t.Errorf("last_snapshot without one: got %v", m)
	}
	src.snap = &SnapshotInfo{Zxid: 0x200000005, Time: time.Unix(1795290168, 0)}
	if m := get("/commands/lsnp"); m["zxid"] != "200000005" || m["timestamp"].(interface{ String() string }).String() != "1795290168" {
		t.Errorf("last_snapshot: got %v, want zxid 200000005 timestamp 1795290168", m)
	}
	if m := get("/commands/icfg"); m["initial_configuration"] != nil {
		t.Errorf("initial_configuration unknown: got %v, want null", m["initial_configuration"])
	}
	get("/commands/srst")
	get("/commands/crst")
	if src.statsResets != 1 || src.connResets != 1 {
		t.Errorf("resets: got stats %d conns %d, want 1 and 1", src.statsResets, src.connResets)
	}
	m := get("/commands/hash")
	d := m["digests"].([]any)[0].(map[string]any)
	if d["zxid"].(interface{ String() string }).String() != "128" || d["digest"].(interface{ String() string }).String() != "295593515609" {
		t.Errorf("hash: got %v", d)
	}
	keys := topKeys(t, do(h, "GET", "/commands/system_properties", nil).Body.Bytes())
	props := keys[:len(keys)-2]
	if !slices.IsSorted(props) || !slices.Contains(props, "os.name") || !slices.Contains(props, "line.separator") {
		t.Errorf("system_properties: got keys %v, want sorted, with os.name and line.separator", props)
	}
}

func TestNotServing(t *testing.T) {
	src := standaloneSource()
	src.health.Serving = false
	h := newTestServer(src).AdminHandler()
	// ZooKeeper answers with the name it was given and status 200.
	for _, name := range []string{"srvr", "ruok", "dump", "snapshot", "leader"} {
		m := decode(t, do(h, "GET", "/commands/"+name, nil).Body.Bytes())
		if m["command"] != name || m["error"] != notServing {
			t.Errorf("%s while not serving: got %v", name, m)
		}
	}
	// Commands that do not need a running server still answer.
	for _, name := range []string{"environment", "get_trace_mask", "system_properties", "zabstate"} {
		if m := decode(t, do(h, "GET", "/commands/"+name, nil).Body.Bytes()); m["error"] != nil {
			t.Errorf("%s while not serving: got error %v, want null", name, m["error"])
		}
	}
}

func TestMethods(t *testing.T) {
	h := newTestServer(standaloneSource()).AdminHandler()
	tests := []struct {
		method, path string
		want         int
	}{
		{"GET", "/commands/ruok", 200},
		{"HEAD", "/commands/ruok", 200},
		{"POST", "/commands/ruok", 405},
		{"GET", "/commands/restore", 405},
		{"TRACE", "/commands/ruok", 405},
		{"GET", "/", 404},
		{"GET", "/metrics", 404}, // metrics live on their own port
	}
	for _, tt := range tests {
		if rec := do(h, tt.method, tt.path, nil); rec.Code != tt.want {
			t.Errorf("%s %s: got %d, want %d", tt.method, tt.path, rec.Code, tt.want)
		}
	}
}

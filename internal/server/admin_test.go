package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd-io/zkd/internal/admin"
	"github.com/zkd-io/zkd/internal/config"
	"github.com/zkd-io/zkd/internal/fsm"
	"github.com/zkd-io/zkd/internal/tree"
)

// startAdminServer runs a standalone server with its admin and metrics
// endpoints on free loopback ports.
func startAdminServer(t *testing.T, mutate ...func(*config.Options)) *Server {
	t.Helper()
	s := startServer(t, append([]func(*config.Options){func(o *config.Options) {
		o.AdminEnableServer = true
		o.AdminServerAddress = "127.0.0.1"
		o.AdminServerPort = 0
		o.MetricsHTTPPort = 0
	}}, mutate...)...)
	if s.metricsAddr() == nil {
		if err := s.startAdmin(); err != nil {
			t.Fatalf("startAdmin: %v", err)
		}
	}
	t.Cleanup(s.stopAdmin)
	return s
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// httpDo sends a request; header is name, value pairs.
func httpDo(t *testing.T, method, url string, body []byte, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, b
}

func adminURL(s *Server, path string) string   { return "http://" + s.adminAddr().String() + path }
func metricsURL(s *Server, path string) string { return "http://" + s.metricsAddr().String() + path }

func jsonObject(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, b)
	}
	return m
}

func TestAdminCommandsLive(t *testing.T) {
	s := startAdminServer(t)
	c, _ := connect(t, s)
	if _, err := c.Create("/a", []byte("hello"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("/e", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := c.GetW("/a"); err != nil {
		t.Fatal(err)
	}
	sid := strconv.FormatInt(c.SessionID(), 10)

	for _, name := range admin.CommandNames() {
		if name == "snapshot" || name == "restore" {
			continue
		}
		code, _, body := httpDo(t, "GET", adminURL(s, "/commands/"+name), nil)
		if code != 200 {
			t.Errorf("%s: got status %d, want 200: %s", name, code, body)
			continue
		}
		m := jsonObject(t, body)
		if m["command"] != name {
			t.Errorf("%s: got command %v", name, m["command"])
		}
		// leader answers ZooKeeper's standalone error in the data;
		// set_trace_mask without its argument is refused, as in ZooKeeper.
		if _, ok := m["error"]; !ok || (m["error"] != nil && name != "leader" && name != "set_trace_mask") {
			t.Errorf("%s: got error %v, want null", name, m["error"])
		}
	}

	get := func(name string) map[string]any {
		_, _, body := httpDo(t, "GET", adminURL(s, "/commands/"+name), nil)
		return jsonObject(t, body)
	}
	if m := get("dump"); !strings.Contains(fmt.Sprint(m["session_id_to_ephemeral_paths"]), sid+":[/e]") {
		t.Errorf("dump: got %v, want session %s owning /e", m["session_id_to_ephemeral_paths"], sid)
	}
	if m := get("watches"); !strings.Contains(fmt.Sprint(m["session_id_to_watched_paths"]), sid+":[/a]") {
		t.Errorf("watches: got %v, want session %s watching /a", m["session_id_to_watched_paths"], sid)
	}
	if m := get("watches_by_path"); !strings.Contains(fmt.Sprint(m["path_to_session_ids"]), "/a:["+sid+"]") {
		t.Errorf("watches_by_path: got %v, want /a watched by %s", m["path_to_session_ids"], sid)
	}
	if m := get("connections"); !strings.Contains(fmt.Sprint(m["connections"]), "session_id:"+sid) {
		t.Errorf("connections: got %v, want session %s", m["connections"], sid)
	}
	if m := get("monitor"); fmt.Sprint(m["server_state"]) != "standalone" || fmt.Sprint(m["ephemerals_count"]) != "1" {
		t.Errorf("monitor: got server_state %v ephemerals_count %v, want standalone and 1", m["server_state"], m["ephemerals_count"])
	}
	if m := get("server_stats"); !strings.HasPrefix(fmt.Sprint(m["version"]), "3.9.0-zkd-") {
		t.Errorf("server_stats version: got %v", m["version"])
	}

	// stat_reset zeroes the packet counters that server_stats reports.
	get("stat_reset")
	st := get("server_stats")["server_stats"].(map[string]any)
	if n, _ := strconv.Atoi(fmt.Sprint(st["packets_received"])); n > 1 {
		t.Errorf("after stat_reset: packets_received %d, want at most 1", n)
	}
}

func TestAdminSnapshotLive(t *testing.T) {
	s := startAdminServer(t)
	c, _ := connect(t, s)
	if _, err := c.Create("/a", []byte("hello"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	url := adminURL(s, "/commands/snapshot")
	refused := []struct {
		name    string
		headers []string
		want    int
	}{
		{"no auth", nil, 401},
		{"wrong password", []string{"Authorization", "digest admin:wrong"}, 403},
		{"ip with a forged X-Forwarded-For", []string{"Authorization", "ip", "X-Forwarded-For", "10.9.9.9"}, 403},
	}
	// Only admin:secret, and clients connecting from 10.9.9.9, may now do
	// anything on "/".
	if _, err := c.SetACL("/", append(zk.DigestACL(zk.PermAll, "admin", "secret"), zk.ACL{Perms: zk.PermAll, Scheme: "ip", ID: "10.9.9.9"}), -1); err != nil {
		t.Fatal(err)
	}
	for _, tt := range refused {
		if code, _, body := httpDo(t, "GET", url, nil, tt.headers...); code != tt.want {
			t.Errorf("%s: got %d, want %d: %s", tt.name, code, tt.want, body)
		}
	}

	code, h, body := httpDo(t, "GET", url, nil, "Authorization", "digest admin:secret")
	if code != 200 {
		t.Fatalf("snapshot: got %d, want 200: %s", code, body)
	}
	if h.Get("snapshot_size") != strconv.Itoa(len(body)) {
		t.Errorf("snapshot_size %q, body %d bytes", h.Get("snapshot_size"), len(body))
	}
	restored := fsm.New(fsm.Options{})
	if err := restored.Restore(bytes.NewReader(body)); err != nil {
		t.Fatalf("the downloaded snapshot does not restore: %v", err)
	}
	if n := restored.Tree().Get("/a"); n == nil || string(n.Data()) != "hello" {
		t.Errorf("restored /a: got %v, want data hello", n)
	}
	if got, want := h.Get("last_zxid"), "0x"+strconv.FormatInt(restored.LastZxid(), 16); got != want {
		t.Errorf("last_zxid header %s, want the snapshot's %s", got, want)
	}
	s.mu.RLock()
	digest := s.fsm.Digest()
	s.mu.RUnlock()
	if restored.Digest() != digest {
		t.Errorf("restored digest %x, want the server's %x", restored.Digest(), digest)
	}
	// ZooKeeper's default limit: one snapshot per five minutes.
	if code, _, _ := httpDo(t, "GET", url, nil, "Authorization", "digest admin:secret"); code != http.StatusTooManyRequests {
		t.Errorf("second snapshot: got %d, want 429", code)
	}

	code, _, body = httpDo(t, "POST", adminURL(s, "/commands/restore"), []byte("x"), "Authorization", "digest admin:secret")
	if m := jsonObject(t, body); code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(m["error"]), "not start with a zkd snapshot header") {
		t.Errorf("restore of a non-snapshot: got %d %v, want 400 naming the missing header", code, m["error"])
	}
}

func TestAdminSnapshotSuperUser(t *testing.T) {
	s := startAdminServer(t, func(o *config.Options) { o.SuperDigest = tree.DigestID("super:pw") })
	c, _ := connect(t, s)
	if _, err := c.SetACL("/", zk.DigestACL(zk.PermRead, "someone", "else"), -1); err != nil {
		t.Fatal(err)
	}
	if code, _, body := httpDo(t, "GET", adminURL(s, "/commands/snapshot"), nil, "Authorization", "digest super:pw"); code != 200 {
		t.Errorf("super: got %d, want 200: %s", code, body)
	}
}

func TestMetricsLive(t *testing.T) {
	s := startAdminServer(t)
	c, _ := connect(t, s)
	for i := range 5 {
		if _, err := c.Create(fmt.Sprintf("/m%d", i), nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	code, h, body := httpDo(t, "GET", metricsURL(s, "/metrics"), nil)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: got %d %q", code, h.Get("Content-Type"))
	}
	vals := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, v, ok := strings.Cut(line, " ")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		vals[name] = f
	}
	tests := []struct {
		name    string
		atLeast float64
	}{
		{"znode_count", 7}, {"packets_received", 5}, {"packets_sent", 5}, {"global_sessions", 1},
		{"num_alive_connections", 1}, {"uptime", 1}, {"open_file_descriptor_count", 1},
		{"zkd_raft_term", 1}, {"zkd_raft_applied_index", 6}, {"zkd_raft_leader_id", 1},
		{"zkd_last_zxid", 5}, {"zkd_wal_syncs_total", 1}, {"zkd_serving", 1},
		{`zkd_server_state{state="standalone"}`, 1},
	}
	for _, tt := range tests {
		if v, ok := vals[tt.name]; !ok || v < tt.atLeast {
			t.Errorf("%s: got %v (present %v), want at least %v", tt.name, v, ok, tt.atLeast)
		}
	}
	if _, ok := vals["outstanding_requests"]; !ok {
		t.Errorf("outstanding_requests missing")
	}
	for _, u := range []string{adminURL(s, "/healthz"), adminURL(s, "/readyz"), metricsURL(s, "/healthz"), metricsURL(s, "/readyz")} {
		if code, _, body := httpDo(t, "GET", u, nil); code != 200 {
			t.Errorf("%s: got %d %s, want 200", u, code, body)
		}
	}
}

func freePort(t *testing.T) (int, net.Listener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln.Addr().(*net.TCPAddr).Port, ln
}

func TestAdminListenConfig(t *testing.T) {
	s := startAdminServer(t)
	s.stopAdmin()
	if s.adminAddr() != nil || s.metricsAddr() != nil {
		t.Fatalf("addresses left after stopAdmin")
	}

	busy, ln := freePort(t)
	defer ln.Close()
	tests := []struct {
		name        string
		adminPort   int
		metricsPort int
		wantErr     string
	}{
		{"admin port taken", busy, 0, fmt.Sprintf("admin.serverPort=%d", busy)},
		{"metrics port taken", 0, busy, fmt.Sprintf("metricsProvider.httpPort=%d", busy)},
		{"shared port taken", busy, busy, fmt.Sprintf("admin.serverPort=%d, metricsProvider.httpPort=%d", busy, busy)},
	}
	for _, tt := range tests {
		s.opts.AdminServerPort, s.opts.MetricsHTTPPort = tt.adminPort, tt.metricsPort
		err := s.startAdmin()
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("%s: got %v, want an error naming %q and the address", tt.name, err, tt.wantErr)
		}
		if s.metricsAddr() != nil {
			t.Errorf("%s: endpoints registered after a failed start", tt.name)
			s.stopAdmin()
		}
	}

	// One port for both: one listener serves commands and metrics.
	port, pl := freePort(t)
	pl.Close()
	s.opts.AdminServerPort, s.opts.MetricsHTTPPort = port, port
	if err := s.startAdmin(); err != nil {
		t.Fatalf("shared port: %v", err)
	}
	for _, p := range []string{"/commands/ruok", "/metrics"} {
		if code, _, _ := httpDo(t, "GET", adminURL(s, p), nil); code != 200 {
			t.Errorf("shared port %s: got %d, want 200", p, code)
		}
	}
	s.stopAdmin()

	// admin.enableServer=false leaves metrics on.
	s.opts.AdminEnableServer, s.opts.AdminServerPort, s.opts.MetricsHTTPPort = false, 0, 0
	if err := s.startAdmin(); err != nil {
		t.Fatal(err)
	}
	if s.adminAddr() != nil {
		t.Errorf("admin server listening with admin.enableServer=false")
	}
	if code, _, _ := httpDo(t, "GET", metricsURL(s, "/metrics"), nil); code != 200 {
		t.Errorf("metrics with the admin server off: got %d", code)
	}
}

func TestAdminLastSnapshotLive(t *testing.T) {
	s := startAdminServer(t, func(o *config.Options) { o.SnapCount = 4 })
	c, _ := connect(t, s)
	for i := range 12 {
		if _, err := c.Create(fmt.Sprintf("/s%d", i), nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	// Snapshots are written off the apply path; wait for one to appear.
	deadline := time.Now().Add(5 * time.Second)
	var m map[string]any
	for {
		_, _, body := httpDo(t, "GET", adminURL(s, "/commands/last_snapshot"), nil)
		m = jsonObject(t, body)
		if m["zxid"] != "ffffffffffffffff" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	zxid, err := strconv.ParseUint(fmt.Sprint(m["zxid"]), 16, 64)
	if err != nil || zxid == 0 || zxid == 1<<64-1 {
		t.Fatalf("last_snapshot: got zxid %v, want the zxid of a snapshot taken after at least 4 entries", m["zxid"])
	}
	s.mu.RLock()
	last := s.fsm.LastZxid()
	s.mu.RUnlock()
	if int64(zxid) > last {
		t.Errorf("last_snapshot zxid %x is past the last applied zxid %x", zxid, last)
	}
	ts, _ := strconv.ParseInt(fmt.Sprint(m["timestamp"]), 10, 64)
	if d := time.Since(time.Unix(ts, 0)); d < -time.Minute || d > time.Minute {
		t.Errorf("last_snapshot timestamp %d is %v from now", ts, d)
	}
}

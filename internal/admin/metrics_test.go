package admin

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := do(h, "GET", "/metrics", nil)
	if rec.Code != 200 {
		t.Fatalf("/metrics: got %d, want 200: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("/metrics Content-Type: got %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse as Prometheus text: %v", err)
	}
	return fams
}

func value(t *testing.T, fams map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil || len(f.Metric) == 0 {
		t.Errorf("metric %s missing", name)
		return 0
	}
	m := f.Metric[0]
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Summary != nil:
		return float64(m.Summary.GetSampleCount())
	}
	return m.Untyped.GetValue()
}

func TestMetrics(t *testing.T) {
	src := quorumSource()
	fams := scrape(t, newTestServer(src).MetricsHandler())
	tests := []struct {
		name string
		typ  dto.MetricType
		want float64
	}{
		{"znode_count", dto.MetricType_GAUGE, 7},
		{"watch_count", dto.MetricType_GAUGE, 3},
		{"outstanding_requests", dto.MetricType_GAUGE, 0},
		{"num_alive_connections", dto.MetricType_GAUGE, 1},
		{"packets_received", dto.MetricType_GAUGE, 6},
		{"packets_sent", dto.MetricType_GAUGE, 6},
		{"avg_latency", dto.MetricType_GAUGE, 4},
		{"min_latency", dto.MetricType_GAUGE, 2},
		{"max_latency", dto.MetricType_GAUGE, 9},
		{"uptime", dto.MetricType_GAUGE, 10000},
		{"ephemerals_count", dto.MetricType_GAUGE, 1},
		{"approximate_data_size", dto.MetricType_GAUGE, 54},
		{"global_sessions", dto.MetricType_GAUGE, 1},
		{"open_file_descriptor_count", dto.MetricType_GAUGE, 45},
		{"max_client_response_size", dto.MetricType_GAUGE, 93},
		{"quorum_size", dto.MetricType_GAUGE, 3},
		{"learners", dto.MetricType_GAUGE, 3},
		{"synced_followers", dto.MetricType_GAUGE, 2},
		{"synced_observers", dto.MetricType_GAUGE, 1},
		{"last_proposal_size", dto.MetricType_GAUGE, -1},
		{"session_expired", dto.MetricType_COUNTER, 2},
		{"readlatency", dto.MetricType_SUMMARY, 4},
		{"zkd_raft_term", dto.MetricType_GAUGE, 2},
		{"zkd_raft_applied_index", dto.MetricType_GAUGE, 9},
		{"zkd_raft_leader_id", dto.MetricType_GAUGE, 1},
		{"zkd_wal_syncs_total", dto.MetricType_COUNTER, 5},
		{"zkd_storage_fsyncs_total", dto.MetricType_COUNTER, 7},
		{"zkd_snapshots_written_total", dto.MetricType_COUNTER, 1},
		{"zkd_wal_last_sync_seconds", dto.MetricType_GAUGE, 0.003},
		{"zkd_last_zxid", dto.MetricType_GAUGE, 3},
		{"zkd_tree_digest", dto.MetricType_GAUGE, float64(0x123456789abcdef & (1<<53 - 1))},
		{"zkd_serving", dto.MetricType_GAUGE, 1},
		{"zkd_fault", dto.MetricType_GAUGE, 0},
		{"zkd_server_state", dto.MetricType_GAUGE, 1},
		{"zkd_data_dir_size_bytes", dto.MetricType_GAUGE, 1000},
		{"go_goroutines", dto.MetricType_GAUGE, -1},
	}
	for _, tt := range tests {
		f := fams[tt.name]
		if f == nil {
			t.Errorf("%s: missing", tt.name)
			continue
		}
		if f.GetType() != tt.typ {
			t.Errorf("%s: got type %v, want %v", tt.name, f.GetType(), tt.typ)
		}
		if got := value(t, fams, tt.name); tt.want >= 0 && got != tt.want || tt.want < 0 && tt.name == "go_goroutines" && got <= 0 {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	// tree_digest is a gauge under zkd_, not a counter under its mntr name.
	if fams["tree_digest"] != nil {
		t.Errorf("tree_digest exported as a counter")
	}
	// ZooKeeper's Prometheus summaries carry 0.5, 0.9 and 0.99; mntr's
	// 0.95 and 0.999 come along.
	wantQ := []struct{ q, v float64 }{{0.5, 3}, {0.9, 4}, {0.95, 5}, {0.99, 5}, {0.999, 5}}
	q := fams["readlatency"].Metric[0].Summary.Quantile
	if len(q) != len(wantQ) {
		t.Errorf("readlatency quantiles: got %v, want %v", q, wantQ)
	} else {
		for i, w := range wantQ {
			if q[i].GetQuantile() != w.q || q[i].GetValue() != w.v {
				t.Errorf("readlatency quantile %d: got %v=%v, want %v=%v", i, q[i].GetQuantile(), q[i].GetValue(), w.q, w.v)
			}
		}
	}
	if l := fams["zkd_server_state"].Metric[0].Label; len(l) != 1 || l[0].GetValue() != "leader" {
		t.Errorf("zkd_server_state labels: got %v, want state=leader", l)
	}

	// Standalone: no quorum or leader gauges, as in ZooKeeper.
	fams = scrape(t, newTestServer(standaloneSource()).MetricsHandler())
	for _, name := range []string{"quorum_size", "learners", "synced_followers", "pending_syncs"} {
		if fams[name] != nil {
			t.Errorf("standalone: %s exported", name)
		}
	}
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name   string
		health Health
		ready  int
		reason string
	}{
		{"serving", Health{Serving: true, LeaderID: 1}, 200, "ok"},
		{"no quorum", Health{Serving: false, LeaderID: 0}, 503, "no quorum"},
		{"no leader", Health{Serving: true, LeaderID: 0}, 503, "no leader"},
		{"disk fault", Health{Serving: true, LeaderID: 1, Fault: "persistence failed"}, 503, "persistence failed"},
	}
	for _, tt := range tests {
		src := standaloneSource()
		src.health = tt.health
		srv := newTestServer(src)
		for _, h := range []http.Handler{srv.AdminHandler(), srv.MetricsHandler(), srv.Handler()} {
			if rec := do(h, "GET", "/healthz", nil); rec.Code != 200 {
				t.Errorf("%s: /healthz got %d, want 200", tt.name, rec.Code)
			}
			rec := do(h, "GET", "/readyz", nil)
			if rec.Code != tt.ready || !strings.Contains(rec.Body.String(), tt.reason) {
				t.Errorf("%s: /readyz got %d %q, want %d containing %q", tt.name, rec.Code, rec.Body, tt.ready, tt.reason)
			}
		}
	}
}

// Serve and Close run real listeners and leave no goroutine behind.
func TestServeAndClose(t *testing.T) {
	srv := newTestServer(standaloneSource())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve(ln, srv.Handler())
	client := &http.Client{Timeout: 5 * time.Second}
	for _, path := range []string{"/commands/ruok", "/metrics", "/healthz"} {
		resp, err := client.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: got %d, want 200", path, resp.StatusCode)
		}
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := client.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Errorf("still serving after Close")
	}
	// Serving after Close is refused and closes the listener.
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve(ln2, srv.Handler())
	if _, err := ln2.Accept(); err == nil {
		t.Errorf("listener handed to a closed server is still open")
	}
}

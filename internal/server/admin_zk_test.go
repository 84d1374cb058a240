package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd-io/zkd/test/harness"
)

// Debian's zookeeper.jar names Jetty in its manifest but not the servlet
// API, so its AdminServer only starts with servlet-api.jar added
// (libservlet-api-java).
var debianAdminClasspath = []string{
	"/usr/share/java/zookeeper.jar",
	"/usr/share/java/slf4j-simple.jar",
	"/usr/share/java/servlet-api.jar",
}

// orderedKeys returns the keys of the JSON object b, in order.
func orderedKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %v: %s", err, b)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestAdminShapesMatchZooKeeper runs the same session against Debian's
// ZooKeeper (3.8, with its Jetty AdminServer on) and zkd, and compares the
// fields every command returns.
func TestAdminShapesMatchZooKeeper(t *testing.T) {
	var cp []string
	for _, p := range debianAdminClasspath {
		if _, err := os.Stat(p); err != nil {
			if filepath.Base(p) == "slf4j-simple.jar" {
				continue
			}
			harness.MissingTool(t, "ZooKeeper's AdminServer needs %s: apt-get install zookeeper libservlet-api-java", p)
			return
		}
		cp = append(cp, p)
	}
	t.Setenv("ZOOKEEPER_CLASSPATH", strings.Join(cp, string(filepath.ListSeparator)))
	port, ln := freePort(t)
	ln.Close()
	ref := harness.ZooKeeper(t,
		harness.WithConfig("admin.enableServer", "true"),
		harness.WithConfig("admin.serverAddress", "127.0.0.1"),
		harness.WithConfig("admin.serverPort", fmt.Sprint(port)),
	)
	if ref == nil {
		return
	}
	refURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	s := startAdminServer(t)

	for _, addr := range []string{ref.Addr, s.Addr().String()} {
		c, _, err := zk.Connect([]string{addr}, 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(quietLogger{}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Create("/a", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		if _, err := c.Create("/e", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := c.GetW("/a"); err != nil {
			t.Fatal(err)
		}
	}

	commands := []struct {
		name string
		// superset: zkd may return more fields (monitor: zkd's own counters).
		superset bool
	}{
		{"configuration", false}, {"connection_stat_reset", false}, {"connections", false}, {"dirs", false},
		{"dump", false}, {"environment", false}, {"get_trace_mask", false}, {"hash", false},
		{"initial_configuration", false}, {"is_read_only", false}, {"last_snapshot", false}, {"leader", false},
		{"monitor", true}, {"observer_connection_stat_reset", false}, {"observers", false}, {"ruok", false},
		{"server_stats", false}, {"set_trace_mask?traceMask=306", false}, {"stats", false}, {"stat_reset", false},
		{"voting_view", false}, {"watches", false}, {"watches_by_path", false}, {"watch_summary", false},
		{"zabstate", false}, {"nosuch", false},
	}
	for _, cmd := range commands {
		_, _, want := httpDo(t, "GET", refURL+"/commands/"+cmd.name, nil)
		_, _, got := httpDo(t, "GET", adminURL(s, "/commands/"+cmd.name), nil)
		wk, gk := orderedKeys(t, want), orderedKeys(t, got)
		if cmd.superset {
			for _, k := range wk {
				// Per-namespace summaries (reads and writes under each
				// top-level znode) are not kept by zkd's server yet.
				if strings.HasSuffix(k, "_per_namespace") {
					continue
				}
				if !slices.Contains(gk, k) {
					t.Errorf("%s: zkd lacks ZooKeeper's field %q", cmd.name, k)
				}
			}
			continue
		}
		if !slices.Equal(gk, wk) {
			t.Errorf("%s: got fields %v, ZooKeeper has %v", cmd.name, gk, wk)
		}
	}

	// Nested objects: the connection entries and ServerStats.
	nested := []struct {
		cmd  string
		pick func(map[string]any) any
	}{
		{"connections", func(m map[string]any) any { return m["connections"].([]any)[0] }},
		{"stats", func(m map[string]any) any { return m["connections"].([]any)[0] }},
		{"server_stats", func(m map[string]any) any { return m["server_stats"] }},
		{"server_stats", func(m map[string]any) any { return m["client_response"] }},
	}
	for _, n := range nested {
		_, _, want := httpDo(t, "GET", refURL+"/commands/"+n.cmd, nil)
		_, _, got := httpDo(t, "GET", adminURL(s, "/commands/"+n.cmd), nil)
		w, ok1 := n.pick(jsonObject(t, want)).(map[string]any)
		g, ok2 := n.pick(jsonObject(t, got)).(map[string]any)
		if !ok1 || !ok2 {
			t.Errorf("%s: nested value is not an object (ZooKeeper %v, zkd %v)", n.cmd, ok1, ok2)
			continue
		}
		if gk, wk := sortedKeys(g), sortedKeys(w); !slices.Equal(gk, wk) {
			t.Errorf("%s nested: got fields %v, ZooKeeper has %v", n.cmd, gk, wk)
		}
	}
}

package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/zkd-io/zkd/client"
)

// decodeLines parses output that must be JSON objects, one per line, and
// returns each with its "stat" split off; the rest is re-encoded with
// sorted keys, for comparing as a string.
func decodeLines(t *testing.T, out string) (objs []string, stats []map[string]any) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("output line is not a JSON object: %q (%v); output:\n%s", line, err, out)
		}
		st, _ := m["stat"].(map[string]any)
		delete(m, "stat")
		b, _ := json.Marshal(m)
		objs, stats = append(objs, string(b)), append(stats, st)
	}
	return objs, stats
}

// TestJSONOneShot runs one-shot commands with -json: one object per
// command on stdout, nothing on stderr, and the exit code of text mode.
func TestJSONOneShot(t *testing.T) {
	addr := startZkd(t)
	tests := []struct {
		cmd  []string
		code int
		want string         // the object without "stat", keys sorted
		stat map[string]any // fields the stat must have; nil: no stat
	}{
		{[]string{"create", "/j", "x"}, 0, `{"command":"create","path":"/j"}`, nil},
		{[]string{"create", "-s", "/j/s-"}, 0, `{"command":"create","path":"/j/s-0000000000"}`, nil},
		{[]string{"create", "/j/null"}, 0, `{"command":"create","path":"/j/null"}`, nil},
		{[]string{"create", "/j/bin", "\xff\x00<"}, 0, `{"command":"create","path":"/j/bin"}`, nil},
		{[]string{"get", "/j"}, 0, `{"command":"get","data":"x","path":"/j"}`, map[string]any{"dataLength": 1.0, "version": 0.0, "numChildren": 3.0}},
		{[]string{"get", "/j/null"}, 0, `{"command":"get","data":null,"path":"/j/null"}`, map[string]any{"dataLength": 0.0}},
		{[]string{"get", "/j/bin"}, 0, `{"command":"get","dataBase64":"/wA8","path":"/j/bin"}`, map[string]any{"dataLength": 3.0}},
		{[]string{"set", "/j", "y"}, 0, `{"command":"set","path":"/j"}`, map[string]any{"version": 1.0}},
		{[]string{"set", "-v", "7", "/j", "z"}, 1, `{"command":"set","error":"BADVERSION","message":"version No is not valid : /j","path":"/j"}`, nil},
		{[]string{"get", "/missing"}, 1, `{"command":"get","error":"NONODE","message":"Node does not exist: /missing","path":"/missing"}`, nil},
		{[]string{"stat", "/missing"}, 1, `{"command":"stat","error":"NONODE","message":"Node does not exist: /missing","path":"/missing"}`, nil},
		{[]string{"stat", "/j"}, 0, `{"command":"stat","path":"/j"}`, map[string]any{"numChildren": 3.0, "ephemeralOwner": 0.0}},
		{[]string{"create", "/j"}, 1, `{"command":"create","error":"NODEEXISTS","message":"Node already exists: /j","path":"/j"}`, nil},
		{[]string{"delete", "/j"}, 1, `{"command":"delete","error":"NOTEMPTY","message":"Node not empty: /j","path":"/j"}`, nil},
		{[]string{"ls", "/j"}, 0, `{"children":["bin","null","s-0000000000"],"command":"ls","path":"/j"}`, map[string]any{"numChildren": 3.0}},
		{[]string{"ls", "/j/bin"}, 0, `{"children":[],"command":"ls","path":"/j/bin"}`, map[string]any{"numChildren": 0.0}},
		{[]string{"ls", "-R", "/j"}, 0, `{"command":"ls","path":"/j","paths":["/j","/j/bin","/j/null","/j/s-0000000000"]}`, nil},
		{[]string{"getAcl", "/j"}, 0, `{"acl":[{"id":"anyone","perms":"cdrwa","scheme":"world"}],"command":"getAcl","path":"/j"}`, map[string]any{"aversion": 0.0}},
		{[]string{"getAllChildrenNumber", "/j"}, 0, `{"command":"getAllChildrenNumber","path":"/j","totalNumber":3}`, nil},
		{[]string{"getEphemerals", "/j"}, 0, `{"command":"getEphemerals","path":"/j","paths":[]}`, nil},
		{[]string{"whoami"}, 0, `{"clientInfo":[{"authScheme":"ip","user":"127.0.0.1"}],"command":"whoami"}`, nil},
		{[]string{"sync", "/j"}, 0, `{"command":"sync","path":"/j"}`, nil},
		{[]string{"addWatch", "-m", "PERSISTENT", "/j"}, 0, `{"command":"addWatch","mode":"PERSISTENT","path":"/j"}`, nil},
		{[]string{"get", "/j", "watch"}, 0, `{"command":"get","data":"y","path":"/j","warnings":["'get path [watch]' has been deprecated. Please use 'get [-s] [-w] path' instead."]}`, map[string]any{"version": 1.0}},
		{[]string{"ls"}, 1, `{"command":"ls","error":"BADARGUMENTS","message":"ls [-s] [-w] [-R] path"}`, nil},
		{[]string{"ls", "-x", "/"}, 1, `{"command":"ls","error":"BADARGUMENTS","message":"org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x"}`, nil},
		{[]string{"get", "nope"}, 1, `{"command":"get","error":"BADARGUMENTS","message":"Path must start with / character","path":"nope"}`, nil},
		{[]string{"bogus"}, 1, `{"command":"bogus","error":"BADARGUMENTS","message":"Command not found: Command not found bogus"}`, nil},
		{[]string{"listquota", "/j"}, 0, `{"command":"listquota","error":"NONODE","message":"quota for /j does not exist.","path":"/j"}`, nil},
		{[]string{"deleteall", "/j"}, 0, `{"command":"deleteall","path":"/j"}`, nil},
	}
	for _, tc := range tests {
		var stdout, stderr safeBuffer
		argv := append([]string{"-server", addr, "-json"}, tc.cmd...)
		code := run(argv, strings.NewReader(""), &stdout, &stderr)
		if stderr.String() != "" {
			t.Errorf("%q: got stderr %q, want none", tc.cmd, stderr.String())
		}
		objs, stats := decodeLines(t, stdout.String())
		if code != tc.code || len(objs) != 1 || objs[0] != tc.want {
			t.Errorf("%q: got exit %d and %q, want exit %d and [%s]", tc.cmd, code, objs, tc.code, tc.want)
			continue
		}
		if (stats[0] == nil) != (tc.stat == nil) {
			t.Errorf("%q: got stat %v, want %v", tc.cmd, stats[0], tc.stat)
		}
		for k, v := range tc.stat {
			if stats[0][k] != v {
				t.Errorf("%q: got stat.%s = %v, want %v", tc.cmd, k, stats[0][k], v)
			}
		}
		if len(stats[0]) != 0 && len(stats[0]) != 11 {
			t.Errorf("%q: got %d stat fields, want Stat's 11: %v", tc.cmd, len(stats[0]), stats[0])
		}
	}
}

// TestJSONScript runs a piped script with -json: one object per command,
// the shell's own commands included, and no banner.
func TestJSONScript(t *testing.T) {
	addr := startZkd(t)
	var stdout, stderr safeBuffer
	script := "create /p\nget /p\nget /nope\nprintwatches\nredo 1\nhistory\nconnect " + addr + "\nquit\n"
	code := run([]string{"-server", addr, "-json"}, strings.NewReader(script), &stdout, &stderr)
	objs, _ := decodeLines(t, stdout.String())
	want := []string{
		`{"command":"create","path":"/p"}`,
		`{"command":"get","data":null,"path":"/p"}`,
		`{"command":"get","error":"NONODE","message":"Node does not exist: /nope","path":"/nope"}`,
		`{"command":"printwatches","printwatches":"on"}`,
		`{"command":"get","data":null,"path":"/p"}`, // redo 1 prints the command it ran
		`{"command":"history","history":[{"index":0,"line":"create /p"},{"index":1,"line":"get /p"},{"index":2,"line":"get /nope"},{"index":3,"line":"printwatches"},{"index":4,"line":"get /p"},{"index":5,"line":"history"}]}`,
		`{"command":"connect","server":"` + addr + `"}`,
		`{"command":"quit"}`,
	}
	if strings.Join(objs, "\n") != strings.Join(want, "\n") {
		t.Errorf("objects:\ngot  %s\nwant %s", strings.Join(objs, "\n     "), strings.Join(want, "\n     "))
	}
	if code != 0 || stderr.String() != "" {
		t.Errorf("got exit %d, stderr %q; want 0 and none", code, stderr.String())
	}
}

// TestJSONEvents checks watch events in -json mode: node events as
// objects, session state changes not at all, nothing with printwatches off.
func TestJSONEvents(t *testing.T) {
	var out safeBuffer
	sh := newShell(&out, &out, time.Second, false)
	sh.setJSON()
	sh.printEvent(client.Event{Type: client.EventNone, State: client.StateSyncConnected})
	sh.printEvent(client.Event{Type: client.EventNodeDataChanged, State: client.StateSyncConnected, Path: "/a"})
	sh.printWatches.Store(false)
	sh.printEvent(client.Event{Type: client.EventNodeDeleted, State: client.StateSyncConnected, Path: "/b"})
	want := `{"event":{"type":"NodeDataChanged","state":"SyncConnected","path":"/a"}}` + "\n"
	if got := out.String(); got != want {
		t.Errorf("events: got %q, want %q", got, want)
	}
}

// TestJSONNotConnected checks a command on a closed session: an error
// object with zkCli.sh's exit code 0.
func TestJSONNotConnected(t *testing.T) {
	var stdout, stderr safeBuffer
	code := run([]string{"-server", startZkd(t), "-json"}, strings.NewReader("close\nget /\n"), &stdout, &stderr)
	objs, _ := decodeLines(t, stdout.String())
	want := []string{`{"command":"close"}`, `{"command":"get","error":"CONNECTIONLOSS","message":"Not connected"}`}
	if strings.Join(objs, "\n") != strings.Join(want, "\n") || code != 0 {
		t.Errorf("got exit %d and %q, want exit 0 and %q", code, objs, want)
	}
}

package interop

import (
	"reflect"
	"strings"
	"testing"
)

func TestScript(t *testing.T) {
	got := Script([]string{"create /a", "ls /"})
	want := "printwatches\ncreate /a\nprintwatches\nls /\nprintwatches\nquit\n"
	if got != want {
		t.Errorf("Script: got %q, want %q", got, want)
	}
}

// zkCliOutput builds raw zkCli.sh output the way it looks on the wire.
func zkCliOutput(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func TestNormalize(t *testing.T) {
	const addr = "127.0.0.1:40001"
	for _, tc := range []struct {
		name    string
		raw     string
		cmds    []string
		want    Transcript
		wantErr string
	}{
		{
			name: "banner, noise and blank lines dropped; blocks per command",
			raw: zkCliOutput(
				"SLF4J: Failed to load class \"org.slf4j.impl.StaticLoggerBinder\".",
				"Connecting to "+addr,
				"Welcome to ZooKeeper!",
				"JLine support is disabled",
				Marker,
				"",
				"WATCHER::",
				"",
				"WatchedEvent state:SyncConnected type:None path:null",
				"Created /a",
				Marker,
				Marker,
				"[a, zookeeper]",
				Marker,
				"",
				"WATCHER::",
				"",
				"WatchedEvent state:Closed type:None path:null",
			),
			cmds: []string{"create /a", "set /a x", "ls /"},
			want: Transcript{Steps: []Step{
				{"create /a", []string{"Created /a"}},
				{"set /a x", nil},
				{"ls /", []string{"[a, zookeeper]"}},
			}},
		},
		{
			name: "stat fields: times, zxids by first appearance, sessions",
			raw: zkCliOutput(
				Marker,
				"cZxid = 0x100000003",
				"ctime = Sat Nov 21 18:35:25 UTC 2026",
				"mZxid = 0x100000005",
				"mtime = Sat Nov 21 18:35:26 UTC 2026",
				"pZxid = 0x100000003",
				"ephemeralOwner = 0x1000a8f7e2c0000",
				"dataVersion = 2",
				Marker,
				"cZxid = 0x100000005",
				"mZxid = 0x10000000A",
				"pZxid = 0x10000000a",
				"ephemeralOwner = 0x0",
				"ephemeralOwner = 0x2000b",
				"ephemeralOwner = 0x1000A8F7E2C0000",
				Marker,
			),
			cmds: []string{"stat /e", "stat /p"},
			want: Transcript{Steps: []Step{
				{"stat /e", []string{"cZxid = Z1", "ctime = <TIME>", "mZxid = Z2", "mtime = <TIME>", "pZxid = Z1", "ephemeralOwner = S1", "dataVersion = 2"}},
				{"stat /p", []string{"cZxid = Z2", "mZxid = Z3", "pZxid = Z3", "ephemeralOwner = 0x0", "ephemeralOwner = S2", "ephemeralOwner = S1"}},
			}},
		},
		{
			name: "events leave their block, in arrival order; state changes kept",
			raw: zkCliOutput(
				Marker,
				"",
				"WATCHER::",
				"",
				"WatchedEvent state:SyncConnected type:NodeCreated path:/a",
				"Created /a",
				Marker,
				"",
				"WatchedEvent state:Disconnected type:None path:null",
				"",
				"WatchedEvent state:SyncConnected type:NodeDeleted path:/a",
				Marker,
			),
			cmds: []string{"create /a", "delete /a"},
			want: Transcript{
				Steps: []Step{{"create /a", []string{"Created /a"}}, {"delete /a", nil}},
				Events: []string{
					"WatchedEvent state:SyncConnected type:NodeCreated path:/a",
					"WatchedEvent state:Disconnected type:None path:null",
					"WatchedEvent state:SyncConnected type:NodeDeleted path:/a",
				},
			},
		},
		{
			// ls prints "[", each child and "]\n" as separate writes; the
			// watcher's two writes can land between any of them.
			name: "watcher output inside a line is cut out and the line joined",
			raw: Marker + "\n[" +
				"\nWATCHER::\n" + "\nWatchedEvent state:SyncConnected type:None path:null\n" +
				"zookeeper]\n" + Marker + "\n[a" +
				"\nWATCHER::\n" + ", b" + "\nWatchedEvent state:SyncConnected type:NodeChildrenChanged path:/\n" +
				", zookeeper]\n" + Marker + "\n",
			cmds: []string{"ls /", "ls -w /"},
			want: Transcript{
				Steps:  []Step{{"ls /", []string{"[zookeeper]"}}, {"ls -w /", []string{"[a, b, zookeeper]"}}},
				Events: []string{"WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/"},
			},
		},
		{
			name: "server address replaced",
			raw:  zkCliOutput(Marker, "Unable to connect to "+addr, Marker),
			cmds: []string{"ls /"},
			want: Transcript{Steps: []Step{{"ls /", []string{"Unable to connect to <SERVER>"}}}},
		},
		{
			name:    "zkCli.sh died before the last command",
			raw:     zkCliOutput(Marker, "Created /a", Marker, "Exception in thread \"main\""),
			cmds:    []string{"create /a", "ls /"},
			wantErr: "1 command blocks, want 2",
		},
		{
			name:    "no output at all",
			raw:     "",
			cmds:    []string{"ls /"},
			wantErr: "0 command blocks, want 1",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.raw, tc.cmds, addr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Normalize error: got %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Normalize:\ngot  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

// TestNormalizeComparesBehaviourNotIdentity is the property the zkCli test
// relies on: two servers that differ only in zxid values, clock and session
// ids normalise equal, and any other difference survives.
func TestNormalizeComparesBehaviourNotIdentity(t *testing.T) {
	cmds := []string{"create -e /e x", "get -s /e"}
	run := func(zxidA, zxidB, owner, when, version string) []string {
		raw := zkCliOutput(Marker, "Created /e", Marker, "x",
			"cZxid = "+zxidA, "ctime = "+when, "mZxid = "+zxidA, "mtime = "+when,
			"pZxid = "+zxidB, "dataVersion = "+version, "ephemeralOwner = "+owner, Marker)
		tr, err := Normalize(raw, cmds, "")
		if err != nil {
			t.Fatalf("Normalize: %v", err)
		}
		return tr.Lines()
	}
	zookeeper := run("0x5", "0x6", "0x100000abc0000", "Sat Nov 21 18:35:25 UTC 2026", "0")
	for _, tc := range []struct {
		name      string
		other     []string
		wantEqual bool
	}{
		{"other zxids, owner and time", run("0x100000002", "0x100000003", "0x7f00000000000001", "Sun Nov 22 01:02:03 UTC 2026", "0"), true},
		{"mZxid no longer equals cZxid", run("0x5", "0x5", "0x100000abc0000", "Sat Nov 21 18:35:25 UTC 2026", "0"), false},
		{"different dataVersion", run("0x5", "0x6", "0x100000abc0000", "Sat Nov 21 18:35:25 UTC 2026", "1"), false},
		{"not ephemeral", run("0x5", "0x6", "0x0", "Sat Nov 21 18:35:25 UTC 2026", "0"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Diff(zookeeper, tc.other)
			if gotEqual := d == ""; gotEqual != tc.wantEqual {
				t.Errorf("equal after normalising: got %v, want %v; diff:\n%s", gotEqual, tc.wantEqual, d)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	base := []string{"> create /a", "Created /a", "> ls /", "[a, zookeeper]", "> get /a", "x", "events:"}
	stat := []string{"> get -s /a", "x", "cZxid = Z1", "ctime = <TIME>", "mZxid = Z1", "mtime = <TIME>", "pZxid = Z1", "cversion = 0", "dataVersion = 0"}
	changedStat := append(append([]string(nil), stat[:len(stat)-1]...), "dataVersion = 1")
	for _, tc := range []struct {
		name      string
		want, got []string
		diff      string
	}{
		{name: "equal", want: base, got: base, diff: ""},
		{
			name: "changed line",
			want: base,
			got:  []string{"> create /a", "Created /a", "> ls /", "[a, zookeeper]", "> get /a", "y", "events:"},
			diff: "  ...\n  > ls /\n  [a, zookeeper]\n  > get /a\n- x\n+ y\n  events:\n",
		},
		{
			name: "extra and missing lines",
			want: base,
			got:  []string{"> create /a", "> ls /", "[a, zookeeper]", "> get /a", "x", "events:", "WatchedEvent state:Disconnected type:None path:null"},
			diff: "  > create /a\n- Created /a\n  > ls /\n  [a, zookeeper]\n  > get /a\n  x\n  events:\n+ WatchedEvent state:Disconnected type:None path:null\n",
		},
		{
			name: "hunk far from its command names it",
			want: stat,
			got:  changedStat,
			diff: "  ...\n@ in > get -s /a\n  mtime = <TIME>\n  pZxid = Z1\n  cversion = 0\n- dataVersion = 0\n+ dataVersion = 1\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Diff(tc.want, tc.got); got != tc.diff {
				t.Errorf("Diff:\ngot\n%s\nwant\n%s", got, tc.diff)
			}
		})
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"
)

// writeFile writes text (with DIR replaced by dir) to dir/name.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(text, "DIR", dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheck(t *testing.T) {
	const ensemble = "tickTime=2000\ndataDir=DIR/data\n" +
		"server.1=127.0.0.1:2888:3888;2181\nserver.2=127.0.0.2:2888:3888;2181\n" +
		"server.3=127.0.0.3:2888:3888;2181\nserver.4=127.0.0.4:2888:3888:observer;2181\n"
	tests := []struct {
		name     string
		cfg      string // "" for no file at all
		myid     string // "" for no myid file
		wantCode int
		wantOut  []string // lines (or parts) stdout must hold
		wantErr  string   // stderr must hold it
	}{
		{
			name: "standalone", wantCode: 0,
			cfg: "tickTime=2000\ndataDir=DIR/data\nclientPort=2181\n4lw.commands.whitelist=ruok, mntr\nadmin.enableServer=false\nsslQuorum=true\n",
			wantOut: []string{
				" is valid;",
				"mode:              standalone (no server.N lines)",
				"client port:       0.0.0.0:2181 (at most 60 connections per client address)",
				"dataDir:           DIR/data (does not exist yet: created at start, empty)",
				"session timeouts:  4000..40000 ms",
				"four-letter words: mntr ruok srvr ",
				"admin server:      off (admin.enableServer=false)",
				"metrics:           http://0.0.0.0:7000/metrics;",
				"fsync warning:     above 1000 ms",
				"notices:\n  ignoring Java-only key sslQuorum (line 6)",
			},
		},
		{
			name: "ensemble member", cfg: ensemble + "admin.serverPort=7000\nfsync.warningthresholdms=250\n", myid: "2", wantCode: 0,
			wantOut: []string{
				"mode:              ensemble of 3 participants and 1 observer; a quorum is 2 participants",
				"myid:              2 (from DIR/data/myid), participant",
				"  server.2=127.0.0.2:2888:3888:participant;0.0.0.0:2181   <- this server",
				"  server.4=127.0.0.4:2888:3888:observer;0.0.0.0:2181\n",
				"quorum port:       127.0.0.2:2888",
				"election timeout:  500ms (raft waits 500ms..1s without a leader before standing)",
				"dataDir:           DIR/data (no snapshots in DIR/data/snap yet)",
				"admin server:      http://0.0.0.0:7000/commands, with /metrics on the same port",
				"fsync warning:     above 250 ms",
			},
		},
		{
			name: "observer", cfg: ensemble, myid: "4", wantCode: 0,
			wantOut: []string{"myid:              4 (from DIR/data/myid), observer (non-voting)"},
		},
		{
			name: "bad value", cfg: "tickTime=2000\ndataDir=DIR/data\nclientPort=2181\nfsync.warningthresholdms=-5\n", wantCode: 2,
			wantErr: `zkd check: DIR/zoo.cfg:4: fsync.warningthresholdms: "-5" is not valid: want an integer number of milliseconds >= 0`,
		},
		{
			name: "ensemble without myid", cfg: ensemble, wantCode: 2,
			wantErr: "myid",
		},
		{
			name: "missing file", wantCode: 2,
			wantErr: "zkd check: DIR/zoo.cfg",
		},
		{
			name: "port clash", cfg: "dataDir=DIR/data\nclientPort=7000\nadmin.serverAddress=127.0.0.1\n", wantCode: 2,
			wantErr: "zkd check: DIR/zoo.cfg: clientPort and metricsProvider.httpPort are both 7000",
		},
		{
			name: "no clash on distinct addresses", cfg: "dataDir=DIR/data\nclientPort=7000\nclientPortAddress=127.0.0.2\nadmin.serverAddress=127.0.0.1\n", wantCode: 0,
			wantOut: []string{"client port:       127.0.0.2:7000"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "zoo.cfg")
			if tt.cfg != "" {
				writeFile(t, dir, "zoo.cfg", tt.cfg)
			}
			if tt.myid != "" {
				if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(dir, "data"), "myid", tt.myid+"\n")
			}
			var out, errb bytes.Buffer
			code := checkTool([]string{cfg}, &out, &errb)
			if code != tt.wantCode {
				t.Fatalf("exit: got %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out.String(), errb.String())
			}
			for _, want := range tt.wantOut {
				if want = strings.ReplaceAll(want, "DIR", dir); !strings.Contains(out.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, out.String())
				}
			}
			if want := strings.ReplaceAll(tt.wantErr, "DIR", dir); !strings.Contains(errb.String(), want) {
				t.Errorf("stderr: got %q, want it to hold %q", errb.String(), want)
			}
			if tt.wantCode != 0 && out.Len() != 0 {
				t.Errorf("stdout of an invalid config: got %q, want nothing", out.String())
			}
			// check writes nothing: the data directory is not created.
			if _, err := os.Stat(filepath.Join(dir, "data")); tt.myid == "" && !os.IsNotExist(err) {
				t.Errorf("data directory: got %v, want it still missing", err)
			}
		})
	}
}

func TestCheckDescribesExistingData(t *testing.T) {
	dir := t.TempDir()
	s := testServer(t, dir, 2)
	c := connect(t, s)
	for _, p := range []string{"/a", "/b", "/c"} {
		if _, err := c.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	s.Close()
	cfg := writeFile(t, dir, "zoo.cfg", "dataDir=DIR\nclientPort=2181\n")
	var out, errb bytes.Buffer
	if code := checkTool([]string{cfg}, &out, &errb); code != 0 {
		t.Fatalf("exit: got %d, want 0; stderr %s", code, errb.String())
	}
	for _, want := range []string{
		"dataDir:           " + dir + " (",
		" snapshots in " + filepath.Join(dir, "snap") + ": the server recovers from them)",
		" WAL segments in " + filepath.Join(dir, "wal") + ": the server recovers from them)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out.String())
		}
	}
}

func TestCheckUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"a", "b"}, {"-h"}} {
		var out, errb bytes.Buffer
		if code := checkTool(args, &out, &errb); code != exitUsage || !strings.HasPrefix(errb.String(), "usage: zkd check CONFIG") {
			t.Errorf("check %q: got exit %d, stderr %q; want %d and the usage", args, code, errb.String(), exitUsage)
		}
	}
}

// TestExampleConfigChecks keeps the shipped example configuration valid.
func TestExampleConfigChecks(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "zoo-3servers.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	text := strings.Replace(string(b), "dataDir=/var/lib/zkd", "dataDir=DIR", 1)
	if text == string(b) {
		t.Fatal("the example no longer sets dataDir=/var/lib/zkd; update this test")
	}
	cfg := writeFile(t, dir, "zoo.cfg", text)
	writeFile(t, dir, "myid", "3\n")
	var out, errb bytes.Buffer
	if code := checkTool([]string{cfg}, &out, &errb); code != 0 {
		t.Fatalf("zkd check on the example: got exit %d, stderr %q, want 0", code, errb.String())
	}
	for _, want := range []string{
		"mode:              ensemble of 3 participants and 0 observers; a quorum is 2 participants",
		"  server.3=zk3.example.com:2888:3888:participant   <- this server",
		"four-letter words: conf cons isro mntr ruok srvr stat wchs ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "notices:") {
		t.Errorf("the example draws notices:\n%s", out.String())
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zkd-io/zkd/bench/load"
	"github.com/zkd-io/zkd/internal/config"
	"github.com/zkd-io/zkd/internal/server"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, c load.Config, o options)
	}{
		{"defaults", nil, func(t *testing.T, c load.Config, o options) {
			d := load.DefaultConfig()
			if c.Servers != d.Servers || c.Workload != d.Workload || c.Sessions != d.Sessions || c.Duration != d.Duration {
				t.Errorf("got %s %s %d sessions %v, want the defaults %s %s %d %v", c.Servers, c.Workload, c.Sessions, c.Duration, d.Servers, d.Workload, d.Sessions, d.Duration)
			}
			if c.Progress == nil || o.json {
				t.Errorf("progress %v json %v, want progress on stderr and a table", c.Progress, o.json)
			}
			if !strings.HasPrefix(c.Prefix, "/zkbench-") || c.Keys != 1000 || c.Timeout <= c.Duration {
				t.Errorf("prefix %q keys %d timeout %v: want /zkbench-<pid>, 1000 keys and a timeout past the duration", c.Prefix, c.Keys, c.Timeout)
			}
		}},
		{"everything", []string{
			"-servers", "a:1,b:2/chroot", "-workload", "mixed", "-sessions", "4", "-outstanding", "8",
			"-rate", "5000", "-duration", "3s", "-ops", "100", "-warmup", "0s", "-timeout", "1m",
			"-value-size", "10", "-keys", "50", "-read-ratio", "0.75", "-multi-ops", "5", "-watchers", "3",
			"-prefix", "/p", "-keep", "-session-timeout", "7s", "-progress", "2s", "-quiet", "-json",
		}, func(t *testing.T, c load.Config, o options) {
			want := load.Config{
				Servers: "a:1,b:2/chroot", Workload: "mixed", Sessions: 4, Outstanding: 8, Rate: 5000,
				Duration: 3 * time.Second, Ops: 100, Warmup: 0, Timeout: time.Minute, ValueSize: 10, Keys: 50,
				ReadRatio: 0.75, MultiOps: 5, Watchers: 3, Prefix: "/p", Keep: true, SessionTimeout: 7 * time.Second,
				ProgressInterval: 2 * time.Second,
			}
			c.ClientOptions = nil
			if c.Progress != nil {
				t.Errorf("-quiet: progress writer set, want none")
			}
			c.Progress = nil
			if got, exp := fmt.Sprintf("%+v", c), fmt.Sprintf("%+v", want); got != exp {
				t.Errorf("config\n got %s\nwant %s", got, exp)
			}
			if !o.json || !o.quiet {
				t.Errorf("options %+v, want json and quiet", o)
			}
		}},
		{"watch keys default to one per writer slot", []string{"-workload", "watch", "-sessions", "3", "-outstanding", "2"}, func(t *testing.T, c load.Config, _ options) {
			if c.Keys != 6 {
				t.Errorf("keys = %d, want 6", c.Keys)
			}
		}},
		{"ops alone", []string{"-duration", "0", "-ops", "10"}, func(t *testing.T, c load.Config, _ options) {
			if c.Timeout < time.Hour {
				t.Errorf("timeout = %v, want the one-hour bound of a count-only run", c.Timeout)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, o, err := parseFlags(tt.args, &bytes.Buffer{})
			if err != nil {
				t.Fatalf("parseFlags(%q): %v", tt.args, err)
			}
			tt.check(t, c, o)
		})
	}
}

func TestParseFlagsRejects(t *testing.T) {
	tests := []struct {
		args []string
		want string // in the error
	}{
		{[]string{"-workload", "nope"}, `workload "nope"`},
		{[]string{"-sessions", "0"}, "sessions 0"},
		{[]string{"-outstanding", "-1"}, "outstanding -1"},
		{[]string{"-read-ratio", "1.5"}, "read ratio 1.5"},
		{[]string{"-duration", "0"}, "set at least one bound"},
		{[]string{"-rate", "-3"}, "rate -3"},
		{[]string{"-value-size", "2000000"}, "value size 2000000"},
		{[]string{"-prefix", "relative"}, `prefix "relative"`},
		{[]string{"-prefix", "/"}, `prefix "/"`},
		{[]string{"-servers", ""}, "servers"},
		{[]string{"-workload", "multi", "-keys", "3", "-multi-ops", "5"}, "keys 3"},
		{[]string{"-workload", "watch", "-sessions", "4", "-keys", "2"}, "keys 2"},
		{[]string{"-bogus"}, "bogus"},
		{[]string{"extra"}, "unexpected arguments: extra"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, _, err := parseFlags(tt.args, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseFlags(%q) error = %v, want one containing %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-workload", "nope"}, &out, &errb); code != 2 {
		t.Errorf("bad flag: exit %d, want 2 (stderr %q)", code, errb.String())
	}
	if code := run([]string{"-h"}, &out, &errb); code != 0 {
		t.Errorf("-h: exit %d, want 0", code)
	}
	errb.Reset()
	bad := filepath.Join(t.TempDir(), "missing", "cpu.pprof")
	if code := run([]string{"-cpuprofile", bad, "-servers", "127.0.0.1:1"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), bad) {
		t.Errorf("-cpuprofile in a missing directory: exit %d, stderr %q; want 1 and the path named", code, errb.String())
	}
}

func TestRunAgainstZkd(t *testing.T) {
	o := config.Default()
	o.DataDir = t.TempDir()
	o.ClientPortAddress = "127.0.0.1"
	o.AdminEnableServer = false
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	o.ClientPort, o.MetricsHTTPPort = 0, 0
	s := server.New(o, slog.New(slog.DiscardHandler))
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addr := s.Addr().String()

	var out, errb bytes.Buffer
	args := []string{"-servers", addr, "-workload", "set", "-sessions", "2", "-duration", "300ms", "-warmup", "0s",
		"-keys", "10", "-progress", "100ms", "-json"}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errb.String())
	}
	var res load.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("stdout is not a JSON result: %v\n%s", err, out.String())
	}
	if res.Workload != "set" || res.Ops == 0 || res.Latency.P50 <= 0 || res.Latency.P999 < res.Latency.P50 {
		t.Errorf("result %+v: want set ops with latencies", res)
	}
	if !strings.Contains(errb.String(), "ops/s") {
		t.Errorf("stderr has no progress line:\n%s", errb.String())
	}

	out.Reset()
	prof := filepath.Join(t.TempDir(), "cpu.pprof")
	args = []string{"-servers", addr, "-workload", "get", "-sessions", "1", "-ops", "50", "-duration", "0", "-warmup", "0s", "-quiet",
		"-cpuprofile", prof}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errb.String())
	}
	if b, err := os.ReadFile(prof); err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("-cpuprofile: read %d bytes (err %v), want a gzipped pprof profile", len(b), err)
	}
	for _, want := range []string{"throughput", "p50", "p99.9", "max", "50 ops"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

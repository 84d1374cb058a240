//go:build linux

package main

import (
	"bytes"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkd-io/zkd/bench/load"
)

func TestParseFlags(t *testing.T) {
	f, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range f.selected {
		keys = append(keys, s.key)
	}
	if got, want := strings.Join(keys, ","), "create,set,get,mixed,tail,create1"; got != want {
		t.Errorf("default workloads %s, want %s", got, want)
	}
	if len(f.selectedTopos) != 2 || f.rounds != 3 || f.heap != "1g" || f.sessions != 32 || f.value != 1024 ||
		f.footprint != 1_000_000 || f.footprintVal != 100 {
		t.Errorf("defaults %+v: want both topologies, 3 rounds, 1g heap, 32 sessions, 1 KiB values, footprint of 1,000,000 100-byte znodes", f)
	}
	f, err = parseFlags([]string{"-workloads", "watch,get", "-topologies", "ensemble", "-rounds", "1", "-duration", "1s"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.selected) != 2 || f.selected[0].key != "watch" || len(f.selectedTopos) != 1 || f.selectedTopos[0].n != 3 {
		t.Errorf("got workloads %v topologies %v, want watch,get on the 3-server ensemble", f.selected, f.selectedTopos)
	}
	for _, bad := range [][]string{
		{"-workloads", "create,nope"}, {"-topologies", "five"}, {"-rounds", "0"}, {"-duration", "0s"}, {"x"},
	} {
		if _, err := parseFlags(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) succeeded, want an error", bad)
		}
	}
}

func TestSpecsConfigureValidRuns(t *testing.T) {
	for _, sp := range specs {
		cfg := load.DefaultConfig()
		sp.apply(&cfg, 32)
		if err := cfg.Validate(); err != nil {
			t.Errorf("spec %s: %v", sp.key, err)
		}
	}
	create1, _ := findSpec("create1")
	if got := sessionsOf(create1, 32); got != 1 {
		t.Errorf("create1 sessions = %d, want 1", got)
	}
}

func TestProcReaders(t *testing.T) {
	// Burn a little CPU so the counter moves off zero.
	deadline := time.Now().Add(30 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	cpu, err := cpuSeconds(os.Getpid())
	if err != nil || cpu <= 0 {
		t.Errorf("cpuSeconds(self) = %v, %v; want a positive time", cpu, err)
	}
	rss, peak, err := memory(os.Getpid())
	if err != nil || rss <= 0 || peak < rss {
		t.Errorf("memory(self) = rss %d peak %d, %v; want 0 < rss ≤ peak", rss, peak, err)
	}
	if _, err := cpuSeconds(-1); err == nil {
		t.Errorf("cpuSeconds(-1) succeeded, want an error")
	}
	if got := loadAverage(); len(strings.Fields(got)) != 3 {
		t.Errorf("loadAverage() = %q, want three figures", got)
	}
}

// fakeFourLetter answers every four-letter word with answer until the test
// ends, and returns its address.
func fakeFourLetter(t *testing.T, answer string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4)
			c.Read(buf)
			c.Write([]byte(answer))
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func TestMntrValue(t *testing.T) {
	addr := fakeFourLetter(t, "zk_version\t3.8.0\nzk_cnt_fsynctime\t1234\nzk_avg_fsynctime\t0.5\n")
	n, err := mntrValue(addr, "zk_cnt_fsynctime")
	if err != nil || n != 1234 {
		t.Errorf("mntrValue = %d, %v; want 1234", n, err)
	}
	if _, err := mntrValue(addr, "zk_missing"); err == nil {
		t.Errorf("mntrValue of a missing key succeeded, want an error")
	}
}

func TestFollowerAddr(t *testing.T) {
	srvr := func(mode string) string {
		return "Zookeeper version: 3.8.0\nLatency min/avg/max: 0/0.1/2\nZxid: 0x100000002\nMode: " + mode + "\nNode count: 5\n"
	}
	at := func(id int, addr string) *member {
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		return &member{id: id, host: host, client: p}
	}
	leader, follower := fakeFourLetter(t, srvr("leader")), fakeFourLetter(t, srvr("follower"))
	c := &cluster{kind: kindZkd, members: []*member{at(1, leader), at(2, follower), at(3, leader)}}
	if got, err := c.followerAddr(); err != nil || got != follower {
		t.Errorf("followerAddr = %q, %v; want %s, the follower", got, err, follower)
	}
	c.members = []*member{at(1, leader), at(3, fakeFourLetter(t, "This ZooKeeper instance is not currently serving requests\n"))}
	_, err := c.followerAddr()
	if err == nil || !strings.Contains(err.Error(), "server 1: leader") || !strings.Contains(err.Error(), "server 3: unknown") {
		t.Errorf("followerAddr without a follower: %v; want an error naming each member's mode", err)
	}
}

func TestFormatting(t *testing.T) {
	tests := []struct{ got, want string }{
		{thousands(1234567.4), "1,234,567"},
		{thousands(999), "999"},
		{thousands(1000), "1,000"},
		{ms(0.000412), "0.41 ms"},
		{ms(0.0123), "12.3 ms"},
		{ms(0.456), "456 ms"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if got := median([]float64{5, 1, 3}); got != 3 {
		t.Errorf("median(5,1,3) = %v, want 3", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median(4,1,3,2) = %v, want 2.5", got)
	}
}

func TestReportMarksTargets(t *testing.T) {
	f, err := parseFlags([]string{"-workloads", "create,create1", "-topologies", "standalone", "-rounds", "1"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	rep := &report{flags: f, env: "test", started: time.Now(), finished: time.Now()}
	add := func(w, kind string, ops float64, p50 time.Duration) {
		rep.add(&runFigures{Topology: "standalone", Workload: w, Kind: kind, Round: 1, Fsyncs: 10, CPUSeconds: 1,
			Result: &load.Result{Ops: 1000, Writes: 1000, Throughput: ops, Unit: "ops", Latency: load.Summary{P50: p50, P99: 2 * p50}}})
	}
	add("create", kindZooKeeper, 1000, time.Millisecond)
	add("create", kindZkd, 3000, time.Millisecond)
	add("create, 1 session", kindZooKeeper, 1000, time.Millisecond)
	add("create, 1 session", kindZkd, 1000, 600*time.Microsecond)
	md := rep.markdown()
	for _, want := range []string{
		"| create | 32 | 1,000 | 3,000 | 3.00× | ≥ 2.5× | yes |",
		"| create, 1 session | 1 | 1,000 | 1,000 | p50 0.60× (ops/s 1.00×) | p50 ≤ 0.5× | **no** |",
		"| create | 1000 | 1000 | ", // CPU µs/op: 1 s over 1000 ops
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

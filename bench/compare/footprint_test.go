//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/zkd-io/zkd/bench/load"
)

func TestOpenLoopNeedsItsBasisFirst(t *testing.T) {
	for _, bad := range []string{"tail", "tail,mixed", "create,tail,get"} {
		_, err := parseFlags([]string{"-workloads", bad}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "list mixed before it") {
			t.Errorf("-workloads %s: got %v, want an error asking for mixed first", bad, err)
		}
	}
	f, err := parseFlags([]string{"-workloads", "mixed,get,tail"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.selected) != 3 || f.selected[2].key != "tail" {
		t.Errorf("selected %v, want mixed,get,tail", f.selected)
	}
}

func TestFootprintFlags(t *testing.T) {
	for _, bad := range [][]string{{"-footprint", "-1"}, {"-footprint-value", "-1"}, {"-footprint-value", "2000000"}} {
		if _, err := parseFlags(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) succeeded, want an error", bad)
		}
	}
	// 0 skips the measurement: the value size is not checked then.
	f, err := parseFlags([]string{"-footprint", "0", "-footprint-value", "2000000"}, &bytes.Buffer{})
	if err != nil || f.footprint != 0 {
		t.Errorf("-footprint 0: %+v, %v; want it accepted", f, err)
	}
	f, err = parseFlags([]string{"-footprint", "5000", "-footprint-value", "10"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := footprintLoad(f, "127.0.0.1:1")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Workload != load.Create || cfg.Ops != 5000 || cfg.Duration != 0 || cfg.Warmup != 0 || cfg.ValueSize != 10 ||
		!cfg.Keep || cfg.Prefix != footprintPrefix || cfg.Rate != 0 {
		t.Errorf("footprint load %+v: want 5000 kept creates of 10 bytes under %s, closed loop, no warm-up or duration", cfg, footprintPrefix)
	}
}

// mixedRun is a fabricated run of the mixed workload or its open-loop
// variant.
func mixedRun(topo, workload, kind string, round int, ops, rate float64, p99 time.Duration, notes ...string) *runFigures {
	return &runFigures{Topology: topo, Workload: workload, Kind: kind, Round: round, Fsyncs: -1, CPUSeconds: -1,
		Result: &load.Result{Ops: 1000, Throughput: ops, Rate: rate, Unit: "ops",
			Latency: load.Summary{P50: p99 / 4, P99: p99}, Notes: notes}}
}

func TestOfferedRate(t *testing.T) {
	tail, _ := findSpec("tail")
	mixed, _ := findSpec("mixed")
	standalone, ensemble := topologies["standalone"], topologies["ensemble"]
	rep := &report{}
	rep.add(mixedRun("standalone", mixed.title, kindZkd, 1, 50000, 0, time.Millisecond))
	rep.add(mixedRun("standalone", mixed.title, kindZooKeeper, 1, 10000, 0, time.Millisecond))
	rep.add(mixedRun("3 servers", mixed.title, kindZooKeeper, 1, 4000, 0, time.Millisecond))
	rep.add(&runFigures{Topology: "standalone", Workload: mixed.title, Kind: kindZooKeeper, Round: 2, Err: "boom"})
	if r, err := rep.offeredRate(standalone, 1, tail); err != nil || math.Abs(r-8000) > 1e-9 {
		t.Errorf("standalone round 1: %v, %v; want 80%% of ZooKeeper's 10,000", r, err)
	}
	if r, err := rep.offeredRate(ensemble, 1, tail); err != nil || math.Abs(r-3200) > 1e-9 {
		t.Errorf("ensemble round 1: %v, %v; want 80%% of ZooKeeper's 4,000", r, err)
	}
	if _, err := rep.offeredRate(standalone, 2, tail); err == nil || !strings.Contains(err.Error(), "ZooKeeper's mixed run of round 2 failed") {
		t.Errorf("round 2: %v; want the failed mixed run named", err)
	}
	if _, err := rep.offeredRate(standalone, 3, tail); err == nil {
		t.Errorf("round 3 has no mixed run: want an error")
	}
	if r, err := rep.offeredRate(standalone, 3, mixed); r != 0 || err != nil {
		t.Errorf("closed-loop mixed: %v, %v; want 0, nil", r, err)
	}
}

func TestTailRow(t *testing.T) {
	f, err := parseFlags([]string{"-workloads", "mixed,tail", "-topologies", "standalone,ensemble", "-rounds", "1", "-footprint", "0"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	tail, _ := findSpec("tail")
	rep := &report{flags: f, started: time.Now(), finished: time.Now()}
	rep.add(mixedRun("standalone", "mixed 90/10", kindZooKeeper, 1, 10000, 0, 5*time.Millisecond))
	rep.add(mixedRun("standalone", "mixed 90/10", kindZkd, 1, 20000, 0, 5*time.Millisecond))
	rep.add(mixedRun("standalone", tail.title, kindZooKeeper, 1, 8000, 8000, 10*time.Millisecond))
	rep.add(mixedRun("standalone", tail.title, kindZkd, 1, 8000, 8000, 4*time.Millisecond,
		"12 scheduled operations were never sent: the server fell behind the rate"))
	rep.add(mixedRun("3 servers", tail.title, kindZooKeeper, 1, 4000, 4000, 10*time.Millisecond))
	rep.add(mixedRun("3 servers", tail.title, kindZkd, 1, 4000, 4000, 6*time.Millisecond))
	md := rep.markdown()
	for _, want := range []string{
		"| mixed 90/10, open loop at 80% of ZooKeeper's max: 8,000 ops/s offered | 32 | 8,000 | 8,000 | p99 0.40× (ops/s 1.00×) | p99 ≤ 0.5× | yes |",
		"| mixed 90/10, open loop at 80% of ZooKeeper's max: 4,000 ops/s offered | 32 | 4,000 | 4,000 | p99 0.60× (ops/s 1.00×) | — | — |",
		"- mixed 90/10, open loop at 80% of ZooKeeper's max, zkd, round 1: 12 scheduled operations were never sent: the server fell behind the rate",
		"up to 8 requests outstanding each",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "### Footprint") {
		t.Errorf("footprint table without a footprint measurement:\n%s", md)
	}
}

func TestBytesPerZnode(t *testing.T) {
	fp := &footprintFigures{Znodes: 1_000_000, RSSEmptyKiB: 100 << 10, RSSLoadedKiB: 200 << 10}
	if got, want := fp.bytesPerZnode(), 100*1048576/1e6; math.Abs(got-want) > 1e-9 {
		t.Errorf("bytesPerZnode = %v, want %v", got, want)
	}
}

// fabricatedFootprint is a complete measurement with round figures.
func fabricatedFootprint(kind string, emptyMiB, loadedMiB, peakMiB, restartedMiB int64, load, restart time.Duration) *footprintFigures {
	return &footprintFigures{Kind: kind, Znodes: 1_000_000, ValueSize: 100, Counted: 1_000_004,
		RSSEmptyKiB: emptyMiB << 10, RSSLoadedKiB: loadedMiB << 10, RSSPeakKiB: peakMiB << 10, RSSRestartedKiB: restartedMiB << 10,
		Load: load, Restart: restart}
}

func TestFootprintTable(t *testing.T) {
	f, err := parseFlags([]string{"-workloads", "get", "-topologies", "standalone", "-rounds", "1"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	rep := &report{flags: f, started: time.Now(), finished: time.Now()}
	rep.footprint = []*footprintFigures{
		fabricatedFootprint(kindZooKeeper, 100, 1024, 1100, 900, 100*time.Second, 9*time.Second),
		fabricatedFootprint(kindZkd, 10, 150, 200, 160, 50*time.Second, 2*time.Second),
	}
	md := rep.markdown()
	for _, want := range []string{
		"### Footprint: 1,000,000 znodes of 100 bytes (standalone)\n",
		"(ZooKeeper first, then zkd; the other is not running)",
		"| | ZooKeeper | zkd | zkd / ZooKeeper | target | met |",
		"| RSS empty | 100 MiB | 10 MiB | 0.10× | — | — |",
		"| RSS after load | 1,024 MiB | 150 MiB | 0.15× | ≤ 0.2× | yes |",
		"| RSS peak (VmHWM) | 1,100 MiB | 200 MiB | 0.18× | — | — |",
		"| bytes per znode | 969 B | 147 B | 0.15× | — | — |", // 924 MiB and 140 MiB over 10⁶
		"| RSS after restart | 900 MiB | 160 MiB | 0.18× | — | — |",
		"| restart to serving | 9.00 s | 2.00 s | 0.22× | ≤ 0.333× | yes |",
		"| load time | 100.00 s | 50.00 s | 0.50× | — | — |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}

	// A failed kind: its cells say so, no ratios, the error in a note.
	rep.footprint[1] = &footprintFigures{Kind: kindZkd, Znodes: 1_000_000, RSSEmptyKiB: 10 << 10, Err: "zkd holds 17 znodes"}
	md = rep.markdown()
	for _, want := range []string{
		"| RSS after load | 1,024 MiB | failed | — | ≤ 0.2× | — |",
		"- zkd: zkd holds 17 znodes",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	// Interrupted before zkd's turn.
	rep.footprint = rep.footprint[:1]
	if md = rep.markdown(); !strings.Contains(md, "| restart to serving | 9.00 s | — | — | ≤ 0.333× | — |") {
		t.Errorf("markdown lacks the unmeasured zkd column:\n%s", md)
	}
}

func TestRawHasRunsAndFootprint(t *testing.T) {
	rep := &report{}
	rep.add(mixedRun("standalone", "mixed 90/10", kindZkd, 1, 100, 0, time.Millisecond))
	rep.footprint = []*footprintFigures{fabricatedFootprint(kindZkd, 10, 150, 200, 160, time.Second, time.Second)}
	b, err := json.Marshal(rep.raw())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Runs      []map[string]any `json:"runs"`
		Footprint []map[string]any `json:"footprint"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Runs) != 1 || len(got.Footprint) != 1 || got.Footprint[0]["rss_loaded_kib"] != float64(150<<10) ||
		got.Footprint[0]["restart_ns"] != float64(time.Second) {
		t.Errorf("raw JSON %s: want one run and zkd's footprint", b)
	}
}

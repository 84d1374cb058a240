package chaos

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// shortRuns are the default runs: fixed seeds, each about 15s of faults,
// together under about two minutes on two cores.
var shortRuns = []runSpec{
	{name: "kill", servers: 3, duration: 15 * time.Second, faults: []string{"kill", "kill-leader", "kill-all"}, seed: 1},
	{name: "pause", servers: 3, duration: 12 * time.Second, faults: []string{"pause-leader"}, seed: 2},
	{name: "network", servers: 3, duration: 15 * time.Second, faults: []string{"partition", "isolate-leader", "bridge", "one-way", "delay"}, seed: 3, network: true},
	// Seed 5 alternates disk damage and lose-unsynced in the first rounds.
	{name: "disk", servers: 3, duration: 12 * time.Second, faults: []string{"disk", "lose-unsynced"}, seed: 5},
}

// longRuns are ZKD_CHAOS=long: every nemesis alone and all together, on
// 3 and 5 servers, for a minute or two each, with time-based seeds.
func longRuns() []runSpec {
	single := []struct {
		fault   string
		network bool
	}{
		{"kill", false}, {"kill-leader", false}, {"kill-all", false}, {"pause-leader", false},
		{"partition", true}, {"isolate-leader", true}, {"bridge", true}, {"one-way", true}, {"delay", true},
		{"disk", false}, {"lose-unsynced", false},
	}
	var out []runSpec
	for _, n := range []int{3, 5} {
		for _, s := range single {
			out = append(out, runSpec{name: s.fault + "-" + strconv.Itoa(n), servers: n, duration: time.Minute, faults: []string{s.fault}, network: s.network})
		}
		out = append(out, runSpec{name: "all-" + strconv.Itoa(n), servers: n, duration: 2 * time.Minute, network: true,
			faults: []string{"kill", "kill-leader", "kill-all", "pause-leader", "partition", "isolate-leader", "bridge", "one-way", "delay", "disk", "lose-unsynced"}})
	}
	return out
}

// ciRuns are ZKD_CHAOS=ci, the matrix .ci/run adds to the short mode: every
// nemesis alone, with all the workloads, on 3 servers, with fixed seeds;
// about six and a half minutes on two cores.
func ciRuns() []runSpec {
	var out []runSpec
	for i, f := range []struct {
		fault   string
		network bool
	}{
		{"kill", false}, {"kill-leader", false}, {"kill-all", false}, {"pause-leader", false},
		{"partition", true}, {"isolate-leader", true}, {"bridge", true}, {"one-way", true}, {"disk", false},
		{"lose-unsynced", false},
	} {
		out = append(out, runSpec{name: "ci-" + f.fault, servers: 3, duration: 25 * time.Second,
			faults: []string{f.fault}, network: f.network, seed: uint64(101 + i)})
	}
	return out
}

// TestChaos runs the chaos runs one after another (two cores: never in
// parallel). In long mode, ZKD_CHAOS_DURATION (a Go duration) repeats the
// list with fresh seeds until that much time has passed; the runs and their
// totals are logged at the end, and written as a markdown table to the file
// ZKD_CHAOS_SUMMARY names, if any.
func TestChaos(t *testing.T) {
	mode := chaosMode(t)
	long := mode == modeLong
	runs := shortRuns
	opsBound := 3000
	switch mode {
	case modeCI:
		runs = ciRuns()
	case modeLong:
		runs = longRuns()
		opsBound = 100_000
	}
	var until time.Time
	if v := os.Getenv(envDuration); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || !long {
			t.Fatalf("%s=%q: want a positive Go duration (e.g. 2h), with %s=long", envDuration, v, envMode)
		}
		until = time.Now().Add(d)
	}
	var done []runSummary
	report := func(sm runSummary) { done = append(done, sm) }
	for round := 1; ; round++ {
		for _, spec := range runs {
			if !selected(spec.name) {
				continue
			}
			name := spec.name
			if round > 1 {
				name = fmt.Sprintf("%s-round%d", spec.name, round)
			}
			t.Run(name, func(t *testing.T) {
				def := spec.seed
				if long {
					def = timeSeed()
				}
				spec.seed = runSeed(t, def)
				spec.ops = opsBound
				runChaos(t, spec, mode, report)
			})
		}
		if until.IsZero() || time.Now().After(until) {
			break
		}
	}
	writeSummary(t, done)
}

// writeSummary logs the runs and their totals, and writes them as a
// markdown table to ZKD_CHAOS_SUMMARY when that names a file.
func writeSummary(t *testing.T, runs []runSummary) {
	var b strings.Builder
	var total runSummary
	failed := 0
	b.WriteString("| run | servers | seed | operations | faults | violations | acknowledged writes lost | result |\n|---|---|---|---|---|---|---|---|\n")
	for _, sm := range runs {
		result := "pass"
		if sm.failed {
			result = "FAIL"
			failed++
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %s |\n", sm.name, sm.servers, sm.seed, sm.ops, sm.faults, sm.problems, sm.lost, result)
		total.ops += sm.ops
		total.faults += sm.faults
		total.problems += sm.problems
		total.lost += sm.lost
	}
	fmt.Fprintf(&b, "| **%d runs** | | | **%d** | **%d** | **%d** | **%d** | **%d failed** |\n", len(runs), total.ops, total.faults, total.problems, total.lost, failed)
	t.Logf("chaos summary:\n%s", b.String())
	if path := os.Getenv(envSummary); path != "" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Errorf("%s: %v", envSummary, err)
		}
	}
}

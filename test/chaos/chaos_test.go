package chaos

import (
	"strconv"
	"testing"
	"time"
)

// shortRuns are the default runs: fixed seeds, each about 15s of faults,
// together under about two minutes on two cores.
var shortRuns = []runSpec{
	{name: "kill", servers: 3, duration: 15 * time.Second, faults: []string{"kill", "kill-leader", "kill-all"}, seed: 1},
	{name: "pause", servers: 3, duration: 12 * time.Second, faults: []string{"pause-leader"}, seed: 2},
	{name: "network", servers: 3, duration: 15 * time.Second, faults: []string{"partition", "isolate-leader", "bridge", "one-way", "delay"}, seed: 3, network: true},
	{name: "disk", servers: 3, duration: 12 * time.Second, faults: []string{"disk"}, seed: 4},
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
		{"disk", false},
	}
	var out []runSpec
	for _, n := range []int{3, 5} {
		for _, s := range single {
			out = append(out, runSpec{name: s.fault + "-" + strconv.Itoa(n), servers: n, duration: time.Minute, faults: []string{s.fault}, network: s.network})
		}
		out = append(out, runSpec{name: "all-" + strconv.Itoa(n), servers: n, duration: 2 * time.Minute, network: true,
			faults: []string{"kill", "kill-leader", "kill-all", "pause-leader", "partition", "isolate-leader", "bridge", "one-way", "delay", "disk"}})
	}
	return out
}

// TestChaos runs the chaos runs one after another (two cores: never in
// parallel).
func TestChaos(t *testing.T) {
	long := longMode(t)
	runs := shortRuns
	opsBound := 3000
	if long {
		runs = longRuns()
		opsBound = 100_000
	}
	for _, spec := range runs {
		if !selected(spec.name) {
			continue
		}
		t.Run(spec.name, func(t *testing.T) {
			def := spec.seed
			if long {
				def = timeSeed()
			}
			spec.seed = runSeed(t, def)
			spec.ops = opsBound
			runChaos(t, spec, long)
		})
	}
}

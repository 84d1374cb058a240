package ensemble_test

import (
	"slices"
	"testing"
	"time"

	"github.com/zkd-io/zkd/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

// ensembleOptions configure every ensemble of both kinds. snapCount=100
// makes the servers snapshot (and compact their logs) every ~100 writes,
// so a wiped server has to be sent a snapshot.
var ensembleOptions = []harness.Option{
	harness.WithConfig("snapCount", "100"),
}

// scenario is one test run against a shared, healthy 3-server ensemble. It
// must leave the ensemble with every server running and no partition, and
// checks convergence itself.
type scenario struct {
	name string
	run  func(t *testing.T, e *harness.Ensemble)
}

// scenarios run in this order on one ensemble per kind; WipeRejoin writes
// the most and comes last so the others read small trees.
var scenarios = []scenario{
	{"KillFollower", testKillFollower},
	{"KillLeader", testKillLeader},
	{"KillLeaderRepeated", testKillLeaderRepeated},
	{"PartitionLeader", testPartitionLeader},
	{"PauseLeader", testPauseLeader},
	{"WipeRejoin", testWipeRejoin},
}

// TestZooKeeper runs every scenario against Apache ZooKeeper, which shows
// that the scenarios and their checks are right.
func TestZooKeeper(t *testing.T) { runScenarios(t, harness.KindZooKeeper) }

// TestZkd runs every scenario against zkd.
func TestZkd(t *testing.T) { runScenarios(t, harness.KindZkd) }

func runScenarios(t *testing.T, kind string) {
	start := time.Now()
	e := harness.StartEnsemble(t, kind, 3, ensembleOptions...)
	t.Logf("%s: 3-server ensemble serving after %v; leader server.%d", kind, time.Since(start).Round(time.Millisecond), e.Leader(t)+1)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			restore(t, e)
			sc.run(t, e)
		})
	}
	// Observers need an ensemble of their own.
	t.Run("Observer", func(t *testing.T) { testObserver(t, kind) })
}

// restore brings the shared ensemble back to health after an earlier
// scenario failed halfway: no partition, every server running, a leader.
func restore(t *testing.T, e *harness.Ensemble) {
	t.Helper()
	e.Heal(t)
	for i, s := range e.Servers {
		if !s.Running() {
			t.Logf("restarting server.%d, left stopped by an earlier scenario", i+1)
			e.Restart(t, i)
		}
	}
	e.WaitQuorum(t)
}

// followerOf returns a participant other than the leader.
func followerOf(e *harness.Ensemble, leader int) int {
	for _, i := range e.Others(leader) {
		if !e.Members[i].Observer {
			return i
		}
	}
	return -1
}

// durationStats returns the median and maximum.
func durationStats(ds []time.Duration) (median, worst time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)-1]
}

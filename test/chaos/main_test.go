package chaos

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkd-io/zkd/test/harness"
)

func TestMain(m *testing.M) {
	// The lose-unsynced nemesis needs zkd's storage failpoints (unsynced_test.go).
	os.Setenv("ZKD_BUILD_FLAGS", failpointBuildFlags(os.Getenv("ZKD_BUILD_FLAGS")))
	harness.Main(m)
}

// Environment knobs; see the package doc.
const (
	envMode = "ZKD_CHAOS"
	envSeed = "ZKD_CHAOS_SEED"
	envRun  = "ZKD_CHAOS_RUN"
	envDir  = "ZKD_CHAOS_DIR"
	// envDuration and envSummary: long mode's total time and report file.
	envDuration = "ZKD_CHAOS_DURATION"
	envSummary  = "ZKD_CHAOS_SUMMARY"
)

// The modes ZKD_CHAOS selects.
const (
	modeShort = "short"
	modeCI    = "ci"
	modeLong  = "long"
)

// chaosMode returns the mode ZKD_CHAOS asks for (short when unset). Any
// other value is a mistake worth failing on, not a silent short run.
func chaosMode(t testing.TB) string {
	t.Helper()
	switch v := os.Getenv(envMode); v {
	case "", modeShort:
		return modeShort
	case modeCI, modeLong:
		return v
	default:
		t.Fatalf("%s=%q: want %q, %q or %q (or unset)", envMode, v, modeShort, modeCI, modeLong)
		return ""
	}
}

// runSeed returns the seed of one run: ZKD_CHAOS_SEED when set, else def
// (fixed in short mode so that a failure can be replayed, time-based in
// long mode so that every long run explores something new).
func runSeed(t testing.TB, def uint64) uint64 {
	t.Helper()
	v := os.Getenv(envSeed)
	if v == "" {
		return def
	}
	s, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: want an unsigned integer: %v", envSeed, v, err)
	}
	return s
}

// selected reports whether ZKD_CHAOS_RUN (a substring) selects the run.
func selected(name string) bool {
	f := os.Getenv(envRun)
	return f == "" || strings.Contains(name, f)
}

// newRand derives an independent generator from a run seed and a stream
// number, so that the nemesis schedule (stream 0) does not depend on how
// many operations the workers (other streams) happened to do.
func newRand(seed uint64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream*0x9e3779b97f4a7c15+1))
}

// randDuration is uniform in [lo, hi].
func randDuration(r *rand.Rand, lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(r.Int64N(int64(hi-lo)+1))
}

// timeSeed is the default seed of a long run.
func timeSeed() uint64 { return uint64(time.Now().UnixNano()) }

// replayHint says how to run one run again with the same seed.
func replayHint(name string, seed uint64, mode string) string {
	env := ""
	if mode != modeShort {
		env = envMode + "=" + mode + " "
	}
	return fmt.Sprintf("%s%s=%d %s=%s go test -run 'TestChaos' ./test/chaos", env, envSeed, seed, envRun, name)
}

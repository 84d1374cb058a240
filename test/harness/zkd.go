package harness

import (
	"fmt"
	"go/build"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// zkdPackage is the server binary the harness builds and runs.
const zkdPackage = "github.com/zkd-io/zkd/cmd/zkd"

// shared is the one zkd build of a test binary that uses Main.
var shared struct {
	active atomic.Bool // Main is running the tests
	once   sync.Once
	dir    string
	bin    string
	err    error
}

// Main is a TestMain for packages that use Zkd: it runs the tests and then
// removes the zkd binary they shared.
//
//	func TestMain(m *testing.M) { harness.Main(m) }
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main without the exit, for a TestMain with more to do after the
// tests: it runs them, removes the shared zkd build and returns the exit
// code.
func Run(m *testing.M) int {
	shared.active.Store(true)
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	return code
}

// Zkd starts this module's zkd server (cmd/zkd, built once per test binary)
// as a process running "zkd <dir>/zoo.cfg", with the same zoo.cfg form as
// ZooKeeper: tickTime, dataDir, a free loopback clientPort, admin server off,
// every four-letter word allowed, extendedTypesEnabled=true. It returns once
// ruok answers imok and stops the server when the test ends. A build failure
// fails the test.
func Zkd(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin := zkdBinary(t)
	s, st := newServer(t, KindZkd)
	for _, o := range opts {
		o(st)
	}
	s.argv = []string{bin, s.ConfigPath}
	s.launch(t, st)
	return s
}

// zkdBinary returns ZKD_BINARY, the shared build when Main is in use, or a
// build private to this test otherwise (slower, but nothing is left behind).
func zkdBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("ZKD_BINARY"); p != "" {
		abs, err := filepath.Abs(p)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			t.Fatalf("harness: ZKD_BINARY=%s: %v", p, err)
		}
		return abs
	}
	if !shared.active.Load() {
		bin := filepath.Join(t.TempDir(), "zkd")
		if err := buildZkd(bin); err != nil {
			t.Fatalf("harness: %v", err)
		}
		return bin
	}
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "zkd-harness-")
		if shared.err != nil {
			return
		}
		shared.bin = filepath.Join(shared.dir, "zkd")
		shared.err = buildZkd(shared.bin)
	})
	if shared.err != nil {
		t.Fatalf("harness: %v", shared.err)
	}
	return shared.bin
}

// buildZkd runs go build from the test's working directory, which is inside
// this module, so the package path resolves against the code under test.
func buildZkd(out string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(build.Default.GOROOT, "bin", "go")
	}
	args := []string{"build", "-o", out}
	args = append(args, strings.Fields(os.Getenv("ZKD_BUILD_FLAGS"))...)
	args = append(args, zkdPackage)
	start := time.Now()
	cmd := exec.Command(goTool, args...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("build %s failed after %v: %v\n%s", zkdPackage, time.Since(start).Round(time.Millisecond), err, b)
	}
	return nil
}

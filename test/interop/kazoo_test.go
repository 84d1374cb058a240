//go:build interop

package interop

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkd-io/zkd/test/harness"
)

const kazooInstall = "apt-get install python3-kazoo python3-pytest"

// kazooPython returns a python3 that can import kazoo and pytest. PYTHON
// overrides; otherwise python3 from PATH, then Debian's /usr/bin/python3
// (a pyenv or virtualenv python3 first in PATH usually lacks python3-kazoo).
func kazooPython(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("PYTHON")}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, "/usr/bin/python3")
	var tried []string
	for _, py := range candidates {
		if py == "" {
			continue
		}
		tried = append(tried, py)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := exec.CommandContext(ctx, py, "-c", "import kazoo, pytest").Run()
		cancel()
		if err == nil {
			return py
		}
	}
	harness.MissingTool(t, "no python3 that imports kazoo and pytest (tried %s): %s", strings.Join(tried, ", "), kazooInstall)
	return ""
}

// pytestExitCodes names pytest's exit statuses for failure messages.
var pytestExitCodes = map[int]string{
	1: "some tests failed",
	2: "interrupted",
	3: "internal error",
	4: "usage error",
	5: "no tests were collected",
}

// TestKazoo runs the pytest suite in kazoo/ against each server kind. The
// servers tick every 500ms and allow 1s sessions so the expiry tests take
// seconds, not the default 4-40s.
func TestKazoo(t *testing.T) {
	for _, kind := range harness.Kinds {
		t.Run(kind, func(t *testing.T) {
			py := kazooPython(t)
			s := harness.Start(t, kind,
				harness.WithTickTime(500*time.Millisecond),
				harness.WithSessionTimeouts(time.Second, 30*time.Second))
			runPytest(t, py, s.Addr)
		})
	}
}

func runPytest(t *testing.T, py, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// -p no:cacheprovider and PYTHONDONTWRITEBYTECODE keep pytest from
	// writing .pytest_cache and __pycache__ into the source tree.
	cmd := exec.CommandContext(ctx, py, "-m", "pytest", "-q", "-rfE",
		"-p", "no:cacheprovider", "--durations=5", "kazoo")
	cmd.Env = append(os.Environ(), "ZK_HOSTS="+addr, "PYTHONDONTWRITEBYTECODE=1")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start).Round(time.Millisecond)
	if ctx.Err() != nil {
		t.Fatalf("pytest did not finish within 5m; output:\n%s", out.String())
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		t.Logf("pytest against %s passed in %v: %s", addr, took, lastLine(out.String()))
	case errors.As(err, &exit):
		code := exit.ExitCode()
		t.Fatalf("pytest against %s exited %d (%s) after %v:\n%s", addr, code, pytestExitCodes[code], took, out.String())
	default:
		t.Fatalf("run pytest: %v\n%s", err, out.String())
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// ensembleKazoo runs the whole pytest suite with the ensemble's connect
// string: every kazoo client picks a random server.
func ensembleKazoo(t *testing.T, env *ensembleEnv) {
	runPytest(t, kazooPython(t), env.e.ConnectString())
}

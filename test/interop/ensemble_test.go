//go:build interop

package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zkd-io/zkd/test/harness"
)

// containerCheck is how often both kinds look for expired TTL nodes and
// empty containers in TestEnsemble (ZooKeeper's default is a minute). zkd
// reads the zoo.cfg key; ZooKeeper reads only the Java system property.
const containerCheck = 500 * time.Millisecond

// ensembleOptions configure every server TestEnsemble starts, and the
// standalone ZooKeeper that stands in for a reference that did not run.
func ensembleOptions() []harness.Option {
	ms := fmt.Sprint(containerCheck.Milliseconds())
	return []harness.Option{
		harness.WithConfig("znode.container.checkIntervalMs", ms),
		harness.WithJVMOptions("-Dznode.container.checkIntervalMs=" + ms),
	}
}

// ensembleEnv is what a suite gets: the running ensemble and the builds
// (C program, Java classes) shared by both kinds.
type ensembleEnv struct {
	e     *harness.Ensemble
	build *buildCache
}

// ensembleSuites run in this order against one ensemble per kind. zkcli
// comes first because its transcript lists "/" and needs an empty tree; the
// suites that kill servers come last and leave all servers running. Each
// suite is a row of the results table (client, scenario); gozk reports
// each of its checks instead, and kazoo and curator add a row per test.
var ensembleSuites = []struct {
	name             string
	client, scenario string // "" when the suite reports its own rows
	run              func(t *testing.T, env *ensembleEnv)
}{
	{"zkcli", "zkCli.sh", "transcript", ensembleZkCli},
	{"kazoo", "kazoo", "pytest run: every kazoo test below, in one process", ensembleKazoo},
	{"c", "C client", "zkc.c: sync and async API (create, get, set, watches, multi, ACL)", ensembleC},
	{"cli_mt", "C client", "cli_mt shell, scripted", ensembleCliMt},
	{"gozk", "", "", ensembleGoZk},
	{"curator", "Curator", "one JVM runs every Curator check below", ensembleCurator},
}

// TestEnsemble runs every client suite against a 3-server Apache ZooKeeper
// ensemble and then against a 3-server zkd ensemble, each started once. The
// ZooKeeper half proves the suites right (and records the transcripts zkd
// must reproduce); the zkd half is the interop test. Clients get all three
// addresses, so sessions spread over leader and followers.
func TestEnsemble(t *testing.T) {
	build := &buildCache{dir: t.TempDir()}
	for _, kind := range harness.Kinds {
		t.Run(kind, func(t *testing.T) {
			start := time.Now()
			e := startEnsembleReported(t, kind)
			t.Logf("%s ensemble %s up in %v, leader server.%d", kind, e.ConnectString(), time.Since(start).Round(time.Millisecond), e.Leader(t)+1)
			env := &ensembleEnv{e: e, build: build}
			for _, s := range ensembleSuites {
				began := time.Now()
				t.Run(s.name, func(t *testing.T) {
					if s.client != "" {
						report(t, kind, s.client, s.scenario)
					}
					s.run(t, env)
				})
				t.Logf("%s/%s took %v", kind, s.name, time.Since(began).Round(time.Millisecond))
				restoreEnsemble(t, e)
			}
		})
	}
}

// startEnsembleReported starts the 3-server ensemble of kind and records
// in the table whether it came up: when it does not, the suites' rows say
// "not run" and this row says why.
func startEnsembleReported(t *testing.T, kind string) *harness.Ensemble {
	t.Helper()
	const client, scenario = "(servers)", "3-server ensemble starts and elects a leader"
	up := false
	t.Cleanup(func() {
		switch {
		case up:
		case t.Skipped():
			record(kind, client, scenario, skipped, "see "+t.Name()+" in the test log")
		default:
			record(kind, client, scenario, failed, "see "+t.Name()+" in the test log")
		}
	})
	e := harness.StartEnsemble(t, kind, 3, ensembleOptions()...)
	e.Leader(t)
	up = true
	record(kind, client, scenario, passed, "")
	return e
}

// restoreEnsemble restarts any server a failed suite left stopped, so the
// next suite starts with the whole ensemble.
func restoreEnsemble(t *testing.T, e *harness.Ensemble) {
	t.Helper()
	for i, s := range e.Servers {
		if !s.Running() {
			t.Logf("restarting server.%d that the last suite left stopped", i+1)
			e.Restart(t, i)
		}
	}
	e.WaitQuorum(t)
}

// buildCache compiles each client program once per test run into dir.
type buildCache struct {
	dir string

	cOnce sync.Once
	cBin  string
	cErr  error

	javaOnce sync.Once
	javaCP   string
	javaErr  error
}

// ensembleRefs holds, per transcript suite, the normalised output the Apache
// ZooKeeper ensemble produced in this run; zkd's must equal it.
var ensembleRefs = struct {
	mu sync.Mutex
	m  map[string][]string
}{m: map[string][]string{}}

func setReference(name string, lines []string) {
	ensembleRefs.mu.Lock()
	defer ensembleRefs.mu.Unlock()
	ensembleRefs.m[name] = lines
}

// reference returns the ZooKeeper transcript of suite name. When the
// ZooKeeper half did not run (-run TestEnsemble/zkd), produce makes one
// against a standalone Apache ZooKeeper instead; produce must check the
// reference's own expectations.
func ensembleReference(t *testing.T, name string, produce func(t *testing.T, connect string) []string) []string {
	t.Helper()
	ensembleRefs.mu.Lock()
	lines, ok := ensembleRefs.m[name]
	ensembleRefs.mu.Unlock()
	if ok {
		return lines
	}
	t.Logf("no %s transcript from the ZooKeeper ensemble in this run (filtered out by -run?): producing the reference with a standalone Apache ZooKeeper", name)
	s := harness.ZooKeeper(t, ensembleOptions()...)
	lines = produce(t, s.Addr)
	if t.Failed() {
		t.FailNow()
	}
	setReference(name, lines)
	return lines
}

// compareTranscripts fails the test with a diff when zkd's transcript
// differs from Apache ZooKeeper's.
func compareTranscripts(t *testing.T, what string, want, got []string) {
	t.Helper()
	if d := Diff(want, got); d != "" {
		t.Errorf("%s: zkd's transcript differs from Apache ZooKeeper's (- zookeeper, + zkd):\n%s", what, d)
	}
}

// runResult is the outcome of one client process.
type runResult struct {
	stdout, stderr string
	exit           int // -1 when it did not exit normally
	took           time.Duration
}

// runProcess runs cmd with stdin, in its own process group so a timeout
// kills everything it started, and waits at most timeout. A process still
// running then fails the test with its output so far.
func runProcess(t *testing.T, timeout time.Duration, stdin io.Reader, name string, args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	res := runResult{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within %v\nstdout:\n%s\nstderr:\n%s", name, timeout, res.stdout, res.stderr)
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.exit = exit.ExitCode()
	default:
		t.Fatalf("run %s: %v\n%s", name, err, res.stderr)
	}
	return res
}

// lines splits output into lines without the trailing empty one.
func lines(s string) []string {
	s = strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// lookTool finds an executable at one of paths or in PATH, or ends the test
// saying what to install.
func lookTool(t *testing.T, install string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if strings.Contains(p, "/") {
			if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return p
			}
			continue
		}
		if found, err := exec.LookPath(p); err == nil {
			return found
		}
	}
	missingTool(t, "%s not found: %s", strings.Join(paths, " or "), install)
	return ""
}

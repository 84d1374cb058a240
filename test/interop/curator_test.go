//go:build interop

package interop

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const curatorInstall = "apt-get install default-jdk-headless libcurator-framework-java libcurator-recipes-java libcurator-discovery-java"

// curatorJars are the jars javac and java need; their manifests' Class-Path
// names the rest (curator-framework, curator-client, zookeeper, guava,
// jackson, slf4j-api).
var curatorJars = []string{
	"/usr/share/java/curator-recipes.jar",
	"/usr/share/java/curator-x-discovery.jar",
}

// curatorLogJar sends the client's slf4j logging to stderr (shown when a
// check fails) instead of slf4j's "no binding" warning.
const curatorLogJar = "/usr/share/java/slf4j-simple.jar"

// curatorChecks are the checks curator/CuratorRecipes.java runs, in order;
// each must report PASS.
var curatorChecks = []string{
	"create2-stat", "transaction", "mutex-leader-kill", "read-write-lock",
	"semaphore-v2", "leader-latch", "leader-selector", "latch-leader-kill", "barrier",
	"double-barrier", "queue", "shared-count", "atomic-long",
	"shared-count-leader-kill", "atomic-long-leader-kill", "curator-cache", "tree-cache", "persistent-node", "persistent-watcher",
	"service-discovery",
}

// curatorScenarios describe the checks in the results table.
var curatorScenarios = map[string]string{
	"create2-stat":             "create2: the Stat returned is the node's",
	"transaction":              "transaction API: commit, and rollback on failure",
	"mutex-leader-kill":        "InterProcessMutex: 4 clients, leader killed, never two holders",
	"read-write-lock":          "InterProcessReadWriteLock",
	"semaphore-v2":             "InterProcessSemaphoreV2",
	"leader-latch":             "LeaderLatch: one leader; new one after the leader's session expires",
	"leader-selector":          "LeaderSelector: one leader at a time, requeue, expiry",
	"latch-leader-kill":        "LeaderLatch: one leader before, during and after a leader kill, never two",
	"barrier":                  "DistributedBarrier",
	"double-barrier":           "DistributedDoubleBarrier",
	"queue":                    "DistributedQueue",
	"shared-count":             "SharedCount: exact under contention",
	"atomic-long":              "DistributedAtomicLong: exact under contention",
	"shared-count-leader-kill": "SharedCount: leader killed; every acknowledged increment counted, extras only for hidden outcomes",
	"atomic-long-leader-kill":  "DistributedAtomicLong: leader killed; no value given twice, gaps only for hidden outcomes",
	"curator-cache":            "CuratorCache converges to the tree",
	"tree-cache":               "TreeCache converges to the tree",
	"persistent-node":          "PersistentNode (ephemeral): gone on expiry, back on reconnect",
	"persistent-watcher":       "PersistentWatcher (persistent recursive watch)",
	"service-discovery":        "ServiceDiscovery: register, query, removal on session loss",
}

// recordCurator puts each check's result in the results table. A check
// the program never reported is a failure only if the program finished.
func recordCurator(kind string, results map[string]string, only string, finished bool) {
	for _, name := range curatorChecks {
		if !strings.Contains(name, only) {
			continue
		}
		scenario := curatorScenarios[name] + " (" + name + ")"
		r, ok := results[name]
		switch {
		case !ok && finished:
			record(kind, "Curator", scenario, failed, "the program never reported it")
		case !ok:
		case strings.HasPrefix(r, "PASS "):
			record(kind, "Curator", scenario, passed, "")
		default:
			record(kind, "Curator", scenario, failed, strings.TrimPrefix(strings.TrimPrefix(r, "FAIL "+name), ": "))
		}
	}
}

// curatorClasses compiles curator/*.java once per test run and returns the
// classpath to run it with.
func (b *buildCache) curatorClasses(t *testing.T) string {
	t.Helper()
	javac := lookTool(t, curatorInstall, javaTool("javac"), "javac")
	for _, jar := range curatorJars {
		if _, err := os.Stat(jar); err != nil {
			missingTool(t, "%s not found: %s", jar, curatorInstall)
		}
	}
	b.javaOnce.Do(func() {
		out := filepath.Join(b.dir, "curator")
		sources, err := filepath.Glob(filepath.Join("curator", "*.java"))
		if err != nil || len(sources) == 0 {
			b.javaErr = fmt.Errorf("no Java sources in curator/: %v", err)
			return
		}
		args := append([]string{"-nowarn", "-encoding", "UTF-8", "-d", out, "-cp", strings.Join(curatorJars, ":")}, sources...)
		if msg, err := exec.Command(javac, args...).CombinedOutput(); err != nil {
			b.javaErr = &buildError{what: "javac curator/*.java", err: err, output: string(msg)}
			return
		}
		cp := append([]string{out}, curatorJars...)
		if _, err := os.Stat(curatorLogJar); err == nil {
			cp = append(cp, curatorLogJar)
		}
		b.javaCP = strings.Join(cp, ":")
	})
	if b.javaErr != nil {
		t.Fatalf("%v", b.javaErr)
	}
	return b.javaCP
}

// javaTool is $JAVA_HOME/bin/name when JAVA_HOME is set, else name.
func javaTool(name string) string {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		return filepath.Join(home, "bin", name)
	}
	return name
}

var curatorResult = regexp.MustCompile(`^(PASS|FAIL) ([a-z0-9-]+)(: .*)?`)

// ensembleCurator runs every Curator check in one JVM against the
// ensemble. The program asks for server kills on stdout ("ACTION ...")
// and waits for "done" on stdin.
func ensembleCurator(t *testing.T, env *ensembleEnv) {
	cp := env.build.curatorClasses(t)
	java := lookTool(t, curatorInstall, javaTool("java"), "java")
	e := env.e
	// CURATOR_CHECKS=name-part runs only the checks whose names contain it.
	only := os.Getenv("CURATOR_CHECKS")

	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	args := []string{"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
		"-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-Dorg.slf4j.simpleLogger.showDateTime=true",
		"-cp", cp, "CuratorCheck", e.ConnectString(), only}
	cmd := exec.CommandContext(ctx, java, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &tailBuffer{max: 256 << 10}
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start java: %v", err)
	}
	defer func() {
		stdin.Close()
		cancel()
		_ = cmd.Wait()
	}()

	killed := -1
	results := map[string]string{}
	var output []string
	done := false
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 4<<20) // a FAIL line can list a whole tree
	for !done && sc.Scan() {
		line := sc.Text()
		output = append(output, line)
		switch {
		case line == "ACTION kill-leader":
			killed = e.Leader(t)
			t.Logf("curator: killing the leader, server.%d", killed+1)
			e.Kill(killed)
			fmt.Fprintln(stdin, "done")
		case line == "ACTION restore":
			if killed >= 0 {
				e.Restart(t, killed)
				killed = -1
			}
			e.WaitQuorum(t)
			fmt.Fprintln(stdin, "done")
		case strings.HasPrefix(line, "DONE"):
			done = true
		default:
			if m := curatorResult.FindStringSubmatch(line); m != nil {
				results[m[2]] = line
			}
		}
	}
	t.Logf("curator against %s: %s in %v", e.ConnectString(), lastOr(output, "no output"), time.Since(start).Round(time.Millisecond))
	recordCurator(e.Kind, results, only, done)
	if ctx.Err() != nil {
		t.Fatalf("the Curator checks did not finish within 6m; output:\n%s\nstderr (tail):\n%s", strings.Join(output, "\n"), stderr)
	}
	if !done {
		t.Fatalf("the Curator program ended without DONE; output:\n%s\nstderr (tail):\n%s", strings.Join(output, "\n"), stderr)
	}
	var failures []string
	want := 0
	for _, name := range curatorChecks {
		if !strings.Contains(name, only) {
			continue
		}
		want++
		r, ok := results[name]
		switch {
		case !ok:
			failures = append(failures, "MISSING "+name+": the program never reported it")
		case !strings.HasPrefix(r, "PASS "):
			failures = append(failures, r)
		}
	}
	if len(results) != want {
		failures = append(failures, fmt.Sprintf("the program reported %d checks, the test expected %d (keep curatorChecks in step with CuratorRecipes.all)", len(results), want))
	}
	if len(failures) > 0 {
		t.Errorf("Curator checks against the %s ensemble failed:\n%s\nfull output:\n%s\nstderr (tail):\n%s", e.Kind, strings.Join(failures, "\n"), strings.Join(output, "\n"), stderr)
	} else {
		t.Logf("curator results:\n%s", strings.Join(output, "\n"))
	}
}

func lastOr(lines []string, empty string) string {
	if len(lines) == 0 {
		return empty
	}
	return lines[len(lines)-1]
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (w *tailBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, p...)
	if len(w.b) > w.max {
		w.b = w.b[len(w.b)-w.max:]
	}
	return len(p), nil
}

func (w *tailBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.b)
}

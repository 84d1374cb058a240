//go:build interop

package interop

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zkd-io/zkd/test/harness"
)

// step is one command of the transcript (zkcli_script.go). The
// expectations make the ZooKeeper half fail when the script does not test
// what it claims to; zkd must then match ZooKeeper's whole output, not just
// these lines.
type step = ZkCliStep

var (
	session1 = ZkCliSession1
	session2 = ZkCliSession2
)

func commands(steps []step) []string {
	var cmds []string
	for _, s := range steps {
		cmds = append(cmds, s.Cmd)
	}
	return cmds
}

const zkCliDefault = "/usr/share/zookeeper/bin/zkCli.sh"

// zkCliPath finds zkCli.sh (env ZKCLI overrides) or ends the test.
func zkCliPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("ZKCLI")
	if p == "" {
		p = zkCliDefault
	}
	if _, err := os.Stat(p); err != nil {
		missingTool(t, "zkCli.sh not found at %s (set ZKCLI): apt-get install zookeeper", p)
	}
	if _, err := exec.LookPath("java"); err != nil {
		missingTool(t, "java not found: apt-get install default-jre-headless")
	}
	return p
}

// runZkCli feeds Script(cmds) to one zkCli.sh session on stdin and returns
// its combined stdout and stderr, in the order zkCli.sh wrote them.
func runZkCli(t *testing.T, zkcli, addr string, cmds []string) string {
	t.Helper()
	// A healthy run takes seconds; a server that accepts connections but
	// never answers makes each command wait for a connection timeout.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, zkcli, "-server", addr, "-timeout", "10000")
	cmd.Stdin = strings.NewReader(Script(cmds))
	var out bytes.Buffer
	cmd.Stdout = &out // one buffer for both keeps the interleaving
	cmd.Stderr = &out
	// zkCli.sh does not exec java, so a timeout must kill the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	// Client JVM flags: small heap, fast start, no hsperfdata in /tmp.
	cmd.Env = append(os.Environ(), "CLIENT_JVMFLAGS=-Xmx128m -XX:TieredStopAtLevel=1 -XX:-UsePerfData")
	start := time.Now()
	err := cmd.Run()
	t.Logf("zkCli.sh: %d commands against %s in %v", len(cmds), addr, time.Since(start).Round(time.Millisecond))
	if ctx.Err() != nil {
		t.Fatalf("zkCli.sh did not finish within 1m; output so far:\n%s", out.String())
	}
	if err != nil {
		// quit exits with the last command's status; the transcript
		// comparison, not the exit code, decides.
		t.Logf("zkCli.sh exit: %v", err)
	}
	return out.String()
}

// transcript runs the sessions against the server(s) at addr (a connect
// string) and returns one normalised transcript per session.
func transcript(t *testing.T, addr string, sessions ...[]step) []Transcript {
	t.Helper()
	zkcli := zkCliPath(t)
	var trs []Transcript
	for i, steps := range sessions {
		raw := runZkCli(t, zkcli, addr, commands(steps))
		tr, err := Normalize(raw, commands(steps), addr)
		if err != nil {
			t.Fatalf("session %d: %v\nraw output:\n%s", i+1, err, raw)
		}
		trs = append(trs, tr)
	}
	return trs
}

// reference keeps the ZooKeeper half's transcripts for the zkd half, so
// both halves compare against one reference run. Running only zkd's subtest
// (-run TestZkCli/zkd) produces a reference first.
var reference struct {
	mu  sync.Mutex
	trs []Transcript
}

// zookeeperTranscripts runs the sessions against a fresh Apache ZooKeeper,
// checks the expectations, and stores the result as the reference.
func zookeeperTranscripts(t *testing.T) []Transcript {
	t.Helper()
	s := harness.ZooKeeper(t)
	trs := transcript(t, s.Addr, session1, session2)
	checkExpectations(t, trs, session1, session2)
	if t.Failed() {
		t.FailNow()
	}
	reference.mu.Lock()
	reference.trs = trs
	reference.mu.Unlock()
	return trs
}

func referenceTranscripts(t *testing.T) []Transcript {
	t.Helper()
	reference.mu.Lock()
	trs := reference.trs
	reference.mu.Unlock()
	if trs == nil {
		trs = zookeeperTranscripts(t)
	}
	return trs
}

// checkExpectations requires every step's want lines, in order, in the
// reference output.
func checkExpectations(t *testing.T, trs []Transcript, sessions ...[]step) {
	t.Helper()
	for i, steps := range sessions {
		for j, st := range steps {
			got := trs[i].Steps[j].Output
			if st.Want == "" {
				if len(got) != 0 {
					t.Errorf("session %d, %q: got output %q, want none", i+1, st.Cmd, got)
				}
				continue
			}
			if !containsInOrder(got, strings.Split(st.Want, "\n")) {
				t.Errorf("session %d, %q: got output %q, want lines %q in order", i+1, st.Cmd, got, st.Want)
			}
		}
	}
}

// containsInOrder reports whether want is a subsequence of got, where a want
// line ending in a space-free "= Z" matches any normalised zxid name.
func containsInOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && lineMatches(g, want[i]) {
			i++
		}
	}
	return i == len(want)
}

func lineMatches(got, want string) bool {
	if strings.HasSuffix(want, " = Z") {
		return strings.HasPrefix(got, want) // "cZxid = Z" matches "cZxid = Z3"
	}
	return got == want
}

func TestZkCli(t *testing.T) {
	t.Run(harness.KindZooKeeper, func(t *testing.T) {
		report(t, harness.KindZooKeeper, "zkCli.sh", "transcript (standalone)")
		trs := zookeeperTranscripts(t)
		checkZkCliEvents(t, trs)
		t.Logf("reference transcript, session 1:\n%s", trs[0])
	})
	t.Run(harness.KindZkd, func(t *testing.T) {
		report(t, harness.KindZkd, "zkCli.sh", "transcript (standalone)")
		want := referenceTranscripts(t)
		s := harness.Zkd(t)
		got := transcript(t, s.Addr, session1, session2)
		for i := range want {
			if d := Diff(want[i].Lines(), got[i].Lines()); d != "" {
				t.Errorf("session %d: zkd's zkCli.sh transcript differs from Apache ZooKeeper's (- zookeeper, + zkd):\n%s", i+1, d)
			}
		}
	})
}

// checkZkCliEvents requires the watch events session1's watches must
// produce, in order, and none in session2.
func checkZkCliEvents(t *testing.T, trs []Transcript) {
	t.Helper()
	wantEvents := []string{
		"WatchedEvent state:SyncConnected type:NodeCreated path:/t/later",
		"WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/t",
		"WatchedEvent state:SyncConnected type:NodeCreated path:/t/c/x",
		"WatchedEvent state:SyncConnected type:NodeCreated path:/t/c/x/y",
		"WatchedEvent state:SyncConnected type:PersistentWatchRemoved path:/t/p",
		"WatchedEvent state:SyncConnected type:NodeDataChanged path:/t/later",
		"WatchedEvent state:SyncConnected type:DataWatchRemoved path:/t/later",
		"WatchedEvent state:SyncConnected type:ChildWatchRemoved path:/t/c",
		"WatchedEvent state:SyncConnected type:PersistentWatchRemoved path:/t/c",
		"WatchedEvent state:SyncConnected type:NodeDeleted path:/t/c/x/y",
		"WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/t/c/x",
	}
	if !containsInOrder(trs[0].Events, wantEvents) {
		t.Errorf("session 1 events: got\n%s\nwant these in order:\n%s", strings.Join(trs[0].Events, "\n"), strings.Join(wantEvents, "\n"))
	}
	if len(trs[1].Events) != 0 {
		t.Errorf("session 2 events: got %q, want none", trs[1].Events)
	}
}

// ensembleZkCli runs both zkCli.sh sessions with the ensemble's connect
// string. The tree must be empty: the script lists "/".
func ensembleZkCli(t *testing.T, env *ensembleEnv) {
	got := transcript(t, env.e.ConnectString(), session1, session2)
	if env.e.Kind == harness.KindZooKeeper {
		checkExpectations(t, got, session1, session2)
		checkZkCliEvents(t, got)
		setReference("zkcli", joinSessions(got))
		return
	}
	want := ensembleReference(t, "zkcli", func(t *testing.T, addr string) []string {
		trs := transcript(t, addr, session1, session2)
		checkExpectations(t, trs, session1, session2)
		checkZkCliEvents(t, trs)
		return joinSessions(trs)
	})
	compareTranscripts(t, "zkCli.sh against the ensemble", want, joinSessions(got))
}

// joinSessions renders several transcripts as one for diffing.
func joinSessions(trs []Transcript) []string {
	var out []string
	for i, tr := range trs {
		out = append(out, fmt.Sprintf("=== session %d", i+1))
		out = append(out, tr.Lines()...)
	}
	return out
}

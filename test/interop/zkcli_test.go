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

// step is one zkCli.sh command and what Apache ZooKeeper prints for it after
// normalisation: every line of want must appear in the output, in order
// (want "" means no output at all). The expectations make the ZooKeeper half
// fail when the script does not test what it claims to; zkd must then match
// ZooKeeper's whole output, not just these lines.
type step struct {
	cmd  string
	want string
}

// session1 exercises every command family; it runs in one zkCli.sh session.
var session1 = []step{
	// create: plain, sequential, ephemeral, container, TTL, combinations.
	{"create /t", "Created /t"},
	{"create /t/p data1", "Created /t/p"},
	{"create -s /t/s- sdata", "Created /t/s-0000000001"},
	{"create -s /t/s- sdata", "Created /t/s-0000000002"},
	{"create -e /t/e edata", "Created /t/e"},
	{"create -c /t/c", "Created /t/c"},
	{"create -t 3600000 /t/ttl tdata", "Created /t/ttl"},
	{"create -s -e /t/se- x", "Created /t/se-0000000006"},
	{"create -s -t 3600000 /t/sttl- x", "Created /t/sttl-0000000007"},
	// create errors.
	{"create /t/p dup", "Node already exists: /t/p"},
	{"create /nope/child x", "Node does not exist: /nope/child"},
	{"create /t/e/child x", "Ephemerals cannot have children: /t/e/child"},
	{"create bad x", "Path must start with / character"},
	{"create /t/p/ x", "Path must not end with / character"},
	// ls.
	{"ls /t", "[c, e, p, s-0000000001, s-0000000002, se-0000000006, sttl-0000000007, ttl]"},
	{"ls -s /t", "[c, e, p, s-0000000001, s-0000000002, se-0000000006, sttl-0000000007, ttl]\ncversion = 8\nnumChildren = 8"},
	{"ls -R /t", "/t\n/t/c\n/t/e\n/t/p\n/t/s-0000000001\n/t/s-0000000002\n/t/se-0000000006\n/t/sttl-0000000007\n/t/ttl"},
	{"ls /zookeeper", "[config, quota]"},
	{"ls /missing", "Node does not exist: /missing"},
	// get/set with versions.
	{"get /t/p", "data1"},
	{"get -s /t/p", "data1\ncZxid = Z\nctime = <TIME>\ndataVersion = 0\nephemeralOwner = 0x0\ndataLength = 5\nnumChildren = 0"},
	{"get -s /t/e", "edata\nephemeralOwner = S1"},
	{"get /missing", "Node does not exist: /missing"},
	{"set /t/p data2", ""},
	{"set -v 1 /t/p data3", ""},
	{"set -v 7 /t/p data4", "version No is not valid : /t/p"},
	{"set -s /t/p data5", "dataVersion = 3"},
	{"set /missing x", "Node does not exist: /missing"},
	// delete.
	{"delete -v 9 /t/p", "version No is not valid : /t/p"},
	{"delete /t", "Node not empty: /t"},
	{"delete /t/missing", "Node does not exist: /t/missing"},
	{"delete -v 0 /t/s-0000000001", ""},
	{"delete /t/s-0000000002", ""},
	// stat, sync, getEphemerals, getAllChildrenNumber.
	{"stat /t/p", "dataVersion = 3\naclVersion = 0"},
	{"stat /t/missing", "Node does not exist: /t/missing"},
	{"sync /t", "Sync is OK"},
	{"getEphemerals", "[/t/e, /t/se-0000000006]"},
	{"getEphemerals /t/s", "[/t/se-0000000006]"},
	{"getAllChildrenNumber /t", "6"},
	{"getAllChildrenNumber /missing", "Node does not exist: /missing"},
	// ACLs and auth.
	{"getAcl /t/p", "'world,'anyone\n: cdrwa"},
	{"getAcl /missing", "Node does not exist: /missing"},
	{"setAcl /t/p world:anyone:r", ""},
	{"getAcl -s /t/p", "'world,'anyone\n: r\naclVersion = 1"},
	{"set /t/p x", "Insufficient permission : /t/p"},
	{"setAcl -v 0 /t/p world:anyone:cdrwa", "Insufficient permission : /t/p"}, // ACL before version
	{"setAcl -v 5 /t/ttl world:anyone:cdrwa", "version No is not valid : /t/ttl"},
	{"addauth digest alice:secret", ""},
	{"whoami", "Auth scheme: User\ndigest: alice"},
	{"create /t/secret s auth:alice:cdrwa", "Created /t/secret"},
	{"getAcl /t/secret", "'digest,'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=\n: cdrwa"},
	{"create /t/bobs b digest:bob:ikIaKsbtGweaHnb/jKn7OHqbunM=:cdrwa", "Created /t/bobs"},
	{"get /t/bobs", "Insufficient permission : /t/bobs"},
	{"setAcl /t/secret world:anyone:r", ""},
	{"get /t/secret", "s"},
	// Watches: one-shot data, child and exists watches, persistent and
	// persistent-recursive watches, and removing them.
	{"stat -w /t/later", "Node does not exist: /t/later"},
	{"ls -w /t", "[bobs, c, e, p, se-0000000006, secret, sttl-0000000007, ttl]"},
	{"create /t/later l", "Created /t/later"},
	{"addWatch /t/p", ""},
	{"addWatch -m PERSISTENT_RECURSIVE /t/c", ""},
	{"create /t/c/x y", "Created /t/c/x"},
	{"create /t/c/x/y z", "Created /t/c/x/y"},
	{"removewatches /t/p", ""},
	{"removewatches /t/p", "KeeperErrorCode = No such watcher for /t/p"},
	{"get -w /t/later", "l"},
	{"set /t/later l2", ""},
	{"set /t/later l3", ""}, // the one-shot watch fired already
	{"get -w /t/later", "l3"},
	{"removewatches /t/later -d", ""},
	{"ls -w /t/c", "[x]"},
	{"removewatches /t/c -c", ""},
	{"removewatches /t/c -a", ""},
	{"removewatches /missing", "KeeperErrorCode = No such watcher for /missing"},
	// deleteall and the final state.
	{"stat -w /t/c/x/y", "dataLength = 1"},
	{"ls -w /t/c/x", "[y]"},
	{"deleteall /t/c", ""},
	{"ls /t", "[bobs, e, later, p, se-0000000006, secret, sttl-0000000007, ttl]"},
	{"sync /", "Sync is OK"},
	{"ls /", "[t, zookeeper]"},
}

// session2 runs after session1 has quit: its ephemerals are gone, auth does
// not carry over, and a wrong password does not authenticate.
//
// It starts with a sync: against an ensemble it may talk to another server
// than session1 did, and only a sync makes session1's close (and the
// removal of its ephemerals) visible there for certain.
var session2 = []step{
	{"sync /", "Sync is OK"},
	{"ls /t", "[bobs, later, p, secret, sttl-0000000007, ttl]"},
	{"getEphemerals /", "[]"},
	{"whoami", "Auth scheme: User\nip: 127.0.0.1"},
	{"get /t/secret", "s"},
	{"set /t/secret v", "Insufficient permission : /t/secret"},
	{"addauth digest alice:wrong", ""},
	{"set /t/secret v", "Insufficient permission : /t/secret"},
	{"addauth digest bob:pw", ""},
	{"get /t/bobs", "b"},
	{"deleteall /t", ""},
	{"ls /t", "Node does not exist: /t"},
	{"ls /", "[zookeeper]"},
}

func commands(steps []step) []string {
	var cmds []string
	for _, s := range steps {
		cmds = append(cmds, s.cmd)
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
		harness.MissingTool(t, "zkCli.sh not found at %s (set ZKCLI): apt-get install zookeeper", p)
	}
	if _, err := exec.LookPath("java"); err != nil {
		harness.MissingTool(t, "java not found: apt-get install default-jre-headless")
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
			if st.want == "" {
				if len(got) != 0 {
					t.Errorf("session %d, %q: got output %q, want none", i+1, st.cmd, got)
				}
				continue
			}
			if !containsInOrder(got, strings.Split(st.want, "\n")) {
				t.Errorf("session %d, %q: got output %q, want lines %q in order", i+1, st.cmd, got, st.want)
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
		trs := zookeeperTranscripts(t)
		checkZkCliEvents(t, trs)
		t.Logf("reference transcript, session 1:\n%s", trs[0])
	})
	t.Run(harness.KindZkd, func(t *testing.T) {
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

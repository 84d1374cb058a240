package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zkd-io/zkd/internal/servertest"
	"github.com/zkd-io/zkd/test/harness"
	"github.com/zkd-io/zkd/test/interop"
)

// step is one command and the lines Apache ZooKeeper's zkCli.sh prints for
// it (after interop.Normalize), in order; "" means no output. The script is
// test/interop's zkCli.sh transcript, so that zkcli is held to the same
// reference as zkd.
type step struct {
	cmd  string
	want string
}

// session1 and session2 are test/interop's zkCli.sh transcript, so that
// zkcli is held to the same reference as zkd.
var (
	session1 = stepsOf(interop.ZkCliSession1)
	session2 = stepsOf(interop.ZkCliSession2)
)

func stepsOf(script []interop.ZkCliStep) []step {
	out := make([]step, len(script))
	for i, s := range script {
		out[i] = step{s.Cmd, s.Want}
	}
	return out
}

// session3 covers the rest of the command set: local commands, usage and
// parse errors, deprecated forms, config and reconfig, close and connect.
var session3 = []step{
	{"create /u", "Created /u"},
	{"create /u/n", "Created /u/n"},
	{"get /u/n", "null"},
	{"create /u/q \"quoted data\"", "Created /u/q"},
	{"get /u/q", "quoted data"},
	{"create /u/e ''", "Created /u/e"},
	{"get /u/e", ""},
	{"ls", "ls [-s] [-w] [-R] path"},
	{"create", "create [-s] [-e] [-c] [-t ttl] path [data] [acl]"},
	{"set /u", "set [-s] [-v version] path data"},
	{"ls -x /", "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x"},
	{"create -t abc /u/t", "-t argument must be a long value"},
	{"create -t 0 /u/t", "ttl must be positive and cannot be larger than: 1099511627775"},
	{"create -c -e /u/ce", "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential."},
	{"create -s -t 1000 -e /u/te", "TTLs cannot be used with Ephemeral znodes"},
	{"create /u/a x bad", "bad does not have the form scheme:id:perm\nKeeperErrorCode = InvalidACL\nAcl is not valid : null"},
	{"setAcl /u/n world:anyone:xyza", "Unknown perm type: x\nUnknown perm type: y\nUnknown perm type: z"},
	{"setAcl -s /u/n world:anyone:cdrwa", "aclVersion = 2"},
	{"ls / extra", "'ls path [watch]' has been deprecated. Please use 'ls [-w] path' instead.\n[u, zookeeper]"},
	{"stat /u extra", "'stat path [watch]' has been deprecated. Please use 'stat [-w] path' instead.\nnumChildren = 3"},
	{"get /u/q extra", "'get path [watch]' has been deprecated. Please use 'get [-s] [-w] path' instead.\nquoted data"},
	{"delete /u/e 0", "'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead."},
	{"getAllChildrenNumber nope", "Path must start with / character"},
	{"sync nope", "Path must start with / character"},
	{"deleteall", "deleteall path [-b batch size]"},
	{"deleteall /nope", "Node does not exist: /nope"},
	{"addWatch -m FOO /u", "addWatch [-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE"},
	{"removewatches /u/n -l", "KeeperErrorCode = No such watcher for /u/n"},
	{"version extra", "version"},
	{"config", ""},
	{"config -s", "aclVersion = -1"},
	{"reconfig", "reconfig [-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]"},
	{"reconfig -add server.5=localhost:1234:1235;1236", "KeeperErrorCode = Reconfig is disabled"},
	{"reconfig -members a -add b", "Can't use -file or -members together with -add or -remove (mixing incremental and non-incremental modes is not allowed)"},
	{"redo 99", "Command index out of range"},
	{"redo 1", "Node already exists: /u"},
	{"bogus", "Command not found: Command not found bogus"},
	{"listquota /u", "absolute path is /zookeeper/quota/u/zookeeper_limits\nquota for /u does not exist."},
	{"setquota /u", "org.apache.commons.cli.MissingOptionException: Missing required option: [-n num soft quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]"},
	{"setquota -n 0 /u", "the num quota must be greater than zero"},
	{"setquota -n 5 /nope", "/nope does not exist."},
	{"setquota -n 5 /u", ""},
	{"setquota -B 100 /u", ""},
	{"listquota /u", "absolute path is /zookeeper/quota/u/zookeeper_limits\nOutput quota for /u count=5,bytes=-1=;byteHardLimit=100;countHardLimit=-1"},
	{"setquota -n 5 /u/q", "/u/q has a parent /u which has a quota"},
	{"delquota -B /u", ""},
	{"delquota /u", ""},
	{"delquota /u", "Quota does not exist for /u"},
	{"ls /zookeeper/quota", "[]"},
	{"deleteall /u -b 2", ""},
	{"close", ""},
	{"ls /", "Not connected"},
	// The marker after a command on a closed session prints "Not
	// connected" too, into the next command's block.
	{"connect", "Not connected"},
	{"ls /", "[zookeeper]"},
}

// startZkd runs an in-process zkd (see servertest) on a free port.
func startZkd(t *testing.T) string {
	t.Helper()
	return servertest.Start(t).Addr().String()
}

func commandsOf(steps []step) []string {
	var cmds []string
	for _, s := range steps {
		cmds = append(cmds, s.cmd)
	}
	return cmds
}

// safeBuffer is a buffer written by the shell and its event printer.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runZkcli runs zkcli in-process on a script and returns its combined
// output.
func runZkcli(t *testing.T, addr string, cmds []string) string {
	t.Helper()
	var out safeBuffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"-server", addr, "-timeout", "10000"}, strings.NewReader(interop.Script(cmds)), &out, &out)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("zkcli did not finish within 1m; output so far:\n%s", out.String())
	}
	return out.String()
}

// runZkCliSh runs Debian's zkCli.sh on the same script, or skips.
func runZkCliSh(t *testing.T, addr string, cmds []string) string {
	t.Helper()
	const zkcli = "/usr/share/zookeeper/bin/zkCli.sh"
	if _, err := os.Stat(zkcli); err != nil {
		harness.MissingTool(t, "zkCli.sh not found at %s: apt-get install zookeeper", zkcli)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, zkcli, "-server", addr, "-timeout", "10000")
	cmd.Stdin = strings.NewReader(interop.Script(cmds))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), "CLIENT_JVMFLAGS=-Xmx128m -XX:TieredStopAtLevel=1 -XX:-UsePerfData")
	cmd.Run() // quit's exit status is the last command's; the transcript decides
	if ctx.Err() != nil {
		t.Fatalf("zkCli.sh did not finish within 1m:\n%s", out.String())
	}
	return out.String()
}

func transcript(t *testing.T, raw string, steps []step, addr string) interop.Transcript {
	t.Helper()
	tr, err := interop.Normalize(raw, commandsOf(steps), addr)
	if err != nil {
		t.Fatalf("%v\nraw output:\n%s", err, raw)
	}
	return tr
}

// checkSteps requires each step's lines, in order, in its output.
func checkSteps(t *testing.T, tr interop.Transcript, steps []step) {
	t.Helper()
	for i, st := range steps {
		got := tr.Steps[i].Output
		if st.want == "" {
			if len(got) != 0 {
				t.Errorf("%q: got output %q, want none", st.cmd, got)
			}
			continue
		}
		want := strings.Split(st.want, "\n")
		j := 0
		for _, g := range got {
			if j < len(want) && (g == want[j] || strings.HasSuffix(want[j], " = Z") && strings.HasPrefix(g, want[j])) {
				j++
			}
		}
		if j != len(want) {
			t.Errorf("%q: got output %q, want lines %q in order", st.cmd, got, want)
		}
	}
}

var sessions = [][]step{session1, session2, session3}

// TestTranscriptZkd runs the scripts through zkcli against zkd and checks
// the output zkCli.sh gives against Apache ZooKeeper.
func TestTranscriptZkd(t *testing.T) {
	addr := startZkd(t)
	for i, steps := range sessions {
		tr := transcript(t, runZkcli(t, addr, commandsOf(steps)), steps, addr)
		t.Run(string(rune('1'+i)), func(t *testing.T) { checkSteps(t, tr, steps) })
	}
}

// TestTranscriptMatchesZkCliSh runs the scripts through Debian's zkCli.sh
// and through zkcli against the same Apache ZooKeeper: the normalised
// transcripts, watch events included, must be identical.
func TestTranscriptMatchesZkCliSh(t *testing.T) {
	zk := harness.ZooKeeper(t, harness.WithTickTime(200*time.Millisecond))
	// Each run leaves the tree as it found it, so zkCli.sh's runs and then
	// zkcli's see the same server state.
	var want []interop.Transcript
	for _, steps := range sessions {
		tr := transcript(t, runZkCliSh(t, zk.Addr, commandsOf(steps)), steps, zk.Addr)
		checkSteps(t, tr, steps) // the script tests what it claims to
		want = append(want, tr)
	}
	if t.Failed() {
		t.FailNow()
	}
	for i, steps := range sessions {
		got := transcript(t, runZkcli(t, zk.Addr, commandsOf(steps)), steps, zk.Addr)
		if d := interop.Diff(want[i].Lines(), got.Lines()); d != "" {
			t.Errorf("session %d: zkcli's transcript differs from zkCli.sh's (- zkCli.sh, + zkcli):\n%s", i+1, d)
		}
	}
}

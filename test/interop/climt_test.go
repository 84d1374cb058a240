//go:build interop

package interop

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkd-io/zkd/test/harness"
)

// cli_mt is the C client's example shell (cli.c built against the
// multi-threaded library), shipped by Debian's zookeeper-bin outside PATH.
const cliMtInstall = "apt-get install zookeeper-bin"

var cliMtPaths = []string{"/usr/lib/zookeeper/bin/cli_mt", "cli_mt"}

// cliMtSteps is one cli_mt session. cli_mt answers most commands
// asynchronously on its completion thread, so the driver sends one command
// at a time and then "sync /" as a marker: the marker's completion comes
// after everything the command printed, including watch events it caused.
// want holds lines that must appear, in order, in Apache ZooKeeper's
// normalised output ("" = no output at all); zkd must match the whole
// output.
var cliMtSteps = []step{
	{"create /climt", "Creating [/climt] node (mode: 0)\n[/climt]: rc = 0\n\tname = /climt"},
	{"create /climt", "[/climt]: rc = -110"},
	{"create /climt/missing/x", "[/climt/missing/x]: rc = -101"},
	{"create2 /climt/a", "[/climt/a]: rc = 0\n\tname = /climt/a\n\tversion=0\taversion=0\n\tephemeralOwner = 0"},
	{"create +s /climt/s-", "Creating [/climt/s-] node (mode: 2)\n\tname = /climt/s-0000000001"},
	{"create +e /climt/e", "Creating [/climt/e] node (mode: 1)\n[/climt/e]: rc = 0"},
	{"create +es /climt/es-", "Creating [/climt/es-] node (mode: 3)\n\tname = /climt/es-0000000003"},
	{"create +c /climt/c", "Creating [/climt/c] node (mode: 4)\n[/climt/c]: rc = 0"},
	{"create +t=3600000 /climt/ttl", "Creating [/climt/ttl] node (mode: 5)\n[/climt/ttl]: rc = 0"},
	{"create /climt/e/child", "[/climt/e/child]: rc = -108"},
	{"ls /climt", "/climt: rc = 0\n\ta\n\tc\n\te\n\tes-0000000003\n\ts-0000000001\n\tttl"},
	{"ls2 /climt", "/climt: rc = 0\n\ta\n\tc\n\te\n\tes-0000000003\n\ts-0000000001\n\tttl\n\tversion=0\taversion=0"},
	{"get /climt/a", "/climt/a: rc = 0\n value_len = 3\nnew\nStat:\n\tversion=0\taversion=0\n\tephemeralOwner = 0"},
	{"get /climt/e", "/climt/e: rc = 0\n\tephemeralOwner = S1"},
	{"get /climt/missing", "/climt/missing: rc = -101\nStat:\nnull"},
	// get set a watch (watch=1, the default watcher): set fires it first.
	{"set /climt/a hello", "Watcher CHANGED_EVENT state = CONNECTED_STATE for path /climt/a\n/climt/a: rc = 0 Stat:\n\tversion=1\taversion=0"},
	{"get /climt/a", " value_len = 5\nhello"},
	{"set /climt/a again", "/climt/a: rc = 0 Stat:\n\tversion=2\taversion=0"},
	{"set /climt/missing x", "/climt/missing: rc = -101 Stat:\nnull"},
	{"exists /climt/later", "Error -101 for /climt/later"},
	{"create /climt/later", "Watcher CREATED_EVENT state = CONNECTED_STATE for path /climt/later\n[/climt/later]: rc = 0"},
	{"wexists /climt/e", ""},
	{"delete /climt/e", "Watcher DELETED_EVENT state = CONNECTED_STATE for path /climt/e\n/climt/e: rc = 0"},
	{"ls /climt/later", "/climt/later: rc = 0"},
	{"create /climt/later/x", "Watcher CHILD_EVENT state = CONNECTED_STATE for path /climt/later\n[/climt/later/x]: rc = 0"},
	{"delete /climt", "/climt: rc = -111"},
	{"delete /climt/missing", "/climt/missing: rc = -101"},
	{"sync /climt", "[/climt]: rc = 0\n\tname = /climt"},
	{"addauth digest alice:secret", ""},
	{"get /climt/later/x", "/climt/later/x: rc = 0"},
	{"delete /climt/later/x", "/climt/later/x: rc = 0"},
	{"delete /climt/later", "/climt/later: rc = 0"},
	{"delete /climt/a", "/climt/a: rc = 0"},
	{"delete /climt/s-0000000001", "/climt/s-0000000001: rc = 0"},
	{"delete /climt/es-0000000003", "/climt/es-0000000003: rc = 0"},
	{"delete /climt/c", "/climt/c: rc = 0"},
	{"delete /climt/ttl", "/climt/ttl: rc = 0"},
	{"delete /climt", "/climt: rc = 0"},
	{"ls /climt", "/climt: rc = -101"},
}

// The marker command and the two lines its completion prints.
const (
	cliMtMarker      = "sync /"
	cliMtMarkerLine1 = "[/]: rc = 0"
	cliMtMarkerLine2 = "\tname = /"
)

// cliMtLog matches the C library's own log lines (ZOO_WARN@... and the
// like): connection timing, not server behaviour.
var cliMtLog = regexp.MustCompile(`ZOO_(ERROR|WARN|INFO|DEBUG)@`)

// runCliMt drives one cli_mt session through steps against connect and
// returns the normalised transcript ("> command" then its output, per
// step). It fails the test if cli_mt hangs or dies.
func runCliMt(t *testing.T, bin, connect string, steps []step) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-h", connect)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard // only myid prints there, and it is not used
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start cli_mt: %v", err)
	}
	out := make(chan string, 64)
	quit := make(chan struct{}) // closed when nobody reads out any more
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(out)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case out <- sc.Text():
			case <-quit:
				return
			}
		}
	}()
	var raw []string // everything, for failure messages
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		close(quit)
		stdin.Close()
		cancel()
		_ = cmd.Wait() // closes stderr, so the reader ends
		<-readerDone
	}
	defer stop()
	// next returns the next line, or fails the test after d.
	next := func(what string, d time.Duration) string {
		t.Helper()
		select {
		case l, ok := <-out:
			if !ok {
				stop()
				t.Fatalf("cli_mt exited while %s; output:\n%s", what, strings.Join(raw, "\n"))
			}
			raw = append(raw, l)
			return l
		case <-time.After(d):
			stop()
			t.Fatalf("cli_mt printed nothing for %v while %s; output:\n%s", d, what, strings.Join(raw, "\n"))
		}
		return ""
	}
	for !strings.HasPrefix(next("connecting", 20*time.Second), "Got a new session id") {
	}

	var transcript []string
	for _, st := range steps {
		if _, err := fmt.Fprintf(stdin, "%s\n%s\n", st.Cmd, cliMtMarker); err != nil {
			stop()
			t.Fatalf("write %q to cli_mt: %v", st.Cmd, err)
		}
		var block []string
		for {
			l := next(fmt.Sprintf("running %q", st.Cmd), 15*time.Second)
			if l == cliMtMarkerLine1 {
				if l2 := next("reading the marker", 15*time.Second); l2 != cliMtMarkerLine2 {
					block = append(block, l, l2)
					continue
				}
				break
			}
			block = append(block, l)
		}
		transcript = append(transcript, "> "+st.Cmd)
		transcript = append(transcript, cliMtBlock(st.Cmd, block)...)
	}
	fmt.Fprintf(stdin, "quit\n")
	stdin.Close()
	exited := make(chan struct{})
	go func() {
		for range out { // drain whatever quit prints
		}
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		t.Errorf("cli_mt did not exit within 15s of quit")
	}
	stop()
	if t.Failed() {
		t.Logf("cli_mt raw output:\n%s", strings.Join(raw, "\n"))
	}
	return NormalizeCliMt(transcript)
}

// cliMtBlock drops blank lines and the client library's log lines, and
// sorts the children an ls prints (servers list them in no set order).
func cliMtBlock(cmd string, block []string) []string {
	var out []string
	var children []int
	for _, l := range block {
		if strings.TrimSpace(l) == "" || cliMtLog.MatchString(l) {
			continue
		}
		if strings.HasPrefix(cmd, "ls") && strings.HasPrefix(l, "\t") && !strings.Contains(l, "=") {
			children = append(children, len(out))
		}
		out = append(out, l)
	}
	names := make([]string, len(children))
	for i, k := range children {
		names[i] = out[k]
	}
	slices.Sort(names)
	for i, k := range children {
		out[k] = names[i]
	}
	return out
}

// checkCliMt requires each step's want lines, in order, in its output.
func checkCliMt(t *testing.T, transcript []string, steps []step) {
	t.Helper()
	blocks := map[int][]string{}
	i := -1
	for _, l := range transcript {
		if strings.HasPrefix(l, "> ") {
			i++
			continue
		}
		blocks[i] = append(blocks[i], l)
	}
	for k, st := range steps {
		got := blocks[k]
		if st.Want == "" {
			if len(got) != 0 {
				t.Errorf("cli_mt %q: got output %q, want none", st.Cmd, got)
			}
			continue
		}
		if !containsInOrder(got, strings.Split(st.Want, "\n")) {
			t.Errorf("cli_mt %q: got output %q, want lines %q in order", st.Cmd, got, st.Want)
		}
	}
}

// ensembleCliMt scripts cli_mt against the ensemble.
func ensembleCliMt(t *testing.T, env *ensembleEnv) {
	bin := lookTool(t, cliMtInstall, cliMtPaths...)
	got := runCliMt(t, bin, env.e.ConnectString(), cliMtSteps)
	if env.e.Kind == harness.KindZooKeeper {
		checkCliMt(t, got, cliMtSteps)
		if !t.Failed() {
			setReference("cli_mt", got)
		}
		return
	}
	want := ensembleReference(t, "cli_mt", func(t *testing.T, addr string) []string {
		ref := runCliMt(t, bin, addr, cliMtSteps)
		checkCliMt(t, ref, cliMtSteps)
		return ref
	})
	compareTranscripts(t, "cli_mt", want, got)
}

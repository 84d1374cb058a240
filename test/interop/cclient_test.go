//go:build interop

package interop

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zkd-io/zkd/test/harness"
)

const cClientInstall = "apt-get install libzookeeper-mt-dev gcc"

// cProgram compiles cclient/zkc.c against Debian's libzookeeper_mt once per
// test run.
func (b *buildCache) cProgram(t *testing.T) string {
	t.Helper()
	gcc := lookTool(t, cClientInstall, "gcc", "cc")
	b.cOnce.Do(func() {
		out := filepath.Join(b.dir, "zkc")
		cmd := exec.Command(gcc, "-Wall", "-O1", "-o", out, filepath.Join("cclient", "zkc.c"), "-lzookeeper_mt", "-lpthread")
		msg, err := cmd.CombinedOutput()
		if err != nil {
			b.cErr = &buildError{what: "gcc cclient/zkc.c", err: err, output: string(msg)}
			return
		}
		b.cBin = out
	})
	if b.cErr != nil {
		if be, ok := b.cErr.(*buildError); ok && (strings.Contains(be.output, "zookeeper.h") || strings.Contains(be.output, "lzookeeper_mt")) {
			missingTool(t, "the ZooKeeper C client library is missing (%v): %s", b.cErr, cClientInstall)
		}
		t.Fatalf("%v", b.cErr)
	}
	return b.cBin
}

type buildError struct {
	what   string
	err    error
	output string
}

func (e *buildError) Error() string { return e.what + ": " + e.err.Error() + "\n" + e.output }

// cRoot is the znode the C program works under; it removes it at the end.
const cRoot = "/zkc"

// runC runs the C program against connect and returns its normalised
// transcript; it reports every line the program marked UNEXPECTED (a result
// other than Apache ZooKeeper's) as an error.
func runC(t *testing.T, bin, connect string) []string {
	t.Helper()
	res := runProcess(t, 2*time.Minute, nil, bin, connect, cRoot)
	t.Logf("zkc against %s: exit %d in %v", connect, res.exit, res.took.Round(time.Millisecond))
	out := lines(res.stdout)
	if res.exit == 2 || len(out) == 0 {
		t.Fatalf("zkc could not run against %s (exit %d):\nstdout:\n%s\nstderr:\n%s", connect, res.exit, res.stdout, res.stderr)
	}
	var bad []string
	for _, l := range out {
		if strings.HasPrefix(l, "UNEXPECTED ") {
			bad = append(bad, l)
		}
	}
	if len(bad) > 0 || res.exit != 0 {
		t.Errorf("zkc against %s: exit %d, %d results differ from what Apache ZooKeeper answers:\n%s\nfull output:\n%s\nstderr:\n%s",
			connect, res.exit, len(bad), strings.Join(bad, "\n"), res.stdout, res.stderr)
	}
	return NormalizeC(out)
}

// ensembleC runs the C client program: the ZooKeeper half must meet the
// program's own expectations, the zkd half must also print the same
// transcript.
func ensembleC(t *testing.T, env *ensembleEnv) {
	bin := env.build.cProgram(t)
	got := runC(t, bin, env.e.ConnectString())
	if env.e.Kind == harness.KindZooKeeper {
		if !t.Failed() {
			setReference("c", got)
		}
		return
	}
	want := ensembleReference(t, "c", func(t *testing.T, addr string) []string { return runC(t, bin, addr) })
	compareTranscripts(t, "C client (cclient/zkc.c)", want, got)
}

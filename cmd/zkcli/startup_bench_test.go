package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/internal/servertest"
	"github.com/zkd-io/zkd/proto"
	"github.com/zkd-io/zkd/test/harness"
)

// zkCliSh is where Debian's zookeeper package installs zkCli.sh.
const zkCliSh = "/usr/share/zookeeper/bin/zkCli.sh"

// BenchmarkStartup times a one-shot command from process start to exit,
// for a built zkcli and for zkCli.sh, against the same in-process zkd:
//
//	go test -run '^$' -bench Startup -benchtime 10x ./cmd/zkcli/
//
// One iteration runs each once; it reports each one's median and p90 in ms
// and zkCli.sh's median over zkcli's (median-ratio); ns/op is the pair's.
// zkCli.sh runs with its default JVM settings, as users start it. Without
// zkCli.sh the benchmark skips (fails with CI=true), saying what to
// install.
func BenchmarkStartup(b *testing.B) {
	if _, err := os.Stat(zkCliSh); err != nil {
		harness.MissingTool(b, "zkCli.sh not found at %s: apt-get install zookeeper", zkCliSh)
	}
	addr := servertest.Start(b).Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, addr)
	if err != nil {
		b.Fatal(err)
	}
	_, err = c.Create(ctx, "/x", []byte("startup-bench"), proto.OpenACLUnsafe, client.ModePersistent)
	c.Close()
	if err != nil {
		b.Fatal(err)
	}
	zkcli := buildZkcli(b)

	// The two alternate, run by run, so that load from elsewhere on the
	// machine falls on both alike.
	tools := []struct {
		name string
		argv []string
	}{
		{"zkcli", []string{zkcli, "-server", addr, "get", "/x"}},
		{"zkCli.sh", []string{zkCliSh, "-server", addr, "get", "/x"}},
	}
	times := make([][]time.Duration, len(tools))
	for b.Loop() {
		for i, tool := range tools {
			times[i] = append(times[i], timeRun(b, tool.argv, "startup-bench"))
		}
	}
	for i, tool := range tools {
		slices.Sort(times[i])
		b.ReportMetric(ms(percentile(times[i], 50)), tool.name+"-median-ms")
		b.ReportMetric(ms(percentile(times[i], 90)), tool.name+"-p90-ms")
	}
	if z := percentile(times[0], 50); z > 0 {
		b.ReportMetric(float64(percentile(times[1], 50))/float64(z), "median-ratio")
	}
}

// buildZkcli builds this command into a temporary directory.
func buildZkcli(b *testing.B) string {
	b.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		b.Skipf("the go command is not on PATH: %v", err)
	}
	bin := filepath.Join(b.TempDir(), "zkcli")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// timeRun runs argv once and returns its wall time from start to exit; it
// fails unless the command exits 0 with want in its output.
func timeRun(b *testing.B, argv []string, want string) time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil || !strings.Contains(out.String(), want) {
		b.Fatalf("%s: got %v and output:\n%s\nwant exit 0 and %q", strings.Join(argv, " "), err, out.String(), want)
	}
	return d
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func TestPercentile(t *testing.T) {
	d := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n)
		}
		return out
	}
	tests := []struct {
		sorted []time.Duration
		p      int
		want   time.Duration
	}{
		{nil, 50, 0},
		{d(7), 90, 7},
		{d(1, 2, 3, 4), 50, 2},
		{d(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9},
		{d(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 90, 10},
		{d(1, 2, 3), 100, 3},
	}
	for _, tc := range tests {
		if got := percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("percentile(%v, %d): got %v, want %v", tc.sorted, tc.p, got, tc.want)
		}
	}
}

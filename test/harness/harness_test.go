package harness

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

func TestMain(m *testing.M) { Main(m) }

// fakeTB records Fatalf/Skipf instead of ending the real test, so the
// harness's skip-or-fail decisions and start failures can be checked. Methods
// it does not override panic (nil embedded TB), which flags unexpected use.
type fakeTB struct {
	testing.TB
	real *testing.T

	mu       sync.Mutex
	fatal    bool
	skipped  bool
	errored  bool
	msg      string
	logs     []string
	cleanups []func()
}

func (f *fakeTB) Helper()         {}
func (f *fakeTB) TempDir() string { return f.real.TempDir() }
func (f *fakeTB) Logf(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(format, a...))
	f.real.Logf("fakeTB: "+format, a...)
}
func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}
func (f *fakeTB) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fatal || f.errored
}
func (f *fakeTB) Errorf(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errored = true
	f.msg = fmt.Sprintf(format, a...)
}
func (f *fakeTB) Fatalf(format string, a ...any) {
	f.mu.Lock()
	f.fatal = true
	f.msg = fmt.Sprintf(format, a...)
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fakeTB) Skipf(format string, a ...any) {
	f.mu.Lock()
	f.skipped = true
	f.msg = fmt.Sprintf(format, a...)
	f.mu.Unlock()
	runtime.Goexit()
}

// run calls fn on its own goroutine, as the testing package does, so Fatalf
// and Skipf can end it with Goexit; then it runs the cleanups, last first.
func (f *fakeTB) run(fn func(tb testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// requireZooKeeper skips (or fails in CI) when Debian's ZooKeeper is missing.
func requireZooKeeper(t *testing.T) {
	t.Helper()
	if _, _, err := zooKeeperCommand(); err != nil {
		MissingTool(t, "%v; %s", err, zooKeeperInstall)
	}
}

// portFree reports whether addr can be bound again, i.e. nothing listens.
func portFree(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func TestZooKeeperStartStop(t *testing.T) {
	requireZooKeeper(t)
	s := ZooKeeper(t,
		WithTickTime(500*time.Millisecond),
		WithSessionTimeouts(time.Second, 9*time.Second),
		WithConfig("maxClientCnxns", "7"))

	if s.Kind != KindZooKeeper {
		t.Errorf("Kind: got %q, want %q", s.Kind, KindZooKeeper)
	}
	if host, _, err := net.SplitHostPort(s.Addr); err != nil || host != "127.0.0.1" {
		t.Errorf("Addr: got %q (err %v), want 127.0.0.1:port", s.Addr, err)
	}
	if got, err := s.FourLetterWord("ruok"); err != nil || got != "imok" {
		t.Fatalf("ruok: got %q, %v; want \"imok\"", got, err)
	}
	srvr, err := s.FourLetterWord("srvr")
	if err != nil {
		t.Fatalf("srvr: %v", err)
	}
	for _, want := range []string{"Zookeeper version: 3.", "Mode: standalone"} {
		if !strings.Contains(srvr, want) {
			t.Errorf("srvr: got %q, want it to contain %q", srvr, want)
		}
	}
	// conf shows the options reached the server (the admin server being off
	// is not visible in conf; the port test below covers the client port).
	conf, err := s.FourLetterWord("conf")
	if err != nil {
		t.Fatalf("conf: %v", err)
	}
	_, port, _ := net.SplitHostPort(s.Addr)
	for _, want := range []string{
		"clientPort=" + port, "tickTime=500", "minSessionTimeout=1000",
		"maxSessionTimeout=9000", "maxClientCnxns=7", "dataDir=" + s.DataDir,
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("conf: got %q, want it to contain %q", conf, want)
		}
	}

	pid := s.Pid()
	if pid == 0 || !s.Running() {
		t.Fatalf("Pid, Running: got %d, %v; want a running process", pid, s.Running())
	}
	s.Stop()
	if s.Running() || s.Pid() != 0 {
		t.Errorf("after Stop: Running %v, Pid %d; want false, 0", s.Running(), s.Pid())
	}
	if !processGone(pid) {
		t.Errorf("after Stop: process %d still exists", pid)
	}
	if !portFree(s.Addr) {
		t.Errorf("after Stop: %s still in use", s.Addr)
	}
	if _, err := FourLetterWord(s.Addr, "ruok", time.Second); err == nil {
		t.Errorf("after Stop: ruok still answered")
	}
	s.Stop() // idempotent
	if b, err := os.ReadFile(s.LogPath); err != nil || !strings.Contains(string(b), "ZooKeeperServerMain") {
		t.Errorf("log %s: got err %v and %d bytes, want the server's log", s.LogPath, err, len(b))
	}
}

// TestZooKeeperKillRestart checks that a SIGKILLed ZooKeeper restarts on the
// same address with its data (forceSync=yes), which crash tests rely on.
func TestZooKeeperKillRestart(t *testing.T) {
	requireZooKeeper(t)
	s := ZooKeeper(t)

	write := func() {
		c := connect(t, s.Addr)
		defer c.Close()
		if _, err := c.Create("/harness", []byte("kept"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("create /harness: %v", err)
		}
	}
	write()

	pid := s.Pid()
	s.Kill()
	if !processGone(pid) {
		t.Fatalf("after Kill: process %d still exists", pid)
	}
	s.Restart(t)
	if s.Pid() == pid || s.Pid() == 0 {
		t.Errorf("after Restart: pid %d, want a new process (old %d)", s.Pid(), pid)
	}
	c := connect(t, s.Addr)
	defer c.Close()
	data, _, err := c.Get("/harness")
	if err != nil || string(data) != "kept" {
		t.Errorf("get /harness after kill+restart: got %q, %v; want \"kept\"", data, err)
	}
}

// connect opens a go-zookeeper session and waits until it is established.
func connect(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	c, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(tLogger{t}))
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return c
			}
		case <-deadline:
			c.Close()
			t.Fatalf("connect %s: no session within 10s", addr)
		}
	}
}

type tLogger struct{ t *testing.T }

func (l tLogger) Printf(format string, a ...any) { l.t.Logf("go-zookeeper: "+format, a...) }

func TestMissingZooKeeperSkipsOrFails(t *testing.T) {
	t.Setenv("ZOOKEEPER_CLASSPATH", filepath.Join(t.TempDir(), "missing", "zookeeper.jar"))
	for _, tc := range []struct {
		ci          string
		wantSkipped bool
		wantFatal   bool
	}{
		{ci: "", wantSkipped: true},
		{ci: "false", wantSkipped: true},
		{ci: "true", wantFatal: true},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			f := &fakeTB{real: t}
			var got *Server
			f.run(func(tb testing.TB) { got = ZooKeeper(tb) })
			if f.skipped != tc.wantSkipped || f.fatal != tc.wantFatal {
				t.Errorf("skipped, fatal: got %v, %v; want %v, %v (msg %q)", f.skipped, f.fatal, tc.wantSkipped, tc.wantFatal, f.msg)
			}
			if got != nil {
				t.Errorf("ZooKeeper returned a server without a classpath")
			}
			if !strings.Contains(f.msg, "apt-get install zookeeper") {
				t.Errorf("message: got %q, want it to say how to install zookeeper", f.msg)
			}
		})
	}
}

// buildFake compiles testdata/fakezkd and points ZKD_BINARY at it, so the
// zkd half of the harness is tested before (and independently of) cmd/zkd.
func buildFake(t *testing.T) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fakezkd")
	out, err := exec.Command("go", "build", "-o", bin, "./testdata/fakezkd").CombinedOutput()
	if err != nil {
		t.Fatalf("build fakezkd: %v\n%s", err, out)
	}
	t.Setenv("ZKD_BINARY", bin)
}

func TestZkdStartStopRestart(t *testing.T) {
	buildFake(t)
	s := Zkd(t, WithSessionTimeouts(3*time.Second, 0), WithConfig("maxClientCnxns", "9"))
	if s.Kind != KindZkd {
		t.Errorf("Kind: got %q, want %q", s.Kind, KindZkd)
	}
	conf, err := s.FourLetterWord("conf")
	if err != nil {
		t.Fatalf("conf: %v", err)
	}
	_, port, _ := net.SplitHostPort(s.Addr)
	for _, want := range []string{"clientPort=" + port, "dataDir=" + s.DataDir, "minSessionTimeout=3000", "maxClientCnxns=9"} {
		if !strings.Contains(conf, want) {
			t.Errorf("conf: got %q, want it to contain %q", conf, want)
		}
	}
	if strings.Contains(conf, "maxSessionTimeout") || strings.Contains(conf, "forceSync") {
		t.Errorf("conf: got %q, want no maxSessionTimeout (zero means default) and no forceSync (ZooKeeper only)", conf)
	}

	pid := s.Pid()
	s.Kill()
	if !processGone(pid) || !portFree(s.Addr) {
		t.Fatalf("after Kill: process %d gone %v, port %s free %v; want both", pid, processGone(pid), s.Addr, portFree(s.Addr))
	}
	s.Restart(t)
	if got, err := s.FourLetterWord("ruok"); err != nil || got != "imok" {
		t.Fatalf("ruok after Restart: got %q, %v; want \"imok\"", got, err)
	}
	pid = s.Pid()
	s.Stop()
	if !processGone(pid) || !portFree(s.Addr) {
		t.Errorf("after Stop: process %d gone %v, port %s free %v; want both", pid, processGone(pid), s.Addr, portFree(s.Addr))
	}
	if log := s.LogTail(5); !strings.Contains(log, "SIGTERM") {
		t.Errorf("log tail: got %q, want the fake's SIGTERM message (Stop must signal gracefully first)", log)
	}
}

func TestZkdStartFailures(t *testing.T) {
	buildFake(t)
	for _, tc := range []struct {
		name      string
		opts      []Option
		wantFatal bool
		wantMsg   string
		wantRuns  string // fake-runs counter content, "" = not used
	}{
		{name: "exits at once", opts: []Option{WithConfig("fake.exit", "3")}, wantFatal: true, wantMsg: "exited before it answered ruok"},
		{name: "port taken once then retried", opts: []Option{WithConfig("fake.portInUseRuns", "1")}, wantRuns: "2"},
		{name: "port taken every time", opts: []Option{WithConfig("fake.portInUseRuns", "99")}, wantFatal: true, wantMsg: "exited before it answered ruok", wantRuns: "3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeTB{real: t}
			var s *Server
			start := time.Now()
			f.run(func(tb testing.TB) { s = Zkd(tb, tc.opts...) })
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("start took %v, want a quick verdict (the process exit must end the wait)", took)
			}
			if f.fatal != tc.wantFatal || !strings.Contains(f.msg, tc.wantMsg) {
				t.Errorf("fatal, msg: got %v, %q; want %v, containing %q", f.fatal, f.msg, tc.wantFatal, tc.wantMsg)
			}
			if tc.wantRuns != "" {
				// s is nil after a fatal start; the counter is in the one temp dir used.
				dirs, _ := filepath.Glob(filepath.Join(filepath.Dir(f.TempDir()), "*", "fake-runs"))
				got := ""
				if len(dirs) == 1 {
					b, _ := os.ReadFile(dirs[0])
					got = string(b)
				}
				if got != tc.wantRuns {
					t.Errorf("runs: got %q (files %v), want %q", got, dirs, tc.wantRuns)
				}
			}
			if s != nil && s.Running() {
				t.Errorf("server still running after the fake test's cleanups")
			}
		})
	}
}

// TestStopFallsBackToKill checks SIGKILL after the grace period, and that the
// fallback is reported.
func TestStopFallsBackToKill(t *testing.T) {
	buildFake(t)
	old := stopGrace
	stopGrace = 300 * time.Millisecond
	defer func() { stopGrace = old }()

	f := &fakeTB{real: t}
	var pid int
	f.run(func(tb testing.TB) {
		s := Zkd(tb, WithConfig("fake.ignoreTERM", "true"))
		pid = s.Pid()
	})
	if f.fatal || f.errored {
		t.Fatalf("fake test failed: %q", f.msg)
	}
	if pid == 0 || !processGone(pid) {
		t.Errorf("process %d: want it killed by the cleanup after ignoring SIGTERM", pid)
	}
	if got := strings.Join(f.logs, "\n"); !strings.Contains(got, "sent SIGKILL") {
		t.Errorf("logs: got %q, want a note that SIGKILL was needed", got)
	}
}

// TestServerExitDuringTestIsAnError checks that a server dying on its own is
// reported even if the test's own checks pass.
func TestServerExitDuringTestIsAnError(t *testing.T) {
	buildFake(t)
	f := &fakeTB{real: t}
	f.run(func(tb testing.TB) {
		s := Zkd(tb)
		_ = syscall.Kill(s.Pid(), syscall.SIGKILL) // behind the harness's back
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if exited, _ := s.Exited(); exited {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	if !f.errored || !strings.Contains(f.msg, "exited before the test ended") {
		t.Errorf("errored, msg: got %v, %q; want an error saying the server exited", f.errored, f.msg)
	}
}

// TestZooKeeperFailsFastOnTakenPort checks that a JVM that cannot bind ends
// the wait at once with its log, instead of waiting out the start timeout.
func TestZooKeeperFailsFastOnTakenPort(t *testing.T) {
	requireZooKeeper(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	f := &fakeTB{real: t}
	start := time.Now()
	f.run(func(tb testing.TB) { ZooKeeper(tb, WithConfig("clientPort", fmt.Sprint(port))) })
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("start took %v, want the JVM's exit to end the wait", took)
	}
	if !f.fatal || !strings.Contains(f.msg, "exited before it answered ruok") {
		t.Errorf("fatal, msg: got %v, %q; want a fatal start error", f.fatal, f.msg)
	}
	if logs := strings.Join(f.logs, "\n"); !strings.Contains(logs, "Address already in use") {
		t.Errorf("logs: got %q, want the server log tail naming the bind error", logs)
	}
}

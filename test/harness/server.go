package harness

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server kinds.
const (
	KindZooKeeper = "zookeeper" // Debian's Apache ZooKeeper, the reference
	KindZkd       = "zkd"       // this module's cmd/zkd
)

// Kinds lists every server kind, reference first, for tests that run the same
// scenario against each.
var Kinds = []string{KindZooKeeper, KindZkd}

const (
	defaultStartTimeout = 30 * time.Second
	portAttempts        = 3 // retries when the picked port was taken
)

// stopGrace is how long Stop waits after SIGTERM before SIGKILL; a variable
// only so the harness's own tests can shorten it.
var stopGrace = 5 * time.Second

// Server is one server process started by ZooKeeper or Zkd. Its exported
// fields never change after start; Restart keeps the same port and data.
//
// When the test ends the server is stopped. If it had exited on its own
// before that, the test fails: call Stop or Kill first in a test where the
// server is meant to exit. The server's log is printed when the test failed.
type Server struct {
	Addr       string // client address, "127.0.0.1:port"
	Kind       string // KindZooKeeper or KindZkd
	Dir        string // per-server temp dir holding zoo.cfg, data/ and server.log
	ConfigPath string // the generated zoo.cfg
	DataDir    string // dataDir from zoo.cfg
	LogPath    string // stdout and stderr of every run, appended

	argv         []string // program and arguments; argv[0] is an absolute path
	env          []string // extra environment
	startTimeout time.Duration
	groups       []uint32 // extra supplementary groups of the process (ensemble partitions); nil = inherit

	mu   sync.Mutex
	proc *process // nil when no process is running
}

// process is one run of the server; done is closed when the process has been
// reaped, after which err holds the result of Wait.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start starts a server of the given kind (KindZooKeeper or KindZkd).
func Start(t testing.TB, kind string, opts ...Option) *Server {
	t.Helper()
	switch kind {
	case KindZooKeeper:
		return ZooKeeper(t, opts...)
	case KindZkd:
		return Zkd(t, opts...)
	}
	t.Fatalf("harness.Start: unknown server kind %q, want one of %v", kind, Kinds)
	return nil
}

// newServer lays out the temp dir and returns the zoo.cfg defaults shared by
// both kinds; the caller applies its kind's defaults and the options.
func newServer(t testing.TB, kind string) (*Server, *settings) {
	t.Helper()
	dir := t.TempDir() // before the stop cleanup, so it is removed after it
	s := &Server{
		Kind:       kind,
		Dir:        dir,
		ConfigPath: filepath.Join(dir, "zoo.cfg"),
		DataDir:    filepath.Join(dir, "data"),
		LogPath:    filepath.Join(dir, "server.log"),
	}
	st := &settings{startTimeout: defaultStartTimeout}
	st.set("tickTime", "2000")
	st.set("dataDir", s.DataDir)
	st.set("clientPort", "0") // replaced by a free port in launch
	st.set("clientPortAddress", "127.0.0.1")
	st.set("admin.enableServer", "false")
	// zkd serves metrics whatever admin.enableServer says: on a free
	// loopback port, so that servers started side by side never collide.
	// ZooKeeper reads neither key without a metrics provider class.
	st.set("admin.serverAddress", "127.0.0.1")
	st.set("metricsProvider.httpPort", "0")
	st.set("4lw.commands.whitelist", "*")
	st.set("extendedTypesEnabled", "true")
	return s, st
}

// launch picks a free port, writes zoo.cfg and starts the first run. A port
// can be taken between picking and binding, so a run that dies complaining
// about it is retried on a fresh port.
func (s *Server) launch(t testing.TB, st *settings) {
	t.Helper()
	if err := os.MkdirAll(s.DataDir, 0o755); err != nil {
		t.Fatalf("harness: %v", err)
	}
	s.env = st.env
	s.startTimeout = st.startTimeout
	s.stopAtEnd(t)
	fixedPort := mustGet(st, "clientPort") != "0"
	var lastErr error
	for attempt := 0; attempt < portAttempts; attempt++ {
		if !fixedPort {
			port, err := freePort()
			if err != nil {
				t.Fatalf("harness: pick a free port: %v", err)
			}
			st.set("clientPort", strconv.Itoa(port))
		}
		host, _ := st.get("clientPortAddress")
		s.Addr = net.JoinHostPort(host, mustGet(st, "clientPort"))
		text, err := st.render()
		if err != nil {
			t.Fatalf("harness: %v", err)
		}
		if err := os.WriteFile(s.ConfigPath, []byte(text), 0o644); err != nil {
			t.Fatalf("harness: %v", err)
		}
		lastErr = s.start()
		if lastErr == nil {
			return
		}
		if fixedPort || !s.logMentionsPortInUse() {
			break
		}
	}
	t.Fatalf("harness: start %s: %v", s.Kind, lastErr) // the cleanup prints the log
}

// stopAtEnd stops the server when the test ends, failing the test if it had
// exited on its own, and prints its log tail when the test failed.
func (s *Server) stopAtEnd(t testing.TB) {
	t.Cleanup(func() {
		// A server that died on its own during the test is a bug in it
		// (or in the test), even when the test's own checks passed.
		if exited, err := s.Exited(); exited {
			t.Errorf("harness: %s server exited before the test ended: %v", s.Kind, err)
		}
		s.mu.Lock()
		note := s.stopLocked(stopGrace)
		s.mu.Unlock()
		if note != "" {
			t.Logf("harness: %s server %s", s.Kind, note)
		}
		if t.Failed() {
			t.Logf("harness: last lines of %s server log %s:\n%s", s.Kind, s.LogPath, s.LogTail(40))
		}
	})
}

func mustGet(st *settings, key string) string {
	v, _ := st.get(key)
	return v
}

// start runs the process and waits until it answers ruok. On error the
// process has been stopped.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return errors.New("already running")
	}
	logf, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "=== harness: %s %s: %s\n", time.Now().Format(time.RFC3339Nano), s.Kind, strings.Join(s.argv, " "))
	cmd := exec.Command(s.argv[0], s.argv[1:]...)
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = withGroups(sysProcAttr(), s.groups)
	err = cmd.Start()
	logf.Close() // the child holds its own copy
	if err != nil {
		return err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	s.proc = p

	if err := waitReady(s.Addr, p.done, s.startTimeout); err != nil {
		_ = s.stopLocked(0)
		if p.err != nil {
			err = fmt.Errorf("%w (process: %v)", err, p.err)
		}
		return err
	}
	return nil
}

// notServing is ZooKeeper's reply to four-letter words while it starts.
const notServing = "not currently serving requests"

// waitReady polls ruok until imok, the process exits, or the timeout passes.
// It then also waits while srvr says the server is not serving yet; a server
// without srvr (an empty reply, an error) counts as ready.
func waitReady(addr string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		select {
		case <-exited:
			return errors.New("server exited before it answered ruok")
		default:
		}
		got, err := FourLetterWord(addr, "ruok", time.Second)
		if err == nil && got != "imok" {
			err = fmt.Errorf("ruok answered %q, want \"imok\"", got)
		}
		if err == nil {
			// ZooKeeper answers imok as soon as it listens, before it
			// has loaded its database; until then every other command
			// (and every session) is refused with this message.
			got, err = FourLetterWord(addr, "srvr", time.Second)
			if err != nil || !strings.Contains(got, notServing) {
				return nil
			}
			err = fmt.Errorf("srvr answered %q", got)
		}
		last = err
		if time.Now().After(deadline) {
			return fmt.Errorf("no imok from %s within %v: %v", addr, timeout, last)
		}
		select {
		case <-exited:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop stops the server gracefully: SIGTERM, then SIGKILL if it has not
// exited within 5s. It waits for the process and is a no-op when the server
// is not running.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.stopLocked(stopGrace)
}

// Kill stops the server with SIGKILL, as a crash would, and waits for it.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.stopLocked(0)
}

// stopLocked returns a note when a graceful stop had to fall back to SIGKILL,
// because a server that ignores SIGTERM is worth knowing about.
func (s *Server) stopLocked(grace time.Duration) string {
	p := s.proc
	if p == nil {
		return ""
	}
	s.proc = nil
	note := ""
	if grace > 0 {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			return ""
		case <-time.After(grace):
			note = fmt.Sprintf("did not exit within %v of SIGTERM; sent SIGKILL", grace)
		}
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return note
}

// Restart stops the server if it is running (gracefully; call Kill first for
// a crash) and starts it again with the same port, config and data, waiting
// until it is ready.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		t.Fatalf("harness: restart %s: %v", s.Kind, err) // the cleanup prints the log
	}
}

// Running reports whether the server process is running (it may be a process
// that has exited but has not been stopped yet: check Exited for that).
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil
}

// Exited reports whether the current process has exited on its own, and how.
func (s *Server) Exited() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return false, nil
	}
	select {
	case <-s.proc.done:
		return true, s.proc.err
	default:
		return false, nil
	}
}

// Pid is the process id of the current run, or 0 when not running.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// FourLetterWord sends a four-letter-word command (ruok, srvr, conf, mntr...)
// to the server and returns its reply.
func (s *Server) FourLetterWord(cmd string) (string, error) {
	return FourLetterWord(s.Addr, cmd, 5*time.Second)
}

// FourLetterWord sends cmd to addr and reads the reply until the server
// closes the connection or the timeout passes.
func FourLetterWord(addr, cmd string, timeout time.Duration) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(conn, cmd); err != nil {
		return "", err
	}
	b, err := io.ReadAll(io.LimitReader(conn, 1<<20))
	if err != nil {
		return string(b), err
	}
	return string(b), nil
}

// LogTail returns the last n lines of the server log.
func (s *Server) LogTail(n int) string {
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (s *Server) logMentionsPortInUse() bool {
	b, err := os.ReadFile(s.LogPath)
	return err == nil && strings.Contains(strings.ToLower(string(b)), "address already in use")
}

// freePort asks the kernel for a free loopback port. Another process can
// take it before the server binds; launch retries when that happens.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

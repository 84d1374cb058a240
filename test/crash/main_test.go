package crash

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd-io/zkd/internal/storage"
	"github.com/zkd-io/zkd/test/harness"
)

// zkdBin is the zkd binary every test runs, built once by TestMain (or
// ZKD_BINARY). The harness finds it through ZKD_BINARY as well.
var zkdBin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if p := os.Getenv("ZKD_BINARY"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ZKD_BINARY=%s: %v\n", p, err)
			return 1
		}
		zkdBin = abs
	} else {
		dir, err := os.MkdirTemp("", "zkd-crash-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		zkdBin = filepath.Join(dir, "zkd")
		cmd := exec.Command("go", "build", "-o", zkdBin, "github.com/zkd-io/zkd/cmd/zkd")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building zkd: %v\n%s", err, out)
			return 1
		}
		os.Setenv("ZKD_BINARY", zkdBin)
	}
	return m.Run()
}

// newRand returns a seeded generator and logs the seed so a failure can be
// replayed with ZKD_CRASH_SEED.
func newRand(t testing.TB) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("ZKD_CRASH_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("ZKD_CRASH_SEED=%q: %v", v, err)
		}
		seed = s
	}
	t.Logf("random seed %d (replay with ZKD_CRASH_SEED=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// needRoot ends a test that needs root (mount, permission bypass) when it
// is not root: a failure in CI, a skip elsewhere.
func needRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if harness.CI() {
		t.Fatalf("%s needs root (CI=true, so this is a failure)", what)
	}
	t.Skipf("%s needs root; run as root or set CI=true to make this a failure", what)
}

// fastReconnect is a go-zookeeper HostProvider for one server that retries
// every 20ms instead of go-zookeeper's 1s pause after a failed round, so
// clients return quickly after a restart. After quit it reports a finished
// round, which is the only place go-zookeeper's connect loop checks for Close.
type fastReconnect struct {
	server string
	tries  atomic.Int32
	quit   atomic.Bool
}

func (p *fastReconnect) Init(servers []string) error {
	if len(servers) != 1 {
		return fmt.Errorf("fastReconnect: want one server, got %v", servers)
	}
	p.server = servers[0]
	return nil
}

func (p *fastReconnect) Len() int { return 1 }

func (p *fastReconnect) Next() (string, bool) {
	if p.quit.Load() {
		return p.server, true
	}
	if p.tries.Add(1) > 1 {
		time.Sleep(20 * time.Millisecond)
	}
	return p.server, false
}

func (p *fastReconnect) Connected() { p.tries.Store(0) }

// client is a go-zookeeper connection that can be cut off from the server
// (blocked), as a client that never comes back.
type client struct {
	*zk.Conn
	hp      *fastReconnect
	blocked atomic.Bool
	expired atomic.Int32 // session expirations seen
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// dial connects to addr and waits (bounded) for a session. The client is
// closed when the test ends.
func dial(t testing.TB, addr string, timeout time.Duration) *client {
	t.Helper()
	c := &client{hp: &fastReconnect{}}
	dialer := func(network, address string, d time.Duration) (net.Conn, error) {
		if c.blocked.Load() {
			return nil, errors.New("blocked by the test")
		}
		return net.DialTimeout(network, address, d)
	}
	conn, _, err := zk.Connect([]string{addr}, timeout,
		zk.WithHostProvider(c.hp), zk.WithDialer(dialer),
		zk.WithLogInfo(false), zk.WithLogger(quietLogger{}),
		zk.WithEventCallback(func(ev zk.Event) {
			if ev.State == zk.StateExpired {
				c.expired.Add(1)
			}
		}))
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	c.Conn = conn
	t.Cleanup(c.Close)
	if err := c.waitSession(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *client) waitSession(d time.Duration) error {
	deadline := time.Now().Add(d)
	for c.State() != zk.StateHasSession {
		if time.Now().After(deadline) {
			return fmt.Errorf("no session within %v; state %v", d, c.State())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// Close ends the session (if the server can be reached) and stops the
// client's goroutines.
func (c *client) Close() {
	c.hp.quit.Store(true)
	c.Conn.Close()
}

// znode is one node as a client sees it.
type znode struct {
	data      []byte
	stat      *zk.Stat
	children  []string
	childStat *zk.Stat // the Stat that came with the children list
}

// readTree reads every znode (harness.WalkTree). The tree must not change
// meanwhile.
func readTree(c *zk.Conn) (map[string]*znode, error) {
	nodes := map[string]*znode{}
	err := harness.WalkTree(c, func(n harness.Znode) {
		nodes[n.Path] = &znode{data: n.Data, stat: n.Stat, children: n.Children, childStat: n.ChildStat}
	})
	return nodes, err
}

func parentOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// treeDiff compares two reads of a tree: paths, data and every Stat field.
func treeDiff(before, after map[string]*znode) []string {
	var out []string
	for p, b := range before {
		a, ok := after[p]
		switch {
		case !ok:
			out = append(out, "missing "+p)
		case !bytes.Equal(a.data, b.data):
			out = append(out, fmt.Sprintf("%s: data %q, want %q", p, a.data, b.data))
		case *a.stat != *b.stat:
			out = append(out, fmt.Sprintf("%s: stat %+v, want %+v", p, *a.stat, *b.stat))
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			out = append(out, "unexpected "+p)
		}
	}
	sort.Strings(out)
	return out
}

// lastZxid asks the server for its last zxid (srvr's "Zxid: 0x...").
func lastZxid(t testing.TB, s *harness.Server) int64 {
	t.Helper()
	out, err := s.FourLetterWord("srvr")
	if err != nil {
		t.Fatalf("srvr: %v", err)
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Zxid:"); ok {
			z, err := strconv.ParseInt(strings.TrimSpace(v), 0, 64)
			if err != nil {
				t.Fatalf("srvr Zxid %q: %v", v, err)
			}
			return z
		}
	}
	t.Fatalf("srvr has no Zxid line:\n%s", out)
	return 0
}

// runOnce runs the zkd binary with a config file and waits for it to exit.
// A server that is still running after timeout is killed and reported with
// running=true: for tests that expect zkd to refuse to start.
func runOnce(t testing.TB, cfg string, timeout time.Duration) (code int, output string, running bool) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(zkdBin, cfg)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", zkdBin, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		return -1, out.String(), true
	}
	return cmd.ProcessState.ExitCode(), out.String(), false
}

// writeConfig writes a zoo.cfg for runOnce: a free loopback port plus kv
// pairs ("dataDir", dir, ...).
func writeConfig(t testing.TB, kv ...string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "tickTime=500\nclientPort=%d\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=*\n", port)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, "%s=%s\n", kv[i], kv[i+1])
	}
	p := filepath.Join(t.TempDir(), "zoo.cfg")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// walRecords lists the records of a stopped server's WAL.
func walRecords(t testing.TB, dataDir string) ([]storage.WALRecord, storage.WALEnd) {
	t.Helper()
	var recs []storage.WALRecord
	end, err := storage.ReadWAL(filepath.Join(dataDir, "wal"), func(r *storage.WALRecord) error {
		recs = append(recs, *r)
		return nil
	})
	if err != nil {
		t.Fatalf("reading the WAL: %v", err)
	}
	return recs, end
}

// waitExit waits (bounded) for a server process to exit on its own.
func waitExit(t testing.TB, s *harness.Server, d time.Duration) error {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if exited, err := s.Exited(); exited {
			return err
		}
		if time.Now().After(deadline) {
			t.Fatalf("server still running %v after it should have stopped; log:\n%s", d, s.LogTail(30))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logSince returns the part of the server log written after mark bytes.
func logSince(t testing.TB, s *harness.Server, mark int64) string {
	t.Helper()
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) < mark {
		return string(b)
	}
	return string(b[mark:])
}

// logSize marks the current end of the server log.
func logSize(t testing.TB, s *harness.Server) int64 {
	t.Helper()
	fi, err := os.Stat(s.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// createSeq creates /name/n000000..n(count-1) one after another with data
// equal to the path and returns the acknowledged paths in order.
func createSeq(t testing.TB, c *zk.Conn, parent string, from, count int, data func(i int) []byte) []string {
	t.Helper()
	var acked []string
	for i := from; i < from+count; i++ {
		p := fmt.Sprintf("%s/n%06d", parent, i)
		d := []byte(p)
		if data != nil {
			d = data(i)
		}
		if _, err := c.Create(p, d, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("create %s: %v", p, err)
		}
		acked = append(acked, p)
	}
	return acked
}

func mustCreate(t testing.TB, c *zk.Conn, p string, data []byte) {
	t.Helper()
	if _, err := c.Create(p, data, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		t.Fatalf("create %s: %v", p, err)
	}
}

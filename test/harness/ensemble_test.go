package harness

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

func TestParseProcNetTCP(t *testing.T) {
	const header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	for _, tc := range []struct {
		name    string
		text    string
		want    []tcpConn
		wantErr bool
	}{
		{
			name: "ipv4 listen and established",
			text: header +
				"   0: 0300007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000 100 0 0 10 0\n" +
				"   1: 0100007F:D431 0300007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000 20 4 30 10 -1\n",
			want: []tcpConn{
				{local: netip.MustParseAddrPort("127.0.0.3:8080"), remote: netip.MustParseAddrPort("0.0.0.0:0"), state: tcpListen, inode: 4242},
				{local: netip.MustParseAddrPort("127.0.0.1:54321"), remote: netip.MustParseAddrPort("127.0.0.3:8080"), state: 1, inode: 4343},
			},
		},
		{
			name: "ipv6 with ipv4-mapped addresses",
			text: header +
				"   0: 0000000000000000FFFF00000100007F:D431 0000000000000000FFFF00000400007F:0BB8 01 00000000:00000000 00:00000000 00000000     0        0 77 1 0000 20 4 30 10 -1\n",
			want: []tcpConn{
				{local: netip.MustParseAddrPort("127.0.0.1:54321"), remote: netip.MustParseAddrPort("127.0.0.4:3000"), state: 1, inode: 77},
			},
		},
		{name: "short lines are skipped", text: header + "   0: 0100007F:D431\n"},
		{name: "bad address", text: header + "   0: 0100007:D431 0300007F:1F90 01 0:0 0:0 0 0 0 1\n", wantErr: true},
		{name: "bad port", text: header + "   0: 0100007F:XYZ 0300007F:1F90 01 0:0 0:0 0 0 0 1\n", wantErr: true},
		{name: "bad inode", text: header + "   0: 0100007F:D431 0300007F:1F90 01 0:0 0:0 0 0 0 -1\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseProcNetTCP(bufio.NewScanner(strings.NewReader(tc.text)))
			if (err != nil) != tc.wantErr {
				t.Fatalf("error: got %v, want error %v", err, tc.wantErr)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d sockets %+v, want %d %+v", len(got), got, len(tc.want), tc.want)
			}
			for k := range got {
				if got[k] != tc.want[k] {
					t.Errorf("socket %d: got %+v, want %+v", k, got[k], tc.want[k])
				}
			}
		})
	}
}

func TestMemberServerLine(t *testing.T) {
	for _, tc := range []struct {
		m    Member
		want string
	}{
		{Member{ID: 1, Host: "127.0.0.2", ClientPort: 2181, QuorumPort: 2888, ElectionPort: 3888}, "127.0.0.2:2888:3888;127.0.0.2:2181"},
		{Member{ID: 4, Host: "127.0.0.5", ClientPort: 1, QuorumPort: 2, ElectionPort: 3, Observer: true}, "127.0.0.5:2:3:observer;127.0.0.5:1"},
	} {
		if got := tc.m.serverValue(); got != tc.want {
			t.Errorf("server.%d: got %q, want %q", tc.m.ID, got, tc.want)
		}
	}
}

func TestEnsembleSizeChecked(t *testing.T) {
	for _, tc := range []struct {
		n    int
		opts []Option
	}{
		{n: 1},
		{n: 3, opts: []Option{WithObservers(2)}},
		{n: 3, opts: []Option{WithObservers(-1)}},
		{n: 300},
	} {
		f := &fakeTB{real: t}
		f.run(func(tb testing.TB) {
			startEnsemble(tb, KindZkd, tc.n, tc.opts, func(*settings) {}, func(*Server, *settings) []string { return []string{"/nonexistent"} })
		})
		if !f.fatal || !strings.Contains(f.msg, "at least 2 participants") {
			t.Errorf("n=%d: fatal %v, msg %q; want a fatal size error", tc.n, f.fatal, f.msg)
		}
	}
}

// TestZooKeeperEnsemble is the harness's own check against the reference: a
// 3+1 Apache ZooKeeper ensemble starts with one leader and an observer,
// survives the leader's death, takes back the restarted and the wiped
// server, and (as root with iptables) can be partitioned and healed.
func TestZooKeeperEnsemble(t *testing.T) {
	requireZooKeeper(t)
	start := time.Now()
	e := ZooKeeperEnsemble(t, 4, WithObservers(1))
	t.Logf("3+1 ensemble serving after %v", time.Since(start).Round(time.Millisecond))

	hosts := map[string]bool{}
	for i, s := range e.Servers {
		m := e.Members[i]
		host, _, _ := net.SplitHostPort(s.Addr)
		if want := "127.0.0." + strconv.Itoa(i+2); host != want || m.Host != want || hosts[host] {
			t.Errorf("server %d: Addr %s, Member.Host %s; want distinct host %s", i, s.Addr, m.Host, want)
		}
		hosts[host] = true
		if b, err := os.ReadFile(filepath.Join(s.DataDir, "myid")); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(i+1) {
			t.Errorf("server %d myid: got %q, %v; want %d", i, b, err, i+1)
		}
		if m.Observer != (i == 3) {
			t.Errorf("server %d: Observer %v, want %v", i, m.Observer, i == 3)
		}
	}
	if mode, err := e.Servers[3].Mode(); mode != "observer" {
		t.Errorf("server.4 mode: got %q, %v; want observer", mode, err)
	}
	if got, want := e.ConnectString(), strings.Join(e.Addrs(), ","); got != want || strings.Count(got, ",") != 3 {
		t.Errorf("ConnectString: got %q, want %q with 4 addresses", got, want)
	}

	leader := e.Leader(t)
	if leader == 3 {
		t.Fatalf("Leader: got the observer")
	}
	c := connectAll(t, e)
	if _, err := c.Create("/before", []byte("1"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create /before: %v", err)
	}

	e.Kill(leader)
	next := e.LeaderAmong(t, e.Others(leader, 3)...)
	if next == leader {
		t.Fatalf("new leader: got the killed server %d", leader)
	}
	if _, err := c.Create("/after", []byte("2"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create /after with server.%d dead: %v", leader+1, err)
	}
	e.Restart(t, leader)
	if got := e.WaitQuorum(t); got != next {
		t.Errorf("leader after restart: got server.%d, want server.%d (a returning server follows)", got+1, next+1)
	}

	follower := e.Others(next, 3)[0]
	e.Stop(follower)
	e.Wipe(t, follower)
	if entries, _ := os.ReadDir(e.Servers[follower].DataDir); len(entries) != 1 || entries[0].Name() != "myid" {
		t.Errorf("after Wipe: data dir holds %v, want only myid", entries)
	}
	// The client may have been on the stopped follower: its request then
	// fails with the connection, and is retried on another server.
	if err := createRetrying(c, "/wiped", 15*time.Second); err != nil {
		t.Fatalf("create /wiped: %v", err)
	}
	e.Restart(t, follower)
	e.WaitQuorum(t)
	for i, s := range e.Servers {
		sc := connect(t, s.Addr)
		for _, p := range []string{"/before", "/after", "/wiped"} {
			if ok, _, err := sc.Exists(p); err != nil || !ok {
				t.Errorf("server.%d: %s exists: got %v, %v; want true", i+1, p, ok, err)
			}
		}
		sc.Close()
	}

	if partitionSupport() != nil && !CI() {
		t.Logf("partition check skipped: %v", partitionSupport())
		return
	}
	checkPartition(t, e, follower)
}

// checkPartition isolates a follower: it stops serving (it cannot see a
// leader), its peers keep one, and after Heal it serves again.
func checkPartition(t *testing.T, e *Ensemble, follower int) {
	t.Helper()
	for i, s := range e.Servers {
		if !groupsInclude(t, s.Pid(), e.groups[i]) {
			t.Errorf("server.%d: process lacks its group %d", i+1, e.groups[i])
		}
	}
	e.Isolate(t, follower)
	chain := e.fw.chain
	deadline := time.Now().Add(15 * time.Second)
	for {
		mode, err := e.Servers[follower].Mode()
		if err == nil && mode == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("isolated server.%d: mode %q, %v after 15s; want it to stop serving", follower+1, mode, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.LeaderAmong(t, e.Others(follower)...)
	e.Heal(t)
	if out, err := exec.Command("iptables", "-w", "10", "-S").CombinedOutput(); err != nil || strings.Contains(string(out), chain) {
		t.Errorf("after Heal: iptables -S: %v; want no %s in:\n%s", err, chain, out)
	}
	e.WaitQuorum(t)
}

func groupsInclude(t *testing.T, pid int, gid uint32) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Groups:"); ok {
			for _, g := range strings.Fields(v) {
				if g == strconv.FormatUint(uint64(gid), 10) {
					return true
				}
			}
		}
	}
	return false
}

// connectAll opens a session through every server of the ensemble.
// createRetrying creates path, retrying for up to d while the client's
// connection is lost; a retry that finds the node (an earlier attempt was
// applied) succeeds.
func createRetrying(c *zk.Conn, path string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for attempt := 0; ; attempt++ {
		_, err := c.Create(path, nil, 0, zk.WorldACL(zk.PermAll))
		switch {
		case err == nil, attempt > 0 && errors.Is(err, zk.ErrNodeExists):
			return nil
		case !errors.Is(err, zk.ErrConnectionClosed) && !errors.Is(err, zk.ErrNoServer) && !errors.Is(err, zk.ErrSessionMoved):
			return err
		case time.Now().After(deadline):
			return fmt.Errorf("still failing after %v: %w", d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func connectAll(t *testing.T, e *Ensemble) *zk.Conn {
	t.Helper()
	c, events, err := zk.Connect(e.Addrs(), 10*time.Second, zk.WithLogger(tLogger{t}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return c
			}
		case <-deadline:
			t.Fatal(errors.New("no session within 10s"))
		}
	}
}

// TestRemoveStaleChains checks that a chain left by a test process that died
// before its cleanups is removed, jump and rules included, and that a live
// process's chain is left alone.
func TestRemoveStaleChains(t *testing.T) {
	if err := partitionSupport(); err != nil {
		MissingTool(t, "needs Linux, root and iptables: %v", err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := chainPrefix + strconv.Itoa(dead.Process.Pid) + "-1"
	live := chainPrefix + strconv.Itoa(os.Getpid()) + "-999"
	rule := []string{"-p", "tcp", "-d", "127.0.0.9", "--dport", "9", "-j", "DROP"}
	for _, chain := range []string{stale, live} {
		if err := iptables("-N", chain); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = iptables("-D", "OUTPUT", "-j", chain)
			_ = iptables(append([]string{"-D", chain}, rule...)...)
			_ = iptables("-X", chain)
		})
		if err := iptables(append([]string{"-A", chain}, rule...)...); err != nil {
			t.Fatal(err)
		}
		if err := iptables("-A", "OUTPUT", "-j", chain); err != nil {
			t.Fatal(err)
		}
	}
	removeStaleChains(t)
	out, err := iptablesOutput("-S")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, stale) {
		t.Errorf("stale chain %s of dead pid %d still present:\n%s", stale, dead.Process.Pid, out)
	}
	if !strings.Contains(out, "-A OUTPUT -j "+live) {
		t.Errorf("chain %s of this live process was removed; want it kept:\n%s", live, out)
	}
}

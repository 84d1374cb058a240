package harness

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Ensemble defaults. Short ticks make failure detection and elections take
// about a second (ZooKeeper's learners give up on a silent leader after
// syncLimit ticks); the long session bound lets clients keep their sessions
// across an election.
const (
	ensembleTickTime   = 200 * time.Millisecond
	ensembleInitLimit  = 10
	ensembleSyncLimit  = 5
	ensembleMaxSession = 60 * time.Second
	// ensembleWait bounds Leader, LeaderAmong and WaitQuorum.
	ensembleWait = 30 * time.Second
	// maxEnsembleSize keeps every host inside 127.0.0.2..127.0.0.254.
	maxEnsembleSize = 253
)

// zooKeeperQuorumJVM makes Apache ZooKeeper's elections quick on loopback:
// a dropped peer costs a 1s connect timeout instead of 5s, and the election
// notification back-off stops at 2s instead of 60s. The last two only
// shorten a JVM start on 2 cores.
var zooKeeperQuorumJVM = []string{
	"-Dzookeeper.cnxTimeout=1000",
	"-Dzookeeper.fastleader.maxNotificationInterval=2000",
	"-XX:+UseSerialGC",
	"-XX:TieredStopAtLevel=1",
}

// Ensemble is a replicated group of servers of one kind started by
// ZooKeeperEnsemble or ZkdEnsemble. Servers[i] is "server.<i+1>" in every
// zoo.cfg, has <i+1> in its dataDir/myid, and binds its client, quorum and
// election ports on its own loopback address 127.0.0.<i+2> (Linux routes all
// of 127.0.0.0/8 to lo), so iptables rules can tell the servers apart.
//
// Every server is stopped when the test that created the ensemble ends, and
// every partition rule is removed when the test that added it ends.
type Ensemble struct {
	Kind    string
	Servers []*Server // Servers[i] has id i+1; see Members[i] for its ports
	Members []Member  // the server.N lines, Members[i] describing Servers[i]

	// groups[i] is a supplementary group id given only to Servers[i]'s
	// process, which lets iptables match the packets it sends (its outgoing
	// connections all leave from 127.0.0.1, whatever its own address). nil
	// when not root: such an ensemble cannot be partitioned.
	groups []uint32

	fwMu sync.Mutex
	fw   *firewall
}

// Member is one server's line in the ensemble configuration.
type Member struct {
	ID           int    // server id: the N of server.N and the myid file
	Host         string // loopback address of all of this server's ports
	ClientPort   int
	QuorumPort   int // the leader's port for followers (ZooKeeper), the raft transport (zkd)
	ElectionPort int // leader election (ZooKeeper); listed but unused by zkd
	Observer     bool
}

// ClientAddr is the member's client address, host:clientPort.
func (m Member) ClientAddr() string {
	return net.JoinHostPort(m.Host, strconv.Itoa(m.ClientPort))
}

// serverValue is the right-hand side of the member's server.N line:
// host:quorumPort:electionPort[:observer];host:clientPort.
func (m Member) serverValue() string {
	role := ""
	if m.Observer {
		role = ":observer"
	}
	return fmt.Sprintf("%s:%d:%d%s;%s", m.Host, m.QuorumPort, m.ElectionPort, role, m.ClientAddr())
}

// WithObservers makes the last k servers of an ensemble observers (peerType
// observer and ":observer" on their server.N lines). At least two servers
// must remain participants. Single servers ignore it.
func WithObservers(k int) Option {
	return func(s *settings) { s.observers = k }
}

// ZooKeeperEnsemble starts n Apache ZooKeeper servers (QuorumPeerMain) as
// one ensemble and returns once every one of them serves and one of them
// leads. Each has the zoo.cfg defaults of ZooKeeper plus tickTime=200,
// initLimit=10, syncLimit=5, maxSessionTimeout=60000 and its server.N lines;
// opts apply to every server. Without java or the jars it skips the test, or
// fails it when CI=true.
func ZooKeeperEnsemble(t testing.TB, n int, opts ...Option) *Ensemble {
	t.Helper()
	java, classpath, err := zooKeeperCommand()
	if err != nil {
		MissingTool(t, "harness: cannot run Apache ZooKeeper: %v; %s", err, zooKeeperInstall)
		return nil
	}
	kindDefaults := func(st *settings) {
		st.set("forceSync", "yes")
		st.jvmOptions = append(st.jvmOptions, zooKeeperQuorumJVM...)
	}
	argv := func(s *Server, st *settings) []string {
		return zooKeeperArgv(java, classpath, s, st, "org.apache.zookeeper.server.quorum.QuorumPeerMain")
	}
	return startEnsemble(t, KindZooKeeper, n, opts, kindDefaults, argv)
}

// ZkdEnsemble starts n zkd servers (cmd/zkd, built once per test binary as
// for Zkd) as one ensemble, with the same zoo.cfg layout as
// ZooKeeperEnsemble, and returns once every one of them serves and one of
// them leads.
func ZkdEnsemble(t testing.TB, n int, opts ...Option) *Ensemble {
	t.Helper()
	bin := zkdBinary(t)
	argv := func(s *Server, _ *settings) []string { return []string{bin, s.ConfigPath} }
	return startEnsemble(t, KindZkd, n, opts, func(*settings) {}, argv)
}

// StartEnsemble starts an ensemble of the given kind (KindZooKeeper or KindZkd).
func StartEnsemble(t testing.TB, kind string, n int, opts ...Option) *Ensemble {
	t.Helper()
	switch kind {
	case KindZooKeeper:
		return ZooKeeperEnsemble(t, n, opts...)
	case KindZkd:
		return ZkdEnsemble(t, n, opts...)
	}
	t.Fatalf("harness.StartEnsemble: unknown server kind %q, want one of %v", kind, Kinds)
	return nil
}

func startEnsemble(t testing.TB, kind string, n int, opts []Option, kindDefaults func(*settings), argv func(*Server, *settings) []string) *Ensemble {
	t.Helper()
	probe := &settings{}
	for _, o := range opts {
		o(probe)
	}
	if n < 2 || n > maxEnsembleSize || probe.observers < 0 || n-probe.observers < 2 {
		t.Fatalf("harness: ensemble of %d servers with %d observers: want 2..%d servers of which at least 2 participants", n, probe.observers, maxEnsembleSize)
	}
	e := &Ensemble{Kind: kind, groups: partitionGroups(n)}
	for i := 0; i < n; i++ {
		host := fmt.Sprintf("127.0.0.%d", i+2)
		ports, err := freePorts(host, 3)
		if err != nil {
			t.Fatalf("harness: ensemble server %d: pick free ports on %s: %v (Linux routes all of 127.0.0.0/8 to lo; elsewhere add the loopback aliases)", i+1, host, err)
		}
		e.Members = append(e.Members, Member{
			ID: i + 1, Host: host,
			ClientPort: ports[0], QuorumPort: ports[1], ElectionPort: ports[2],
			Observer: i >= n-probe.observers,
		})
	}
	for i, m := range e.Members {
		s, st := newServer(t, kind)
		st.set("tickTime", millis(ensembleTickTime))
		st.set("initLimit", strconv.Itoa(ensembleInitLimit))
		st.set("syncLimit", strconv.Itoa(ensembleSyncLimit))
		st.set("maxSessionTimeout", millis(ensembleMaxSession))
		kindDefaults(st)
		for _, o := range opts {
			o(st)
		}
		// What makes it this member of this ensemble wins over the options.
		st.set("clientPort", strconv.Itoa(m.ClientPort))
		st.set("clientPortAddress", m.Host)
		if m.Observer {
			st.set("peerType", "observer")
		}
		for _, p := range e.Members {
			st.set(fmt.Sprintf("server.%d", p.ID), p.serverValue())
		}
		s.Addr = m.ClientAddr()
		s.env = st.env
		s.startTimeout = st.startTimeout
		if e.groups != nil {
			s.groups = []uint32{e.groups[i]}
		}
		s.argv = argv(s, st)
		s.stopAtEnd(t)
		e.Servers = append(e.Servers, s)
		if err := writeMember(s, st, m); err != nil {
			t.Fatalf("harness: ensemble server %d: %v", m.ID, err)
		}
	}
	// All at once: no member serves before a quorum of them runs, and each
	// start waits until its member serves.
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, s := range e.Servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.start(); err != nil {
				errs[i] = fmt.Errorf("server %d (%s): %w", i+1, s.Addr, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("harness: start %s ensemble: %v", kind, err) // the cleanups print the logs
	}
	e.WaitQuorum(t)
	return e
}

// writeMember creates the member's data dir with its myid file and writes
// its zoo.cfg.
func writeMember(s *Server, st *settings, m Member) error {
	if err := os.MkdirAll(s.DataDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.DataDir, "myid"), []byte(strconv.Itoa(m.ID)+"\n"), 0o644); err != nil {
		return err
	}
	text, err := st.render()
	if err != nil {
		return err
	}
	return os.WriteFile(s.ConfigPath, []byte(text), 0o644)
}

// freePorts picks n distinct free ports on host, holding each until all are
// picked so the kernel cannot hand out the same one twice.
func freePorts(host string, n int) ([]int, error) {
	var ports []int
	for len(ports) < n {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// ConnectString lists every server's client address, comma-separated, as
// ZooKeeper clients take it.
func (e *Ensemble) ConnectString() string { return strings.Join(e.Addrs(), ",") }

// Addrs lists every server's client address, Servers order.
func (e *Ensemble) Addrs() []string {
	out := make([]string, len(e.Servers))
	for i, s := range e.Servers {
		out[i] = s.Addr
	}
	return out
}

// Running lists the indexes of the servers whose process runs.
func (e *Ensemble) Running() []int {
	var out []int
	for i, s := range e.Servers {
		if s.Running() {
			out = append(out, i)
		}
	}
	return out
}

// Others lists every server index except the given ones.
func (e *Ensemble) Others(except ...int) []int {
	var out []int
	for i := range e.Servers {
		skip := false
		for _, x := range except {
			skip = skip || x == i
		}
		if !skip {
			out = append(out, i)
		}
	}
	return out
}

// Leader waits until exactly one running server says "Mode: leader" and
// returns its index. It fails the test after 30s.
func (e *Ensemble) Leader(t testing.TB) int {
	t.Helper()
	return e.LeaderAmong(t, e.Running()...)
}

// LeaderAmong waits until exactly one of the given servers says "Mode:
// leader" and returns its index; servers outside the list are not asked (a
// partitioned old leader may still think it leads). It fails the test after
// 30s, naming what each server said.
func (e *Ensemble) LeaderAmong(t testing.TB, members ...int) int {
	t.Helper()
	deadline := time.Now().Add(ensembleWait)
	for {
		var leaders []int
		modes := e.modes(members)
		for _, i := range members {
			if modes[i] == "leader" {
				leaders = append(leaders, i)
			}
		}
		if len(leaders) == 1 {
			return leaders[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("harness: %s ensemble: no single leader among servers %v within %v; modes: %s", e.Kind, ids(members), ensembleWait, e.describe(members, modes))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitQuorum waits until every running server serves in its configured role
// (an observer as "observer", participants as "leader" or "follower") with
// exactly one leader, and returns the leader's index. It fails the test
// after 30s.
func (e *Ensemble) WaitQuorum(t testing.TB) int {
	t.Helper()
	deadline := time.Now().Add(ensembleWait)
	for {
		running := e.Running()
		modes := e.modes(running)
		leader, leaders, ok := -1, 0, true
		for _, i := range running {
			switch m := modes[i]; {
			case e.Members[i].Observer:
				ok = ok && m == "observer"
			case m == "leader":
				leader = i
				leaders++
			default:
				ok = ok && m == "follower"
			}
		}
		if ok && leaders == 1 {
			return leader
		}
		if time.Now().After(deadline) {
			t.Fatalf("harness: %s ensemble: running servers %v not all serving with one leader within %v; modes: %s", e.Kind, ids(running), ensembleWait, e.describe(running, modes))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// modes asks each listed server for its mode; a server that does not answer
// or does not serve maps to "" and its error is kept in the text form.
func (e *Ensemble) modes(members []int) map[int]string {
	out := make(map[int]string, len(members))
	for _, i := range members {
		m, err := e.Servers[i].Mode()
		if err != nil {
			m = "(" + err.Error() + ")"
		}
		out[i] = m
	}
	return out
}

func (e *Ensemble) describe(members []int, modes map[int]string) string {
	var parts []string
	for _, i := range members {
		m := modes[i]
		if m == "" {
			m = "not serving"
		}
		parts = append(parts, fmt.Sprintf("server.%d=%s", i+1, m))
	}
	return strings.Join(parts, ", ")
}

// ids turns indexes into server ids for messages.
func ids(members []int) []int {
	out := make([]int, len(members))
	for k, i := range members {
		out[k] = i + 1
	}
	return out
}

// Kill stops server i with SIGKILL, as a crash would.
func (e *Ensemble) Kill(i int) { e.Servers[i].Kill() }

// Stop stops server i gracefully (SIGTERM, then SIGKILL after 5s).
func (e *Ensemble) Stop(i int) { e.Servers[i].Stop() }

// Restart stops server i if it runs and starts it again with the same
// config and data, waiting until it serves (which needs a quorum).
func (e *Ensemble) Restart(t testing.TB, i int) {
	t.Helper()
	e.Servers[i].Restart(t)
}

// Wipe removes everything in stopped server i's data dir except its myid
// file, as a replaced disk would leave it. It fails the test if the server
// runs.
func (e *Ensemble) Wipe(t testing.TB, i int) {
	t.Helper()
	s := e.Servers[i]
	if s.Running() {
		t.Fatalf("harness: Wipe(%d): server.%d is running; stop or kill it first", i, i+1)
	}
	entries, err := os.ReadDir(s.DataDir)
	if err != nil {
		t.Fatalf("harness: Wipe(%d): %v", i, err)
	}
	for _, de := range entries {
		if de.Name() == "myid" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.DataDir, de.Name())); err != nil {
			t.Fatalf("harness: Wipe(%d): %v", i, err)
		}
	}
}

// Mode returns the server's role as srvr reports it ("leader", "follower",
// "observer", "standalone"), or "" while it does not serve requests.
func (s *Server) Mode() (string, error) {
	out, err := s.FourLetterWord("srvr")
	if err != nil {
		return "", err
	}
	if strings.Contains(out, notServing) {
		return "", nil
	}
	if v, ok := field(out, "Mode"); ok {
		return v, nil
	}
	return "", fmt.Errorf("srvr has no Mode line: %q", out)
}

// Zxid returns the last zxid the server applied (srvr's "Zxid: 0x...").
func (s *Server) Zxid() (int64, error) {
	out, err := s.FourLetterWord("srvr")
	if err != nil {
		return 0, err
	}
	v, ok := field(out, "Zxid")
	if !ok {
		return 0, fmt.Errorf("srvr has no Zxid line: %q", out)
	}
	z, err := strconv.ParseUint(v, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("srvr Zxid %q: %v", v, err)
	}
	return int64(z), nil
}

// Digest is one line of the hash four-letter word: the digest of the tree
// after Zxid was applied.
type Digest struct {
	Zxid   int64
	Digest int64
}

// Digests returns the server's recent tree digests (the hash four-letter
// word, "<zxid hex>: <digest>" per line). ZooKeeper records one every 128
// transactions when zookeeper.digest.enabled (the default).
func (s *Server) Digests() ([]Digest, error) {
	out, err := s.FourLetterWord("hash")
	if err != nil {
		return nil, err
	}
	if strings.Contains(out, notServing) {
		return nil, errors.New(notServing)
	}
	var ds []Digest
	for _, line := range strings.Split(out, "\n") {
		z, d, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		zx, err1 := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(z), "0x"), 16, 64)
		dg, err2 := strconv.ParseInt(strings.TrimSpace(d), 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("hash line %q: want \"<zxid hex>: <digest>\"", line)
		}
		ds = append(ds, Digest{Zxid: int64(zx), Digest: dg})
	}
	return ds, nil
}

// field finds "key: value" in a four-letter-word reply.
func field(out, key string) (string, bool) {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+":"); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// partitionGroups gives each of n servers its own supplementary group id
// when this process may set groups (root on Linux), or returns nil. The ids
// are unique per test process and ensemble and belong to no real group.
func partitionGroups(n int) []uint32 {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 || !canSetGroups() {
		return nil
	}
	base := groupBase + uint32(os.Getpid()%100000)*1000
	out := make([]uint32, n)
	for i := range out {
		out[i] = base + uint32(groupSeq.Add(1)%1000)
	}
	return out
}

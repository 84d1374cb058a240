package server

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd-io/zkd/internal/config"
	"github.com/zkd-io/zkd/internal/transport"
	"github.com/zkd-io/zkd/proto"
)

// ensemble is an in-process zkd ensemble on loopback, each member with its
// own data dir, quorum port and client port, talking over the real peer
// transport.
type ensemble struct {
	t       *testing.T
	opts    []*config.Options
	servers []*Server // nil while stopped
}

// freePorts reserves n distinct loopback ports. They are released before
// use, so another process could take one in between; on a test machine
// that is rare enough.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

// startEnsemble starts voters+observers servers (ids 1..n; observers last).
func startEnsemble(t *testing.T, voters, observers int, mutate ...func(*config.Options)) *ensemble {
	t.Helper()
	n := voters + observers
	ports := freePorts(t, 3*n)
	var servers []config.Server
	for i := range n {
		servers = append(servers, config.Server{
			ID: uint64(i + 1), Host: "127.0.0.1", QuorumPort: ports[3*i], ElectionPort: ports[3*i+1],
			Observer: i >= voters, ClientAddr: "127.0.0.1", ClientPort: ports[3*i+2],
		})
	}
	e := &ensemble{t: t, servers: make([]*Server, n)}
	for i := range n {
		o := config.Default()
		o.DataDir = t.TempDir()
		o.ClientPortAddress = "127.0.0.1"
		o.TickTime = 100 * time.Millisecond
		o.FourLetterWords = map[string]bool{"*": true}
		o.Servers = append([]config.Server(nil), servers...)
		o.MyID = uint64(i + 1)
		o.ClientPort = ports[3*i+2]
		o.MinSessionTimeout = 400 * time.Millisecond
		o.AdminEnableServer = false
		o.AdminServerAddress = "127.0.0.1"
		o.MetricsHTTPPort = 0
		for _, m := range mutate {
			m(o)
		}
		if err := o.Validate(); err != nil {
			t.Fatalf("options for server %d: %v", i+1, err)
		}
		e.opts = append(e.opts, o)
	}
	// Start concurrently: each waits for nobody, but elections need a
	// majority up.
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- e.start(i) }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(e.stopAll)
	e.waitLeader()
	return e
}

func (e *ensemble) start(i int) error {
	level := slog.LevelError
	if os.Getenv("ZKD_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("server", i+1)
	s := New(e.opts[i], log)
	if err := s.Start(); err != nil {
		return fmt.Errorf("start server %d: %w", i+1, err)
	}
	e.servers[i] = s
	return nil
}

func (e *ensemble) stop(i int) {
	if s := e.servers[i]; s != nil {
		s.Close()
		e.servers[i] = nil
	}
}

func (e *ensemble) stopAll() {
	for i := range e.servers {
		e.stop(i)
	}
}

// waitLeader waits until the running servers agree on a leader that is
// serving, and returns its index.
func (e *ensemble) waitLeader() int {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		leader, agree := -1, true
		var lead uint64
		for i, s := range e.servers {
			if s == nil {
				continue
			}
			st := s.node.Status()
			if lead == 0 {
				lead = st.Leader
			}
			if st.Leader == 0 || st.Leader != lead || !s.serving.Load() {
				agree = false
			}
			if st.IsLeader {
				leader = i
			}
		}
		if agree && leader >= 0 {
			return leader
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no agreed, serving leader within 15s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *ensemble) follower() int {
	l := e.waitLeader()
	for i, s := range e.servers {
		if s != nil && i != l && !e.opts[i].Servers[i].Observer {
			return i
		}
	}
	e.t.Fatal("no running follower")
	return -1
}

// converge waits until every running server has applied the same zxid
// and holds the same tree digest.
func (e *ensemble) converge() {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var zxids []int64
		var digests []uint64
		for _, s := range e.servers {
			if s == nil {
				continue
			}
			s.mu.RLock()
			zxids = append(zxids, s.fsm.LastZxid())
			digests = append(digests, s.fsm.Digest())
			s.mu.RUnlock()
		}
		same := true
		for i := range zxids {
			same = same && zxids[i] == zxids[0] && digests[i] == digests[0]
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("servers did not converge: zxids %x digests %x", zxids, digests)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEnsembleForwardsWritesAndReplicates(t *testing.T) {
	e := startEnsemble(t, 3, 0)
	f := e.follower()
	c, _ := connect(t, e.servers[f])
	for i := range 20 {
		if _, err := c.Create(fmt.Sprintf("/n%02d", i), []byte("v"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("create through follower %d: %v", f+1, err)
		}
	}
	// A read after the session's own write sees it on the server it used.
	if _, st, err := c.Get("/n19"); err != nil || st.Version != 0 {
		t.Fatalf("read own write: got stat %+v err %v", st, err)
	}
	e.converge()
	for i, s := range e.servers {
		c2, _ := connect(t, s)
		// Every member shows the membership in /zookeeper/config, as
		// ZooKeeper does.
		if cfg, _, err := c2.Get("/zookeeper/config"); err != nil || !strings.HasPrefix(string(cfg), "server.1=127.0.0.1:") ||
			!strings.HasSuffix(string(cfg), "\nversion=0") || strings.Count(string(cfg), "\n") != 3 {
			t.Errorf("server %d /zookeeper/config: got %q (err %v)", i+1, cfg, err)
		}
		if _, err := c2.Sync("/"); err != nil {
			t.Fatalf("sync on server %d: %v", i+1, err)
		}
		kids, _, err := c2.Children("/")
		if err != nil || len(kids) != 21 {
			t.Fatalf("server %d: got %d children (err %v), want 21", i+1, len(kids), err)
		}
	}
	for i, s := range e.servers {
		srvr := fourLetter(t, s, "srvr")
		want := "Mode: follower"
		if s.node.Status().IsLeader {
			want = "Mode: leader"
		}
		if !strings.Contains(srvr, want) {
			t.Errorf("server %d srvr: want %q in\n%s", i+1, want, srvr)
		}
	}
	mntr := fourLetter(t, e.servers[e.waitLeader()], "mntr")
	for _, line := range []string{"zk_server_state\tleader", "zk_quorum_size\t3", "zk_synced_followers\t2", "zk_learners\t2"} {
		if !strings.Contains(mntr, line+"\n") {
			t.Errorf("leader mntr lacks %q:\n%s", line, mntr)
		}
	}
}

func TestEnsembleLeaderFailover(t *testing.T) {
	e := startEnsemble(t, 3, 0)
	old := e.waitLeader()
	f := e.follower()
	c, _ := connect(t, e.servers[f])
	if _, err := c.Create("/before", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e.stop(old)
	nl := e.waitLeader()
	t.Logf("server %d replaced server %d as leader after %v", nl+1, old+1, time.Since(start))
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := c.Create("/after", nil, 0, zk.WorldACL(zk.PermAll))
		if err == nil || err == zk.ErrNodeExists {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write succeeded within 10s of the leader's loss: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The old leader comes back and catches up.
	if err := e.start(old); err != nil {
		t.Fatal(err)
	}
	e.converge()
}

func TestEnsembleSessionMovesBetweenServers(t *testing.T) {
	e := startEnsemble(t, 3, 0)
	a, b := e.servers[0], e.servers[1]
	r := dialRaw(t, a)
	r.handshake(proto.ConnectRequest{})
	if got := rawCreate(r, "/eph", proto.ModeEphemeral); got != proto.ErrOK {
		t.Fatalf("create /eph: %v", got)
	}
	// The same session resumes on another server: the move is a log entry.
	r2 := dialRaw(t, b)
	resp := r2.handshake(proto.ConnectRequest{SessionID: r.session, Passwd: r.passwd, LastZxidSeen: a.lastZxid()})
	if resp.SessionID != r.session {
		t.Fatalf("resume on server 2: got session %#x, want %#x", resp.SessionID, r.session)
	}
	if got := rawCreate(r2, "/from-b", 0); got != proto.ErrOK {
		t.Fatalf("create through the new server: %v", got)
	}
	// A write through the connection left behind fails with SessionMoved.
	if got := rawCreate(r, "/from-a", 0); got != proto.ErrSessionMoved {
		t.Fatalf("write through the old server: got %v, want SessionMoved", got)
	}
	e.converge()
	for i, s := range e.servers {
		s.mu.RLock()
		owner := s.fsm.Session(r.session).Owner
		eph := s.fsm.Tree().Get("/eph")
		s.mu.RUnlock()
		if owner != 2 || eph == nil {
			t.Errorf("server %d: owner %d, /eph present %v; want owner 2 and /eph", i+1, owner, eph != nil)
		}
	}
}

func TestEnsembleSessionLivenessAndExpiry(t *testing.T) {
	e := startEnsemble(t, 3, 0)
	f := e.follower()
	// A session kept alive by pings to a follower must outlive its timeout
	// many times over: the follower reports it to the leader.
	live, _, err := zk.Connect([]string{e.servers[f].Addr().String()}, 500*time.Millisecond,
		zk.WithLogInfo(false), zk.WithLogger(quietLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	waitSession(t, live)
	if _, err := live.Create("/live", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	// A session whose client vanishes expires, and its ephemeral goes on
	// every server.
	r := dialRaw(t, e.servers[f])
	r.handshake(proto.ConnectRequest{TimeOut: 500})
	if got := rawCreate(r, "/dead", proto.ModeEphemeral); got != proto.ErrOK {
		t.Fatalf("create /dead: %v", got)
	}
	r.nc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.converge()
		gone := true
		for _, s := range e.servers {
			s.mu.RLock()
			gone = gone && s.fsm.Tree().Get("/dead") == nil
			s.mu.RUnlock()
		}
		if gone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dead session's ephemeral is still there after 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(3 * 500 * time.Millisecond) // three more timeouts of the live session
	e.converge()
	for i, s := range e.servers {
		s.mu.RLock()
		alive := s.fsm.Tree().Get("/live") != nil
		s.mu.RUnlock()
		if !alive {
			t.Errorf("server %d: the live session's ephemeral was removed", i+1)
		}
	}
}

func TestEnsembleObserverDoesNotVote(t *testing.T) {
	e := startEnsemble(t, 3, 1)
	obs := 3
	if st := e.servers[obs].node.Status(); st.Role != "observer" {
		t.Fatalf("server 4 role: got %q, want observer", st.Role)
	}
	if srvr := fourLetter(t, e.servers[obs], "srvr"); !strings.Contains(srvr, "Mode: observer") {
		t.Errorf("observer srvr:\n%s", srvr)
	}
	c, _ := connect(t, e.servers[obs])
	if _, err := c.Create("/via-observer", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("write through the observer: %v", err)
	}
	// Losing the observer does not stop writes.
	e.stop(obs)
	l := e.waitLeader()
	cl, _ := connect(t, e.servers[l])
	if _, err := cl.Create("/no-observer", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("write without the observer: %v", err)
	}
	// Losing two of three voters does.
	stopped := 0
	for i := range 3 {
		if i != l && stopped < 2 {
			e.stop(i)
			stopped++
		}
	}
	if stopped < 2 {
		e.stop(l)
	}
	for i := range 3 {
		if e.servers[i] != nil {
			res := make(chan error, 1)
			go func() {
				_, err := cl.Create("/minority", nil, 0, zk.WorldACL(zk.PermAll))
				res <- err
			}()
			select {
			case err := <-res:
				if err == nil {
					t.Fatal("a write was acknowledged by one voter of three")
				}
			case <-time.After(3 * time.Second):
			}
		}
	}
}

func TestEnsemblePartitionedLeaderStopsServing(t *testing.T) {
	e := startEnsemble(t, 3, 0)
	l := e.waitLeader()
	cut := func(drop bool) {
		for i, s := range e.servers {
			for j := range e.servers {
				if i != j && (i == l || j == l) {
					s.transport.SetFault(uint64(j+1), transport.Fault{Drop: drop})
				}
			}
		}
	}
	cut(true)
	// The isolated leader steps down (CheckQuorum) and stops serving; the
	// other two elect a leader among themselves.
	deadline := time.Now().Add(10 * time.Second)
	for e.servers[l].node.Status().IsLeader || e.servers[l].serving.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the isolated leader still leads or serves after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var other int
	for i := range e.servers {
		if i != l {
			other = i
		}
	}
	deadline = time.Now().Add(10 * time.Second)
	for !e.servers[other].serving.Load() || e.servers[other].node.Status().Leader == uint64(l+1) {
		if time.Now().After(deadline) {
			t.Fatal("the majority did not elect a new leader within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c, _ := connect(t, e.servers[other])
	if _, err := c.Create("/majority", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("write on the majority side: %v", err)
	}
	cut(false)
	e.waitLeader()
	e.converge()
}

func waitSession(t *testing.T, c *zk.Conn) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.State() != zk.StateHasSession {
		if time.Now().After(deadline) {
			t.Fatalf("no session after 5s; state %v", c.State())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func rawCreate(r *raw, path string, flags int32) proto.ErrCode {
	r.t.Helper()
	return r.call(proto.OpCreate, &proto.CreateRequest{Path: path, ACL: proto.OpenACLUnsafe, Flags: flags}, &proto.CreateResponse{})
}

// fourLetter sends a four-letter word to s and returns the reply.
func fourLetter(t *testing.T, s *Server, cmd string) string {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte(cmd))
	b, _ := io.ReadAll(c)
	return string(b)
}

// TestSessionMovedClosesTheOldConnection: after SessionMoved the connection
// left behind is closed, so its client reconnects and takes the session
// back (ZooKeeper's fix for ZOOKEEPER-710) instead of failing forever.
func TestSessionMovedClosesTheOldConnection(t *testing.T) {
	e := startEnsemble(t, 3, 0)
	r := dialRaw(t, e.servers[0])
	r.handshake(proto.ConnectRequest{})
	r2 := dialRaw(t, e.servers[1])
	r2.handshake(proto.ConnectRequest{SessionID: r.session, Passwd: r.passwd, LastZxidSeen: e.servers[0].lastZxid()})
	if got := rawCreate(r, "/stale", 0); got != proto.ErrSessionMoved {
		t.Fatalf("write through the old server: got %v, want SessionMoved", got)
	}
	if !r.closed(5 * time.Second) {
		t.Fatal("the old connection stayed open after SessionMoved")
	}
	// Its client comes back to the first server and takes the session back.
	r3 := dialRaw(t, e.servers[0])
	if resp := r3.handshake(proto.ConnectRequest{SessionID: r.session, Passwd: r.passwd, LastZxidSeen: e.servers[1].lastZxid()}); resp.SessionID != r.session {
		t.Fatalf("moving back: got session %#x, want %#x", resp.SessionID, r.session)
	}
	if got := rawCreate(r3, "/back", 0); got != proto.ErrOK {
		t.Fatalf("write after moving back: got %v, want OK", got)
	}
}

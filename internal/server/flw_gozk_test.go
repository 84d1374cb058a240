package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd-io/zkd/proto"
)

// TestGoZookeeperParsesFourLetterWords runs go-zookeeper's four-letter-word
// helpers, which parse srvr, ruok and cons with regular expressions, against
// a live server, so any drift of the real replies (not just of the fourlw
// formatter) breaks a tool that depends on them.
func TestGoZookeeperParsesFourLetterWords(t *testing.T) {
	s := startServer(t)
	addr := s.Addr().String()

	// A raw client does not ping on its own, so its last request stays
	// the getData below: a ping has a negative xid, which cons (like
	// ZooKeeper's) prints without lcxid, and FLWCons cannot parse that.
	r := dialRaw(t, s)
	r.handshake(proto.ConnectRequest{TimeOut: 4000}) // the test servers' maxSessionTimeout
	if code := rawCreate(r, "/flw", 0); code != proto.ErrOK {
		t.Fatalf("create /flw: got %v, want OK", code)
	}
	xid := r.send(proto.OpGetData, &proto.GetDataRequest{Path: "/flw"})
	if h, _ := r.reply(&proto.GetDataResponse{}); h.Err != proto.ErrOK {
		t.Fatalf("getData /flw: got %v, want OK", h.Err)
	}

	if oks := zk.FLWRuok([]string{addr}, 5*time.Second); len(oks) != 1 || !oks[0] {
		t.Errorf("FLWRuok: got %v, want [true]", oks)
	}

	stats, ok := zk.FLWSrvr([]string{addr}, 5*time.Second)
	if !ok || len(stats) != 1 || stats[0].Error != nil {
		t.Fatalf("FLWSrvr: got ok=%v %+v, want ok and no error", ok, stats)
	}
	st := stats[0]
	if !strings.HasPrefix(st.Version, "3.9.0-zkd-") {
		t.Errorf("FLWSrvr Version: got %q, want 3.9.0-zkd-...", st.Version)
	}
	if !st.BuildTime.Equal(BuildTime.Truncate(time.Minute)) {
		t.Errorf("FLWSrvr BuildTime: got %v, want %v", st.BuildTime, BuildTime.Truncate(time.Minute))
	}
	if st.Mode != zk.ModeStandalone {
		t.Errorf("FLWSrvr Mode: got %v, want standalone", st.Mode)
	}
	s.mu.RLock()
	zxid, nodes := s.fsm.LastZxid(), s.fsm.Tree().Len()+1
	s.mu.RUnlock()
	if st.NodeCount != int64(nodes) || int64(st.Epoch)<<32|int64(st.Counter) != zxid {
		t.Errorf("FLWSrvr: got %d nodes, zxid %d/%d; want %d nodes, zxid 0x%x", st.NodeCount, st.Epoch, st.Counter, nodes, zxid)
	}
	// The raw client's requests, and the srvr connection itself.
	if st.Received < 2 || st.Connections < 2 {
		t.Errorf("FLWSrvr counters: got received %d connections %d, want >= 2 each", st.Received, st.Connections)
	}

	clients, _ := zk.FLWCons([]string{addr}, 5*time.Second)
	// FLWCons reports ok=false for the line of the cons connection itself
	// (no session), as it does against ZooKeeper; the sessions it parsed
	// are still returned.
	if len(clients) != 1 || clients[0].Error != nil {
		t.Fatalf("FLWCons: got %+v, want one server without error", clients)
	}
	var mine *zk.ServerClient
	for _, c := range clients[0].Clients {
		if c.SessionID == r.session {
			mine = c
		}
	}
	if mine == nil {
		t.Fatalf("FLWCons: session 0x%x not among %d parsed clients", r.session, len(clients[0].Clients))
	}
	if mine.LastOperation != "GETD" || mine.Lcxid != int64(xid) || mine.Timeout != 4000 ||
		mine.Addr != r.nc.LocalAddr().String() || mine.Received < 2 || mine.Sent < 2 {
		t.Errorf("FLWCons client: got %+v, want lop GETD, lcxid %d, timeout 4000, addr %s, >= 2 packets each way",
			mine, xid, r.nc.LocalAddr())
	}
}

// TestGoZookeeperFLWSrvrEnsembleModes: FLWSrvr tells the leader from the
// followers of a live ensemble.
func TestGoZookeeperFLWSrvrEnsembleModes(t *testing.T) {
	e := startEnsemble(t, 3, 0)
	leader := e.waitLeader()
	for i, s := range e.servers {
		stats, ok := zk.FLWSrvr([]string{s.Addr().String()}, 5*time.Second)
		if !ok || stats[0].Error != nil {
			t.Fatalf("server %d: FLWSrvr got ok=%v %+v, want ok", i+1, ok, stats[0])
		}
		want := zk.ModeFollower
		if i == leader {
			want = zk.ModeLeader
		}
		if stats[0].Mode != want {
			t.Errorf("server %d: FLWSrvr Mode got %v, want %v", i+1, stats[0].Mode, want)
		}
	}
}

// TestOptionalFourLetterWordsLive: the commands backed by the optional
// fourlw interfaces answer on the client port too, not only on the
// AdminServer.
func TestOptionalFourLetterWordsLive(t *testing.T) {
	s := startServer(t)
	c, _ := connect(t, s)
	if _, err := c.Create("/o", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cmd, wantPrefix string
	}{
		{"srst", "Server stats reset.\n"},
		{"crst", "Connection stats reset.\n"},
		{"wchc", "\n"}, // no data watches: just the closing empty line
		{"wchp", "\n"},
		{"dump", "SessionTracker dump:\nSession Sets ("},
	}
	for _, tt := range tests {
		if got := fourLetter(t, s, tt.cmd); !strings.HasPrefix(got, tt.wantPrefix) {
			t.Errorf("%s: got %q, want it to start with %q", tt.cmd, got, tt.wantPrefix)
		}
	}
	if got := fourLetter(t, s, "srvr"); !strings.Contains(got, "Latency min/avg/max: 0/0.0/0\n") {
		t.Errorf("srvr after srst: got %q, want the latencies reset", got)
	}
	eph, _ := connect(t, s)
	if _, err := eph.Create("/o/e", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	sid := fmt.Sprintf("0x%x", uint64(eph.SessionID()))
	if got := fourLetter(t, s, "dump"); !strings.Contains(got, "ephemeral nodes dump:\nSessions with Ephemerals (1):\n"+sid+":\n\t/o/e\n") ||
		!strings.Contains(got, "\t"+sid+"\n") || !strings.Contains(got, " sessionId: "+sid+"\n") {
		t.Errorf("dump: got\n%s\nwant session %s tracked, holding /o/e, and its connection listed", got, sid)
	}
}

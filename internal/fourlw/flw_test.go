package fourlw

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// serve answers four-letter words on 127.0.0.1:0 the way the server will:
// read four bytes, IsCommand, Run, close. It returns the address; the
// listener and every connection goroutine are stopped by t.Cleanup.
func serve(t *testing.T, src Source) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed by cleanup
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				var first4 [4]byte
				if _, err := io.ReadFull(c, first4[:]); err != nil {
					return
				}
				cmd, ok := IsCommand(first4[:])
				if !ok {
					return
				}
				if err := Run(cmd, allowAll, src, c); err != nil {
					t.Errorf("Run(%q): got error %v, want none", cmd, err)
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

func TestGoZookeeperFLWSrvr(t *testing.T) {
	st := fixedStats()
	st.Zxid = 0x300000007
	addr := serve(t, &fakeSource{st: st})
	stats, ok := zk.FLWSrvr([]string{addr}, 2*time.Second)
	if !ok || len(stats) != 1 {
		t.Fatalf("FLWSrvr: got ok=%v, %d stats, want ok and 1", ok, len(stats))
	}
	s := stats[0]
	if s.Error != nil {
		t.Fatalf("FLWSrvr: got error %v, want none", s.Error)
	}
	if s.Version != "3.9.0-zkd-0.4.1" {
		t.Errorf("FLWSrvr Version: got %q, want %q", s.Version, "3.9.0-zkd-0.4.1")
	}
	if want := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC); !s.BuildTime.Equal(want) {
		t.Errorf("FLWSrvr BuildTime: got %v, want %v", s.BuildTime, want)
	}
	if s.MinLatency != 1 || s.AvgLatency != 2.5714 || s.MaxLatency != 10 {
		t.Errorf("FLWSrvr latency: got %d/%v/%d, want 1/2.5714/10", s.MinLatency, s.AvgLatency, s.MaxLatency)
	}
	if s.Received != 23 || s.Sent != 22 || s.Connections != 2 || s.Outstanding != 0 || s.NodeCount != 8 {
		t.Errorf("FLWSrvr counters: got recv %d sent %d conns %d outstanding %d nodes %d, want 23 22 2 0 8",
			s.Received, s.Sent, s.Connections, s.Outstanding, s.NodeCount)
	}
	if s.Epoch != 3 || s.Counter != 7 {
		t.Errorf("FLWSrvr zxid: got epoch %d counter %d, want 3 7", s.Epoch, s.Counter)
	}
	if s.Mode != zk.ModeStandalone {
		t.Errorf("FLWSrvr Mode: got %v, want %v", s.Mode, zk.ModeStandalone)
	}

	// A leader's extra "Proposal sizes" line must not upset the parser.
	st.Mode = "leader"
	addr = serve(t, &fakeSource{st: st})
	stats, ok = zk.FLWSrvr([]string{addr}, 2*time.Second)
	if !ok || stats[0].Error != nil || stats[0].Mode != zk.ModeLeader {
		t.Errorf("FLWSrvr as leader: got ok=%v %+v, want ok, ModeLeader", ok, stats[0])
	}
}

func TestGoZookeeperFLWRuok(t *testing.T) {
	addr := serve(t, &fakeSource{st: fixedStats()})
	oks := zk.FLWRuok([]string{addr}, 2*time.Second)
	if len(oks) != 1 || !oks[0] {
		t.Errorf("FLWRuok: got %v, want [true]", oks)
	}
}

func TestGoZookeeperFLWCons(t *testing.T) {
	other := sessionConn()
	other.Remote = "10.1.2.3:5000"
	other.SessionID = -0x7ffffffffffffff0 // hex of a negative id must still parse
	other.LastZxid = -1
	addr := serve(t, &fakeSource{st: fixedStats(), conns: []ConnInfo{sessionConn(), other}})
	clients, ok := zk.FLWCons([]string{addr}, 2*time.Second)
	if !ok || len(clients) != 1 || clients[0].Error != nil {
		t.Fatalf("FLWCons: got ok=%v %+v, want ok and no error", ok, clients)
	}
	cs := clients[0].Clients
	if len(cs) != 2 {
		t.Fatalf("FLWCons: got %d clients, want 2", len(cs))
	}
	c := cs[0]
	if c.Addr != "127.0.0.1:49326" || c.SessionID != 0x1000005d5f00000 || c.LastOperation != "SETD" ||
		c.Received != 14 || c.Sent != 14 || c.Timeout != 10000 || c.Lcxid != 0xd || c.Lzxid != 0xb ||
		c.LastLatency != 3 || c.AvgLatency != 2 || c.MaxLatency != 10 {
		t.Errorf("FLWCons client 0: got %+v, want the fields of sessionConn()", c)
	}
	if cs[1].Addr != "10.1.2.3:5000" || cs[1].Lzxid != -1 {
		t.Errorf("FLWCons client 1: got addr %q lzxid %d, want 10.1.2.3:5000 and -1", cs[1].Addr, cs[1].Lzxid)
	}

	// Like ZooKeeper's own reply, a line for a connection without a
	// session (the cons connection itself) is not one FLWCons can parse:
	// it reports ok=false but still returns the sessions it parsed.
	addr = serve(t, &fakeSource{st: fixedStats(), conns: []ConnInfo{sessionConn(), commandConn()}})
	clients, ok = zk.FLWCons([]string{addr}, 2*time.Second)
	if ok || len(clients) != 1 || len(clients[0].Clients) != 1 {
		t.Errorf("FLWCons with the command connection: got ok=%v %+v, want ok=false and 1 client", ok, clients)
	}
}

package server

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkd-io/zkd/internal/fourlw"
	"github.com/zkd-io/zkd/internal/watch"
	"github.com/zkd-io/zkd/proto"
)

// connOf finds the server side of a raw client's connection.
func connOf(t *testing.T, s *Server, session int64) *conn {
	t.Helper()
	for _, c := range s.openConns() {
		if c.session.Load() == session {
			return c
		}
	}
	t.Fatalf("no connection with session 0x%x", session)
	return nil
}

// TestWatchListingsLive: wchc and wchp list the data watches of each
// session, in ZooKeeper's format; child watches are not listed.
func TestWatchListingsLive(t *testing.T) {
	s := startServer(t)
	a, b := dialRaw(t, s), dialRaw(t, s)
	a.handshake(proto.ConnectRequest{})
	b.handshake(proto.ConnectRequest{})
	if code := rawCreate(a, "/w", 0); code != proto.ErrOK {
		t.Fatalf("create /w: got %v", code)
	}
	if code := a.call(proto.OpGetData, &proto.GetDataRequest{Path: "/w", Watch: true}, &proto.GetDataResponse{}); code != proto.ErrOK {
		t.Fatalf("getData: got %v", code)
	}
	if code := a.call(proto.OpExists, &proto.ExistsRequest{Path: "/missing", Watch: true}, &proto.ExistsResponse{}); code != proto.ErrNoNode {
		t.Fatalf("exists /missing: got %v", code)
	}
	if code := b.call(proto.OpExists, &proto.ExistsRequest{Path: "/w", Watch: true}, &proto.ExistsResponse{}); code != proto.ErrOK {
		t.Fatalf("exists /w: got %v", code)
	}
	if code := b.call(proto.OpGetChildren, &proto.GetChildrenRequest{Path: "/w", Watch: true}, &proto.GetChildrenResponse{}); code != proto.ErrOK {
		t.Fatalf("getChildren: got %v", code)
	}
	first, second := a.session, b.session
	if second < first {
		first, second = second, first
	}
	hex := func(id int64) string { return fmt.Sprintf("0x%x", uint64(id)) }
	byID := map[int64]string{a.session: "\t/missing\n\t/w\n", b.session: "\t/w\n"}
	wantC := hex(first) + "\n" + byID[first] + hex(second) + "\n" + byID[second] + "\n"
	if got := fourLetter(t, s, "wchc"); got != wantC {
		t.Errorf("wchc: got %q, want %q", got, wantC)
	}
	wantP := "/missing\n\t" + hex(a.session) + "\n/w\n\t" + hex(first) + "\n\t" + hex(second) + "\n\n"
	if got := fourLetter(t, s, "wchp"); got != wantP {
		t.Errorf("wchp: got %q, want %q", got, wantP)
	}
}

// TestWatchListingIsBounded: with more watches than the limit, wchc and
// wchp stop at the limit, say how many they left out, and do not hold up
// writes meanwhile.
func TestWatchListingIsBounded(t *testing.T) {
	s := startServer(t)
	r := dialRaw(t, s)
	r.handshake(proto.ConnectRequest{})
	small := dialRaw(t, s)
	small.handshake(proto.ConnectRequest{})
	if code := small.call(proto.OpExists, &proto.ExistsRequest{Path: "/x", Watch: true}, &proto.ExistsResponse{}); code != proto.ErrNoNode {
		t.Fatalf("exists /x: got %v", code)
	}
	// Registering through the client would take a request per watch;
	// the registry is what the listing reads.
	lim := fourlw.DefaultWatchLimit
	total := lim.Watches + 20_000
	c := connOf(t, s, r.session)
	for i := range total - 1 {
		s.watches.Add(fmt.Sprintf("/many/%07d", i), c, watch.Data)
	}
	for i := range 1000 { // child watches are not listed and do not count
		s.watches.Add(fmt.Sprintf("/kids/%04d", i), c, watch.Child)
	}

	// Writes go on while the listings run.
	w := dialRaw(t, s)
	w.handshake(proto.ConnectRequest{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var slowest time.Duration
	var writes int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 10_000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			if code := rawCreate(w, fmt.Sprintf("/during-%d", i), 0); code != proto.ErrOK {
				t.Errorf("create during the listing: got %v", code)
				return
			}
			slowest = max(slowest, time.Since(start))
			writes++
		}
	}()

	tail := func(omitted int) string {
		return fourlw.TruncatedLine(omitted, lim) + "\n"
	}
	for _, cmd := range []string{"wchc", "wchp"} {
		start := time.Now()
		got := fourLetter(t, s, cmd)
		took := time.Since(start)
		if !strings.HasSuffix(got, tail(total-lim.Watches)) {
			end := got[max(len(got)-200, 0):]
			t.Errorf("%s: reply ends %q, want the closing line %q", cmd, end, tail(total-lim.Watches))
		}
		if n := strings.Count(got, "\t"); n != lim.Watches {
			t.Errorf("%s: got %d indented lines, want the limit %d", cmd, n, lim.Watches)
		}
		if len(got) > lim.Bytes+20*lim.Watches {
			t.Errorf("%s: got %d bytes, want at most %d", cmd, len(got), lim.Bytes+20*lim.Watches)
		}
		if took > 10*time.Second {
			t.Errorf("%s: took %v, want well under the 10 s write deadline", cmd, took)
		}
		t.Logf("%s: %d bytes in %v", cmd, len(got), took)
	}
	close(stop)
	wg.Wait()
	if writes == 0 || slowest > 2*time.Second {
		t.Errorf("writes during the listings: got %d, slowest %v; want some, none over 2s", writes, slowest)
	}
	t.Logf("%d writes during the listings, slowest %v", writes, slowest)
}

// TestWatchLimitBounds checks both bounds of a listing and what it reports.
func TestWatchLimitBounds(t *testing.T) {
	s := startServer(t)
	r := dialRaw(t, s)
	r.handshake(proto.ConnectRequest{})
	c := connOf(t, s, r.session)
	for i := range 50 {
		s.watches.Add(fmt.Sprintf("/p%02d", i), c, watch.Data) // 4 bytes each, 6 with tab and newline
	}
	src := adminSource{s}
	tests := []struct {
		lim          fourlw.WatchLimit
		wantListed   int
		wantOmitted  int
		wantSessions int
	}{
		{fourlw.WatchLimit{Watches: 100, Bytes: 1 << 20}, 50, 0, 1},
		{fourlw.WatchLimit{Watches: 50, Bytes: 1 << 20}, 50, 0, 1},
		{fourlw.WatchLimit{Watches: 10, Bytes: 1 << 20}, 10, 40, 1},
		{fourlw.WatchLimit{Watches: 100, Bytes: 60}, 10, 40, 1},
		{fourlw.WatchLimit{Watches: 0, Bytes: 1 << 20}, 0, 50, 0},
	}
	for _, tt := range tests {
		ws, omitted := src.WatchesBySession(tt.lim)
		listed := 0
		for _, sw := range ws {
			listed += len(sw.Paths)
		}
		if listed != tt.wantListed || omitted != tt.wantOmitted || len(ws) != tt.wantSessions {
			t.Errorf("WatchesBySession(%+v): got %d listed, %d omitted, %d sessions; want %d, %d, %d",
				tt.lim, listed, omitted, len(ws), tt.wantListed, tt.wantOmitted, tt.wantSessions)
		}
		ps, pomitted := src.WatchesByPath(tt.lim)
		if len(ps) != tt.wantListed || pomitted != tt.wantOmitted {
			t.Errorf("WatchesByPath(%+v): got %d paths, %d omitted; want %d, %d", tt.lim, len(ps), pomitted, tt.wantListed, tt.wantOmitted)
		}
	}
}

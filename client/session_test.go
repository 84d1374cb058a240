package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zkd-io/zkd/proto"
)

func TestPipelining(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.Addr().String())
	ctx := bg(t)
	if _, err := c.Create(ctx, "/pipe", nil, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 100
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := fmt.Sprintf("/pipe/w%d", w)
			if _, err := c.Create(ctx, p, nil, open, ModePersistent); err != nil {
				errs <- err
				return
			}
			for i := range each {
				want := fmt.Sprintf("%d-%d", w, i)
				st, err := c.Set(ctx, p, []byte(want), int32(i))
				if err != nil {
					errs <- fmt.Errorf("set %s v%d: %w", p, i, err)
					return
				}
				if st.Version != int32(i+1) {
					errs <- fmt.Errorf("set %s: got version %d, want %d", p, st.Version, i+1)
					return
				}
				data, _, err := c.Get(ctx, p)
				if err != nil || string(data) != want {
					errs <- fmt.Errorf("get %s: got %q %v, want %q", p, data, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestRepliesInOrder queues many requests without waiting and checks that
// they complete in the order they were sent.
func TestRepliesInOrder(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.Addr().String())
	const n = 500
	reqs := make([]*request, n)
	for i := range reqs {
		p := fmt.Sprintf("/o%d", i)
		if i%2 == 0 {
			reqs[i] = newRequest(proto.OpCreate, p, &proto.CreateRequest{Path: p, ACL: open}, &proto.CreateResponse{})
		} else {
			reqs[i] = newRequest(proto.OpExists, p, &proto.ExistsRequest{Path: fmt.Sprintf("/o%d", i-1)}, &proto.ExistsResponse{})
		}
		if err := c.enqueue(reqs[i], false); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.After(10 * time.Second)
	for i, r := range reqs {
		select {
		case <-r.done:
		case <-deadline:
			t.Fatalf("request %d not answered", i)
		}
		// Every later request must still be pending when this one is done
		// or be done after it: check that none completed earlier.
		if i > 0 {
			select {
			case <-reqs[i-1].done:
			default:
				t.Fatalf("request %d completed before request %d", i, i-1)
			}
		}
		if err := r.result(); err != nil {
			t.Fatalf("request %d (%v): %v", i, r.op, err)
		}
	}
	// The exists after each create sees it: the server kept the order too.
	for i := 1; i < n; i += 2 {
		if st := reqs[i].resp.(*proto.ExistsResponse).Stat; st.Czxid == 0 {
			t.Fatalf("exists %d: node created just before is missing", i)
		}
	}
}

func TestReconnectResumesSession(t *testing.T) {
	s := startServer(t)
	d := &severable{}
	c := connect(t, s.Addr().String(), WithDialer(d.dial), WithAuth("digest", []byte("bob:pw")))
	other := connect(t, s.Addr().String())
	ctx := bg(t)
	waitState(t, c, StateSyncConnected, 5*time.Second)
	if err := c.AddAuth(ctx, "digest", []byte("alice:pw")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/r", "/r/data", "/r/kids", "/r/pers"} {
		if _, err := c.Create(ctx, p, nil, open, ModePersistent); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Create(ctx, "/r/eph", nil, open, ModeEphemeral); err != nil {
		t.Fatal(err)
	}
	_, _, dataCh, _ := c.GetW(ctx, "/r/data")
	_, kidsCh, _ := c.ChildrenW(ctx, "/r/kids")
	_, existCh, _ := c.ExistsW(ctx, "/r/later")
	persCh, _ := c.AddWatch(ctx, "/r/pers", AddWatchPersistent)
	recCh, _ := c.AddWatch(ctx, "/r", AddWatchPersistentRecursive)
	sid := c.SessionID()

	d.sever()
	waitState(t, c, StateDisconnected, 5*time.Second)
	waitState(t, c, StateSyncConnected, 5*time.Second)
	if got := c.SessionID(); got != sid {
		t.Fatalf("session after reconnect: got %#x, want %#x", got, sid)
	}
	if len(d.addrs()) < 2 {
		t.Fatalf("dials: got %v, want a reconnect", d.addrs())
	}
	// Credentials were re-sent before any request.
	ids, err := c.WhoAmI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if !slices.Contains(ids, proto.ClientInfo{AuthScheme: "digest", User: u}) {
			t.Errorf("WhoAmI after reconnect: got %v, want digest:%s", ids, u)
		}
	}
	if st, _ := other.Exists(ctx, "/r/eph"); st == nil || st.EphemeralOwner != sid {
		t.Errorf("ephemeral after reconnect: got %+v, want owned by %#x", st, sid)
	}
	// Every watch was restored.
	if _, err := other.Set(ctx, "/r/data", []byte("x"), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Create(ctx, "/r/kids/k", nil, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Create(ctx, "/r/later", nil, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Set(ctx, "/r/pers", []byte("y"), -1); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		ch   <-chan Event
		want Event
	}{
		"data":       {dataCh, ev(EventNodeDataChanged, "/r/data")},
		"child":      {kidsCh, ev(EventNodeChildrenChanged, "/r/kids")},
		"exist":      {existCh, ev(EventNodeCreated, "/r/later")},
		"persistent": {persCh, ev(EventNodeDataChanged, "/r/pers")},
		"recursive":  {recCh, ev(EventNodeDataChanged, "/r/data")},
	} {
		if e, _ := nextEvent(t, tc.ch, 5*time.Second); got(e) != tc.want {
			t.Errorf("%s watch after reconnect: got %v, want %v", name, e, tc.want)
		}
	}
}

// TestReconnectRestoresManyWatches restores more watches than fit in one
// SetWatches packet.
func TestReconnectRestoresManyWatches(t *testing.T) {
	s := startServer(t)
	d := &severable{}
	c := connect(t, s.Addr().String(), WithDialer(d.dial))
	other := connect(t, s.Addr().String())
	ctx := bg(t)
	base := "/" + string(bytes.Repeat([]byte("n"), 900))
	if _, err := c.Create(ctx, base, nil, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	const n = 200 // 200 watches of ~905 bytes: 2 packets
	chans := make([]<-chan Event, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ch, err := c.ExistsW(ctx, fmt.Sprintf("%s/%03d", base, i))
			if err != nil {
				t.Error(err)
			}
			chans[i] = ch
		}()
	}
	wg.Wait()
	d.sever()
	waitState(t, c, StateDisconnected, 5*time.Second)
	waitState(t, c, StateSyncConnected, 5*time.Second)
	ops := make([]Op, n)
	for i := range ops {
		ops[i] = CreateOp(fmt.Sprintf("%s/%03d", base, i), nil, open, ModePersistent)
	}
	if _, err := other.Multi(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	for i, ch := range chans {
		if e, _ := nextEvent(t, ch, 5*time.Second); e.Type != EventNodeCreated {
			t.Fatalf("watch %d: got %v, want NodeCreated", i, e)
		}
	}
}

func TestInFlightFailWithConnectionLoss(t *testing.T) {
	s := startServer(t)
	d := &severable{}
	c := connect(t, s.Addr().String(), WithDialer(d.dial))
	ctx := bg(t)
	d.stallReads(true)
	const n = 5
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := c.Exists(ctx, "/")
			errs <- err
		}()
	}
	// Let the requests reach the wire, then cut it.
	time.Sleep(100 * time.Millisecond)
	d.sever()
	d.stallReads(false)
	for range n {
		select {
		case err := <-errs:
			wantCode(t, "request in flight when the connection died", err, proto.ErrConnectionLoss)
		case <-time.After(5 * time.Second):
			t.Fatal("request not failed after the connection died")
		}
	}
	// The session goes on.
	waitState(t, c, StateSyncConnected, 5*time.Second)
	if _, err := c.Exists(ctx, "/"); err != nil {
		t.Fatalf("after reconnect: %v", err)
	}
}

func TestSilentServerIsDetected(t *testing.T) {
	s := startServer(t)
	d := &severable{}
	// 600ms sessions: a connection silent for 400ms is lost.
	c := connect(t, s.Addr().String(), WithDialer(d.dial), WithSessionTimeout(600*time.Millisecond))
	waitState(t, c, StateSyncConnected, 5*time.Second)
	start := time.Now()
	d.stallReads(true)
	waitState(t, c, StateDisconnected, 3*time.Second)
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("silence detected after %v, want about 400ms", el)
	}
	d.stallReads(false)
	waitState(t, c, StateSyncConnected, 5*time.Second)
}

func TestPingsKeepAnIdleSessionAlive(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.Addr().String(), WithSessionTimeout(600*time.Millisecond))
	waitState(t, c, StateSyncConnected, 5*time.Second)
	if got := c.SessionTimeout(); got != 600*time.Millisecond {
		t.Fatalf("negotiated timeout: got %v, want 600ms", got)
	}
	select {
	case e := <-c.Events():
		t.Fatalf("idle session for 2s: got %v, want no state change", e)
	case <-time.After(2 * time.Second):
	}
	if _, err := c.Exists(bg(t), "/"); err != nil {
		t.Fatalf("after idling: %v", err)
	}
}

func TestSessionExpiry(t *testing.T) {
	s := startServer(t)
	d := &severable{}
	c := connect(t, s.Addr().String(), WithDialer(d.dial), WithSessionTimeout(500*time.Millisecond))
	ctx := bg(t)
	if _, err := c.Create(ctx, "/x", nil, open, ModeEphemeral); err != nil {
		t.Fatal(err)
	}
	_, _, dataCh, _ := c.GetW(ctx, "/x")
	pch, _ := c.AddWatch(ctx, "/", AddWatchPersistentRecursive)
	waitState(t, c, StateSyncConnected, 5*time.Second)
	d.setRefuse(true)
	d.sever()
	waitState(t, c, StateDisconnected, 5*time.Second)
	// A request made while disconnected fails with ConnectionLoss at the
	// next failed attempt rather than waiting forever.
	_, err := c.Exists(ctx, "/")
	wantCode(t, "request while disconnected", err, proto.ErrConnectionLoss)
	time.Sleep(1500 * time.Millisecond) // the server expires the session
	d.setRefuse(false)
	waitState(t, c, StateExpired, 5*time.Second)
	_, err = c.Exists(ctx, "/")
	wantCode(t, "request after expiry", err, proto.ErrSessionExpired)
	for name, ch := range map[string]<-chan Event{"one-shot": dataCh, "persistent": pch} {
		e, _ := nextEvent(t, ch, 5*time.Second)
		if e.Type != EventNone || e.State != StateExpired || !errors.Is(e.Err, proto.ErrSessionExpired) {
			t.Errorf("%s watch at expiry: got %+v, want None/Expired", name, e)
		}
		if _, ok := nextEvent(t, ch, 5*time.Second); ok {
			t.Errorf("%s watch channel open after expiry", name)
		}
	}
	if err := c.WaitConnected(ctx); !errors.Is(err, proto.ErrSessionExpired) {
		t.Errorf("WaitConnected after expiry: got %v, want SessionExpired", err)
	}
}

func TestMultiHostRotation(t *testing.T) {
	s := startServer(t)
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	live := s.Addr().String()
	d := &severable{}
	c := connect(t, dead+","+live, WithDialer(d.dial))
	for range 3 {
		d.sever()
		waitState(t, c, StateDisconnected, 5*time.Second)
		waitState(t, c, StateSyncConnected, 5*time.Second)
	}
	addrs := d.addrs()
	// Round robin: the dead host is tried between two connections to the
	// live one.
	for i := 1; i < len(addrs); i++ {
		if addrs[i] == addrs[i-1] {
			t.Fatalf("dials: got %v, want the two hosts alternating", addrs)
		}
	}
	if !slices.Contains(addrs, dead) || c.Server() != live {
		t.Fatalf("dials: got %v (now on %s), want both hosts, connected to %s", addrs, c.Server(), live)
	}
}

func TestReplyLargerThanMaxBuffer(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.Addr().String(), WithMaxBufferSize(4096))
	ctx := bg(t)
	big := bytes.Repeat([]byte("b"), 10_000)
	if _, err := c.Create(ctx, "/big", big, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, "/small", []byte("s"), open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.Get(ctx, "/big")
	if !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("Get of a 10 KB node with a 4 KB buffer: got %v, want ErrResponseTooLarge", err)
	}
	// The session is unharmed.
	if data, _, err := c.Get(ctx, "/small"); err != nil || string(data) != "s" {
		t.Fatalf("Get after the large reply: got %q %v", data, err)
	}
	if st := c.State(); st != StateSyncConnected {
		t.Fatalf("state: got %v, want SyncConnected", st)
	}
}

func TestCloseFailsEverything(t *testing.T) {
	s := startServer(t)
	d := &severable{}
	// With reads stalled, Close's closeSession gets no answer: the
	// connection is declared dead after 1s.
	c := connect(t, s.Addr().String(), WithDialer(d.dial), WithSessionTimeout(1500*time.Millisecond))
	ctx := bg(t)
	if _, err := c.Create(ctx, "/e", nil, open, ModeEphemeral); err != nil {
		t.Fatal(err)
	}
	_, _, wch, _ := c.GetW(ctx, "/e")
	pch, _ := c.AddWatch(ctx, "/", AddWatchPersistent)
	// A request stuck in flight when Close is called.
	d.stallReads(true)
	errc := make(chan error, 1)
	go func() { _, err := c.Exists(ctx, "/"); errc <- err }()
	time.Sleep(50 * time.Millisecond)
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(8 * time.Second):
		t.Fatal("Close did not return")
	}
	d.stallReads(false)
	if err := <-errc; !errors.Is(err, ErrClosed) && !errors.Is(err, proto.ErrConnectionLoss) {
		t.Errorf("in-flight request at Close: got %v, want ErrClosed or ConnectionLoss", err)
	}
	if _, err := c.Exists(ctx, "/"); !errors.Is(err, ErrClosed) {
		t.Errorf("request after Close: got %v, want ErrClosed", err)
	}
	for name, ch := range map[string]<-chan Event{"one-shot": wch, "persistent": pch} {
		e, _ := nextEvent(t, ch, time.Second)
		if e.State != StateClosed || !errors.Is(e.Err, ErrClosed) {
			t.Errorf("%s watch at Close: got %+v, want Closed", name, e)
		}
	}
	var last Event
	for e := range c.Events() {
		last = e
	}
	if last.State != StateClosed {
		t.Errorf("last session event: got %v, want Closed", last)
	}
	if c.State() != StateClosed {
		t.Errorf("State: got %v, want Closed", c.State())
	}
	c.Close() // idempotent
	checkNoGoroutines(t)
}

func TestCloseClosesTheSession(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.Addr().String())
	other := connect(t, s.Addr().String())
	ctx := bg(t)
	if _, err := c.Create(ctx, "/gone", nil, open, ModeEphemeral); err != nil {
		t.Fatal(err)
	}
	c.Close()
	// closeSession was sent and answered: the ephemeral is gone at once.
	if st, err := other.Exists(ctx, "/gone"); err != nil || st != nil {
		t.Fatalf("ephemeral after Close: got %+v %v, want gone", st, err)
	}
	other.Close()
	checkNoGoroutines(t)
}

func TestConnectFailsWithoutServers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = Connect(ctx, addr, withRetryDelay(20*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Connect to a dead port: got %v, want DeadlineExceeded", err)
	}
	if _, err := Connect(ctx, "h:1/bad/"); !errors.Is(err, ErrBadConnectString) {
		t.Fatalf("Connect with a bad chroot: got %v, want ErrBadConnectString", err)
	}
	checkNoGoroutines(t)
}

func TestAuthFailedEndsTheSession(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.Addr().String())
	ctx := bg(t)
	err := c.AddAuth(ctx, "nosuchscheme", []byte("x"))
	wantCode(t, "AddAuth with an unknown scheme", err, proto.ErrAuthFailed)
	waitState(t, c, StateAuthFailed, 5*time.Second)
	_, err = c.Exists(ctx, "/")
	wantCode(t, "request after AuthFailed", err, proto.ErrAuthFailed)
}

func TestRequestsWaitForTheFirstConnection(t *testing.T) {
	s := startServer(t)
	c, err := New(s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Sent at once, before the handshake completes.
	if _, err := c.Exists(bg(t), "/"); err != nil {
		t.Fatalf("request before the session: %v", err)
	}
}

func TestWithSessionResumes(t *testing.T) {
	s := startServer(t)
	d := &severable{}
	a := connect(t, s.Addr().String(), WithDialer(d.dial))
	ctx := bg(t)
	if _, err := a.Create(ctx, "/mine", nil, open, ModeEphemeral); err != nil {
		t.Fatal(err)
	}
	// Take a off the network so the two do not steal the session from
	// each other.
	d.setRefuse(true)
	d.sever()
	waitState(t, a, StateDisconnected, 5*time.Second)
	b := connect(t, s.Addr().String(), WithSession(a.SessionID(), a.SessionPassword()))
	if b.SessionID() != a.SessionID() {
		t.Fatalf("resumed session: got %#x, want %#x", b.SessionID(), a.SessionID())
	}
	eph, err := b.GetEphemerals(ctx, "/")
	if err != nil || !slices.Equal(eph, []string{"/mine"}) {
		t.Fatalf("ephemerals of the resumed session: got %q %v", eph, err)
	}
	// A wrong password is an expired session.
	_, err = Connect(ctxT(t, 5*time.Second), s.Addr().String(), WithSession(a.SessionID(), make([]byte, 16)))
	if !errors.Is(err, proto.ErrSessionExpired) {
		t.Fatalf("resume with a wrong password: got %v, want SessionExpired", err)
	}
}

func TestContextEndsWait(t *testing.T) {
	s := startServer(t)
	d := &severable{}
	c := connect(t, s.Addr().String(), WithDialer(d.dial))
	d.stallReads(true)
	defer d.stallReads(false)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Exists(ctx, "/")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want DeadlineExceeded", err)
	}
	cancelled, stop := context.WithCancel(context.Background())
	stop()
	if _, err := c.Exists(cancelled, "/"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: got %v, want Canceled", err)
	}
}

func TestStateChanged(t *testing.T) {
	s := startServer(t)
	d := &severable{}
	c := connect(t, s.Addr().String(), WithDialer(d.dial))
	st, ch := c.StateChanged()
	if st != StateSyncConnected {
		t.Fatalf("state: got %v, want SyncConnected", st)
	}
	d.sever()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no state change after the connection was cut")
	}
	c.Close()
	if st, _ := c.StateChanged(); st != StateClosed {
		t.Fatalf("state after Close: got %v, want Closed", st)
	}
}

package server

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/proto"
)

func TestCRUDWithGoZookeeper(t *testing.T) {
	s := startServer(t)
	c, _ := connect(t, s)
	acl := zk.WorldACL(zk.PermAll)
	if p, err := c.Create("/a", []byte("1"), 0, acl); err != nil || p != "/a" {
		t.Fatalf("create: got %q %v", p, err)
	}
	if _, err := c.Create("/a", nil, 0, acl); !errors.Is(err, zk.ErrNodeExists) {
		t.Errorf("create twice: got %v, want node exists", err)
	}
	if _, err := c.Create("/missing/x", nil, 0, acl); !errors.Is(err, zk.ErrNoNode) {
		t.Errorf("create under missing parent: got %v", err)
	}
	data, st, err := c.Get("/a")
	if err != nil || string(data) != "1" || st.Version != 0 || st.DataLength != 1 {
		t.Fatalf("get: got %q %+v %v", data, st, err)
	}
	st2, err := c.Set("/a", []byte("22"), 0)
	if err != nil || st2.Version != 1 || st2.Mzxid <= st.Mzxid || st2.Czxid != st.Czxid {
		t.Fatalf("set: got %+v %v", st2, err)
	}
	if _, err := c.Set("/a", nil, 0); !errors.Is(err, zk.ErrBadVersion) {
		t.Errorf("set stale version: got %v", err)
	}
	seq, err := c.Create("/a/s-", nil, zk.FlagSequence, acl)
	if err != nil || seq != "/a/s-0000000000" {
		t.Errorf("sequential: got %q %v", seq, err)
	}
	eph, err := c.Create("/a/e", nil, zk.FlagEphemeral, acl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(eph+"/child", nil, 0, acl); !errors.Is(err, zk.ErrNoChildrenForEphemerals) {
		t.Errorf("child of ephemeral: got %v", err)
	}
	kids, st3, err := c.Children("/a")
	if err != nil || !reflect.DeepEqual(kids, []string{"e", "s-0000000000"}) || st3.NumChildren != 2 || st3.Cversion != 2 {
		t.Errorf("children: got %v %+v %v", kids, st3, err)
	}
	if err := c.Delete("/a", -1); !errors.Is(err, zk.ErrNotEmpty) {
		t.Errorf("delete non-empty: got %v", err)
	}
	if ok, _, err := c.Exists("/nope"); ok || err != nil {
		t.Errorf("exists missing: got %v %v", ok, err)
	}
	res, err := c.Multi(&zk.CreateRequest{Path: "/m", Flags: 0, Acl: acl}, &zk.SetDataRequest{Path: "/m", Data: []byte("x"), Version: 0})
	if err != nil || len(res) != 2 {
		t.Fatalf("multi: got %v %v", res, err)
	}
	_, err = c.Multi(&zk.CreateRequest{Path: "/m2", Acl: acl}, &zk.DeleteRequest{Path: "/nope", Version: -1})
	if err == nil {
		t.Fatal("multi with a failing op succeeded")
	}
	if ok, _, _ := c.Exists("/m2"); ok {
		t.Fatal("failed multi left /m2 behind")
	}
	if _, err := c.Sync("/a"); err != nil {
		t.Errorf("sync: %v", err)
	}
}

func TestWatchEventPrecedesNewerRead(t *testing.T) {
	s := startServer(t)
	writer, _ := connect(t, s)
	reader := dialRaw(t, s)
	reader.handshake(proto.ConnectRequest{})
	if _, err := writer.Create("/w", []byte("0"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		var got proto.GetDataResponse
		if code := reader.call(proto.OpGetData, &proto.GetDataRequest{Path: "/w", Watch: true}, &got); code != proto.ErrOK {
			t.Fatal(code)
		}
		before := string(got.Data)
		if _, err := writer.Set("/w", []byte{byte('1' + i%9)}, -1); err != nil {
			t.Fatal(err)
		}
		// Poll until the read shows the change; the event must arrive first.
		for {
			xid := reader.send(proto.OpGetData, &proto.GetDataRequest{Path: "/w"})
			h, events := reader.reply(&got)
			if h.Xid != xid {
				t.Fatalf("xid %d, want %d", h.Xid, xid)
			}
			if string(got.Data) == before {
				if len(events) != 0 {
					break // event before the new data: fine
				}
				continue
			}
			if len(events) != 1 || events[0].Type != proto.EventNodeDataChanged {
				t.Fatalf("round %d: read showed the change without the event first (events %v)", i, events)
			}
			break
		}
	}
}

func TestSessionExpiryRemovesEphemerals(t *testing.T) {
	s := startServer(t)
	watcher, _ := connect(t, s)
	r := dialRaw(t, s)
	resp := r.handshake(proto.ConnectRequest{TimeOut: 400}) // clamped to minSessionTimeout = 2 ticks
	if resp.TimeOut != 400 {
		t.Fatalf("negotiated timeout: got %d, want 400", resp.TimeOut)
	}
	if code := r.call(proto.OpCreate, &proto.CreateRequest{Path: "/eph", ACL: proto.OpenACLUnsafe, Flags: proto.ModeEphemeral}, nil); code != proto.ErrOK {
		t.Fatal(code)
	}
	_, _, ch, err := watcher.ExistsW("/eph")
	if err != nil {
		t.Fatal(err)
	}
	// Stop pinging: the session must expire and its node go.
	select {
	case ev := <-ch:
		if ev.Type != zk.EventNodeDeleted {
			t.Fatalf("event: got %v", ev.Type)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ephemeral not removed 5s after its session's 400ms timeout")
	}
	if !r.closed(2 * time.Second) {
		t.Fatal("connection of the expired session still open")
	}
	// Resuming the expired session is refused the way ZooKeeper does it.
	r2 := dialRaw(t, s)
	if got := r2.handshake(proto.ConnectRequest{SessionID: r.session, Passwd: r.passwd}); got.TimeOut != 0 || got.SessionID != 0 {
		t.Fatalf("resume of expired session: got %+v, want zero timeout and id", got)
	}
}

// A leader whose expiry tick comes long after it was due (the process was
// stopped or starved) gives every session a full timeout again rather than
// expiring them all; an on-time tick past the deadlines expires them.
func TestExpiryAfterStallResetsDeadlines(t *testing.T) {
	s := startServer(t)
	r := dialRaw(t, s)
	r.handshake(proto.ConnectRequest{TimeOut: 4000})
	interval := s.opts.TickTime / 2
	alive := func() bool {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return s.fsm.Session(r.session) != nil
	}
	later := time.Now().Add(10 * time.Second) // past the 4s deadline
	s.expireDue(later, 10*time.Second, interval)
	time.Sleep(300 * time.Millisecond) // an expiry would have committed
	if !alive() {
		t.Fatal("a tick after a 10s stall expired the session")
	}
	s.expireDue(later.Add(5*time.Second), interval, interval)
	deadline := time.Now().Add(2 * time.Second)
	for alive() {
		if time.Now().After(deadline) {
			t.Fatal("an on-time tick 5s after the reset did not expire the 4s session")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestResumeSessionAndWrongPassword(t *testing.T) {
	s := startServer(t)
	r := dialRaw(t, s)
	r.handshake(proto.ConnectRequest{TimeOut: 4000})
	r.call(proto.OpCreate, &proto.CreateRequest{Path: "/e", ACL: proto.OpenACLUnsafe, Flags: proto.ModeEphemeral}, nil)
	bad := dialRaw(t, s)
	wrong := append([]byte(nil), r.passwd...)
	wrong[0] ^= 1
	if got := bad.handshake(proto.ConnectRequest{SessionID: r.session, Passwd: wrong}); got.SessionID != 0 || got.TimeOut != 0 {
		t.Fatalf("wrong password: got %+v", got)
	}
	r2 := dialRaw(t, s)
	got := r2.handshake(proto.ConnectRequest{SessionID: r.session, Passwd: r.passwd, TimeOut: 4000})
	if got.SessionID != r.session {
		t.Fatalf("resume: got session %#x, want %#x", got.SessionID, r.session)
	}
	if !r.closed(2 * time.Second) {
		t.Error("the session's old connection was not closed when it moved")
	}
	var eph proto.GetEphemeralsResponse
	if code := r2.call(proto.OpGetEphemerals, &proto.GetEphemeralsRequest{PrefixPath: "/"}, &eph); code != proto.ErrOK || !reflect.DeepEqual(eph.Ephemerals, []string{"/e"}) {
		t.Fatalf("ephemerals after resume: got %v %v", code, eph.Ephemerals)
	}
	// A client that has seen a newer zxid than the server is refused.
	r3 := dialRaw(t, s)
	var w = proto.ConnectRequest{LastZxidSeen: 1 << 60, TimeOut: 4000, Passwd: make([]byte, 16), HasReadOnly: true}
	var buf = encode(&w)
	r3.write(buf)
	if !r3.closed(2 * time.Second) {
		t.Fatal("client with a future zxid was served")
	}
}

func TestRawOnlyOperations(t *testing.T) {
	s := startServer(t)
	r := dialRaw(t, s)
	r.handshake(proto.ConnectRequest{})
	var c2 proto.Create2Response
	if code := r.call(proto.OpCreate2, &proto.CreateRequest{Path: "/r", Data: []byte("x"), ACL: proto.OpenACLUnsafe}, &c2); code != proto.ErrOK || c2.Path != "/r" || c2.Stat.DataLength != 1 {
		t.Fatalf("create2: got %v %+v", code, c2)
	}
	var ttl proto.Create2Response
	// Clients see no owner on TTL nodes and containers, as in ZooKeeper.
	if code := r.call(proto.OpCreateTTL, &proto.CreateTTLRequest{Path: "/ttl", ACL: proto.OpenACLUnsafe, Flags: proto.ModePersistentWithTTL, TTL: 60000}, &ttl); code != proto.ErrOK || ttl.Stat.EphemeralOwner != 0 {
		t.Fatalf("createTTL: got %v owner %#x", code, uint64(ttl.Stat.EphemeralOwner))
	}
	var who proto.WhoAmIResponse
	if code := r.call(proto.OpWhoAmI, nil, &who); code != proto.ErrOK || len(who.ClientInfo) != 1 || who.ClientInfo[0].AuthScheme != "ip" {
		t.Fatalf("whoAmI: got %v %+v", code, who)
	}
	r.send(proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte("bob:pw")}, proto.XidAuth)
	if h, _ := r.reply(nil); h.Err != proto.ErrOK || h.Xid != proto.XidAuth {
		t.Fatalf("auth: got %+v", h)
	}
	r.call(proto.OpWhoAmI, nil, &who)
	if len(who.ClientInfo) != 2 || who.ClientInfo[1] != (proto.ClientInfo{AuthScheme: "digest", User: "bob"}) {
		t.Fatalf("whoAmI after auth: got %+v", who.ClientInfo)
	}
	var mr proto.MultiResponse
	code := r.call(proto.OpMultiRead, &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpGetData, Op: &proto.GetDataRequest{Path: "/r"}},
		{Type: proto.OpGetChildren, Op: &proto.GetChildrenRequest{Path: "/nope"}},
		{Type: proto.OpGetChildren, Op: &proto.GetChildrenRequest{Path: "/zookeeper"}},
	}}, &mr)
	if code != proto.ErrOK || len(mr.Results) != 3 || mr.Results[1].Err != proto.ErrNoNode ||
		!reflect.DeepEqual(mr.Results[2].Resp.(*proto.GetChildrenResponse).Children, []string{"config", "quota"}) {
		t.Fatalf("multiRead: got %v %+v", code, mr.Results)
	}
	var n proto.GetAllChildrenNumberResponse
	if code := r.call(proto.OpGetAllChildrenNumber, &proto.GetAllChildrenNumberRequest{Path: "/zookeeper"}, &n); code != proto.ErrOK || n.TotalNumber != 2 {
		t.Fatalf("getAllChildrenNumber: got %v %d", code, n.TotalNumber)
	}
	if code := r.call(proto.OpReconfig, &proto.ReconfigRequest{CurConfigID: -1}, nil); code != proto.ErrReconfigDisabled {
		t.Fatalf("reconfig: got %v", code)
	}
	// Persistent recursive watch: sees creates below, but no child events.
	var ok proto.ErrorResponse
	if code := r.call(proto.OpAddWatch, &proto.AddWatchRequest{Path: "/r", Mode: proto.AddWatchPersistentRecursive}, &ok); code != proto.ErrOK {
		t.Fatalf("addWatch: %v", code)
	}
	r.send(proto.OpCreate, &proto.CreateRequest{Path: "/r/a", ACL: proto.OpenACLUnsafe})
	xid := r.send(proto.OpCreate, &proto.CreateRequest{Path: "/r/a/b", ACL: proto.OpenACLUnsafe})
	var events []proto.WatcherEvent
	for {
		h, evs := r.reply(nil)
		events = append(events, evs...)
		if h.Xid == xid {
			break
		}
	}
	want := []proto.WatcherEvent{
		{Type: proto.EventNodeCreated, State: proto.StateSyncConnected, Path: "/r/a"},
		{Type: proto.EventNodeCreated, State: proto.StateSyncConnected, Path: "/r/a/b"},
	}
	if !reflect.DeepEqual(events, want) {
		t.Fatalf("recursive watch events: got %+v, want %+v", events, want)
	}
	if code := r.call(proto.OpRemoveWatches, &proto.RemoveWatchesRequest{Path: "/r", Type: proto.WatcherPersistentRecursive}, nil); code != proto.ErrOK {
		t.Fatalf("removeWatches: %v", code)
	}
	if code := r.call(proto.OpCheckWatches, &proto.CheckWatchesRequest{Path: "/r", Type: proto.WatcherAny}, nil); code != proto.ErrNoWatcher {
		t.Fatalf("checkWatches after removal: got %v, want NoWatcher", code)
	}
}

func TestSetWatches2FiresMissedChanges(t *testing.T) {
	s := startServer(t)
	c, _ := connect(t, s)
	acl := zk.WorldACL(zk.PermAll)
	c.Create("/sw", []byte("a"), 0, acl)
	c.Create("/sw/kid", nil, 0, acl)
	_, st, _ := c.Get("/sw")
	rel := st.Pzxid
	c.Set("/sw", []byte("b"), -1)       // data changed after rel
	c.Create("/sw/kid2", nil, 0, acl)   // children changed after rel
	c.Create("/sw-exists", nil, 0, acl) // an exist watch on it fires NodeCreated
	r := dialRaw(t, s)
	r.handshake(proto.ConnectRequest{LastZxidSeen: rel})
	r.send(proto.OpSetWatches2, &proto.SetWatches2{
		RelativeZxid: rel, DataWatches: []string{"/sw", "/gone"}, ExistWatches: []string{"/sw-exists"},
		ChildWatches: []string{"/sw"}, PersistentWatches: []string{}, PersistentRecursiveWatches: []string{},
	}, proto.XidSetWatches)
	h, events := r.reply(nil)
	if h.Xid != proto.XidSetWatches || h.Err != proto.ErrOK {
		t.Fatalf("setWatches2 reply: %+v", h)
	}
	got := map[string]int32{}
	for _, e := range events {
		got[e.Path+"#"+proto.EventTypeName(e.Type)] = e.Type
	}
	for _, want := range []string{"/sw#NodeDataChanged", "/gone#NodeDeleted", "/sw-exists#NodeCreated", "/sw#NodeChildrenChanged"} {
		if _, ok := got[want]; !ok {
			t.Errorf("missing event %s; got %v", want, got)
		}
	}
}

// TestPipelinedReadSeesOnlyEarlierWrites sends write, read, write without
// waiting: the read must see the first write and not the second.
func TestPipelinedReadSeesOnlyEarlierWrites(t *testing.T) {
	s := startServer(t)
	r := dialRaw(t, s)
	r.handshake(proto.ConnectRequest{})
	r.call(proto.OpCreate, &proto.CreateRequest{Path: "/p", Data: []byte("0"), ACL: proto.OpenACLUnsafe}, nil)
	for i := 0; i < 200; i++ {
		first, second := []byte(fmt.Sprint("a", i)), []byte(fmt.Sprint("b", i))
		r.send(proto.OpSetData, &proto.SetDataRequest{Path: "/p", Data: first, Version: -1})
		readXid := r.send(proto.OpGetData, &proto.GetDataRequest{Path: "/p"})
		r.send(proto.OpSetData, &proto.SetDataRequest{Path: "/p", Data: second, Version: -1})
		r.reply(nil)
		var got proto.GetDataResponse
		if h, _ := r.reply(&got); h.Xid != readXid || string(got.Data) != string(first) {
			t.Fatalf("round %d: read (xid %d) got %q, want %q", i, h.Xid, got.Data, first)
		}
		r.reply(nil)
	}
}

// TestPingsKeepSessionAlive: a client that only pings must keep its session
// well past the timeout.
func TestPingsKeepSessionAlive(t *testing.T) {
	s := startServer(t)
	r := dialRaw(t, s)
	r.handshake(proto.ConnectRequest{TimeOut: 400})
	r.call(proto.OpCreate, &proto.CreateRequest{Path: "/alive", ACL: proto.OpenACLUnsafe, Flags: proto.ModeEphemeral}, nil)
	for i := 0; i < 12; i++ { // 12 x 100ms = 3 timeouts
		time.Sleep(100 * time.Millisecond)
		r.send(proto.OpPing, nil, proto.XidPing)
		if h, _ := r.reply(nil); h.Xid != proto.XidPing {
			t.Fatalf("ping reply: %+v", h)
		}
	}
	var st proto.ExistsResponse
	if code := r.call(proto.OpExists, &proto.ExistsRequest{Path: "/alive"}, &st); code != proto.ErrOK || st.Stat.EphemeralOwner != r.session {
		t.Fatalf("ephemeral of a pinging session: got %v owner %#x", code, st.Stat.EphemeralOwner)
	}
}

// TestRequestAnsweredWhileNextIsPartial sends a request followed by the
// first bytes of another: the first must be answered without waiting for
// the rest of the second (the read loop runs what it has once no whole
// frame is left to read), and the second once it is complete.
func TestRequestAnsweredWhileNextIsPartial(t *testing.T) {
	s := startServer(t)
	r := dialRaw(t, s)
	r.handshake(proto.ConnectRequest{})
	frame := func(xid int32, op proto.OpCode, body proto.Record) []byte {
		var w jute.Writer
		(&proto.RequestHeader{Xid: xid, Type: op}).Encode(&w)
		body.Encode(&w)
		return jute.AppendFrame(nil, w.Bytes())
	}
	first := frame(1, proto.OpCreate, &proto.CreateRequest{Path: "/split", Data: []byte("x"), ACL: proto.OpenACLUnsafe})
	second := frame(2, proto.OpGetData, &proto.GetDataRequest{Path: "/split"})
	for _, cut := range []int{2, 4, 9} { // inside the length, at its end, inside the body
		stream := append(append([]byte{}, first...), second[:cut]...)
		if _, err := r.nc.Write(stream); err != nil {
			t.Fatal(err)
		}
		r.nc.SetReadDeadline(time.Now().Add(3 * time.Second))
		if h, _ := r.reply(nil); h.Xid != 1 {
			t.Fatalf("cut %d: first reply xid %d, want 1", cut, h.Xid)
		}
		if _, err := r.nc.Write(second[cut:]); err != nil {
			t.Fatal(err)
		}
		var got proto.GetDataResponse
		if h, _ := r.reply(&got); h.Xid != 2 || h.Err != proto.ErrOK || string(got.Data) != "x" {
			t.Fatalf("cut %d: second reply %+v data %q", cut, h, got.Data)
		}
		first = frame(1, proto.OpSetData, &proto.SetDataRequest{Path: "/split", Data: []byte("x"), Version: -1})
	}
}

package fsm

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/internal/tree"
	"github.com/zkd-io/zkd/proto"
)

// harness applies entries at increasing indexes in term 1.
type harness struct {
	t     *testing.T
	f     *FSM
	index uint64
}

const sess = int64(0x100)

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, f: New(Options{ExtendedTypes: true, SuperDigest: tree.DigestID("super:pw")})}
	h.apply(&Entry{Session: sess, Op: proto.OpCreateSession, Timeout: 30000, Passwd: []byte("p")})
	return h
}

func (h *harness) apply(e *Entry) Result {
	h.t.Helper()
	h.index++
	if e.Time == 0 {
		e.Time = int64(h.index) * 1000
	}
	res, err := h.f.Apply(h.index, 1, e.Marshal())
	if err != nil {
		h.t.Fatalf("apply: %v", err)
	}
	return res
}

func (h *harness) req(op proto.OpCode, r proto.Record, auth ...proto.ID) Result {
	h.t.Helper()
	var w jute.Writer
	r.Encode(&w)
	return h.apply(&Entry{Session: sess, Op: op, Body: append([]byte(nil), w.Bytes()...), Auth: auth})
}

func (h *harness) create(path string, flags int32) Result {
	h.t.Helper()
	return h.req(proto.OpCreate2, &proto.CreateRequest{Path: path, Data: []byte("v"), ACL: proto.OpenACLUnsafe, Flags: flags})
}

func TestZxidsFollowTermAndCounter(t *testing.T) {
	h := newHarness(t)
	r := h.create("/a", 0)
	if r.Zxid != 1<<32|2 {
		t.Fatalf("zxid: got %#x, want 0x100000002", r.Zxid)
	}
	res, _ := h.f.Apply(h.index+1, 2, (&Entry{Session: sess, Op: proto.OpCreate, Body: body(&proto.CreateRequest{Path: "/b", ACL: proto.OpenACLUnsafe})}).Marshal())
	if res.Zxid != 2<<32|1 {
		t.Fatalf("zxid in new term: got %#x, want 0x200000001", res.Zxid)
	}
	// An empty entry (a new leader's) consumes no zxid.
	if r, _ := h.f.Apply(h.index+2, 3, nil); r.Zxid != 0 || h.f.LastZxid() != 2<<32|1 {
		t.Fatalf("empty entry: got zxid %#x, last %#x", r.Zxid, h.f.LastZxid())
	}
}

func body(r proto.Record) []byte {
	var w jute.Writer
	r.Encode(&w)
	return append([]byte(nil), w.Bytes()...)
}

func TestCreateErrorsInZooKeeperOrder(t *testing.T) {
	h := newHarness(t)
	h.create("/e", proto.ModeEphemeral)
	h.create("/p", 0)
	tests := []struct {
		name string
		req  proto.Record
		op   proto.OpCode
		want proto.ErrCode
	}{
		{"no parent", &proto.CreateRequest{Path: "/x/y", ACL: proto.OpenACLUnsafe}, proto.OpCreate, proto.ErrNoNode},
		{"relative path finds no parent", &proto.CreateRequest{Path: "a/b", ACL: proto.OpenACLUnsafe}, proto.OpCreate, proto.ErrNoNode},
		{"no slash at all", &proto.CreateRequest{Path: "ab", ACL: proto.OpenACLUnsafe}, proto.OpCreate, proto.ErrBadArguments},
		{"trailing slash", &proto.CreateRequest{Path: "/p/", ACL: proto.OpenACLUnsafe}, proto.OpCreate, proto.ErrBadArguments},
		{"invalid ACL before missing parent", &proto.CreateRequest{Path: "/x/y"}, proto.OpCreate, proto.ErrInvalidACL},
		{"exists", &proto.CreateRequest{Path: "/p", ACL: proto.OpenACLUnsafe}, proto.OpCreate, proto.ErrNodeExists},
		{"ephemeral parent", &proto.CreateRequest{Path: "/e/c", ACL: proto.OpenACLUnsafe}, proto.OpCreate, proto.ErrNoChildrenForEphemerals},
		{"bad flags", &proto.CreateRequest{Path: "/f", ACL: proto.OpenACLUnsafe, Flags: 9}, proto.OpCreate, proto.ErrBadArguments},
		{"ttl mode without ttl", &proto.CreateRequest{Path: "/f", ACL: proto.OpenACLUnsafe, Flags: proto.ModePersistentWithTTL}, proto.OpCreate, proto.ErrBadArguments},
		{"ttl on a plain mode", &proto.CreateTTLRequest{Path: "/f", ACL: proto.OpenACLUnsafe, TTL: 10}, proto.OpCreateTTL, proto.ErrBadArguments},
		{"ttl too large", &proto.CreateTTLRequest{Path: "/f", ACL: proto.OpenACLUnsafe, Flags: proto.ModePersistentWithTTL, TTL: tree.MaxTTL + 1}, proto.OpCreateTTL, proto.ErrBadArguments},
	}
	for _, tt := range tests {
		if got := h.req(tt.op, tt.req).Err; got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestTTLNeedsExtendedTypes(t *testing.T) {
	f := New(Options{})
	f.Apply(1, 1, (&Entry{Session: 1, Op: proto.OpCreateSession, Timeout: 1}).Marshal())
	res, _ := f.Apply(2, 1, (&Entry{Session: 1, Op: proto.OpCreateTTL, Body: body(&proto.CreateTTLRequest{
		Path: "/t", ACL: proto.OpenACLUnsafe, Flags: proto.ModePersistentWithTTL, TTL: 100})}).Marshal())
	if res.Err != proto.ErrUnimplemented {
		t.Fatalf("TTL without extendedTypesEnabled: got %v, want Unimplemented", res.Err)
	}
}

func TestSequentialNamesUseParentCversion(t *testing.T) {
	h := newHarness(t)
	h.create("/q", 0)
	var got []string
	for i := 0; i < 3; i++ {
		r := h.create("/q/n-", proto.ModePersistentSequential)
		got = append(got, r.Resp.(*proto.Create2Response).Path)
		if i == 0 {
			h.req(proto.OpDelete, &proto.DeleteRequest{Path: got[0], Version: -1})
		}
	}
	// The suffix counts creations only; deletes do not advance it (checked
	// against Apache ZooKeeper, which shows cversion 2 but names the next
	// node ...0001 after a create and a delete).
	want := []string{"/q/n-0000000000", "/q/n-0000000001", "/q/n-0000000002"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sequential names: got %v, want %v", got, want)
	}
}

func TestDeleteAndSetDataVersions(t *testing.T) {
	h := newHarness(t)
	h.create("/a", 0)
	h.create("/a/b", 0)
	if got := h.req(proto.OpDelete, &proto.DeleteRequest{Path: "/a", Version: -1}).Err; got != proto.ErrNotEmpty {
		t.Errorf("delete non-empty: got %v", got)
	}
	if got := h.req(proto.OpDelete, &proto.DeleteRequest{Path: "/zookeeper", Version: -1}).Err; got != proto.ErrBadArguments {
		t.Errorf("delete /zookeeper: got %v", got)
	}
	if got := h.req(proto.OpSetData, &proto.SetDataRequest{Path: "/a", Data: []byte("x"), Version: 3}).Err; got != proto.ErrBadVersion {
		t.Errorf("setData bad version: got %v", got)
	}
	r := h.req(proto.OpSetData, &proto.SetDataRequest{Path: "/a", Data: []byte("xy"), Version: 0})
	st := r.Resp.(*proto.SetDataResponse).Stat
	if r.Err != proto.ErrOK || st.Version != 1 || st.DataLength != 2 || st.Mzxid != r.Zxid {
		t.Errorf("setData: got %v %+v", r.Err, st)
	}
	if got := h.req(proto.OpSetData, &proto.SetDataRequest{Path: "/zookeeper/config", Data: []byte("x"), Version: -1}).Err; got != proto.ErrNoAuth {
		t.Errorf("setData on read-only config: got %v, want NoAuth", got)
	}
	if ev := h.req(proto.OpDelete, &proto.DeleteRequest{Path: "/a/b", Version: 0}).Events; !reflect.DeepEqual(ev, []Event{
		{proto.EventNodeDeleted, "/a/b"}, {proto.EventNodeChildrenChanged, "/a"}}) {
		t.Errorf("delete events: got %v", ev)
	}
}

func TestACLs(t *testing.T) {
	h := newHarness(t)
	bob := proto.ID{Scheme: "digest", ID: tree.DigestID("bob:pw")}
	r := h.req(proto.OpCreate, &proto.CreateRequest{Path: "/s", ACL: proto.CreatorAllACL}, bob)
	if r.Err != proto.ErrOK {
		t.Fatalf("create with creator ACL: %v", r.Err)
	}
	if got := h.req(proto.OpSetData, &proto.SetDataRequest{Path: "/s", Version: -1}).Err; got != proto.ErrNoAuth {
		t.Errorf("anonymous setData: got %v, want NoAuth", got)
	}
	if got := h.req(proto.OpSetData, &proto.SetDataRequest{Path: "/s", Version: -1}, bob).Err; got != proto.ErrOK {
		t.Errorf("owner setData: got %v", got)
	}
	super := proto.ID{Scheme: "digest", ID: tree.DigestID("super:pw")}
	if got := h.req(proto.OpSetACL, &proto.SetACLRequest{Path: "/s", ACL: proto.OpenACLUnsafe, Version: 0}, super).Err; got != proto.ErrOK {
		t.Errorf("super setACL: got %v", got)
	}
	if got := h.req(proto.OpSetACL, &proto.SetACLRequest{Path: "/s", ACL: proto.OpenACLUnsafe, Version: 0}).Err; got != proto.ErrBadVersion {
		t.Errorf("setACL stale aversion: got %v", got)
	}
	if got := h.req(proto.OpCreate, &proto.CreateRequest{Path: "/t", ACL: proto.CreatorAllACL}).Err; got != proto.ErrInvalidACL {
		t.Errorf("creator ACL without auth: got %v", got)
	}
	// getACL without ADMIN masks digests.
	h.req(proto.OpCreate, &proto.CreateRequest{Path: "/m", ACL: []proto.ACL{
		{Perms: proto.PermRead, ID: proto.WorldAnyone}, {Perms: proto.PermAll, ID: bob}}})
	resp, code := h.f.Read(proto.OpGetACL, &proto.GetACLRequest{Path: "/m"}, sess, nil)
	if code != proto.ErrOK || resp.(*proto.GetACLResponse).ACL[1].ID.ID != "bob:x" {
		t.Errorf("getACL masking: got %v %+v", code, resp)
	}
}

func TestMultiIsAllOrNothing(t *testing.T) {
	h := newHarness(t)
	h.create("/m", 0)
	m := &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreate, Op: &proto.CreateRequest{Path: "/m/a", ACL: proto.OpenACLUnsafe}},
		{Type: proto.OpSetData, Op: &proto.SetDataRequest{Path: "/m", Data: []byte("z"), Version: -1}},
		{Type: proto.OpCheck, Op: &proto.CheckVersionRequest{Path: "/m", Version: 7}},
		{Type: proto.OpDelete, Op: &proto.DeleteRequest{Path: "/m/a", Version: -1}},
	}}
	before := h.f.Tree().Get("/m").Stat()
	r := h.req(proto.OpMulti, m)
	if r.Err != proto.ErrOK || len(r.Events) != 0 {
		t.Fatalf("failed multi: header err %v events %v", r.Err, r.Events)
	}
	var codes []proto.ErrCode
	for _, res := range r.Resp.(*proto.MultiResponse).Results {
		codes = append(codes, res.Err)
	}
	if want := []proto.ErrCode{proto.ErrOK, proto.ErrOK, proto.ErrBadVersion, proto.ErrRuntimeInconsistency}; !reflect.DeepEqual(codes, want) {
		t.Fatalf("multi result codes: got %v, want %v", codes, want)
	}
	if h.f.Tree().Get("/m/a") != nil || h.f.Tree().Get("/m").Stat() != before {
		t.Fatal("failed multi left changes behind")
	}
	m.Ops[2].Op = &proto.CheckVersionRequest{Path: "/m", Version: 1}
	r = h.req(proto.OpMulti, m)
	for i, res := range r.Resp.(*proto.MultiResponse).Results {
		if res.Err != proto.ErrOK || res.Type != m.Ops[i].Type {
			t.Errorf("op %d: got %v %v", i, res.Type, res.Err)
		}
	}
	// create: created + children; setData: data; check: none; delete: deleted + children.
	if len(r.Events) != 5 {
		t.Errorf("successful multi events: got %d, want 5: %v", len(r.Events), r.Events)
	}
}

func TestCloseSessionRemovesEphemerals(t *testing.T) {
	h := newHarness(t)
	h.create("/e1", proto.ModeEphemeral)
	h.create("/e2", proto.ModeEphemeralSequential)
	r := h.apply(&Entry{Session: sess, Op: proto.OpCloseSession})
	if r.Closed != sess || len(r.Events) != 4 {
		t.Fatalf("close: got closed %#x events %v", r.Closed, r.Events)
	}
	if h.f.Tree().Get("/e1") != nil || h.f.Session(sess) != nil {
		t.Fatal("ephemeral or session survived close")
	}
	if got := h.create("/x", 0).Err; got != proto.ErrSessionExpired {
		t.Fatalf("request from a closed session: got %v, want SessionExpired", got)
	}
}

func TestDeleteExpired(t *testing.T) {
	h := newHarness(t)
	h.req(proto.OpCreateContainer, &proto.CreateRequest{Path: "/c", ACL: proto.OpenACLUnsafe, Flags: proto.ModeContainer})
	if r := h.apply(&Entry{Op: OpDeleteExpired, Path: "/c"}); r.Err == proto.ErrOK {
		t.Fatal("a container that never had children must stay")
	}
	h.create("/c/x", 0)
	h.req(proto.OpDelete, &proto.DeleteRequest{Path: "/c/x", Version: -1})
	if r := h.apply(&Entry{Op: OpDeleteExpired, Path: "/c"}); r.Err != proto.ErrOK || h.f.Tree().Get("/c") != nil {
		t.Fatalf("empty container: got %v", r.Err)
	}
	h.req(proto.OpCreateTTL, &proto.CreateTTLRequest{Path: "/t", ACL: proto.OpenACLUnsafe, Flags: proto.ModePersistentWithTTL, TTL: 5000})
	mtime := h.f.Tree().Get("/t").Mtime
	if r := h.apply(&Entry{Op: OpDeleteExpired, Path: "/t", Time: mtime + 100}); r.Err == proto.ErrOK {
		t.Fatal("TTL node deleted before its TTL")
	}
	if r := h.apply(&Entry{Op: OpDeleteExpired, Path: "/t", Time: mtime + 5001}); r.Err != proto.ErrOK {
		t.Fatalf("expired TTL node: got %v", r.Err)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	h := newHarness(t)
	bob := proto.ID{Scheme: "digest", ID: "bob:h"}
	for i := 0; i < 300; i++ {
		h.create(fmt.Sprintf("/n%03d", i), 0)
	}
	h.req(proto.OpCreate, &proto.CreateRequest{Path: "/n000/s", ACL: proto.CreatorAllACL}, bob)
	h.create("/eph", proto.ModeEphemeral)
	h.apply(&Entry{Origin: 3, Session: 0x300, Op: proto.OpCreateSession, Timeout: 5000, Passwd: []byte("q")})
	var buf bytes.Buffer
	want := dumpFSM(h.f)
	write := h.f.Snapshot()
	h.create("/after-capture", 0) // must not appear in the snapshot
	h.req(proto.OpSetData, &proto.SetDataRequest{Path: "/n001", Data: []byte("changed"), Version: -1})
	if err := write(&buf); err != nil {
		t.Fatal(err)
	}
	g := New(Options{})
	if err := g.Restore(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if g.Tree().Get("/after-capture") != nil {
		t.Fatal("snapshot saw a change made after the capture")
	}
	if got := dumpFSM(g); got != want {
		t.Fatalf("restored state differs from the captured one:\n%s\n---\n%s", got, want)
	}
	if got := g.Tree().Ephemerals(sess); !reflect.DeepEqual(got, []string{"/eph"}) {
		t.Fatalf("ephemeral index after restore: got %v", got)
	}
	// Every truncation of the stream must fail cleanly.
	for _, n := range []int{0, 10, 100, len(buf.Bytes()) / 2, len(buf.Bytes()) - 1} {
		if err := New(Options{}).Restore(bytes.NewReader(buf.Bytes()[:n])); err == nil {
			t.Errorf("restore of %d/%d bytes succeeded", n, buf.Len())
		}
	}
}

func dumpFSM(f *FSM) string {
	s := fmt.Sprintf("zxid %#x digest %#x\n", f.LastZxid(), f.Digest())
	for _, ss := range f.Sessions() {
		s += fmt.Sprintf("session %#x %d %x owner %d\n", ss.ID, ss.Timeout, ss.Passwd, ss.Owner)
	}
	f.Tree().Walk(func(n *tree.Node) bool {
		s += fmt.Sprintf("%s %q %+v %v\n", n.Path(), n.Data(), n.Stat(), n.ACL())
		return true
	})
	return s
}

func FuzzEntryUnmarshal(f *testing.F) {
	f.Add((&Entry{Session: 1, Op: proto.OpCreate, Body: []byte{1, 2}, Auth: []proto.ID{{Scheme: "ip", ID: "x"}}}).Marshal())
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Entry
		if e.Unmarshal(b) == nil {
			var again Entry
			if err := again.Unmarshal(e.Marshal()); err != nil {
				t.Fatalf("re-decoding a decoded entry: %v", err)
			}
		}
	})
}

func FuzzRestore(f *testing.F) {
	h := newHarness(&testing.T{})
	h.create("/a", 0)
	var buf bytes.Buffer
	h.f.Snapshot()(&buf)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = New(Options{}).Restore(bytes.NewReader(b))
	})
}

func TestMovedSessionRefusesWritesFromItsOldServer(t *testing.T) {
	h := newHarness(t)
	const owned = int64(0x200)
	h.apply(&Entry{Origin: 1, Session: owned, Op: proto.OpCreateSession, Timeout: 30000, Passwd: []byte("p")})
	write := func(origin uint64, path string) proto.ErrCode {
		t.Helper()
		return h.apply(&Entry{Origin: origin, Session: owned, Op: proto.OpCreate,
			Body: body(&proto.CreateRequest{Path: path, ACL: proto.OpenACLUnsafe})}).Err
	}
	if got := write(1, "/a"); got != proto.ErrOK {
		t.Fatalf("write from the owner: got %v, want OK", got)
	}
	if got := write(2, "/b"); got != proto.ErrSessionMoved {
		t.Fatalf("write from another server: got %v, want SessionMoved", got)
	}
	if r := h.apply(&Entry{Origin: 2, Session: owned, Op: OpMoveSession}); r.Err != proto.ErrOK {
		t.Fatalf("move: got %v", r.Err)
	}
	if got, want := h.f.Session(owned).Owner, uint64(2); got != want {
		t.Fatalf("owner after the move: got %d, want %d", got, want)
	}
	if got := write(1, "/c"); got != proto.ErrSessionMoved {
		t.Fatalf("write through the old server: got %v, want SessionMoved", got)
	}
	if got := write(2, "/c"); got != proto.ErrOK {
		t.Fatalf("write through the new owner: got %v, want OK", got)
	}
	// The leader expires sessions it does not own: closing skips the
	// owner check, as in ZooKeeper.
	if r := h.apply(&Entry{Origin: 3, Session: owned, Op: proto.OpCloseSession}); r.Closed != owned {
		t.Fatalf("close by another server: got closed %#x", r.Closed)
	}
	if r := h.apply(&Entry{Origin: 2, Session: owned, Op: OpMoveSession}); r.Err != proto.ErrSessionExpired {
		t.Fatalf("moving a closed session: got %v, want SessionExpired", r.Err)
	}
}

// An expiry counts only in the term its leader proposed it in: one that a
// deposed leader proposed and the new leader committed leaves the session
// open.
func TestExpireSessionOnlyInItsTerm(t *testing.T) {
	h := newHarness(t)
	const sess = 0x77
	h.apply(&Entry{Session: sess, Op: proto.OpCreateSession, Timeout: 4000, Passwd: make([]byte, 16)})
	// The harness commits everything in term 1.
	if r := h.apply(&Entry{Origin: 2, Session: sess, Op: OpExpireSession, Body: ExpiryBody(0)}); r.Closed != 0 || r.Err != proto.ErrBadArguments {
		t.Fatalf("stale expiry: got closed %#x err %v, want nothing closed and BadArguments", r.Closed, r.Err)
	}
	if h.f.Session(sess) == nil {
		t.Fatal("a stale expiry closed the session")
	}
	if r := h.apply(&Entry{Origin: 2, Session: sess, Op: OpExpireSession, Body: []byte{1}}); r.Closed != 0 {
		t.Fatalf("malformed expiry closed %#x", r.Closed)
	}
	if r := h.apply(&Entry{Origin: 2, Session: sess, Op: OpExpireSession, Body: ExpiryBody(1)}); r.Closed != sess {
		t.Fatalf("current expiry: got closed %#x, want %#x", r.Closed, sess)
	}
	if h.f.Session(sess) != nil {
		t.Fatal("the session survived its expiry")
	}
}

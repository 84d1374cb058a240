package fsm

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
	pb "google.golang.org/protobuf/proto"

	"github.com/zkd-io/zkd/internal/tree"
	"github.com/zkd-io/zkd/proto"
)

// snapshotOf serialises f's state now.
func snapshotOf(t *testing.T, f *FSM) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := f.Snapshot()(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// stateOf is dumpFSM without the zxid line: what a restore must reproduce.
func stateOf(f *FSM) string {
	d := dumpFSM(f)
	return d[strings.IndexByte(d, '\n')+1:]
}

func (h *harness) restore(snap []byte) Result {
	h.t.Helper()
	return h.apply(&Entry{Origin: 1, ReqID: 9, Op: OpRestore, Body: snap})
}

func TestRestoreOpReplacesTreeAndSessions(t *testing.T) {
	h := newHarness(t)
	h.create("/keep", 0)
	h.create("/keep/child", 0)
	h.create("/eph", proto.ModeEphemeral)
	h.req(proto.OpSetData, &proto.SetDataRequest{Path: "/keep", Data: []byte("v2"), Version: -1})
	snap := snapshotOf(t, h.f)
	want, wantDigest := stateOf(h.f), h.f.Digest()
	keep := h.f.Tree().Get("/keep").Stat()
	snapZxid, peekDigest, ok := PeekSnapshot(snap)
	if !ok || snapZxid != h.f.LastZxid() || peekDigest != wantDigest {
		t.Fatalf("PeekSnapshot: got zxid %#x digest %#x ok %v, want %#x %#x true", snapZxid, peekDigest, ok, h.f.LastZxid(), wantDigest)
	}

	// Change everything a restore must undo: nodes, data, a new session,
	// and the session owning /eph closed (taking /eph with it).
	h.create("/later", 0)
	h.req(proto.OpDelete, &proto.DeleteRequest{Path: "/keep/child", Version: -1})
	h.req(proto.OpSetData, &proto.SetDataRequest{Path: "/keep", Data: []byte("v3"), Version: -1})
	h.apply(&Entry{Session: 0x777, Op: proto.OpCreateSession, Timeout: 9000, Passwd: []byte("n")})
	h.apply(&Entry{Session: sess, Op: proto.OpCloseSession})
	if stateOf(h.f) == want {
		t.Fatal("the changes did not change the state")
	}
	before := h.f.LastZxid()

	res := h.restore(snap)
	if res.Err != proto.ErrOK || res.Reason != "" {
		t.Fatalf("restore: got %v %q, want OK", res.Err, res.Reason)
	}
	if got := stateOf(h.f); got != want {
		t.Errorf("restored state:\n%s\nwant:\n%s", got, want)
	}
	if h.f.Digest() != wantDigest {
		t.Errorf("digest: got %#x, want %#x", h.f.Digest(), wantDigest)
	}
	// The log's zxid goes on: the restore entry has the next one.
	if res.Zxid != before+1 || h.f.LastZxid() != res.Zxid {
		t.Errorf("zxids: got entry %#x last %#x, want both %#x", res.Zxid, h.f.LastZxid(), before+1)
	}
	if h.f.AppliedIndex() != h.index {
		t.Errorf("applied index: got %d, want %d", h.f.AppliedIndex(), h.index)
	}
	if got := h.f.Tree().Get("/keep").Stat(); got != keep {
		t.Errorf("/keep stat: got %+v, want the snapshot's %+v", got, keep)
	}
	if res.Op != OpRestore || res.Origin != 1 || res.ReqID != 9 {
		t.Errorf("routing: got op %v origin %d req %d", res.Op, res.Origin, res.ReqID)
	}
	// The restored session works again; the one created after does not.
	if r := h.create("/after", 0); r.Err != proto.ErrOK {
		t.Errorf("create in a restored session: got %v", r.Err)
	}
	if h.f.Session(0x777) != nil {
		t.Errorf("session 0x777, created after the snapshot, survived the restore")
	}

	// The state after a restore snapshots and restores like any other.
	g := New(h.f.opts)
	if err := g.Restore(bytes.NewReader(snapshotOf(t, h.f))); err != nil {
		t.Fatal(err)
	}
	if dumpFSM(g) != dumpFSM(h.f) {
		t.Errorf("snapshot after restore:\n%s\nwant:\n%s", dumpFSM(g), dumpFSM(h.f))
	}
}

func TestRestoreOpIsDeterministic(t *testing.T) {
	src := newHarness(t)
	for _, p := range []string{"/a", "/b", "/a/c"} {
		src.create(p, 0)
	}
	snap := snapshotOf(t, src.f)
	var dumps []string
	for range 2 {
		h := newHarness(t)
		h.create("/x", 0)
		h.restore(snap)
		h.create("/y", 0)
		dumps = append(dumps, dumpFSM(h.f))
	}
	if dumps[0] != dumps[1] {
		t.Fatalf("two servers applying the same log differ:\n%s\n---\n%s", dumps[0], dumps[1])
	}
}

// craft returns the snapshot of a fresh harness state changed by mutate,
// which may break what Snapshot's own output always holds.
func craft(t *testing.T, mutate func(h *harness)) []byte {
	h := newHarness(t)
	h.create("/p", 0)
	h.create("/e", proto.ModeEphemeral)
	mutate(h)
	return snapshotOf(t, h.f)
}

// insert adds a node under an existing parent, keeping the parent's child
// count right unless told not to.
func insert(h *harness, path string, owner int64, countIt bool) {
	t := h.f.tree
	if countIt {
		parent := t.Get(tree.Parent(path))
		st := parent.PersistedStat()
		st.NumChildren++
		t.Insert(parent.Path(), parent.Data(), parent.ACL(), st)
	}
	t.Insert(path, []byte("x"), proto.OpenACLUnsafe, proto.Stat{EphemeralOwner: owner})
}

func TestRestoreOpRefusesBadSnapshots(t *testing.T) {
	good := craft(t, func(*harness) {})
	flipped := bytes.Clone(good)
	flipped[len(flipped)-20] ^= 0xff // inside the last node chunk or the end
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"empty", nil, "does not start with a zkd snapshot header"},
		{"not a snapshot", []byte("hello, world"), "does not start with a zkd snapshot header"},
		{"truncated", good[:len(good)/2], "snapshot: reading nodes"},
		{"corrupt byte", flipped, "differs from the"},
		{"node count off", craft(t, func(h *harness) {
			n := h.f.tree.Get("/p")
			st := n.PersistedStat()
			st.NumChildren = 3
			h.f.tree.Insert("/p", n.Data(), n.ACL(), st)
		}), `node "/p" says it has 3 children, it has 0`},
		{"orphan ephemeral", craft(t, func(h *harness) { delete(h.f.sessions, sess) }), "not in its session table"},
		{"ephemeral with a child", craft(t, func(h *harness) { insert(h, "/e/c", 0, true) }), `ephemeral node "/e" has children`},
		{"invalid path", craft(t, func(h *harness) { insert(h, "/bad\x01name", 0, true) }), "invalid"},
		{"no quota node", craft(t, func(h *harness) { h.f.tree.Delete(h.f.tree.Get(tree.QuotaPath), 1) }), "no /zookeeper/quota node"},
		{"session id 0", craft(t, func(h *harness) { h.f.sessions[0] = &Session{Timeout: 1} }), "session with id 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.create("/live", 0)
			before, digest := stateOf(h.f), h.f.Digest()
			err := CheckRestore(h.f.opts, tt.body)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckRestore: got %v, want an error containing %q", err, tt.want)
			}
			res := h.restore(tt.body)
			if res.Err != proto.ErrBadArguments || res.Reason != err.Error() {
				t.Errorf("apply: got %v %q, want BadArguments %q", res.Err, res.Reason, err)
			}
			if stateOf(h.f) != before || h.f.Digest() != digest {
				t.Errorf("a refused restore changed the state")
			}
			if res.Zxid != h.f.LastZxid() || res.Zxid == 0 {
				t.Errorf("a refused restore: zxid %#x, last %#x; want it to take the next zxid", res.Zxid, h.f.LastZxid())
			}
		})
	}

	h := newHarness(t)
	if res := h.apply(&Entry{Session: sess, Op: OpRestore, Body: good}); res.Err != proto.ErrBadArguments {
		t.Errorf("restore from a client session: got %v, want BadArguments", res.Err)
	}
	if h.f.Tree().Get("/p") != nil {
		t.Errorf("restore from a client session was applied")
	}
}

func TestRestoreOpSizeLimit(t *testing.T) {
	big := make([]byte, MaxRestoreBytes+1)
	err := CheckRestore(Options{}, big)
	if !errors.Is(err, ErrRestoreTooLarge) || !strings.Contains(err.Error(), "63 MiB") {
		t.Fatalf("over the limit: got %v, want ErrRestoreTooLarge naming 63 MiB", err)
	}
	// A restore entry as big as allowed, inside a raft append carrying it
	// alone with every header field at its widest, must fit the peer
	// transport's 64 MiB frame (internal/transport's maxFrame). Sizes are
	// computed from a 2 MiB body: every length prefix at or above 2 MiB
	// has the same width, so the rest adds byte for byte.
	const small, transportFrame = 2 << 20, 64 << 20
	e := &Entry{Origin: math.MaxUint64, ReqID: math.MaxUint64, Time: math.MaxInt64, Op: OpRestore, Body: make([]byte, small)}
	max64 := pb.Uint64(math.MaxUint64)
	m := &raftpb.Message{
		Type: raftpb.MessageType_MsgApp.Enum(), To: max64, From: max64, Term: max64, LogTerm: max64, Index: max64, Commit: max64,
		Entries: []*raftpb.Entry{{Term: max64, Index: max64, Type: raftpb.EntryType_EntryNormal.Enum(), Data: e.Marshal()}},
	}
	size := pb.Size(m) + MaxRestoreBytes - small
	if size > transportFrame-(64<<10) {
		t.Errorf("a %d-byte restore makes a %d-byte raft message; want at least 64 KiB below the transport's %d", MaxRestoreBytes, size, transportFrame)
	}
}

func TestRestoreOpConfigNode(t *testing.T) {
	ensembleCfg := []byte("server.1=127.0.0.1:1:2:participant;127.0.0.1:3\nversion=0")
	other := New(Options{Config: ensembleCfg})
	snap := snapshotOf(t, other)
	fresh := tree.New().Get(tree.ConfigPath)
	tests := []struct {
		name string
		opts Options
		want []byte
	}{
		{"standalone gets its own empty config node", Options{}, fresh.Data()},
		{"a member gets its own membership", Options{Config: []byte("server.9=h:1:2:participant;h:3\nversion=0")}, []byte("server.9=h:1:2:participant;h:3\nversion=0")},
	}
	for _, tt := range tests {
		f := New(tt.opts)
		want := stateOf(f)
		if _, err := f.Apply(1, 1, (&Entry{Op: OpRestore, Body: snap}).Marshal()); err != nil {
			t.Fatal(err)
		}
		n := f.Tree().Get(tree.ConfigPath)
		if n == nil || !bytes.Equal(n.Data(), tt.want) {
			t.Errorf("%s: config node %v, want data %q", tt.name, n, tt.want)
			continue
		}
		// Restoring an empty tree gives back the server's fresh state.
		if got := stateOf(f); got != want {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.name, got, want)
		}
	}
}

package client

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/zkd-io/zkd/proto"
)

var open = proto.OpenACLUnsafe

func TestCreateModes(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.Addr().String())
	ctx := bg(t)
	tests := []struct {
		name      string
		path      string
		mode      CreateMode
		ttl       time.Duration
		wantPath  string
		ephemeral bool
	}{
		{"persistent", "/p", ModePersistent, 0, "/p", false},
		{"ephemeral", "/e", ModeEphemeral, 0, "/e", true},
		{"persistent sequential", "/ps-", ModePersistentSequential, 0, "/ps-0000000002", false},
		{"ephemeral sequential", "/es-", ModeEphemeralSequential, 0, "/es-0000000003", true},
		{"container", "/c", ModeContainer, 0, "/c", false},
		{"ttl", "/t", ModePersistentWithTTL, time.Hour, "/t", false},
		{"ttl sequential", "/ts-", ModePersistentSequentialWithTTL, time.Hour, "/ts-0000000006", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			var st *proto.Stat
			var err error
			if tc.ttl > 0 {
				got, st, err = c.CreateTTL(ctx, tc.path, []byte("d"), open, tc.mode, tc.ttl)
			} else {
				got, st, err = c.Create2(ctx, tc.path, []byte("d"), open, tc.mode)
			}
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if got != tc.wantPath {
				t.Errorf("path: got %q, want %q", got, tc.wantPath)
			}
			if (st.EphemeralOwner == c.SessionID()) != tc.ephemeral {
				t.Errorf("ephemeralOwner: got %#x, session %#x, want ephemeral=%v", st.EphemeralOwner, c.SessionID(), tc.ephemeral)
			}
			if st.DataLength != 1 || st.Version != 0 || st.Czxid == 0 {
				t.Errorf("stat: got %+v, want dataLength 1, version 0, czxid set", st)
			}
		})
	}
	// Plain create (no stat) in each non-TTL mode.
	for i, mode := range []CreateMode{ModePersistent, ModeEphemeral, ModePersistentSequential, ModeEphemeralSequential, ModeContainer} {
		p := "/plain" + string(rune('a'+i))
		got, err := c.Create(ctx, p, nil, open, mode)
		if err != nil {
			t.Fatalf("Create(%v): %v", mode, err)
		}
		if !mode.Sequential() && got != p {
			t.Errorf("Create(%v): got %q, want %q", mode, got, p)
		}
	}
	eph, err := c.GetEphemerals(ctx, "/")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(eph)
	want := []string{"/e", "/es-0000000003", "/plainb", "/plaind0000000010"}
	if !slices.Equal(eph, want) {
		t.Errorf("GetEphemerals(/): got %q, want %q", eph, want)
	}
	if eph, _ := c.GetEphemerals(ctx, "/es"); !slices.Equal(eph, []string{"/es-0000000003"}) {
		t.Errorf("GetEphemerals(/es): got %q, want [/es-0000000003]", eph)
	}
}

func TestDataOps(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.Addr().String())
	ctx := bg(t)
	if _, err := c.Create(ctx, "/a", []byte("one"), open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	data, st, err := c.Get(ctx, "/a")
	if err != nil || string(data) != "one" || st.Version != 0 {
		t.Fatalf("Get: got %q %+v %v, want one, version 0", data, st, err)
	}
	st, err = c.Set(ctx, "/a", []byte("two"), 0)
	if err != nil || st.Version != 1 {
		t.Fatalf("Set: got %+v %v, want version 1", st, err)
	}
	if _, err := c.Set(ctx, "/a", []byte("x"), 0); !errors.Is(err, proto.ErrBadVersion) {
		t.Fatalf("Set with stale version: got %v, want BadVersion", err)
	}
	st, err = c.Exists(ctx, "/a")
	if err != nil || st == nil || st.Version != 1 {
		t.Fatalf("Exists(/a): got %+v %v, want version 1", st, err)
	}
	st, err = c.Exists(ctx, "/nope")
	if err != nil || st != nil {
		t.Fatalf("Exists(/nope): got %+v %v, want nil, nil", st, err)
	}
	// Null and empty data stay distinct on the wire but both read as empty.
	if _, err := c.Set(ctx, "/a", nil, -1); err != nil {
		t.Fatal(err)
	}
	if data, _, _ := c.Get(ctx, "/a"); len(data) != 0 {
		t.Errorf("Get after nil Set: got %q, want empty", data)
	}
	for _, n := range []string{"x", "y", "z"} {
		if _, err := c.Create(ctx, "/a/"+n, nil, open, ModePersistent); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Create(ctx, "/a/x/deep", nil, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	kids, err := c.Children(ctx, "/a")
	slices.Sort(kids)
	if err != nil || !slices.Equal(kids, []string{"x", "y", "z"}) {
		t.Fatalf("Children: got %q %v, want [x y z]", kids, err)
	}
	kids, st, err = c.Children2(ctx, "/a")
	if err != nil || len(kids) != 3 || st.NumChildren != 3 {
		t.Fatalf("Children2: got %q %+v %v, want 3 children", kids, st, err)
	}
	if n, err := c.GetAllChildrenNumber(ctx, "/a"); err != nil || n != 4 {
		t.Fatalf("GetAllChildrenNumber: got %d %v, want 4", n, err)
	}
	if err := c.Sync(ctx, "/a"); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	wantCode(t, "Delete non-empty", c.Delete(ctx, "/a", -1), proto.ErrNotEmpty)
	wantCode(t, "Delete bad version", c.Delete(ctx, "/a/y", 5), proto.ErrBadVersion)
	wantCode(t, "Delete", c.Delete(ctx, "/a/y", 0), proto.ErrOK)
	wantCode(t, "Delete again", c.Delete(ctx, "/a/y", -1), proto.ErrNoNode)
}

func TestACLAndAuth(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.Addr().String())
	ctx := bg(t)
	if _, err := c.Create(ctx, "/acl", []byte("v"), open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	acl, st, err := c.GetACL(ctx, "/acl")
	if err != nil || !slices.Equal(acl, open) || st.Aversion != 0 {
		t.Fatalf("GetACL: got %v %+v %v, want world:anyone:cdrwa, aversion 0", acl, st, err)
	}
	st, err = c.SetACL(ctx, "/acl", proto.ReadACLUnsafe, 0)
	if err != nil || st.Aversion != 1 {
		t.Fatalf("SetACL: got %+v %v, want aversion 1", st, err)
	}
	if _, err := c.Set(ctx, "/acl", []byte("w"), -1); !errors.Is(err, proto.ErrNoAuth) {
		t.Fatalf("Set on read-only ACL: got %v, want NoAuth", err)
	}
	if _, err := c.SetACL(ctx, "/acl", nil, -1); !errors.Is(err, proto.ErrInvalidACL) {
		t.Fatalf("SetACL(nil): got %v, want InvalidACL", err)
	}
	if err := c.AddAuth(ctx, "digest", []byte("alice:secret")); err != nil {
		t.Fatalf("AddAuth: %v", err)
	}
	ids, err := c.WhoAmI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ids, proto.ClientInfo{AuthScheme: "digest", User: "alice"}) {
		t.Errorf("WhoAmI: got %v, want digest:alice among them", ids)
	}
	if _, err := c.Create(ctx, "/mine", nil, proto.CreatorAllACL, ModePersistent); err != nil {
		t.Fatalf("create with creator ACL: %v", err)
	}
	other := connect(t, s.Addr().String())
	if _, _, err := other.Get(ctx, "/mine"); !errors.Is(err, proto.ErrNoAuth) {
		t.Fatalf("Get by another session: got %v, want NoAuth", err)
	}
}

func TestErrors(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.Addr().String())
	ctx := bg(t)
	if _, err := c.Create(ctx, "/e", nil, open, ModeEphemeral); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, "/x", nil, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	create := func(p string, mode CreateMode) error {
		_, err := c.Create(ctx, p, nil, open, mode)
		return err
	}
	tests := []struct {
		name string
		err  error
		code proto.ErrCode
		is   error
	}{
		{"exists", create("/x", ModePersistent), proto.ErrNodeExists, nil},
		{"no parent", create("/none/child", ModePersistent), proto.ErrNoNode, nil},
		{"ephemeral parent", create("/e/child", ModePersistent), proto.ErrNoChildrenForEphemerals, nil},
		{"relative path", create("x", ModePersistent), 0, proto.ErrInvalidPath},
		{"trailing slash", create("/x/", ModePersistent), 0, proto.ErrInvalidPath},
		{"sequential trailing slash is fine", create("/x/", ModePersistentSequential), proto.ErrOK, nil},
		{"unknown mode", create("/y", CreateMode(42)), 0, ErrBadArguments},
		{"ttl mode without ttl", create("/y", ModePersistentWithTTL), 0, ErrBadArguments},
		{"empty acl", func() error { _, err := c.Create(ctx, "/y", nil, nil, ModePersistent); return err }(), proto.ErrInvalidACL, nil},
		{"ttl on plain mode", func() error {
			_, _, err := c.CreateTTL(ctx, "/y", nil, open, ModePersistent, time.Second)
			return err
		}(), 0, ErrBadArguments},
		{"zero ttl", func() error {
			_, _, err := c.CreateTTL(ctx, "/y", nil, open, ModePersistentWithTTL, 0)
			return err
		}(), 0, ErrBadArguments},
		{"get missing", func() error { _, _, err := c.Get(ctx, "/nope"); return err }(), proto.ErrNoNode, nil},
		{"children missing", func() error { _, err := c.Children(ctx, "/nope"); return err }(), proto.ErrNoNode, nil},
		{"acl missing", func() error { _, _, err := c.GetACL(ctx, "/nope"); return err }(), proto.ErrNoNode, nil},
		{"count missing", func() error { _, err := c.GetAllChildrenNumber(ctx, "/nope"); return err }(), proto.ErrNoNode, nil},
		{"remove no watch", c.RemoveWatches(ctx, "/x", WatcherAny, false), proto.ErrNoWatcher, nil},
		{"bad watcher type", c.RemoveWatches(ctx, "/x", WatcherType(9), false), 0, ErrBadArguments},
		{"bad add watch mode", func() error { _, err := c.AddWatch(ctx, "/x", AddWatchMode(7)); return err }(), 0, ErrBadArguments},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.is != nil {
				if !errors.Is(tc.err, tc.is) {
					t.Fatalf("got %v, want an error matching %v", tc.err, tc.is)
				}
				return
			}
			wantCode(t, tc.name, tc.err, tc.code)
			if tc.code != proto.ErrOK {
				if got := CodeOf(tc.err); got != tc.code {
					t.Errorf("CodeOf: got %v, want %v", got.Name(), tc.code.Name())
				}
				var e *Error
				if !errors.As(tc.err, &e) {
					t.Errorf("got %T, want *Error", tc.err)
				}
			}
		})
	}
	// The message names the op, the path and ZooKeeper's text.
	_, _, err := c.Get(ctx, "/nope")
	if got, want := err.Error(), "zk: getData /nope: NoNode"; got != want {
		t.Errorf("message: got %q, want %q", got, want)
	}
}

func TestMulti(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.Addr().String(), WithSessionTimeout(4*time.Second))
	ctx := bg(t)
	res, err := c.Multi(ctx,
		CreateOp("/m", []byte("a"), open, ModePersistent),
		CreateOp("/m/s-", nil, open, ModePersistentSequential),
		CreateTTLOp("/m/ttl", nil, open, ModePersistentWithTTL, time.Hour),
		SetDataOp("/m", []byte("b"), 0),
		CheckOp("/m", 1),
		DeleteOp("/m/ttl", -1),
	)
	if err != nil {
		t.Fatalf("Multi: %v", err)
	}
	if len(res) != 6 || res[1].Path != "/m/s-0000000000" || res[3].Stat == nil || res[3].Stat.Version != 1 {
		t.Fatalf("Multi results: got %+v, want 6 with /m/s-0000000000 and version 1", res)
	}
	if res[0].Type != proto.OpCreate || res[2].Type != proto.OpCreate2 || res[5].Type != proto.OpDelete {
		t.Errorf("result types: got %v %v %v, want create create2 delete", res[0].Type, res[2].Type, res[5].Type)
	}
	// A failing op rolls everything back and names itself.
	res, err = c.Multi(ctx,
		CreateOp("/m/new", nil, open, ModePersistent),
		CheckOp("/m", 7),
		DeleteOp("/m", -1),
	)
	if !errors.Is(err, proto.ErrBadVersion) {
		t.Fatalf("failing Multi: got %v, want BadVersion", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Path != "/m" || e.Op != proto.OpCheck {
		t.Errorf("failing Multi error: got %#v, want check /m", err)
	}
	if len(res) != 3 || res[0].Err != nil || !errors.Is(res[2].Err, proto.ErrRuntimeInconsistency) {
		t.Errorf("failing Multi results: got %+v, want ok, BadVersion, RuntimeInconsistency", res)
	}
	if st, _ := c.Exists(ctx, "/m/new"); st != nil {
		t.Errorf("/m/new exists after a failed multi")
	}
	// MultiRead: per-op results.
	res, err = c.MultiRead(ctx, GetDataOp("/m"), GetChildrenOp("/m"), GetDataOp("/missing"))
	if err != nil {
		t.Fatalf("MultiRead: %v", err)
	}
	if string(res[0].Data) != "b" || !slices.Equal(res[1].Children, []string{"s-0000000000"}) || !errors.Is(res[2].Err, proto.ErrNoNode) {
		t.Errorf("MultiRead: got %+v, want data b, [s-0000000000], NoNode", res)
	}
	// Mixing reads and writes is refused before sending.
	if _, err := c.Multi(ctx, GetDataOp("/m")); !errors.Is(err, ErrBadArguments) {
		t.Errorf("Multi with a read: got %v, want ErrBadArguments", err)
	}
	if _, err := c.Multi(ctx, CreateOp("bad", nil, open, ModePersistent)); !errors.Is(err, proto.ErrInvalidPath) {
		t.Errorf("Multi with a bad path: got %v, want ErrInvalidPath", err)
	}
	if res, err := c.Multi(ctx); err != nil || len(res) != 0 {
		t.Errorf("empty Multi: got %v %v, want no results", res, err)
	}
}

func TestChroot(t *testing.T) {
	s := startServer(t)
	root := connect(t, s.Addr().String())
	ctx := bg(t)
	if _, err := root.Create(ctx, "/app", nil, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	c := connect(t, s.Addr().String()+"/app")
	if c.Chroot() != "/app" {
		t.Fatalf("Chroot: got %q, want /app", c.Chroot())
	}
	p, err := c.Create(ctx, "/q-", []byte("x"), open, ModeEphemeralSequential)
	if err != nil || p != "/q-0000000000" {
		t.Fatalf("Create under chroot: got %q %v, want /q-0000000000", p, err)
	}
	if data, _, err := root.Get(ctx, "/app/q-0000000000"); err != nil || string(data) != "x" {
		t.Fatalf("node seen from the root: got %q %v", data, err)
	}
	kids, err := c.Children(ctx, "/")
	if err != nil || !slices.Equal(kids, []string{"q-0000000000"}) {
		t.Fatalf("Children(/) under chroot: got %q %v", kids, err)
	}
	eph, err := c.GetEphemerals(ctx, "/")
	if err != nil || !slices.Equal(eph, []string{"/q-0000000000"}) {
		t.Fatalf("GetEphemerals under chroot: got %q %v, want [/q-0000000000]", eph, err)
	}
	_, wch, err := c.ChildrenW(ctx, "/")
	if err != nil {
		t.Fatal(err)
	}
	_, dch, err := c.ExistsW(ctx, "/later")
	if err != nil {
		t.Fatal(err)
	}
	rch, err := c.AddWatch(ctx, "/", AddWatchPersistentRecursive)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Create(ctx, "/app/later", nil, open, ModePersistent); err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		ch   <-chan Event
		want Event
	}{
		{dch, Event{Type: EventNodeCreated, State: StateSyncConnected, Path: "/later"}},
		{wch, Event{Type: EventNodeChildrenChanged, State: StateSyncConnected, Path: "/"}},
		{rch, Event{Type: EventNodeCreated, State: StateSyncConnected, Path: "/later"}},
	} {
		ev, _ := nextEvent(t, w.ch, 5*time.Second)
		ev.Zxid = 0
		if ev != w.want {
			t.Errorf("event: got %v, want %v", ev, w.want)
		}
	}
	res, err := c.Multi(ctx, CreateOp("/m", nil, open, ModePersistent))
	if err != nil || res[0].Path != "/m" {
		t.Fatalf("Multi under chroot: got %+v %v, want path /m", res, err)
	}
	if err := c.Sync(ctx, "/"); err != nil {
		t.Fatalf("Sync(/) under chroot: %v", err)
	}
}

func TestParseConnectString(t *testing.T) {
	tests := []struct {
		in     string
		hosts  []string
		chroot string
		bad    bool
	}{
		{"h1:2181", []string{"h1:2181"}, "", false},
		{"h1,h2:2182", []string{"h1:2181", "h2:2182"}, "", false},
		{"h1:1, h2:2 /app/x", []string{"h1:1", "h2:2"}, "/app/x", false},
		{"127.0.0.1:2181/", []string{"127.0.0.1:2181"}, "", false},
		{"[::1]:2181,[::1]", []string{"[::1]:2181", "[::1]:2181"}, "", false},
		{"::1", []string{"[::1]:2181"}, "", false},
		{"h1:2181/app/", nil, "", true},
		{"", nil, "", true},
		{"/app", nil, "", true},
		{"h1:port", nil, "", true},
		{":2181", nil, "", true},
	}
	for _, tc := range tests {
		hosts, chroot, err := ParseConnectString(tc.in)
		if tc.bad {
			if !errors.Is(err, ErrBadConnectString) {
				t.Errorf("ParseConnectString(%q): got %v %q %v, want ErrBadConnectString", tc.in, hosts, chroot, err)
			}
			continue
		}
		if err != nil || !slices.Equal(hosts, tc.hosts) || chroot != tc.chroot {
			t.Errorf("ParseConnectString(%q): got %q %q %v, want %q %q", tc.in, hosts, chroot, err, tc.hosts, tc.chroot)
		}
	}
}

func TestEventString(t *testing.T) {
	tests := []struct {
		ev   Event
		want string
	}{
		{Event{Type: EventNodeCreated, State: StateSyncConnected, Path: "/a"}, "WatchedEvent state:SyncConnected type:NodeCreated path:/a"},
		{Event{Type: EventNone, State: StateClosed}, "WatchedEvent state:Closed type:None path:null"},
	}
	for _, tc := range tests {
		if got := tc.ev.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	if !bytes.Equal([]byte(ModeEphemeralSequential.String()), []byte("EPHEMERAL_SEQUENTIAL")) {
		t.Errorf("CreateMode.String: got %q", ModeEphemeralSequential.String())
	}
}

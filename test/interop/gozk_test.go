//go:build interop

package interop

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd-io/zkd/test/harness"
)

// gozkWait bounds every wait of the go-zookeeper suite.
const gozkWait = 20 * time.Second

// ensembleGoZk runs the go-zookeeper (github.com/go-zookeeper/zk) checks.
// Each works under its own root znode; the ones that kill servers restart
// them before they return.
// Each check is a row of the results table, except failover, whose two
// cases are rows of their own.
func ensembleGoZk(t *testing.T, env *ensembleEnv) {
	for _, tc := range []struct {
		name, scenario string
		run            func(t *testing.T, e *harness.Ensemble)
	}{
		{"crud", "CRUD, stats and errors", gozkCRUD},
		{"multi", "multi", gozkMulti},
		{"watches", "watches across servers", gozkWatches},
		{"ttl", "TTL nodes", gozkTTL},
		{"container", "container nodes", gozkContainer},
		{"auth", "digest auth and ACLs", gozkAuth},
		{"config", "getConfig (/zookeeper/config)", gozkConfig},
		{"lock", "Lock recipe, 4 clients, leader killed", gozkLock},
		{"failover", "", gozkFailover},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.scenario != "" {
				report(t, env.e.Kind, gozkClientName, tc.scenario)
			}
			tc.run(t, env.e)
		})
		restoreEnsemble(t, env.e)
	}
}

// gozkClientName is the client column of the go-zookeeper rows.
const gozkClientName = "go-zookeeper"

// gozkClient is a go-zookeeper connection with a record of the watch
// notifications the server sent it (all of them, including ones no local
// watcher waits for) and of its state changes.
type gozkClient struct {
	*zk.Conn
	name string

	mu     sync.Mutex
	events []zk.Event // node events, in arrival order
	states []zk.State
	log    []string // the client library's log, printed when the test fails
}

func (c *gozkClient) record(ev zk.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ev.Type == zk.EventSession {
		c.states = append(c.states, ev.State)
		return
	}
	c.events = append(c.events, ev)
}

// Printf is the client library's logger; it keeps the last lines.
func (c *gozkClient) Printf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
	if len(c.log) > 200 {
		c.log = c.log[len(c.log)-200:]
	}
}

// nodeEvents returns "type path" for each node event so far.
func (c *gozkClient) nodeEvents() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, ev := range c.events {
		out = append(out, ev.Type.String()+" "+ev.Path)
	}
	return out
}

func (c *gozkClient) sawState(s zk.State) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.states, s)
}

// pinnedHosts is a HostProvider that tries the servers in the given order
// (go-zookeeper shuffles them otherwise), so a test knows which server a
// client starts on and where it fails over to.
type pinnedHosts struct {
	mu      sync.Mutex
	servers []string
	curr    int
	last    int
}

func (p *pinnedHosts) Init([]string) error { p.curr, p.last = -1, -1; return nil }
func (p *pinnedHosts) Len() int            { return len(p.servers) }
func (p *pinnedHosts) Next() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.curr = (p.curr + 1) % len(p.servers)
	retryStart := p.curr == p.last
	if p.last == -1 {
		p.last = 0
	}
	return p.servers[p.curr], retryStart
}
func (p *pinnedHosts) Connected() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = p.curr
}

// gozkConnect opens a session with the servers, tried in the given order,
// waits until it is established and closes it when the test ends.
func gozkConnect(t *testing.T, name string, servers []string, timeout time.Duration) *gozkClient {
	t.Helper()
	c := &gozkClient{name: name}
	conn, _, err := zk.Connect(servers, timeout,
		zk.WithHostProvider(&pinnedHosts{servers: servers}),
		zk.WithLogger(c),
		zk.WithEventCallback(c.record))
	if err != nil {
		t.Fatalf("%s: zk.Connect(%v): %v", name, servers, err)
	}
	c.Conn = conn
	t.Cleanup(func() {
		conn.Close()
		if t.Failed() {
			c.mu.Lock()
			t.Logf("%s: go-zookeeper log:\n%s", name, strings.Join(c.log, "\n"))
			c.mu.Unlock()
		}
	})
	waitFor(t, name+": session established", func() bool { return conn.State() == zk.StateHasSession })
	return c
}

// rotate returns addrs starting at index i, so clients spread over servers.
func rotate(addrs []string, i int) []string {
	i %= len(addrs)
	return append(append([]string(nil), addrs[i:]...), addrs[:i]...)
}

// waitFor polls cond every 20ms until it holds or gozkWait passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(gozkWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, gozkWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitEvent waits for one event on a watch channel.
func waitEvent(t *testing.T, what string, ch <-chan zk.Event) zk.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(gozkWait):
		t.Fatalf("%s: no watch event within %v", what, gozkWait)
		return zk.Event{}
	}
}

func wantEvent(t *testing.T, what string, ch <-chan zk.Event, typ zk.EventType, path string) {
	t.Helper()
	ev := waitEvent(t, what, ch)
	if ev.Type != typ || ev.Path != path || ev.Err != nil {
		t.Errorf("%s: got event %v %q (err %v), want %v %q", what, ev.Type, ev.Path, ev.Err, typ, path)
	}
}

func wantErr(t *testing.T, what string, got, want error) {
	t.Helper()
	if !errors.Is(got, want) {
		t.Errorf("%s: got error %v, want %v", what, got, want)
	}
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

var openACL = zk.WorldACL(zk.PermAll)

// sync makes c's server catch up with the leader, as a client must before
// reading another session's writes on another server.
func (c *gozkClient) sync(t *testing.T, path string) {
	t.Helper()
	if _, err := c.Sync(path); err != nil {
		t.Fatalf("%s: sync %s: %v", c.name, path, err)
	}
}

func gozkCRUD(t *testing.T, e *harness.Ensemble) {
	addrs := e.Addrs()
	c := gozkConnect(t, "writer", rotate(addrs, 0), 10*time.Second)
	r := gozkConnect(t, "reader", rotate(addrs, 1), 10*time.Second)
	const root = "/gozk-crud"
	must[string](t, "create root")(c.Create(root, nil, 0, openACL))

	if got := must[string](t, "create a")(c.Create(root+"/a", []byte("v0"), 0, openACL)); got != root+"/a" {
		t.Errorf("create: got path %q, want %q", got, root+"/a")
	}
	r.sync(t, root)
	data, st, err := r.Get(root + "/a")
	if err != nil || string(data) != "v0" || st.Version != 0 || st.DataLength != 2 || st.NumChildren != 0 ||
		st.Czxid != st.Mzxid || st.EphemeralOwner != 0 || st.Ctime != st.Mtime || st.Ctime == 0 {
		t.Errorf("get a: got %q %+v %v, want \"v0\" version 0, dataLength 2, czxid=mzxid, ctime=mtime", data, st, err)
	}
	st1, err := c.Set(root+"/a", []byte("value-1"), 0)
	if err != nil || st1.Version != 1 || st1.DataLength != 7 || st1.Mzxid <= st.Mzxid || st1.Czxid != st.Czxid {
		t.Errorf("set a version 0: got %+v %v, want version 1, dataLength 7, mzxid above %d", st1, err, st.Mzxid)
	}
	_, err = c.Set(root+"/a", []byte("x"), 0)
	wantErr(t, "set a version 0 again", err, zk.ErrBadVersion)
	_, err = c.Create(root+"/a", nil, 0, openACL)
	wantErr(t, "create a again", err, zk.ErrNodeExists)
	_, err = c.Create(root+"/missing/x", nil, 0, openACL)
	wantErr(t, "create under missing parent", err, zk.ErrNoNode)
	wantErr(t, "delete a version 5", c.Delete(root+"/a", 5), zk.ErrBadVersion)
	wantErr(t, "delete non-empty root", c.Delete(root, -1), zk.ErrNotEmpty)
	_, _, err = c.Get(root + "/missing")
	wantErr(t, "get missing", err, zk.ErrNoNode)
	_, err = c.Set(root+"/missing", nil, -1)
	wantErr(t, "set missing", err, zk.ErrNoNode)
	wantErr(t, "delete missing", c.Delete(root+"/missing", -1), zk.ErrNoNode)
	if ok, st, err := c.Exists(root + "/missing"); ok || err != nil || st == nil {
		t.Errorf("exists missing: got %v %v, want false and no error", ok, err)
	}

	// Sequential names count the parent's children ever created.
	for i, want := range []string{root + "/s-0000000001", root + "/s-0000000002"} {
		if got, err := c.Create(root+"/s-", nil, zk.FlagSequence, openACL); got != want || err != nil {
			t.Errorf("sequential create %d: got %q %v, want %q", i, got, err, want)
		}
	}
	// Ephemerals belong to the session and cannot have children.
	must[string](t, "create ephemeral")(c.Create(root+"/e", []byte("eph"), zk.FlagEphemeral, openACL))
	_, err = c.Create(root+"/e/child", nil, 0, openACL)
	wantErr(t, "child of ephemeral", err, zk.ErrNoChildrenForEphemerals)
	prot := must[string](t, "protected ephemeral sequential")(c.CreateProtectedEphemeralSequential(root+"/p-", nil, openACL))
	if !strings.HasPrefix(prot, root+"/_c_") || !strings.HasSuffix(prot, "-p-0000000004") {
		t.Errorf("protected ephemeral sequential: got %q, want %s/_c_<guid>-p-0000000004", prot, root)
	}
	r.sync(t, root)
	if _, st, err := r.Get(root + "/e"); err != nil || st.EphemeralOwner != c.SessionID() {
		t.Errorf("reader sees ephemeral: got %+v %v, want owner %#x", st, err, c.SessionID())
	}
	children, st, err := r.Children(root)
	slices.Sort(children)
	wantChildren := []string{prot[len(root)+1:], "a", "e", "s-0000000001", "s-0000000002"}
	slices.Sort(wantChildren)
	if err != nil || !reflect.DeepEqual(children, wantChildren) || st.NumChildren != 5 || st.Cversion != 5 {
		t.Errorf("children: got %v %+v %v, want %v numChildren 5 cversion 5", children, st, err, wantChildren)
	}

	// 512 KiB round trip, and empty data.
	big := bytes.Repeat([]byte("0123456789abcdef"), 32*1024)
	must[string](t, "create big")(c.Create(root+"/big", big, 0, openACL))
	r.sync(t, root)
	if got, st, err := r.Get(root + "/big"); err != nil || !bytes.Equal(got, big) || int(st.DataLength) != len(big) {
		t.Errorf("get big: got %d bytes (dataLength %d) %v, want %d", len(got), st.DataLength, err, len(big))
	}
	must[string](t, "create empty")(c.Create(root+"/empty", nil, 0, openACL))
	if got, st, err := c.Get(root + "/empty"); err != nil || len(got) != 0 || st.DataLength != 0 {
		t.Errorf("get empty: got %q %+v %v, want no data", got, st, err)
	}

	// Closing the session removes its ephemerals, seen from the other server.
	c.Close()
	r.sync(t, root)
	for _, p := range []string{root + "/e", prot} {
		if ok, _, err := r.Exists(p); ok || err != nil {
			t.Errorf("exists %s after its session closed: got %v %v, want false", p, ok, err)
		}
	}
	wantErr(t, "delete a version 1", r.Delete(root+"/a", 1), nil)
	for _, p := range []string{"/big", "/empty", "/s-0000000001", "/s-0000000002", ""} {
		wantErr(t, "cleanup "+root+p, r.Delete(root+p, -1), nil)
	}
}

func gozkMulti(t *testing.T, e *harness.Ensemble) {
	c := gozkConnect(t, "multi", e.Addrs(), 10*time.Second)
	const root = "/gozk-multi"
	must[string](t, "create root")(c.Create(root, nil, 0, openACL))
	must[string](t, "create x")(c.Create(root+"/x", []byte("x0"), 0, openACL))

	res, err := c.Multi(
		&zk.CreateRequest{Path: root + "/new", Data: []byte("n"), Acl: openACL},
		&zk.SetDataRequest{Path: root + "/x", Data: []byte("x1"), Version: 0},
		&zk.CheckVersionRequest{Path: root + "/x", Version: 1}, // sees the set before it
		&zk.CreateRequest{Path: root + "/seq-", Acl: openACL, Flags: zk.FlagSequence},
		&zk.DeleteRequest{Path: root + "/new", Version: 0},
	)
	if err != nil || len(res) != 5 {
		t.Fatalf("multi: got %d results, error %v; want 5 results, no error", len(res), err)
	}
	for i, r := range res {
		if r.Error != nil {
			t.Errorf("multi result %d: got error %v, want none", i, r.Error)
		}
	}
	if res[0].String != root+"/new" || res[3].String != root+"/seq-0000000002" || res[1].Stat == nil || res[1].Stat.Version != 1 {
		t.Errorf("multi results: got create %q, seq %q, set stat %+v; want %q, %q, version 1", res[0].String, res[3].String, res[1].Stat, root+"/new", root+"/seq-0000000002")
	}
	if ok, _, _ := c.Exists(root + "/new"); ok {
		t.Errorf("multi: %s/new exists, want deleted by the same multi", root)
	}

	// A failing op rolls back every op: the ones before it report OK
	// (rolled back), the failing one its error, the ones after it
	// RuntimeInconsistency; the call returns the failing op's error.
	res, err = c.Multi(
		&zk.CreateRequest{Path: root + "/b", Acl: openACL},
		&zk.SetDataRequest{Path: root + "/x", Data: []byte("changed"), Version: -1},
		&zk.CheckVersionRequest{Path: root + "/x", Version: 7},
		&zk.CreateRequest{Path: root + "/c", Acl: openACL},
	)
	wantErr(t, "failing multi", err, zk.ErrBadVersion)
	var got []string
	for _, r := range res {
		got = append(got, fmt.Sprint(r.Error))
	}
	want := []string{"<nil>", "<nil>", zk.ErrBadVersion.Error(), "unknown error: -2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("failing multi results: got %q, want %q", got, want)
	}
	for _, p := range []string{"/b", "/c"} {
		if ok, _, _ := c.Exists(root + p); ok {
			t.Errorf("failing multi: %s%s exists, want rolled back", root, p)
		}
	}
	if data, st, err := c.Get(root + "/x"); err != nil || string(data) != "x1" || st.Version != 1 {
		t.Errorf("failing multi: x is %q version %d (%v), want \"x1\" version 1", data, st.Version, err)
	}
	_, err = c.Multi(&zk.DeleteRequest{Path: root + "/missing", Version: -1})
	wantErr(t, "multi deleting a missing node", err, zk.ErrNoNode)
	_, err = c.Multi(&zk.CreateRequest{Path: root + "/x", Acl: openACL})
	wantErr(t, "multi creating an existing node", err, zk.ErrNodeExists)
	_, err = c.Multi(&zk.DeleteRequest{Path: root, Version: -1})
	wantErr(t, "multi deleting a non-empty node", err, zk.ErrNotEmpty)

	_, err = c.Multi(
		&zk.DeleteRequest{Path: root + "/x", Version: 1},
		&zk.DeleteRequest{Path: root + "/seq-0000000002", Version: 0},
		&zk.DeleteRequest{Path: root, Version: -1},
	)
	wantErr(t, "multi deleting the tree bottom-up", err, nil)
}

// gozkWatches sets watches through one server and writes through another:
// a watch fires once, on the watcher's own server, before the watcher can
// read the new data, and the server sends nothing else.
func gozkWatches(t *testing.T, e *harness.Ensemble) {
	addrs := e.Addrs()
	w := gozkConnect(t, "watcher", rotate(addrs, 0), 10*time.Second)
	c := gozkConnect(t, "writer", rotate(addrs, 1), 10*time.Second)
	const root = "/gozk-watch"
	must[string](t, "create root")(c.Create(root, nil, 0, openACL))
	w.sync(t, root)

	ok, _, created, err := w.ExistsW(root + "/n")
	if ok || err != nil {
		t.Fatalf("existsW n: got %v %v, want false", ok, err)
	}
	_, _, children, err := w.ChildrenW(root)
	if err != nil {
		t.Fatalf("childrenW root: %v", err)
	}
	must[string](t, "create n")(c.Create(root+"/n", []byte("0"), 0, openACL))
	wantEvent(t, "exists watch", created, zk.EventNodeCreated, root+"/n")
	wantEvent(t, "child watch", children, zk.EventNodeChildrenChanged, root)

	_, _, changed, err := w.GetW(root + "/n")
	if err != nil {
		t.Fatalf("getW n: %v", err)
	}
	must[*zk.Stat](t, "set n 1")(c.Set(root+"/n", []byte("1"), -1))
	wantEvent(t, "data watch", changed, zk.EventNodeDataChanged, root+"/n")
	// The event comes before the watcher can read the change: no sync.
	if data, _, err := w.Get(root + "/n"); err != nil || string(data) != "1" {
		t.Errorf("get after the data event: got %q %v, want \"1\"", data, err)
	}
	must[*zk.Stat](t, "set n 2")(c.Set(root+"/n", []byte("2"), -1)) // the watch fired: no event
	w.sync(t, root)                                                 // or the next watches could see set n 2

	// One delete fires the node's exists and data watches (one
	// notification) and the parent's child watch.
	_, _, deleted, err := w.ExistsW(root + "/n")
	if err != nil {
		t.Fatalf("existsW n: %v", err)
	}
	_, _, dataGone, err := w.GetW(root + "/n")
	if err != nil {
		t.Fatalf("getW n: %v", err)
	}
	_, _, children, err = w.ChildrenW(root)
	if err != nil {
		t.Fatalf("childrenW root: %v", err)
	}
	wantErr(t, "delete n", c.Delete(root+"/n", -1), nil)
	wantEvent(t, "exists watch on delete", deleted, zk.EventNodeDeleted, root+"/n")
	wantEvent(t, "data watch on delete", dataGone, zk.EventNodeDeleted, root+"/n")
	wantEvent(t, "child watch on delete", children, zk.EventNodeChildrenChanged, root)

	// A child watch on a node that is deleted fires NodeDeleted.
	must[string](t, "create m")(c.Create(root+"/m", nil, 0, openACL))
	w.sync(t, root)
	_, _, mChildren, err := w.ChildrenW(root + "/m")
	if err != nil {
		t.Fatalf("childrenW m: %v", err)
	}
	wantErr(t, "delete m", c.Delete(root+"/m", -1), nil)
	wantEvent(t, "child watch of a deleted node", mChildren, zk.EventNodeDeleted, root+"/m")

	// Everything the server sent, in order: nothing twice, nothing extra.
	must[*zk.Stat](t, "set root")(c.Set(root, []byte("x"), -1)) // no watch on root's data
	w.sync(t, root)
	wantAll := []string{
		"EventNodeCreated " + root + "/n",
		"EventNodeChildrenChanged " + root,
		"EventNodeDataChanged " + root + "/n",
		"EventNodeDeleted " + root + "/n",
		"EventNodeChildrenChanged " + root,
		"EventNodeDeleted " + root + "/m",
	}
	if got := w.nodeEvents(); !reflect.DeepEqual(got, wantAll) {
		t.Errorf("notifications the watcher's server sent: got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantAll, "\n"))
	}
	if got := c.nodeEvents(); len(got) != 0 {
		t.Errorf("notifications to the writer (it set no watches): got %q, want none", got)
	}
	wantErr(t, "delete root", c.Delete(root, -1), nil)
}

// gozkTTL needs the servers to look for expired nodes every containerCheck.
func gozkTTL(t *testing.T, e *harness.Ensemble) {
	c := gozkConnect(t, "ttl", e.Addrs(), 10*time.Second)
	const root = "/gozk-ttl"
	const ttl = time.Second
	must[string](t, "create root")(c.Create(root, nil, 0, openACL))

	start := time.Now()
	must[string](t, "create ttl node")(c.CreateTTL(root+"/t", []byte("t"), zk.FlagTTL, openACL, ttl))
	must[string](t, "create ttl node with a child")(c.CreateTTL(root+"/parent", nil, zk.FlagTTL, openACL, ttl))
	must[string](t, "create child")(c.Create(root+"/parent/child", nil, 0, openACL))
	seq := must[string](t, "create sequential ttl node")(c.CreateTTL(root+"/s-", nil, zk.FlagPersistentSequentialWithTTL, openACL, time.Hour))
	if seq != root+"/s-0000000002" {
		t.Errorf("sequential ttl node: got %q, want %q", seq, root+"/s-0000000002")
	}
	_, err := c.CreateTTL(root+"/zero", nil, zk.FlagTTL, openACL, 0)
	wantErr(t, "ttl 0", err, zk.ErrBadArguments)
	if ok, _, err := c.Exists(root + "/t"); !ok || err != nil {
		t.Errorf("ttl node right after create: got exists %v %v, want true", ok, err)
	}

	waitFor(t, "ttl node removed", func() bool {
		ok, _, err := c.Exists(root + "/t")
		return err == nil && !ok
	})
	if took := time.Since(start); took < ttl {
		t.Errorf("ttl node removed after %v, before its ttl of %v", took, ttl)
	}
	// A TTL node with children stays; it goes once they are gone.
	time.Sleep(3 * containerCheck)
	if ok, _, err := c.Exists(root + "/parent"); !ok || err != nil {
		t.Errorf("expired ttl node with a child: got exists %v %v, want true", ok, err)
	}
	wantErr(t, "delete child", c.Delete(root+"/parent/child", -1), nil)
	waitFor(t, "childless expired ttl node removed", func() bool {
		ok, _, err := c.Exists(root + "/parent")
		return err == nil && !ok
	})
	if ok, _, err := c.Exists(seq); !ok || err != nil {
		t.Errorf("ttl node with an hour to live: got exists %v %v, want true", ok, err)
	}
	wantErr(t, "delete sequential ttl node", c.Delete(seq, -1), nil)
	wantErr(t, "delete root", c.Delete(root, -1), nil)
}

func gozkContainer(t *testing.T, e *harness.Ensemble) {
	c := gozkConnect(t, "container", e.Addrs(), 10*time.Second)
	owner := gozkConnect(t, "owner", e.Addrs(), 10*time.Second)
	const root = "/gozk-container"
	must[string](t, "create root")(c.Create(root, nil, 0, openACL))

	must[string](t, "create container")(c.CreateContainer(root+"/c", []byte("c"), zk.FlagContainer, openACL))
	must[string](t, "create unused container")(c.CreateContainer(root+"/unused", nil, zk.FlagContainer, openACL))
	must[string](t, "create child")(c.Create(root+"/c/child", nil, 0, openACL))
	owner.sync(t, root)
	must[string](t, "create ephemeral in container")(owner.Create(root+"/c/eph", nil, zk.FlagEphemeral, openACL))
	time.Sleep(3 * containerCheck)
	if ok, _, err := c.Exists(root + "/c"); !ok || err != nil {
		t.Errorf("container with children: got exists %v %v, want true", ok, err)
	}
	wantErr(t, "delete child", c.Delete(root+"/c/child", -1), nil)
	owner.Close() // the last child goes with its session
	waitFor(t, "emptied container removed", func() bool {
		ok, _, err := c.Exists(root + "/c")
		return err == nil && !ok
	})
	// A container that never had children stays (ZooKeeper removes those
	// only with znode.container.maxNeverUsedIntervalMs set).
	if ok, _, err := c.Exists(root + "/unused"); !ok || err != nil {
		t.Errorf("never-used container: got exists %v %v, want true", ok, err)
	}
	wantErr(t, "delete unused container", c.Delete(root+"/unused", -1), nil)
	wantErr(t, "delete root", c.Delete(root, -1), nil)
}

func gozkAuth(t *testing.T, e *harness.Ensemble) {
	addrs := e.Addrs()
	alice := gozkConnect(t, "alice", rotate(addrs, 0), 10*time.Second)
	anon := gozkConnect(t, "anonymous", rotate(addrs, 1), 10*time.Second)
	wrong := gozkConnect(t, "wrong password", rotate(addrs, 2), 10*time.Second)
	const root = "/gozk-auth"
	must[string](t, "create root")(alice.Create(root, nil, 0, openACL))
	wantErr(t, "alice add_auth", alice.AddAuth("digest", []byte("alice:secret")), nil)
	wantErr(t, "wrong add_auth", wrong.AddAuth("digest", []byte("alice:wrong")), nil)

	p := root + "/private"
	must[string](t, "create with digest ACL")(alice.Create(p, []byte("mine"), 0, zk.DigestACL(zk.PermAll, "alice", "secret")))
	anon.sync(t, root)
	wrong.sync(t, root)
	_, _, err := anon.Get(p)
	wantErr(t, "anonymous get", err, zk.ErrNoAuth)
	_, _, err = anon.GetACL(p)
	wantErr(t, "anonymous getACL", err, zk.ErrNoAuth)
	_, err = anon.Set(p, []byte("x"), -1)
	wantErr(t, "anonymous set", err, zk.ErrNoAuth)
	_, _, err = wrong.Get(p)
	wantErr(t, "wrong password get", err, zk.ErrNoAuth)
	if ok, _, err := anon.Exists(p); !ok || err != nil {
		t.Errorf("anonymous exists (needs no permission): got %v %v, want true", ok, err)
	}
	if data, _, err := alice.Get(p); err != nil || string(data) != "mine" {
		t.Errorf("alice get: got %q %v, want \"mine\"", data, err)
	}
	acl, st, err := alice.GetACL(p)
	wantACL := []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E="}}
	if err != nil || !reflect.DeepEqual(acl, wantACL) || st.Aversion != 0 {
		t.Errorf("alice getACL: got %+v aversion %d %v, want %+v aversion 0", acl, st.Aversion, err, wantACL)
	}

	// "auth" ACLs name the creator's authenticated ids; without any the
	// ACL is invalid. A reader without ADMIN permission sees digest ids
	// with the hash replaced by "x".
	_, err = anon.Create(root+"/anon-auth", nil, 0, zk.AuthACL(zk.PermAll))
	wantErr(t, "auth ACL without authentication", err, zk.ErrInvalidACL)
	must[string](t, "auth ACL")(alice.Create(root+"/alice-auth", nil, 0, zk.AuthACL(zk.PermRead|zk.PermWrite)))
	if acl, _, err := alice.GetACL(root + "/alice-auth"); err != nil || len(acl) != 1 ||
		acl[0] != (zk.ACL{Perms: zk.PermRead | zk.PermWrite, Scheme: "digest", ID: "alice:x"}) {
		t.Errorf("auth ACL read without ADMIN: got %+v %v, want [{3 digest alice:x}]", acl, err)
	}
	must[string](t, "auth ACL with admin")(alice.Create(root+"/alice-admin", nil, 0, zk.AuthACL(zk.PermRead|zk.PermAdmin)))
	if acl, _, err := alice.GetACL(root + "/alice-admin"); err != nil || len(acl) != 1 ||
		acl[0] != (zk.ACL{Perms: zk.PermRead | zk.PermAdmin, Scheme: "digest", ID: "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E="}) {
		t.Errorf("auth ACL read with ADMIN: got %+v %v, want [{17 digest alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=}]", acl, err)
	}
	_, err = alice.SetACL(root+"/alice-auth", openACL, -1) // no ADMIN
	wantErr(t, "setACL without admin permission", err, zk.ErrNoAuth)

	_, err = alice.SetACL(p, zk.WorldACL(zk.PermRead), 5)
	wantErr(t, "setACL with a wrong version", err, zk.ErrBadVersion)
	st, err = alice.SetACL(p, zk.WorldACL(zk.PermRead), 0)
	if err != nil || st.Aversion != 1 {
		t.Errorf("setACL version 0: got %+v %v, want aversion 1", st, err)
	}
	anon.sync(t, root)
	if data, _, err := anon.Get(p); err != nil || string(data) != "mine" {
		t.Errorf("anonymous get of world-readable: got %q %v, want \"mine\"", data, err)
	}
	_, err = alice.Set(p, []byte("x"), -1)
	wantErr(t, "alice set of world-readable", err, zk.ErrNoAuth)
	// Deleting needs DELETE on the parent (open), not on the node.
	for _, n := range []string{p, root + "/alice-auth", root + "/alice-admin", root} {
		wantErr(t, "anonymous delete "+n, anon.Delete(n, -1), nil)
	}
}

// gozkConfig reads /zookeeper/config, the ensemble's membership as
// ZooKeeper publishes it: one "server.N=host:quorumPort:electionPort:role;
// clientHost:clientPort" line per member, then "version=<hex>". Curator's
// EnsembleTracker, zkCli.sh's config command and getConfig callers read it.
func gozkConfig(t *testing.T, e *harness.Ensemble) {
	c := gozkConnect(t, "config", e.Addrs(), 10*time.Second)
	data, _, err := c.Get("/zookeeper/config")
	if err != nil {
		t.Fatalf("get /zookeeper/config: %v", err)
	}
	var want []string
	for _, m := range e.Members {
		role := "participant"
		if m.Observer {
			role = "observer"
		}
		want = append(want, fmt.Sprintf("server.%d=%s:%d:%d:%s;%s", m.ID, m.Host, m.QuorumPort, m.ElectionPort, role, m.ClientAddr()))
	}
	got := strings.Split(strings.TrimSpace(string(data)), "\n")
	version := got[len(got)-1]
	servers := slices.Clone(got[:len(got)-1])
	slices.Sort(servers)
	if !reflect.DeepEqual(servers, want) || !strings.HasPrefix(version, "version=") {
		t.Errorf("/zookeeper/config: got %q, want the lines\n%s\nand then version=<hex>", data, strings.Join(want, "\n"))
	}
}

package tree

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/zkd-io/zkd/proto"
)

func mustCreate(t *testing.T, tr *Tree, path string, owner, zxid int64) *Node {
	t.Helper()
	parent := tr.Get(Parent(path))
	if parent == nil {
		t.Fatalf("parent of %s missing", path)
	}
	return tr.Create(parent, path, []byte("d"), proto.OpenACLUnsafe, owner, zxid, 1000+zxid)
}

func TestNewTreeMatchesZooKeeper(t *testing.T) {
	tr := New()
	tests := []struct {
		path                          string
		cversion, aversion, nChildren int32
		acl                           []proto.ACL
	}{
		{"/", -1, 0, 1, proto.OpenACLUnsafe},
		{"/zookeeper", -2, 0, 2, proto.OpenACLUnsafe},
		{"/zookeeper/quota", 0, 0, 0, proto.OpenACLUnsafe},
		{"/zookeeper/config", 0, -1, 0, proto.ReadACLUnsafe},
	}
	for _, tt := range tests {
		n := tr.Get(tt.path)
		if n == nil {
			t.Fatalf("%s missing", tt.path)
		}
		if st := n.Stat(); st.Cversion != tt.cversion || st.Aversion != tt.aversion || st.NumChildren != tt.nChildren {
			t.Errorf("%s: got cversion %d aversion %d children %d, want %d %d %d", tt.path,
				st.Cversion, st.Aversion, st.NumChildren, tt.cversion, tt.aversion, tt.nChildren)
		}
		if !reflect.DeepEqual(n.ACL(), tt.acl) {
			t.Errorf("%s: got ACL %v, want %v", tt.path, n.ACL(), tt.acl)
		}
	}
	if got := tr.Children("/zookeeper"); !reflect.DeepEqual(got, []string{"config", "quota"}) {
		t.Errorf("children of /zookeeper: got %v", got)
	}
}

func TestCreateDeleteParentStat(t *testing.T) {
	tr := New()
	mustCreate(t, tr, "/a", 0, 10)
	mustCreate(t, tr, "/a/b", 0, 11)
	a := tr.Get("/a").Stat()
	if a.Cversion != 1 || a.NumChildren != 1 || a.Pzxid != 11 || a.Mzxid != 10 {
		t.Fatalf("after create: got cversion %d children %d pzxid %d mzxid %d", a.Cversion, a.NumChildren, a.Pzxid, a.Mzxid)
	}
	tr.Delete(tr.Get("/a/b"), 12)
	a = tr.Get("/a").Stat()
	if a.Cversion != 2 || a.NumChildren != 0 || a.Pzxid != 12 {
		t.Fatalf("after delete: got cversion %d children %d pzxid %d, want 2 0 12", a.Cversion, a.NumChildren, a.Pzxid)
	}
	if got := tr.Get("/a").Cversion; got != 1 {
		t.Fatalf("stored create count after delete: got %d, want 1", got)
	}
	if tr.Get("/a/b") != nil {
		t.Fatal("deleted node still present")
	}
}

func TestChildrenAreScopedToTheirParent(t *testing.T) {
	tr := New()
	for i, p := range []string{"/a", "/ab", "/a/x", "/a/y", "/a/x/deep", "/b"} {
		mustCreate(t, tr, p, 0, int64(i+1))
	}
	if got := tr.Children("/a"); !reflect.DeepEqual(got, []string{"x", "y"}) {
		t.Errorf("children of /a: got %v, want [x y]", got)
	}
	if got := tr.Children("/"); !reflect.DeepEqual(got, []string{"a", "ab", "b", "zookeeper"}) {
		t.Errorf("children of /: got %v", got)
	}
	if got := tr.CountDescendants("/a"); got != 3 {
		t.Errorf("descendants of /a: got %d, want 3", got)
	}
	if tr.Get("a") != nil || tr.Get("") != nil {
		t.Error("relative or empty paths must not resolve")
	}
}

func TestIndexes(t *testing.T) {
	tr := New()
	mustCreate(t, tr, "/e1", 7, 1)
	mustCreate(t, tr, "/e2", 7, 2)
	mustCreate(t, tr, "/c", ContainerOwner, 3)
	mustCreate(t, tr, "/t", TTLOwner(500), 4)
	if got := tr.Ephemerals(7); !reflect.DeepEqual(got, []string{"/e1", "/e2"}) {
		t.Errorf("ephemerals: got %v", got)
	}
	if got := tr.Containers(); !reflect.DeepEqual(got, []string{"/c"}) {
		t.Errorf("containers: got %v", got)
	}
	if got := tr.TTLNodes(); !reflect.DeepEqual(got, []string{"/t"}) {
		t.Errorf("ttl nodes: got %v", got)
	}
	if n := tr.Get("/t"); n.TTL() != 500 || n.IsEphemeral() || !n.IsTTL() {
		t.Errorf("ttl node: got ttl %d ephemeral %v", n.TTL(), n.IsEphemeral())
	}
	// Replacing a record must keep it indexed.
	tr.SetData(tr.Get("/c"), []byte("x"), 5, 5)
	if got := tr.Containers(); len(got) != 1 {
		t.Errorf("container lost from index after setData: %v", got)
	}
	tr.Delete(tr.Get("/e1"), 6)
	tr.Delete(tr.Get("/e2"), 7)
	if got := tr.EphemeralSessions(); len(got) != 0 {
		t.Errorf("sessions with ephemerals: got %v, want none", got)
	}
}

func TestRollbackRestoresEverything(t *testing.T) {
	tr := New()
	mustCreate(t, tr, "/a", 0, 1)
	before := dump(tr)
	beforeBytes := tr.DataBytes()
	tr.Begin()
	mustCreate(t, tr, "/a/x", 9, 2)
	tr.SetData(tr.Get("/a"), []byte("changed"), 2, 2)
	tr.SetACL(tr.Get("/a"), proto.ReadACLUnsafe)
	tr.Delete(tr.Get("/a/x"), 2)
	mustCreate(t, tr, "/a/y", 9, 2)
	tr.Rollback()
	if got := dump(tr); got != before {
		t.Fatalf("rollback: got\n%s\nwant\n%s", got, before)
	}
	if tr.DataBytes() != beforeBytes || len(tr.Ephemerals(9)) != 0 {
		t.Fatalf("indexes not rolled back: bytes %d want %d, ephemerals %v", tr.DataBytes(), beforeBytes, tr.Ephemerals(9))
	}
	if len(tr.acls.m) != 2 {
		t.Fatalf("ACL table: got %d entries, want 2 (open, read)", len(tr.acls.m))
	}
}

func TestCloneIsUnaffectedByLaterChanges(t *testing.T) {
	tr := New()
	mustCreate(t, tr, "/a", 0, 1)
	snap := tr.Clone()
	want := dump(snap)
	tr.SetData(tr.Get("/a"), []byte("new"), 2, 2)
	mustCreate(t, tr, "/b", 0, 3)
	tr.Delete(tr.Get("/a"), 4)
	if got := dump(snap); got != want {
		t.Fatalf("clone changed: got\n%s\nwant\n%s", got, want)
	}
}

func TestWalkVisitsParentsFirst(t *testing.T) {
	tr := New()
	for i, p := range []string{"/b", "/a", "/a/z", "/a/z/q", "/a/b"} {
		mustCreate(t, tr, p, 0, int64(i+1))
	}
	seen := map[string]bool{}
	tr.Walk(func(n *Node) bool {
		if n.Path() != "/" && !seen[Parent(n.Path())] {
			t.Errorf("%s visited before its parent", n.Path())
		}
		seen[n.Path()] = true
		return true
	})
	if len(seen) != tr.Len() {
		t.Errorf("walk visited %d of %d nodes", len(seen), tr.Len())
	}
}

func dump(tr *Tree) string {
	var s string
	tr.Walk(func(n *Node) bool {
		s += fmt.Sprintf("%s %q %+v %v\n", n.Path(), n.Data(), n.Stat(), n.ACL())
		return true
	})
	return s
}

func TestSplit(t *testing.T) {
	tests := []struct{ in, parent, name string }{
		{"/", "", ""}, {"/a", "/", "a"}, {"/a/b", "/a", "b"}, {"/a/b/c", "/a/b", "c"},
	}
	for _, tt := range tests {
		p, n := split(tt.in)
		if p != tt.parent || n != tt.name {
			t.Errorf("split(%q): got %q %q, want %q %q", tt.in, p, n, tt.parent, tt.name)
		}
	}
}

// TestNodeOrderIsParentThenName checks nodeLess, whose fast path compares
// whole paths, against the order it stands for, over pairs of paths that
// share prefixes, lengths and last-'/' positions in many ways.
func TestNodeOrderIsParentThenName(t *testing.T) {
	names := []string{"a", "b", "ab", "a0", "a-", "b.", "z", "aa"}
	paths := []string{"/"}
	for _, x := range names {
		paths = append(paths, "/"+x)
		for _, y := range names {
			paths = append(paths, "/"+x+"/"+y)
			for _, z := range names[:3] {
				paths = append(paths, "/"+x+"/"+y+"/"+z)
			}
		}
	}
	want := func(a, b string) bool {
		ap, an := split(a)
		bp, bn := split(b)
		if ap != bp {
			return ap < bp
		}
		return an < bn
	}
	for _, a := range paths {
		for _, b := range paths {
			got := nodeLess(Record(a, nil, proto.Stat{}).r, Record(b, nil, proto.Stat{}).r)
			if got != want(a, b) {
				t.Fatalf("nodeLess(%q, %q) = %v, want %v", a, b, got, want(a, b))
			}
		}
	}
}

// TestCreateOfExistingPathChangesNothing: Create finds an existing path
// with its own insert, and must then leave the tree as it was.
func TestCreateOfExistingPathChangesNothing(t *testing.T) {
	tr := New()
	tr.Create(tr.Get("/"), "/a", []byte("1"), proto.OpenACLUnsafe, 0, 1, 1)
	before, root := tr.Get("/a"), tr.Get("/")
	digest, n, size, acls := tr.Digest(), tr.Len(), tr.DataBytes(), len(tr.acls.m)
	other := []proto.ACL{{Perms: proto.PermRead, ID: proto.ID{Scheme: "world", ID: "anyone"}}}
	if got := tr.Create(root, "/a", []byte("22"), other, 0, 2, 2); got != nil {
		t.Fatalf("Create of an existing path returned %v, want nil", got.Path())
	}
	if tr.Get("/a").rec != before.rec || tr.Get("/").rec != root.rec {
		t.Fatal("Create of an existing path replaced a node")
	}
	if tr.Digest() != digest || tr.Len() != n || tr.DataBytes() != size || len(tr.acls.m) != acls {
		t.Fatalf("digest %x→%x, len %d→%d, bytes %d→%d, ACL entries %d→%d", digest, tr.Digest(), n, tr.Len(), size, tr.DataBytes(), acls, len(tr.acls.m))
	}
}

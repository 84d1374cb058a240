package tree

import (
	"slices"
	"sort"

	"github.com/google/btree"
	"github.com/zkd-io/zkd/proto"
)

// Paths that every tree has, as in ZooKeeper.
const (
	RootPath   = "/"
	ProcPath   = "/zookeeper"
	QuotaPath  = "/zookeeper/quota"
	ConfigPath = "/zookeeper/config"
)

// IsSpecial reports whether path is one of the nodes that exist from the
// start and can never be deleted.
func IsSpecial(path string) bool {
	return path == RootPath || path == ProcPath || path == QuotaPath || path == ConfigPath
}

// Tree is the znode tree and its derived indexes.
type Tree struct {
	nodes *btree.BTreeG[*record]
	acls  aclTable

	ephemerals map[int64]map[string]struct{}
	containers map[string]struct{}
	ttls       map[string]struct{}
	dataBytes  int64
	digest     uint64 // see Digest

	recording bool
	undo      []undoRecord
}

type undoRecord struct {
	path string
	old  *record // nil: the node did not exist
}

const btreeDegree = 32

func empty() *Tree {
	return &Tree{
		nodes:      btree.NewG[*record](btreeDegree, nodeLess),
		acls:       aclTable{m: map[string]*aclEntry{}},
		ephemerals: map[int64]map[string]struct{}{},
		containers: map[string]struct{}{},
		ttls:       map[string]struct{}{},
	}
}

// New returns a tree holding the nodes ZooKeeper starts with: /, /zookeeper,
// /zookeeper/quota and /zookeeper/config. Their Stat fields match a fresh
// Apache ZooKeeper, because clients and tools see them: their children were
// not "created", so clients see cversions of -1 and -2, and the config node
// has an aversion of -1.
func New() *Tree {
	t := empty()
	open := proto.OpenACLUnsafe
	// Their data is empty, not null: ZooKeeper replies with a zero-length
	// buffer, and some clients tell the two apart.
	none := []byte{}
	t.put(&Node{path: RootPath, data: none, acl: t.acls.intern(open), NumChildren: 1})
	t.put(&Node{path: ProcPath, data: none, acl: t.acls.intern(open), NumChildren: 2})
	t.put(&Node{path: QuotaPath, data: none, acl: t.acls.intern(open)})
	t.put(&Node{path: ConfigPath, data: none, acl: t.acls.intern(proto.ReadACLUnsafe), Aversion: -1})
	return t
}

// Get returns the node at path, or nil. Only absolute paths resolve.
func (t *Tree) Get(path string) *Node {
	r := t.record(path)
	if r == nil {
		return nil
	}
	n := new(Node)
	t.view(r, n)
	return n
}

// Has reports whether a node exists at path.
func (t *Tree) Has(path string) bool { return t.record(path) != nil }

func (t *Tree) record(path string) *record {
	if path == "" || path[0] != '/' {
		return nil
	}
	k, buf := probe(path, false)
	r, _ := t.nodes.Get(k)
	release(buf)
	return r
}

// view decodes the record r into n.
func (t *Tree) view(r *record, n *Node) { decode(r, t.acls.entries, n) }

// Len is the number of znodes.
func (t *Tree) Len() int { return t.nodes.Len() }

// DataBytes is the total size of node data and paths, as ZooKeeper's
// approximate data size counts it.
func (t *Tree) DataBytes() int64 { return t.dataBytes }

// Children returns the names of path's children in sorted order.
func (t *Tree) Children(path string) []string {
	var out []string
	t.eachChild(path, func(r *record) bool {
		f, p, cut, _ := key(r)
		_, name := recKey(f, p, cut)
		out = append(out, name)
		return true
	})
	return out
}

// EachChild calls fn for each child of path in name order until fn returns
// false. The view fn gets is reused for the next child: fn must copy it
// (not its path or data, which stay valid) to keep it.
func (t *Tree) EachChild(path string, fn func(*Node) bool) {
	var n Node
	t.eachChild(path, func(r *record) bool {
		t.view(r, &n)
		return fn(&n)
	})
}

func (t *Tree) eachChild(path string, fn func(*record) bool) {
	k, buf := probe(path, true)
	defer release(buf)
	t.nodes.AscendGreaterOrEqual(k, func(r *record) bool {
		f, p, cut, _ := key(r)
		if parent, _ := recKey(f, p, cut); parent != path {
			return false
		}
		return fn(r)
	})
}

// CountDescendants returns the number of nodes below path, at any depth.
func (t *Tree) CountDescendants(path string) int {
	total := 0
	t.EachChild(path, func(n *Node) bool {
		total++
		if n.NumChildren > 0 {
			total += t.CountDescendants(n.Path())
		}
		return true
	})
	return total
}

// Ephemerals returns the paths of session's ephemeral nodes, sorted.
func (t *Tree) Ephemerals(session int64) []string {
	return sortedKeys(t.ephemerals[session])
}

// EphemeralSessions returns every session that owns ephemeral nodes.
func (t *Tree) EphemeralSessions() []int64 {
	out := make([]int64, 0, len(t.ephemerals))
	for s := range t.ephemerals {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Containers returns the paths of all container nodes, sorted.
func (t *Tree) Containers() []string { return sortedKeys(t.containers) }

// TTLNodes returns the paths of all TTL nodes, sorted.
func (t *Tree) TTLNodes() []string { return sortedKeys(t.ttls) }

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Create adds a node under parent, which must be the current record of the
// new path's parent, and updates the parent as ZooKeeper does: cversion+1,
// numChildren+1, pzxid=zxid. If path exists already it changes nothing and
// returns nil: the insert itself finds out, which spares a create a second
// search of the B-tree (in a large tree, mostly cache misses).
func (t *Tree) Create(parent *Node, path string, data []byte, acl []proto.ACL, owner, zxid, time int64) *Node {
	n := &Node{
		path: path, data: data, acl: t.acls.intern(acl), Owner: owner,
		Czxid: zxid, Mzxid: zxid, Pzxid: zxid, Ctime: time, Mtime: time,
	}
	if old, _ := t.nodes.ReplaceOrInsert(encode(n, n.acl.index())); old != nil {
		t.nodes.ReplaceOrInsert(old) // put it back: nothing changed
		t.acls.ref(n.acl)
		t.acls.unref(n.acl) // drops the entry if intern just made it
		return nil
	}
	t.changed(path, nil, n)
	p := *parent
	p.Cversion++
	p.NumChildren++
	p.Pzxid = zxid
	t.put(&p)
	return n
}

// Delete removes n, which must have no children, and updates its parent:
// numChildren-1 (which raises the cversion clients see), and pzxid if zxid
// is newer.
func (t *Tree) Delete(n *Node, zxid int64) {
	parent := t.Get(Parent(n.Path()))
	t.remove(n.Path())
	if parent == nil {
		return
	}
	p := *parent
	p.NumChildren--
	if zxid > p.Pzxid {
		p.Pzxid = zxid
	}
	t.put(&p)
}

// SetData replaces n's data, bumping its version.
func (t *Tree) SetData(n *Node, data []byte, zxid, time int64) *Node {
	c := *n
	c.data = data
	c.Version++
	c.Mzxid = zxid
	c.Mtime = time
	t.put(&c)
	return &c
}

// SetACL replaces n's ACL, bumping its aversion.
func (t *Tree) SetACL(n *Node, acl []proto.ACL) *Node {
	c := *n
	c.acl = t.acls.intern(acl)
	c.Aversion++
	t.put(&c)
	return &c
}

// Insert adds a fully formed node as is, for restoring a snapshot; stat is
// what PersistedStat returned. Nodes must arrive parents first; the parent's
// counters are not touched.
func (t *Tree) Insert(path string, data []byte, acl []proto.ACL, stat proto.Stat) {
	t.InsertRecord(Record(path, data, stat), acl)
}

// InsertRecord adds a record built by Record, with acl, as Insert does.
// The record must not be in any tree yet.
func (t *Tree) InsertRecord(rec Rec, acl []proto.ACL) {
	e := t.acls.intern(acl)
	r := setACLIndex(rec.r, e.idx)
	var n Node
	t.view(r, &n)
	t.insert(r, &n)
}

// Walk visits every node, each parent before its children, until fn returns
// false. The view fn gets is reused for the next node: fn must copy it
// (not its path or data, which stay valid) to keep it.
func (t *Tree) Walk(fn func(*Node) bool) {
	var n Node
	t.nodes.Ascend(func(r *record) bool {
		t.view(r, &n)
		return fn(&n)
	})
}

// Clone returns a read-only view of the tree as it is now, in O(1) in the
// nodes (it copies the small table of distinct ACLs). The live tree may
// keep changing; the clone does not see it. Only Get, Has, Children,
// EachChild, Walk, Len and Digest may be called on a clone.
func (t *Tree) Clone() *Tree {
	return &Tree{nodes: t.nodes.Clone(), digest: t.digest, acls: aclTable{entries: slices.Clone(t.acls.entries)}}
}

// Begin starts recording changes so that Rollback can undo them.
func (t *Tree) Begin() {
	t.recording = true
	t.undo = t.undo[:0]
}

// Commit keeps the changes made since Begin.
func (t *Tree) Commit() {
	t.recording = false
	clear(t.undo)
	t.undo = t.undo[:0]
}

// Rollback undoes every change made since Begin, newest first.
func (t *Tree) Rollback() {
	t.recording = false
	for i := len(t.undo) - 1; i >= 0; i-- {
		if u := t.undo[i]; u.old != nil {
			var n Node
			t.view(u.old, &n)
			t.insert(u.old, &n)
		} else {
			t.remove(u.path)
		}
	}
	clear(t.undo)
	t.undo = t.undo[:0]
}

// put stores the view n as the node at its path, and points n at the new
// record.
func (t *Tree) put(n *Node) {
	t.insert(encode(n, n.acl.index()), n)
}

// insert stores the record r, of which n is the view.
func (t *Tree) insert(r *record, n *Node) {
	old, _ := t.nodes.ReplaceOrInsert(r)
	t.changed(n.path, old, n)
}

func (t *Tree) remove(path string) {
	k, buf := probe(path, false)
	old, _ := t.nodes.Delete(k)
	release(buf)
	t.changed(path, old, nil)
}

// changed is the single place that follows a change of the B-tree (the
// record old replaced by n at path; either may be nil), so the indexes,
// the ACL reference counts and the undo log can never disagree with the
// nodes.
func (t *Tree) changed(path string, old *record, n *Node) {
	if t.recording {
		t.undo = append(t.undo, undoRecord{path: path, old: old})
	}
	// Unindex the old record before indexing the new one: both have the
	// same path. Reference the new ACL before releasing the old one, which
	// may be the same entry.
	var o Node
	if old != nil {
		t.view(old, &o)
		t.index(&o, -1)
	}
	if n != nil {
		t.acls.ref(n.acl)
		t.index(n, +1)
	}
	if old != nil {
		t.acls.unref(o.acl)
	}
}

func (t *Tree) index(n *Node, delta int) {
	t.dataBytes += int64(delta * (n.dataSize() + len(n.path)))
	if delta > 0 {
		t.digest += nodeDigest(n)
	} else {
		t.digest -= nodeDigest(n)
	}
	switch {
	case n.IsContainer():
		setMember(t.containers, n.Path(), delta)
	case n.IsTTL():
		setMember(t.ttls, n.Path(), delta)
	case n.Owner != 0:
		m := t.ephemerals[n.Owner]
		if m == nil {
			if delta < 0 {
				return
			}
			m = map[string]struct{}{}
			t.ephemerals[n.Owner] = m
		}
		setMember(m, n.Path(), delta)
		if len(m) == 0 {
			delete(t.ephemerals, n.Owner)
		}
	}
}

func setMember(m map[string]struct{}, k string, delta int) {
	if delta > 0 {
		m[k] = struct{}{}
	} else {
		delete(m, k)
	}
}

// SetConfig sets /zookeeper/config's data to the ensemble's membership, as
// every ZooKeeper member does from its own configuration rather than
// through the log. Every member of a zkd ensemble has the same server list
// (the peer handshake refuses any other), so the trees stay equal; the
// Stat is fixed (version -1, no zxid or time) for the same reason.
func (t *Tree) SetConfig(data []byte) {
	n := t.Get(ConfigPath)
	if n == nil || (string(n.Data()) == string(data) && n.Version == -1) {
		return
	}
	c := *n
	c.data = data
	c.Version = -1
	t.put(&c)
}

// NewEmpty returns a tree with no nodes at all, to restore a snapshot into.
func NewEmpty() *Tree { return empty() }

// ACLID returns a small identity for n's ACL that is equal for nodes sharing
// the same interned list, so a serializer can write each list once.
func (n *Node) ACLID() any { return n.acl }

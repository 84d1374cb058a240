package tree

import (
	"strings"

	"github.com/zkd-io/zkd/proto"
)

// Special owners that ZooKeeper encodes in Stat.ephemeralOwner. Clients see
// these values, so zkd uses the same encoding.
const (
	// ContainerOwner marks a container node (Java's Long.MIN_VALUE).
	ContainerOwner int64 = -1 << 63
	// ttlMask is the high byte that marks an "extended" owner; the TTL type
	// has extended-type bits 0, so the owner is ttlMask | ttl.
	ttlMask int64 = -1 << 56 // 0xff00000000000000
	// MaxTTL is the largest TTL ZooKeeper accepts (40 bits of milliseconds).
	MaxTTL int64 = 1<<40 - 1
)

// TTLOwner returns the ephemeralOwner value that marks a TTL node.
func TTLOwner(ttl int64) int64 { return ttlMask | ttl }

// Node is a view of one znode, decoded from its record (see record.go).
// Changing a view changes nothing in the tree; the tree's methods take a
// view and store a new record. Its path and data alias the record, which
// never changes, so they stay valid after the node is replaced or removed.
type Node struct {
	rec  *record
	acl  *aclEntry
	path string
	data []byte // nil: null data
	// cut is the index of the path's last '/'.
	cut int32

	Czxid, Mzxid, Pzxid int64
	Ctime, Mtime        int64
	Version             int32
	// Cversion is what ZooKeeper persists: the number of children ever
	// created. Sequential suffixes come from it. Clients are shown
	// 2*Cversion-NumChildren, which counts deletes too (see Stat).
	Cversion    int32
	Aversion    int32
	NumChildren int32
	Owner       int64 // ephemeralOwner: session id, ContainerOwner, TTLOwner(ttl) or 0
}

// lastSlash is the index of path's last '/'.
func lastSlash(path string) int { return strings.LastIndexByte(path, '/') }

// Data is the node's data (nil for null data). Callers must not modify it.
func (n *Node) Data() []byte { return n.data }

// dataSize is len(n.Data()).
func (n *Node) dataSize() int { return len(n.data) }

// Path is the node's absolute path.
func (n *Node) Path() string { return n.path }

// ACL is the node's ACL list. Callers must not modify it.
func (n *Node) ACL() []proto.ACL {
	if n.acl == nil {
		return nil
	}
	return n.acl.list
}

// Stat returns the node's Stat as ZooKeeper shows it to clients: cversion
// counts every child change (each create has a matching delete except for
// the children still present), and containers and TTL nodes show no owner.
func (n *Node) Stat() proto.Stat {
	st := n.PersistedStat()
	st.Cversion = 2*n.Cversion - n.NumChildren
	if !n.IsEphemeral() {
		st.EphemeralOwner = 0
	}
	return st
}

// PersistedStat returns the node's fields as stored: the create count in
// Cversion and the real owner. Snapshots use it; Insert takes it back.
func (n *Node) PersistedStat() proto.Stat {
	return proto.Stat{
		Czxid: n.Czxid, Mzxid: n.Mzxid, Ctime: n.Ctime, Mtime: n.Mtime,
		Version: n.Version, Cversion: n.Cversion, Aversion: n.Aversion,
		EphemeralOwner: n.Owner, DataLength: int32(n.dataSize()),
		NumChildren: n.NumChildren, Pzxid: n.Pzxid,
	}
}

// IsEphemeral reports whether the node belongs to a session.
func (n *Node) IsEphemeral() bool { return n.Owner != 0 && !n.IsContainer() && !n.IsTTL() }

// IsContainer reports whether the node is a container.
func (n *Node) IsContainer() bool { return n.Owner == ContainerOwner }

// IsTTL reports whether the node is a TTL node.
func (n *Node) IsTTL() bool { return n.Owner != ContainerOwner && n.Owner&ttlMask == ttlMask }

// TTL returns the node's time to live in milliseconds, or 0.
func (n *Node) TTL() int64 {
	if !n.IsTTL() {
		return 0
	}
	return n.Owner &^ ttlMask
}

// recKey is a record's place in the B-tree's order: its parent path, then
// its name. Both are substrings of the path; the root's parent is "". A
// probe for the first child of a path has that path as its parent and an
// empty name, which sorts before every name.
func recKey(flags byte, path string, cut int) (parent, name string) {
	if flags&recProbeFirst != 0 {
		return path, ""
	}
	return splitAt(path, cut)
}

// nodeLess orders nodes by parent path, then name, so that the children of
// a node are adjacent and in name order.
//
// When both last '/'s are at the same index (siblings always, and most
// pairs a search meets), that order is the order of the whole paths: if the
// parents are equal, the paths differ first in the names; if not, the
// parents, of equal length, differ first where the paths do. The root,
// whose parent is "", sorts before every "/name" either way. One string
// comparison then does, instead of splitting both paths.
func nodeLess(a, b *record) bool {
	af, apath, acut, _ := key(a)
	bf, bpath, bcut, _ := key(b)
	if acut == bcut && (af|bf)&recProbeFirst == 0 {
		return apath < bpath
	}
	ap, an := recKey(af, apath, acut)
	bp, bn := recKey(bf, bpath, bcut)
	if ap != bp {
		return ap < bp
	}
	return an < bn
}

// split returns the parent path and the last name of an absolute path. The
// root's parent is "".
func split(path string) (parent, name string) {
	return splitAt(path, lastSlash(path))
}

// splitAt is split with the index of path's last '/' already known.
func splitAt(path string, cut int) (parent, name string) {
	switch {
	case path == "/":
		return "", ""
	case cut <= 0:
		return "/", path[cut+1:]
	}
	return path[:cut], path[cut+1:]
}

// Parent returns the parent path of an absolute path ("" for the root).
func Parent(path string) string {
	p, _ := split(path)
	return p
}

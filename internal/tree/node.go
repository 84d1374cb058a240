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

// Node is one znode. It is immutable once it is in a tree.
type Node struct {
	path string
	Data []byte
	acl  *aclEntry

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
		EphemeralOwner: n.Owner, DataLength: int32(len(n.Data)),
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

func (n *Node) clone() *Node {
	c := *n
	return &c
}

// item is what the B-tree stores: the ordering key (parent path, then name)
// next to the record. parent and name are substrings of the node's path, so
// they cost no extra memory.
type item struct {
	parent, name string
	n            *Node
}

func itemLess(a, b item) bool {
	if a.parent != b.parent {
		return a.parent < b.parent
	}
	return a.name < b.name
}

// split returns the parent path and the last name of an absolute path. The
// root's parent is "".
func split(path string) (parent, name string) {
	if path == "/" {
		return "", ""
	}
	i := strings.LastIndexByte(path, '/')
	if i <= 0 {
		return "/", path[i+1:]
	}
	return path[:i], path[i+1:]
}

func keyOf(path string) item {
	p, n := split(path)
	return item{parent: p, name: n}
}

// Parent returns the parent path of an absolute path ("" for the root).
func Parent(path string) string {
	p, _ := split(path)
	return p
}

package tree

import (
	"hash/crc32"
	"unsafe"
)

// The tree digest lets servers of an ensemble prove they hold the same tree
// without comparing it node by node. Like ZooKeeper's DigestCalculator it
// is a sum of per-node checksums, so a change costs two checksums (the old
// record out, the new one in) rather than a walk of the tree. The sum is
// order-independent, which is what makes that incremental update possible;
// each per-node checksum covers the path, the data, the persisted Stat and
// the ACL, so any difference a client could observe changes it.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// nodeDigest is one node's contribution to the tree digest: CRC-32C of the
// path and data (read in place, as crc32 only reads them), then the Stat
// fields and the ACL's checksum folded in with a 64-bit mixer. It
// allocates nothing.
func nodeDigest(n *Node) uint64 {
	p := crc32.Update(0, castagnoli, unsafe.Slice(unsafe.StringData(n.path), len(n.path)))
	d := crc32.Update(p, castagnoli, n.Data())
	h := uint64(p)<<32 | uint64(d)
	var acl uint32
	if n.acl != nil {
		acl = n.acl.sum
	}
	for _, v := range [...]uint64{
		uint64(n.Czxid), uint64(n.Mzxid), uint64(n.Pzxid), uint64(n.Ctime), uint64(n.Mtime),
		uint64(n.Owner), uint64(n.dataSize()),
		uint64(uint32(n.Version))<<32 | uint64(uint32(n.Cversion)),
		uint64(uint32(n.Aversion))<<32 | uint64(uint32(n.NumChildren)),
		uint64(acl),
	} {
		h = mix64(h ^ v)
	}
	return h
}

// mix64 is the splitmix64 finalizer: every input bit affects every output
// bit, so fields folded in one after another cannot cancel out.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Digest is the tree's digest: equal trees have equal digests, and a tree
// that differs in any node's path, data, Stat or ACL almost surely has a
// different one. It is O(1).
func (t *Tree) Digest() uint64 { return t.digest }

package tree

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/zkd-io/zkd/proto"
)

// sameFields reports whether a and b show the same znode.
func sameFields(a, b *Node) bool {
	return a.path == b.path && a.cut == b.cut && string(a.data) == string(b.data) && (a.data == nil) == (b.data == nil) &&
		a.Czxid == b.Czxid && a.Mzxid == b.Mzxid && a.Pzxid == b.Pzxid && a.Ctime == b.Ctime && a.Mtime == b.Mtime &&
		a.Version == b.Version && a.Cversion == b.Cversion && a.Aversion == b.Aversion &&
		a.NumChildren == b.NumChildren && a.Owner == b.Owner
}

func TestRecordRoundTrip(t *testing.T) {
	long := "/" + strings.Repeat("d", 200) + "/" + strings.Repeat("n", 300)
	base := []Node{
		{path: "/"},
		{path: "/a", data: []byte{}},
		{path: "/a/b", data: []byte("value")},
		{path: long, data: make([]byte, 70000)},
		{path: "/z/" + strings.Repeat("x", 130), data: []byte("v")},
	}
	stats := []Node{
		{},
		{Czxid: 1 << 32, Mzxid: 1 << 32, Pzxid: 1 << 32, Ctime: 1_795_000_000_000, Mtime: 1_795_000_000_000},
		{Czxid: 5, Mzxid: 9, Pzxid: 7, Ctime: 10, Mtime: 11, Version: 3, Cversion: 4, Aversion: 5, NumChildren: 6, Owner: 0x1234567890},
		{Czxid: -1, Mzxid: -2, Pzxid: -3, Ctime: -4, Mtime: -5, Version: -1, Cversion: -2, Aversion: -1, NumChildren: -7, Owner: ContainerOwner},
		{Czxid: 1<<63 - 1, Mzxid: 1<<63 - 1, Pzxid: -1 << 63, Ctime: 1<<63 - 1, Mtime: -1 << 63, Version: 1<<31 - 1, Cversion: -1 << 31, Owner: TTLOwner(MaxTTL)},
		{Czxid: 3, Mzxid: 3, Pzxid: 3, Ctime: 8, Mtime: 8, NumChildren: 1}, // only one field off its usual value
		{Czxid: 3, Mzxid: 3, Pzxid: 3, Ctime: 8, Mtime: 8, Owner: 77},
	}
	acls := []*aclEntry{nil}
	for i := 1; i < 300; i++ {
		acls = append(acls, &aclEntry{idx: uint32(i)})
	}
	for _, b := range base {
		for _, st := range stats {
			for _, acl := range []uint32{0, 1, aclInline - 1, aclInline, 299} {
				v := st
				v.path, v.data, v.cut = b.path, b.data, int32(lastSlash(b.path))
				r := encode(&v, acl)
				var got Node
				decode(r, acls, &got)
				if !sameFields(&got, &v) || got.acl != acls[acl] || got.rec != r {
					t.Fatalf("%q with %+v, ACL %d: decoded %+v (ACL %v)", b.path, st, acl, got, got.acl)
				}
				f, p, cut, _ := key(r)
				if p != v.path || cut != int(v.cut) || f&recProbeFirst != 0 {
					t.Fatalf("key of %q: %q, cut %d, flags %#x", v.path, p, cut, f)
				}
				for _, to := range []uint32{2, aclInline + 5} {
					r2 := setACLIndex(encode(&v, acl), to)
					decode(r2, acls, &got)
					if !sameFields(&got, &v) || got.acl != acls[to] {
						t.Fatalf("%q: ACL index %d set to %d: decoded %+v (ACL %v)", v.path, acl, to, got, got.acl)
					}
				}
			}
		}
	}
}

// A leaf created and never changed, as most znodes are, costs its path, its
// data and 15 bytes at most for zxids and times of today's sizes.
func TestPlainLeafRecordSize(t *testing.T) {
	v := Node{path: "/zkbench-footprint/c/255-3906", data: make([]byte, 100),
		Czxid: 1<<32 | 1_000_000, Mzxid: 1<<32 | 1_000_000, Pzxid: 1<<32 | 1_000_000,
		Ctime: 1_795_000_000_000, Mtime: 1_795_000_000_000}
	v.cut = int32(lastSlash(v.path))
	r := encode(&v, 1)
	var got Node
	decode(r, []*aclEntry{nil, {idx: 1}}, &got)
	end := uintptr(unsafe.Pointer(unsafe.SliceData(got.data))) + uintptr(len(got.data))
	if size := int(end - uintptr(unsafe.Pointer(r))); size > len(v.path)+len(v.data)+15 {
		t.Fatalf("record of a plain leaf: %d bytes for a %d-byte path and %d bytes of data, want at most 15 more", size, len(v.path), len(v.data))
	}
}

func TestRecordOfRestoreTakesItsACL(t *testing.T) {
	tr := New()
	acl := []proto.ACL{{Perms: proto.PermRead, ID: proto.ID{Scheme: "digest", ID: "u:x"}}}
	st := proto.Stat{Czxid: 4, Mzxid: 6, Pzxid: 4, Ctime: 1, Mtime: 2, Version: 2}
	tr.InsertRecord(Record("/r", []byte("d"), st), acl)
	n := tr.Get("/r")
	if n == nil || string(n.Data()) != "d" || n.PersistedStat() != (proto.Stat{Czxid: 4, Mzxid: 6, Pzxid: 4, Ctime: 1, Mtime: 2, Version: 2, DataLength: 1}) {
		t.Fatalf("restored node: %+v", n)
	}
	if len(n.ACL()) != 1 || n.ACL()[0] != acl[0] {
		t.Fatalf("restored node's ACL %v, want %v", n.ACL(), acl)
	}
}

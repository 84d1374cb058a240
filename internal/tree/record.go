package tree

import (
	"encoding/binary"
	"sync"
	"unsafe"

	"github.com/zkd-io/zkd/proto"
)

// A record is how the B-tree stores a node: one allocation that holds no
// pointers, so the collector never scans it, with the Stat fields packed as
// varints. A tree of millions of znodes is mostly records, and most znodes
// are leaves that were created and never changed, whose Stat is a czxid and
// a ctime; those fields alone are written for them.
//
// Layout:
//
//	flags      byte: recPlain, recNull, recProbeFirst, and the ACL index
//	           in the top bits (aclInline means: a uvarint after the path)
//	pathLen    uvarint
//	cut        uvarint: index of the path's last '/'
//	path       pathLen bytes
//	acl        uvarint, only when the flags' index is aclInline
//	czxid      varint
//	ctime      varint
//	more       byte, only without recPlain: which of the fields below follow
//	...        varints: mzxid, pzxid, mtime, version, cversion, aversion,
//	           numChildren, owner, each only when its bit in more is set
//	dataLen    uvarint, only without recNull
//	data       dataLen bytes
//
// A field left out of more has its usual value: mzxid and pzxid equal
// czxid, mtime equals ctime, and the rest are 0.
type record = byte

const (
	recPlain      = 1 << 0 // no "more" byte: every field after ctime has its usual value
	recNull       = 1 << 1 // null data (no dataLen, no data)
	recProbeFirst = 1 << 2 // a lookup key that sorts before every child of its path
	aclShift      = 3
	aclInline     = 0xff >> aclShift // ACL index too large for the flags
)

// moreFields are the Stat fields a record may hold after czxid and ctime,
// in record order; bit b of the "more" byte says whether field b follows.
func moreFields(v *Node) [8]int64 {
	return [8]int64{v.Mzxid, v.Pzxid, v.Mtime, int64(v.Version), int64(v.Cversion),
		int64(v.Aversion), int64(v.NumChildren), v.Owner}
}

// usualFields are the values of moreFields that a record leaves out.
func usualFields(czxid, ctime int64) [8]int64 { return [8]int64{czxid, czxid, ctime} }

// setMoreFields stores moreFields' values f in v.
func setMoreFields(v *Node, f [8]int64) {
	v.Mzxid, v.Pzxid, v.Mtime = f[0], f[1], f[2]
	v.Version, v.Cversion, v.Aversion, v.NumChildren = int32(f[3]), int32(f[4]), int32(f[5]), int32(f[6])
	v.Owner = f[7]
}

// recordHeader is the most bytes a record holds besides its path and data.
const recordHeader = 1 + 3*binary.MaxVarintLen64 + 2*binary.MaxVarintLen64 + 1 + 8*binary.MaxVarintLen64 + binary.MaxVarintLen64

// encode builds the record of v, whose path and data are copied, with the
// ACL index acl, and points v's record, path, cut and data at it.
func encode(v *Node, acl uint32) *record {
	v.cut = int32(lastSlash(v.path))
	var head [1 + 2*binary.MaxVarintLen64]byte
	flags := byte(0)
	if v.data == nil {
		flags |= recNull
	}
	if acl < aclInline {
		flags |= byte(acl) << aclShift
	} else {
		flags |= aclInline << aclShift
	}
	h := head[:1]
	h = binary.AppendUvarint(h, uint64(len(v.path)))
	h = binary.AppendUvarint(h, uint64(v.cut))

	var tail [recordHeader]byte
	t := tail[:0]
	if acl >= aclInline {
		t = binary.AppendUvarint(t, uint64(acl))
	}
	t = binary.AppendVarint(t, v.Czxid)
	t = binary.AppendVarint(t, v.Ctime)
	f, usual := moreFields(v), usualFields(v.Czxid, v.Ctime)
	more := byte(0)
	for b := range f {
		if f[b] != usual[b] {
			more |= 1 << b
		}
	}
	if more == 0 {
		flags |= recPlain
	} else {
		t = append(t, more)
		for b := range f {
			if more&(1<<b) != 0 {
				t = binary.AppendVarint(t, f[b])
			}
		}
	}
	if v.data != nil {
		t = binary.AppendUvarint(t, uint64(len(v.data)))
	}
	h[0] = flags

	b := make([]byte, len(h)+len(v.path)+len(t)+len(v.data))
	i := copy(b, h)
	i += copy(b[i:], v.path)
	v.path = unsafe.String(&b[len(h)], len(v.path))
	i += copy(b[i:], t)
	if len(v.data) > 0 {
		copy(b[i:], v.data)
		v.data = b[i:len(b):len(b)]
	}
	v.rec = unsafe.SliceData(b)
	return v.rec
}

// at is the byte i bytes into the record r.
func at(r *record, i int) *byte { return (*byte)(unsafe.Add(unsafe.Pointer(r), i)) }

// uvarintAt decodes a uvarint at offset i of r and returns it and the
// offset after it. Records are built by encode, so they are well formed.
func uvarintAt(r *record, i int) (uint64, int) {
	if b := *at(r, i); b < 0x80 {
		return uint64(b), i + 1
	}
	var x uint64
	for s := uint(0); ; s += 7 {
		b := *at(r, i)
		i++
		if b < 0x80 {
			return x | uint64(b)<<s, i
		}
		x |= uint64(b&0x7f) << s
	}
}

func varintAt(r *record, i int) (int64, int) {
	u, i := uvarintAt(r, i)
	return int64(u>>1) ^ -int64(u&1), i
}

// key reads what ordering needs from a record: its flags, its path and the
// index of the path's last '/'; end is the offset just after the path. It
// is on every comparison of a B-tree search, so the usual one-byte lengths
// are read directly.
func key(r *record) (flags byte, path string, cut, end int) {
	if l, c := *at(r, 1), *at(r, 2); l|c < 0x80 {
		return *r, unsafe.String(at(r, 3), int(l)), int(c), 3 + int(l)
	}
	return keySlow(r)
}

func keySlow(r *record) (flags byte, path string, cut, end int) {
	n, i := uvarintAt(r, 1)
	cu, i := uvarintAt(r, i)
	return *r, unsafe.String(at(r, i), int(n)), int(cu), i + int(n)
}

// emptyData is the data of a node whose data is empty but not null; a
// slice into its record could point just past the record's end.
var emptyData = make([]byte, 0)

// decode fills v from the record r, resolving its ACL index with acls.
// Path and data alias the record.
func decode(r *record, acls []*aclEntry, v *Node) {
	flags, path, cut, i := key(r)
	acl := uint64(flags >> aclShift)
	if acl == aclInline {
		acl, i = uvarintAt(r, i)
	}
	*v = Node{rec: r, path: path, cut: int32(cut)}
	if acl < uint64(len(acls)) {
		v.acl = acls[acl]
	}
	v.Czxid, i = varintAt(r, i)
	v.Ctime, i = varintAt(r, i)
	f := usualFields(v.Czxid, v.Ctime)
	if flags&recPlain == 0 {
		more := *at(r, i)
		i++
		for b := range f {
			if more&(1<<b) != 0 {
				f[b], i = varintAt(r, i)
			}
		}
	}
	setMoreFields(v, f)
	if flags&recNull == 0 {
		var n uint64
		n, i = uvarintAt(r, i)
		if n == 0 {
			v.data = emptyData
		} else {
			v.data = unsafe.Slice(at(r, i), n)[:n:n]
		}
	}
}

// setACLIndex changes the ACL index of a record that no tree holds yet,
// in place if it fits the flags both before and after, and otherwise by
// encoding it again.
func setACLIndex(r *record, acl uint32) *record {
	if old := *r >> aclShift; old != aclInline && acl < aclInline {
		*r = *r&(1<<aclShift-1) | byte(acl)<<aclShift
		return r
	}
	var v Node
	decode(r, nil, &v)
	return encode(&v, acl)
}

// Rec is a node record built by Record, not yet in any tree.
type Rec struct{ r *record }

// Path is the record's path.
func (r Rec) Path() string {
	_, p, _, _ := key(r.r)
	return p
}

// Record builds the record Insert would add, copying path and data. It uses
// no tree, so a restore can build records on one goroutine while another
// inserts them with InsertRecord.
func Record(path string, data []byte, stat proto.Stat) Rec {
	v := Node{
		path: path, data: data, Owner: stat.EphemeralOwner,
		Czxid: stat.Czxid, Mzxid: stat.Mzxid, Pzxid: stat.Pzxid, Ctime: stat.Ctime, Mtime: stat.Mtime,
		Version: stat.Version, Cversion: stat.Cversion, Aversion: stat.Aversion, NumChildren: stat.NumChildren,
	}
	return Rec{encode(&v, 0)}
}

// probes hold the lookup keys of Get and friends: a record of flags, path
// length, cut and path only.
var probes = sync.Pool{New: func() any { return new([]byte) }}

// probe returns a lookup key for path, or with firstChild for the place
// just before path's first child. Hand it back with release once the
// lookup is done.
func probe(path string, firstChild bool) (*record, *[]byte) {
	bp := probes.Get().(*[]byte)
	b := append((*bp)[:0], 0)
	if firstChild {
		b[0] = recProbeFirst
	}
	b = binary.AppendUvarint(b, uint64(len(path)))
	b = binary.AppendUvarint(b, uint64(lastSlash(path)))
	b = append(b, path...)
	*bp = b
	return unsafe.SliceData(b), bp
}

func release(bp *[]byte) { probes.Put(bp) }

package diff

import (
	"crypto/sha256"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zkd-io/zkd/proto"
)

// Special ephemeralOwner values (ZooKeeper's EphemeralType): a container
// node has exactly containerOwner; a TTL node has 0xFF in the top byte and
// the TTL in milliseconds below it. They are shown in hex, not mapped like
// session ids, because clients decode them.
const (
	containerOwner = int64(-0x8000000000000000) // 0x8000000000000000
	ttlOwnerTop    = 0xFF
)

// Normalizer renders server values so that two correct servers produce the
// same text. It is per scenario: zxids become z1, z2... and session ids s1,
// s2... in order of first appearance, so it must see values in transcript
// order. Values that must not vary are rendered as they are.
type Normalizer struct {
	// SortACLs renders ACL lists sorted. Scenarios set it when an "auth"
	// ACL expands to several identities: ZooKeeper expands them in the
	// hash order of the connection's identity set.
	SortACLs bool

	zxids    map[int64]string
	sessions map[int64]string
	now      time.Time
}

// NewNormalizer returns a normaliser with empty maps; now anchors the
// plausibility check of times.
func NewNormalizer(now time.Time) *Normalizer {
	return &Normalizer{zxids: map[int64]string{}, sessions: map[int64]string{}, now: now}
}

// Zxid maps a zxid to zN. 0 and -1 are kept: 0 is the zxid of the nodes
// that exist before any transaction (/, /zookeeper...) and -1 the "no zxid"
// marker of notifications, and both are fixed by the protocol.
func (n *Normalizer) Zxid(z int64) string {
	if z == 0 || z == -1 {
		return strconv.FormatInt(z, 10)
	}
	if s, ok := n.zxids[z]; ok {
		return s
	}
	s := "z" + strconv.Itoa(len(n.zxids)+1)
	n.zxids[z] = s
	return s
}

// ZxidNear renders a zxid a scenario made up from a server's zxid: a known
// one as zN, one slightly above a known one as zN+delta (e.g. a
// lastZxidSeen ahead of the server), anything else in hex. It creates no
// mapping.
func (n *Normalizer) ZxidNear(z int64) string {
	if z == 0 || z == -1 {
		return strconv.FormatInt(z, 10)
	}
	if s, ok := n.zxids[z]; ok {
		return s
	}
	best, bestName := int64(0), ""
	for k, name := range n.zxids {
		if k < z && z-k < 1<<20 && k > best {
			best, bestName = k, name
		}
	}
	if bestName != "" {
		return bestName + "+" + strconv.FormatInt(z-best, 10)
	}
	return fmt.Sprintf("%#x", z)
}

// Session maps a session id to sN; 0 is kept (no session).
func (n *Normalizer) Session(id int64) string {
	if id == 0 {
		return "0"
	}
	if s, ok := n.sessions[id]; ok {
		return s
	}
	s := "s" + strconv.Itoa(len(n.sessions)+1)
	n.sessions[id] = s
	return s
}

// Owner renders an ephemeralOwner: 0 as 0, a session seen in this scenario
// as its sN, the container marker and TTL values in hex, anything else as a
// new session. (A server whose session ids look like TTL values would be
// caught by the session_id_shape scenario, not here.)
func (n *Normalizer) Owner(eo int64) string {
	if s, ok := n.sessions[eo]; ok && eo != 0 {
		return s
	}
	switch {
	case eo == 0:
		return "0"
	case eo == containerOwner:
		return "0x8000000000000000(container)"
	case uint64(eo)>>56 == ttlOwnerTop:
		return fmt.Sprintf("%#x(ttl=%d)", uint64(eo), uint64(eo)&(1<<56-1))
	}
	return n.Session(eo)
}

// Time renders a ctime/mtime: 0 stays 0 (the nodes that predate every
// transaction), a plausible wall-clock time in milliseconds becomes T, and
// anything else (seconds, nanoseconds, garbage) is shown so it is noticed.
func (n *Normalizer) Time(ms int64) string {
	if ms == 0 {
		return "0"
	}
	d := time.Duration(n.now.UnixMilli()-ms) * time.Millisecond
	if d < 0 {
		d = -d
	}
	if d < 24*time.Hour {
		return "T"
	}
	return "T?" + strconv.FormatInt(ms, 10)
}

// Stat renders a Stat. Times are masked, but the invariants between them stay
// visible: a node whose data never changed (mzxid == czxid) must have
// mtime == ctime, and mtime is never before ctime. Comparing the two times
// directly would be flaky, since a setData may land in the creation's
// millisecond.
func (n *Normalizer) Stat(s *proto.Stat) string {
	cz, mz, pz := n.Zxid(s.Czxid), n.Zxid(s.Mzxid), n.Zxid(s.Pzxid)
	mt := n.Time(s.Mtime)
	switch {
	case s.Mzxid == s.Czxid && s.Mtime != s.Ctime:
		mt += "(!=ctime though mzxid==czxid)"
	case s.Mtime < s.Ctime:
		mt += "(<ctime)"
	}
	return fmt.Sprintf("{cz=%s mz=%s pz=%s ct=%s mt=%s v=%d cv=%d av=%d eo=%s dl=%d nc=%d}",
		cz, mz, pz, n.Time(s.Ctime), mt, s.Version, s.Cversion, s.Aversion,
		n.Owner(s.EphemeralOwner), s.DataLength, s.NumChildren)
}

// Data renders a znode payload: null and empty differ on the wire, short
// printable data is quoted, long data is summarised by length and hash.
func Data(b []byte) string {
	if b == nil {
		return "null"
	}
	if len(b) <= 64 && utf8.Valid(b) {
		return strconv.Quote(string(b))
	}
	if len(b) <= 32 {
		return fmt.Sprintf("0x%x", b)
	}
	sum := sha256.Sum256(b)
	return fmt.Sprintf("<%d bytes sha256:%x>", len(b), sum[:6])
}

// Perms renders a permission mask in zkCli's letters (cdrwa); bits outside
// PermAll are appended in hex.
func Perms(p int32) string {
	var b strings.Builder
	for _, x := range []struct {
		bit int32
		c   byte
	}{{proto.PermCreate, 'c'}, {proto.PermDelete, 'd'}, {proto.PermRead, 'r'}, {proto.PermWrite, 'w'}, {proto.PermAdmin, 'a'}} {
		if p&x.bit != 0 {
			b.WriteByte(x.c)
		}
	}
	if extra := p &^ proto.PermAll; extra != 0 {
		fmt.Fprintf(&b, "+%#x", uint32(extra))
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

// ACLs renders an ACL list in order (order is part of what getACL returns),
// or sorted when SortACLs is set.
func (n *Normalizer) ACLs(acl []proto.ACL) string {
	parts := make([]string, len(acl))
	for i, a := range acl {
		parts[i] = fmt.Sprintf("%s:%s=%s", a.ID.Scheme, a.ID.ID, Perms(a.Perms))
	}
	if n.SortACLs {
		sort.Strings(parts)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// SortedStrings renders a list sorted: ZooKeeper returns children and
// ephemerals in hash-set order, which carries no meaning.
func SortedStrings(v []string) string {
	s := append([]string(nil), v...)
	sort.Strings(s)
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = strconv.Quote(x)
	}
	return "[" + strings.Join(q, " ") + "]"
}

func quoteList(v []string) string {
	q := make([]string, len(v))
	for i, x := range v {
		q[i] = strconv.Quote(x)
	}
	return "[" + strings.Join(q, " ") + "]"
}

package tree

import (
	"crypto/sha1"
	"encoding/base64"
	"hash/crc32"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/zkd-io/zkd/proto"
)

// aclEntry is one interned ACL list. Most trees use a handful of distinct
// ACLs, so nodes share them instead of each holding a copy.
type aclEntry struct {
	key  string
	list []proto.ACL
	refs int
	sum  uint32 // checksum of key, for the tree digest
	idx  uint32 // the index records hold (see aclTable.entries)
}

// index is the ACL index a record holds for e: 0 for none.
func (e *aclEntry) index() uint32 {
	if e == nil {
		return 0
	}
	return e.idx
}

// aclTable interns ACL lists and counts their users, so that an ACL no node
// uses any more is forgotten.
type aclTable struct {
	m map[string]*aclEntry
	// entries are the interned lists by the index records hold; 0 is
	// never used, and the indexes of forgotten lists are reused.
	entries []*aclEntry
	free    []uint32
	// last is the entry intern returned last: nodes created one after
	// another nearly always share their ACL, and comparing the list with
	// it costs no allocation, where building the key does.
	last *aclEntry
}

func aclKey(acl []proto.ACL) string {
	var b strings.Builder
	for _, a := range acl {
		b.WriteString(strconv.FormatInt(int64(a.Perms), 10))
		b.WriteByte(0)
		b.WriteString(a.ID.Scheme)
		b.WriteByte(0)
		b.WriteString(a.ID.ID)
		b.WriteByte(0)
	}
	return b.String()
}

// intern returns the shared entry for acl without changing its count.
func (t *aclTable) intern(acl []proto.ACL) *aclEntry {
	if e := t.last; e != nil && slices.Equal(e.list, acl) && t.m[e.key] == e {
		return e
	}
	k := aclKey(acl)
	e, ok := t.m[k]
	if !ok {
		e = &aclEntry{key: k, list: append([]proto.ACL(nil), acl...), sum: crc32.Checksum([]byte(k), castagnoli)}
		if n := len(t.free); n > 0 {
			e.idx, t.free = t.free[n-1], t.free[:n-1]
			t.entries[e.idx] = e
		} else {
			if len(t.entries) == 0 {
				t.entries = append(t.entries, nil)
			}
			e.idx = uint32(len(t.entries))
			t.entries = append(t.entries, e)
		}
		t.m[k] = e
	}
	t.last = e
	return e
}

func (t *aclTable) ref(e *aclEntry) {
	if e != nil {
		e.refs++
	}
}

func (t *aclTable) unref(e *aclEntry) {
	if e == nil {
		return
	}
	e.refs--
	if e.refs <= 0 && t.m[e.key] == e {
		delete(t.m, e.key)
		t.entries[e.idx] = nil
		t.free = append(t.free, e.idx)
	}
}

// DigestID returns the digest scheme id for "user:password", as ZooKeeper's
// DigestAuthenticationProvider computes it: user:base64(sha1(user:password)).
func DigestID(userPassword string) string {
	user, _, _ := strings.Cut(userPassword, ":")
	sum := sha1.Sum([]byte(userPassword))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

// Checker decides whether a set of authenticated ids may do something. The
// zero value checks ACLs with no super user.
type Checker struct {
	// SuperDigest is the digest id ("super:<base64 sha1>") whose holder
	// bypasses every ACL; "" for none.
	SuperDigest string
}

// IsSuper reports whether ids hold the super user's identity.
func (c Checker) IsSuper(ids []proto.ID) bool {
	for _, id := range ids {
		if id.Scheme == "super" {
			return true
		}
		if c.SuperDigest != "" && id.Scheme == "digest" && id.ID == c.SuperDigest {
			return true
		}
	}
	return false
}

// Allowed reports whether ids grant perm under acl, following ZooKeeper's
// checkACL: an empty ACL allows everything, world:anyone matches everyone,
// and the super user passes every check.
func (c Checker) Allowed(acl []proto.ACL, perm int32, ids []proto.ID) bool {
	if len(acl) == 0 || c.IsSuper(ids) {
		return true
	}
	for _, a := range acl {
		if a.Perms&perm == 0 {
			continue
		}
		if a.ID.Scheme == "world" && a.ID.ID == "anyone" {
			return true
		}
		for _, id := range ids {
			if id.Scheme == a.ID.Scheme && matches(id.Scheme, id.ID, a.ID.ID) {
				return true
			}
		}
	}
	return false
}

func matches(scheme, id, expr string) bool {
	switch scheme {
	case "ip":
		return ipMatches(id, expr)
	default:
		return id == expr
	}
}

func ipMatches(addr, expr string) bool {
	ip := parseIP(addr)
	if ip == nil {
		return false
	}
	base, bitsStr, hasBits := strings.Cut(expr, "/")
	want := parseIP(base)
	if want == nil || len(want) != len(ip) {
		return false
	}
	bits := len(want) * 8
	if hasBits {
		b, err := strconv.Atoi(bitsStr)
		if err != nil || b < 0 || b > bits {
			return false
		}
		bits = b
	}
	mask := net.CIDRMask(bits, len(want)*8)
	return ip.Mask(mask).Equal(want.Mask(mask))
}

func parseIP(s string) net.IP {
	ip := net.ParseIP(s)
	if ip == nil {
		return nil
	}
	if v4 := ip.To4(); v4 != nil {
		return v4
	}
	return ip
}

// validID reports whether a provider would accept id for scheme in an ACL.
func validID(scheme, id string) bool {
	switch scheme {
	case "digest":
		// Java's id.split(":").length == 2: trailing empty parts are
		// dropped, so "a:" has one part and "a:b:c" three.
		parts := strings.Split(id, ":")
		for len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		return len(parts) == 2
	case "ip":
		// ZooKeeper's IP provider takes IPv4 addresses only.
		base, bitsStr, hasBits := strings.Cut(id, "/")
		ip := parseIP(base)
		if ip == nil || len(ip) != net.IPv4len {
			return false
		}
		if hasBits {
			b, err := strconv.Atoi(bitsStr)
			if err != nil || b < 0 || b > len(ip)*8 {
				return false
			}
		}
		return true
	}
	return false
}

// authenticated reports whether ids of this scheme are real identities
// (they can stand in for the "auth" scheme). ip addresses are not.
func authenticated(scheme string) bool { return scheme == "digest" }

// FixupACL validates acl and expands the "auth" scheme into the caller's
// authenticated ids, as ZooKeeper's fixupACL does. Duplicates are dropped,
// keeping the first. It returns proto.ErrInvalidACL for an empty list, an
// unknown scheme, a malformed id, or "auth" with nothing authenticated.
func FixupACL(acl []proto.ACL, ids []proto.ID) ([]proto.ACL, error) {
	uniq := make([]proto.ACL, 0, len(acl))
	for _, a := range acl {
		dup := false
		for _, u := range uniq {
			if u == a {
				dup = true
				break
			}
		}
		if !dup {
			uniq = append(uniq, a)
		}
	}
	if len(uniq) == 0 {
		return nil, proto.ErrInvalidACL
	}
	out := make([]proto.ACL, 0, len(uniq))
	for _, a := range uniq {
		switch {
		case a.ID.Scheme == "world" && a.ID.ID == "anyone":
			out = append(out, a)
		case a.ID.Scheme == "auth":
			found := false
			for _, id := range ids {
				if authenticated(id.Scheme) {
					found = true
					out = append(out, proto.ACL{Perms: a.Perms, ID: id})
				}
			}
			if !found {
				return nil, proto.ErrInvalidACL
			}
		case validID(a.ID.Scheme, a.ID.ID):
			out = append(out, a)
		default:
			return nil, proto.ErrInvalidACL
		}
	}
	return out, nil
}

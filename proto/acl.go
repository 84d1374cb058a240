package proto

import "github.com/zkd-io/zkd/internal/jute"

// ID is an authenticated identity: a scheme ("world", "digest", "ip",
// "auth", "sasl", "x509", "super") and a scheme-specific id.
type ID struct {
	Scheme string
	ID     string
}

// Encode writes the record.
func (x *ID) Encode(w *jute.Writer) {
	w.String(x.Scheme)
	w.String(x.ID)
}

// Decode reads the record. Well-known schemes and ids are interned: almost
// every create carries world:anyone, and this saves two allocations each.
func (x *ID) Decode(r *jute.Reader) error {
	x.Scheme = readCommonString(r)
	x.ID = readCommonString(r)
	return r.Err()
}

// readCommonString reads a string like jute.Reader.String but returns a
// constant, without allocating, for the identities ACLs use most.
func readCommonString(r *jute.Reader) string {
	b := r.BufferView() // same wire format as a string; -1 reads as ""
	switch string(b) {  // compiled without converting b
	case "":
		return ""
	case "world":
		return "world"
	case "anyone":
		return "anyone"
	case "auth":
		return "auth"
	case "digest":
		return "digest"
	case "ip":
		return "ip"
	case "sasl":
		return "sasl"
	case "x509":
		return "x509"
	case "super":
		return "super"
	}
	return string(b)
}

// ACL grants Perms (a bitmask of Perm*) to ID.
type ACL struct {
	Perms int32
	ID    ID
}

// Encode writes the record.
func (x *ACL) Encode(w *jute.Writer) {
	w.Int(x.Perms)
	x.ID.Encode(w)
}

// Decode reads the record.
func (x *ACL) Decode(r *jute.Reader) error {
	x.Perms = r.Int()
	return x.ID.Decode(r)
}

// Well-known identities and ACLs of ZooDefs.Ids. The slices are shared:
// callers must not modify them.
var (
	// WorldAnyone is the identity every client has.
	WorldAnyone = ID{Scheme: "world", ID: "anyone"}
	// AuthIDs is replaced, when an ACL is set, by every identity the client
	// has authenticated as.
	AuthIDs = ID{Scheme: "auth", ID: ""}
	// OpenACLUnsafe gives everyone every permission.
	OpenACLUnsafe = []ACL{{Perms: PermAll, ID: WorldAnyone}}
	// CreatorAllACL gives the creator's authenticated identities every permission.
	CreatorAllACL = []ACL{{Perms: PermAll, ID: AuthIDs}}
	// ReadACLUnsafe lets everyone read.
	ReadACLUnsafe = []ACL{{Perms: PermRead, ID: WorldAnyone}}
)

func writeACLs(w *jute.Writer, v []ACL) {
	w.VecLen(len(v))
	for i := range v {
		v[i].Encode(w)
	}
}

func readACLs(r *jute.Reader) []ACL {
	n := r.VecLenMin(minACLSize)
	if n <= 0 {
		return nil
	}
	v := make([]ACL, n)
	for i := range v {
		if v[i].Decode(r) != nil {
			return nil
		}
	}
	return v
}

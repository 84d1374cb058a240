package tree

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/zkd-io/zkd/proto"
)

func TestDigestID(t *testing.T) {
	// The value zkCli's documentation and ZooKeeper's
	// DigestAuthenticationProvider produce for super:test.
	if got, want := DigestID("super:test"), "super:D/InIHSb7yEEbrWz8b9l71RjZJU="; got != want {
		t.Fatalf("DigestID: got %q, want %q", got, want)
	}
}

func TestAllowed(t *testing.T) {
	bob := proto.ID{Scheme: "digest", ID: DigestID("bob:pw")}
	local := proto.ID{Scheme: "ip", ID: "10.1.2.3"}
	acl := []proto.ACL{
		{Perms: proto.PermRead, ID: proto.ID{Scheme: "ip", ID: "10.0.0.0/8"}},
		{Perms: proto.PermAll, ID: bob},
	}
	c := Checker{SuperDigest: DigestID("super:s")}
	tests := []struct {
		name string
		perm int32
		ids  []proto.ID
		want bool
	}{
		{"ip in CIDR reads", proto.PermRead, []proto.ID{local}, true},
		{"ip in CIDR cannot write", proto.PermWrite, []proto.ID{local}, false},
		{"ip outside CIDR", proto.PermRead, []proto.ID{{Scheme: "ip", ID: "11.0.0.1"}}, false},
		{"digest owner writes", proto.PermWrite, []proto.ID{bob}, true},
		{"wrong digest", proto.PermWrite, []proto.ID{{Scheme: "digest", ID: DigestID("bob:bad")}}, false},
		{"super digest", proto.PermAdmin, []proto.ID{{Scheme: "digest", ID: DigestID("super:s")}}, true},
		{"no ids", proto.PermRead, nil, false},
	}
	for _, tt := range tests {
		if got := c.Allowed(acl, tt.perm, tt.ids); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	if !c.Allowed(nil, proto.PermAll, nil) {
		t.Error("an empty ACL must allow everything")
	}
	if !c.Allowed(proto.OpenACLUnsafe, proto.PermDelete, nil) {
		t.Error("world:anyone must match everyone")
	}
}

func TestFixupACL(t *testing.T) {
	bob := proto.ID{Scheme: "digest", ID: "bob:hash"}
	ip := proto.ID{Scheme: "ip", ID: "127.0.0.1"}
	acl := func(scheme, id string) []proto.ACL {
		return []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: scheme, ID: id}}}
	}
	tests := []struct {
		name string
		in   []proto.ACL
		ids  []proto.ID
		want []proto.ACL // nil means InvalidACL
	}{
		{"empty", nil, nil, nil},
		{"world anyone", acl("world", "anyone"), nil, acl("world", "anyone")},
		{"world other", acl("world", "bob"), nil, nil},
		{"unknown scheme", acl("kerberos", "x"), nil, nil},
		{"auth expands to digest ids only", acl("auth", ""), []proto.ID{ip, bob}, acl("digest", "bob:hash")},
		{"auth with nothing authenticated", acl("auth", ""), []proto.ID{ip}, nil},
		{"digest without colon", acl("digest", "bob"), nil, nil},
		{"digest with empty hash", acl("digest", "bob:"), nil, nil},
		{"digest ok", acl("digest", "bob:x"), nil, acl("digest", "bob:x")},
		{"digest with two colons", acl("digest", "a:b:c"), nil, nil},
		{"ip v6", acl("ip", "::1"), nil, nil},
		{"ip ok", acl("ip", "10.0.0.0/8"), nil, acl("ip", "10.0.0.0/8")},
		{"ip bad bits", acl("ip", "10.0.0.0/33"), nil, nil},
		{"ip garbage", acl("ip", "ten"), nil, nil},
		{"duplicates dropped", append(acl("world", "anyone"), acl("world", "anyone")...), nil, acl("world", "anyone")},
	}
	for _, tt := range tests {
		got, err := FixupACL(tt.in, tt.ids)
		if tt.want == nil {
			if !errors.Is(err, proto.ErrInvalidACL) {
				t.Errorf("%s: got %v, %v; want InvalidACL", tt.name, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

// TestACLInternAfterRelease: an ACL whose last node went away is forgotten,
// and interning the same list again (the remembered last entry, now dead)
// must put a live entry back in the table.
func TestACLInternAfterRelease(t *testing.T) {
	tr := New()
	digestACL := []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "digest", ID: "u:x"}}}
	a := tr.Create(tr.Get("/"), "/a", nil, digestACL, 0, 1, 1)
	tr.Delete(a, 2)
	if len(tr.acls.m) != 2 {
		t.Fatalf("after delete: %d ACL entries, want 2 (open, read)", len(tr.acls.m))
	}
	b := tr.Create(tr.Get("/"), "/b", nil, slices.Clone(digestACL), 0, 3, 3)
	if len(tr.acls.m) != 3 || tr.acls.m[b.acl.key] != b.acl || b.acl.refs != 1 {
		t.Fatalf("re-interned ACL: %d entries, entry in table %v, refs %d; want 3, true, 1",
			len(tr.acls.m), tr.acls.m[b.acl.key] == b.acl, b.acl.refs)
	}
	c := tr.Create(tr.Get("/"), "/c", nil, digestACL, 0, 4, 4)
	if c.acl != b.acl || b.acl.refs != 2 {
		t.Fatalf("same list: entry shared %v, refs %d; want true, 2", c.acl == b.acl, b.acl.refs)
	}
}

package diff

import (
	"github.com/zkd-io/zkd/proto"
)

// Scenarios of ACLs, authentication, whoAmI and the super user.
var aclScenarios = append([]Scenario{
	{Name: "acl_default_open", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.GetACL(s.P("/a"))
		c.GetACL(s.P("/missing"))
	}},
	{Name: "acl_setacl_aversion", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.SetACL(s.P("/a"), ACL(proto.PermAll, "world", "anyone"), 0)
		c.SetACL(s.P("/a"), ACL(proto.PermRead|proto.PermAdmin, "world", "anyone"), 1)
		c.SetACL(s.P("/a"), Open, 1) // stale aversion
		c.SetACL(s.P("/a"), Open, -1)
		c.SetACL(s.P("/a"), Open, -2)
		c.GetACL(s.P("/a"))
		c.Exists(s.P("/a"), false)
	}},
	{Name: "acl_setacl_nonode", Run: func(s *S) {
		c := s.Client()
		c.SetACL(s.P("/missing"), Open, -1)
		c.SetACL(s.P("/missing"), []proto.ACL{}, -1)
		c.SetACL(s.P("/missing"), ACL(proto.PermAll, "foo", "bar"), -1)
	}},
	{Name: "acl_setacl_invalid_on_existing", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.SetACL(s.P("/a"), []proto.ACL{}, -1)
		c.SetACL(s.P("/a"), ACL(proto.PermAll, "foo", "bar"), -1)
		c.SetACL(s.P("/a"), ACL(proto.PermAll, "world", "other"), 5)
		c.SetACL(s.P("/a"), ACL(proto.PermAll, "auth", ""), -1)
		c.GetACL(s.P("/a"))
	}},
	{Name: "acl_perms_bits", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/zero"), "", ACL(0, "world", "anyone"), proto.ModePersistent)
		c.GetACL(s.P("/zero"))
		c.Create(s.P("/wide"), "", ACL(0xff, "world", "anyone"), proto.ModePersistent)
		c.GetACL(s.P("/wide"))
		c.Create(s.P("/neg"), "", ACL(-1, "world", "anyone"), proto.ModePersistent)
		c.GetACL(s.P("/neg"))
	}},
	{Name: "acl_duplicates", Run: func(s *S) {
		c := s.Client()
		acl := []proto.ACL{
			{Perms: proto.PermRead, ID: proto.WorldAnyone},
			{Perms: proto.PermRead, ID: proto.WorldAnyone},
			{Perms: proto.PermAll, ID: proto.WorldAnyone},
			{Perms: proto.PermRead, ID: proto.ID{Scheme: "ip", ID: "127.0.0.1"}},
		}
		c.Create(s.P("/a"), "", acl, proto.ModePersistent)
		c.GetACL(s.P("/a"))
	}},
	{Name: "acl_ip", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/mine"), "m", ACL(proto.PermAll, "ip", "127.0.0.1"), proto.ModePersistent)
		c.Create(s.P("/net"), "n", ACL(proto.PermAll, "ip", "127.0.0.0/8"), proto.ModePersistent)
		c.Create(s.P("/other"), "o", ACL(proto.PermAll, "ip", "10.0.0.0/8"), proto.ModePersistent)
		c.GetData(s.P("/mine"), false)
		c.GetData(s.P("/net"), false)
		c.GetData(s.P("/other"), false)
		c.GetACL(s.P("/other"))
		c.Exists(s.P("/other"), false)
	}},
	{Name: "acl_read_only_world", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/ro"), "x", ACL(proto.PermRead, "world", "anyone"), proto.ModePersistent)
		c.GetData(s.P("/ro"), false)
		c.GetChildren(s.P("/ro"), false)
		c.SetData(s.P("/ro"), "y", -1)
		c.Create(s.P("/ro/child"), "", Open, proto.ModePersistent)
		c.SetACL(s.P("/ro"), Open, -1)
		c.GetACL(s.P("/ro"))
		c.Delete(s.P("/ro"), -1) // delete needs DELETE on the parent, not the node
	}},
	{Name: "acl_noauth_each_perm", Run: func(s *S) {
		c := s.Client()
		// Each node grants everything except one permission.
		for _, x := range []struct {
			name string
			perm int32
		}{{"/nor", proto.PermRead}, {"/now", proto.PermWrite}, {"/noc", proto.PermCreate}, {"/nod", proto.PermDelete}, {"/noa", proto.PermAdmin}} {
			c.Create(s.P(x.name), "", ACL(proto.PermAll&^x.perm, "world", "anyone"), proto.ModePersistent)
			c.Create(s.P(x.name+"/kid"), "", Open, proto.ModePersistent)
			c.GetData(s.P(x.name), false)
			c.Exists(s.P(x.name), true)
			c.GetChildren(s.P(x.name), false)
			c.GetChildren2(s.P(x.name), false)
			c.SetData(s.P(x.name), "x", -1)
			c.Create(s.P(x.name+"/new"), "", Open, proto.ModePersistent)
			c.Delete(s.P(x.name+"/kid"), -1)
			c.GetACL(s.P(x.name))
			c.SetACL(s.P(x.name), ACL(proto.PermAll&^x.perm, "world", "anyone"), -1)
			c.GetAllChildrenNumber(s.P(x.name))
			c.Probe(proto.OpCheck, &proto.CheckVersionRequest{Path: s.P(x.name), Version: -1})
			c.Sync(s.P(x.name))
		}
	}},
	{Name: "acl_digest_auth", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Auth("digest", "alice:secret")
		c1.Create(s.P("/a"), "x", ACL(proto.PermAll, "digest", DigestID("alice", "secret")), proto.ModePersistent)
		c1.GetData(s.P("/a"), false)
		c2.GetData(s.P("/a"), false)
		c2.SetData(s.P("/a"), "y", -1)
		c2.Auth("digest", "alice:wrong")
		c2.GetData(s.P("/a"), false)
		c2.Auth("digest", "alice:secret")
		c2.GetData(s.P("/a"), false)
	}},
	{Name: "acl_auth_scheme_expands", Run: func(s *S) {
		// "auth" stands for every identity the creator authenticated with
		// (ip is not one); the id part is ignored. A reader without ADMIN
		// sees digest hashes masked as "x".
		s.N().SortACLs = true
		c := s.Client()
		c.Auth("digest", "bob:pw")
		c.Auth("digest", "carol:pw")
		c.Create(s.P("/a"), "", ACL(proto.PermAll, "auth", ""), proto.ModePersistent)
		c.GetACL(s.P("/a"))
		c.Create(s.P("/b"), "", ACL(proto.PermRead, "auth", "ignored"), proto.ModePersistent)
		c.GetACL(s.P("/b"))
		c.SetACL(s.P("/a"), ACL(proto.PermRead|proto.PermAdmin, "auth", ""), -1)
		c.GetACL(s.P("/a"))
	}},
	{Name: "acl_auth_scheme_without_auth", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", ACL(proto.PermAll, "auth", ""), proto.ModePersistent)
		c.Create(s.P("/b"), "", append(ACL(proto.PermAll, "auth", ""), Open...), proto.ModePersistent)
		c.GetChildren(s.P(""), false)
	}},
	{Name: "acl_getacl_digest_masking", Run: func(s *S) {
		// A reader without ADMIN sees digest ids as "user:x"; getACL needs
		// READ or ADMIN.
		c1, c2 := s.Client(), s.Client()
		c1.Auth("digest", "dave:pw")
		acl := []proto.ACL{
			{Perms: proto.PermAll, ID: proto.ID{Scheme: "digest", ID: DigestID("dave", "pw")}},
			{Perms: proto.PermRead, ID: proto.WorldAnyone},
		}
		c1.Create(s.P("/a"), "", acl, proto.ModePersistent)
		c1.GetACL(s.P("/a"))
		c2.GetACL(s.P("/a"))
		c2.Create(s.P("/noread"), "", ACL(proto.PermAdmin, "world", "anyone"), proto.ModePersistent)
		c2.GetACL(s.P("/noread"))
		c2.Create(s.P("/none"), "", []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "digest", ID: DigestID("dave", "pw")}}}, proto.ModePersistent)
		c2.GetACL(s.P("/none"))
	}},
	{Name: "auth_bad_digest_form", Run: func(s *S) {
		c := s.Client()
		c.Auth("digest", "nocolon")
		c.Barrier()
		c.WhoAmI()
	}},
	{Name: "auth_unknown_scheme", Run: func(s *S) {
		c := s.Client()
		c.Auth("nosuchscheme", "x")
		c.Barrier()
		c.WhoAmI()
	}},
	{Name: "auth_ip_scheme", Run: func(s *S) {
		c := s.Client()
		c.Auth("ip", "127.0.0.1")
		c.Barrier()
		c.WhoAmI()
	}},
	{Name: "auth_world_scheme", Run: func(s *S) {
		c := s.Client()
		c.Auth("world", "anyone")
		c.Barrier()
		c.WhoAmI()
	}},
	{Name: "auth_empty_digest", Run: func(s *S) {
		c := s.Client()
		c.Auth("digest", ":")
		c.Barrier()
		c.WhoAmI()
	}},
	{Name: "auth_with_normal_xid", Run: func(s *S) {
		// The Java client always uses xid -4; the server echoes whatever
		// xid the request had.
		c := s.Client()
		c.Probe(proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte("erin:pw")})
		c.WhoAmI()
	}},
	{Name: "whoami", Run: func(s *S) {
		c := s.Client()
		c.WhoAmI()
		c.Auth("digest", "frank:pw")
		c.WhoAmI()
		c.Auth("digest", "frank:pw") // the same identity twice
		c.Auth("digest", "grace:pw")
		c.WhoAmI()
	}},
	{Name: "super_user", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Auth("digest", "henry:pw")
		c1.Create(s.P("/locked"), "secret", ACL(proto.PermAll, "digest", DigestID("henry", "pw")), proto.ModePersistent)
		c1.Create(s.P("/locked/kid"), "", Open, proto.ModePersistent)
		c2.GetData(s.P("/locked"), false)
		c2.Auth("digest", s.SuperAuth)
		c2.WhoAmI()
		c2.GetData(s.P("/locked"), false)
		c2.SetData(s.P("/locked"), "by super", -1)
		c2.GetACL(s.P("/locked"))
		c2.Delete(s.P("/locked/kid"), -1)
		c2.SetACL(s.P("/locked"), ACL(proto.PermRead, "world", "anyone"), -1)
		c2.Create(s.P("/bysuper"), "", ACL(proto.PermAll, "auth", ""), proto.ModePersistent)
		c2.GetACL(s.P("/bysuper"))
		c1.GetData(s.P("/locked"), false)
	}},
	{Name: "super_wrong_password", Run: func(s *S) {
		c := s.Client()
		c.Auth("digest", "super:not-the-password")
		c.WhoAmI()
		c.Create(s.P("/x"), "", ACL(proto.PermRead, "ip", "10.1.1.1"), proto.ModePersistent)
		c.GetData(s.P("/x"), false)
	}},
	{Name: "acl_creator_locks_itself_out", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", ACL(proto.PermRead, "world", "anyone"), proto.ModePersistent)
		c.SetData(s.P("/a"), "x", -1)
		c.Create(s.P("/a/b"), "", Open, proto.ModePersistent)
		c.SetACL(s.P("/a"), Open, -1)
	}},
	{Name: "acl_multiple_identities", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		acl := []proto.ACL{
			{Perms: proto.PermRead, ID: proto.ID{Scheme: "digest", ID: DigestID("ivy", "pw")}},
			{Perms: proto.PermWrite, ID: proto.ID{Scheme: "digest", ID: DigestID("jack", "pw")}},
			{Perms: proto.PermAdmin | proto.PermCreate | proto.PermDelete, ID: proto.ID{Scheme: "ip", ID: "127.0.0.1"}},
		}
		c1.Create(s.P("/a"), "x", acl, proto.ModePersistent)
		c1.GetData(s.P("/a"), false)
		c1.SetData(s.P("/a"), "y", -1)
		c2.Auth("digest", "ivy:pw")
		c2.GetData(s.P("/a"), false)
		c2.SetData(s.P("/a"), "y", -1)
		c2.Auth("digest", "jack:pw")
		c2.SetData(s.P("/a"), "y", -1)
		c2.GetACL(s.P("/a"))
	}},
	{Name: "acl_ephemeral_with_acl_after_close", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/e"), "", ACL(proto.PermRead, "world", "anyone"), proto.ModeEphemeral)
		c2.Exists(s.P("/e"), true)
		c1.Close()
		c2.Barrier()
		c2.Exists(s.P("/e"), false)
	}},
}, invalidACLScenarios()...)

// invalidACLScenarios creates a node with each malformed ACL.
func invalidACLScenarios() []Scenario {
	var out []Scenario
	for _, tc := range []struct{ name, scheme, id string }{
		{"unknown_scheme", "foo", "bar"},
		{"world_other", "world", "other"},
		{"world_empty", "world", ""},
		{"digest_no_colon", "digest", "user"},
		{"digest_two_colons", "digest", "a:b:c"},
		{"digest_empty", "digest", ""},
		{"digest_ok_form", "digest", "user:anything"},
		{"ip_ok", "ip", "192.168.1.1"},
		{"ip_cidr_ok", "ip", "10.0.0.0/8"},
		{"ip_cidr_zero", "ip", "0.0.0.0/0"},
		{"ip_cidr_bad_bits", "ip", "10.0.0.0/33"},
		{"ip_cidr_negative", "ip", "10.0.0.0/-1"},
		{"ip_bad_octet", "ip", "300.1.1.1"},
		{"ip_name", "ip", "localhost"},
		{"ip_v6", "ip", "::1"},
		{"ip_empty", "ip", ""},
		{"super_scheme", "super", "anything"},
		{"sasl_scheme", "sasl", "user"},
		{"x509_scheme", "x509", "CN=x"},
		{"empty_scheme", "", "x"},
	} {
		out = append(out, Scenario{Name: "acl_form_" + tc.name, Run: func(s *S) {
			c := s.Client()
			c.Create(s.P("/a"), "", ACL(proto.PermAll, tc.scheme, tc.id), proto.ModePersistent)
			c.GetACL(s.P("/a"))
			c.Create(s.P("/b"), "", Open, proto.ModePersistent)
			c.SetACL(s.P("/b"), ACL(proto.PermAll, tc.scheme, tc.id), -1)
			c.GetACL(s.P("/b"))
		}})
	}
	return out
}

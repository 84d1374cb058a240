package diff

import (
	"fmt"
	"strings"

	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/proto"
)

// Limits of ZooKeeper 3.8's EphemeralType.TTL: the TTL lives in the low 40
// bits of ephemeralOwner, so 1..2^40-1 ms is valid.
const (
	maxTTL = int64(1)<<40 - 1
)

var createScenarios = append([]Scenario{
	{Name: "create_persistent", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "x", Open, proto.ModePersistent)
		c.GetData(s.P("/a"), false)
		c.Exists(s.P("/a"), false)
		c.GetChildren2(s.P(""), false)
	}},
	{Name: "create2_persistent", Run: func(s *S) {
		c := s.Client()
		c.Create2(s.P("/a"), "hello", Open, proto.ModePersistent)
		c.Create2(s.P("/a/b"), "", Open, proto.ModePersistent)
		c.GetData(s.P("/a"), false)
		c.GetData(s.P("/a/b"), false)
	}},
	{Name: "create_ephemeral", Run: func(s *S) {
		c := s.Client()
		c.Create2(s.P("/e"), "x", Open, proto.ModeEphemeral)
		c.GetData(s.P("/e"), false)
		// Failed writes still consume a zxid in ZooKeeper: the error is a
		// transaction of its own.
		c.Create2(s.P("/e"), "x", Open, proto.ModeEphemeral)
		c.Create2(s.P("/e/x"), "x", Open, proto.ModeEphemeral)
		c.Create2(s.P("/e/y"), "x", Open, proto.ModePersistent)
	}},
	{Name: "create_ephemeral_sequential_under_ephemeral", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/e"), "", Open, proto.ModeEphemeral)
		c.Create(s.P("/e/s-"), "", Open, proto.ModeEphemeralSequential)
		c.Create(s.P("/e/"), "", Open, proto.ModePersistentSequential)
	}},
	{Name: "create_persistent_sequential", Run: func(s *S) {
		c := s.Client()
		for i := 0; i < 3; i++ {
			c.Create2(s.P("/q-"), fmt.Sprint(i), Open, proto.ModePersistentSequential)
		}
		c.GetChildren2(s.P(""), false)
	}},
	{Name: "create_ephemeral_sequential", Run: func(s *S) {
		c := s.Client()
		c.Create2(s.P("/lock-"), "", Open, proto.ModeEphemeralSequential)
		r := c.Create2(s.P("/lock-"), "", Open, proto.ModeEphemeralSequential)
		c.GetData(r.Path(), false)
		c.GetChildren(s.P(""), false)
	}},
	{Name: "create_sequential_after_delete", Run: func(s *S) {
		c := s.Client()
		r := c.Create(s.P("/q-"), "", Open, proto.ModePersistentSequential)
		c.Delete(r.Path(), -1)
		c.Create(s.P("/q-"), "", Open, proto.ModePersistentSequential)
		c.GetChildren2(s.P(""), false)
	}},
	{Name: "create_sequential_counts_every_child_change", Run: func(s *S) {
		// The sequence number is the parent's cversion, which every child
		// create and delete bumps, sequential or not.
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.Create(s.P("/b"), "", Open, proto.ModePersistent)
		c.Delete(s.P("/a"), -1)
		c.Create(s.P("/s-"), "", Open, proto.ModePersistentSequential)
		c.GetChildren2(s.P(""), false)
	}},
	{Name: "create_sequential_failed_create_no_bump", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.Create(s.P("/a"), "", Open, proto.ModePersistent) // NodeExists
		c.Create(s.P("/s-"), "", Open, proto.ModePersistentSequential)
	}},
	{Name: "create_sequential_trailing_slash", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/d"), "", Open, proto.ModePersistent)
		c.Create2(s.P("/d/"), "", Open, proto.ModePersistentSequential)
		c.Create2(s.P("/d/"), "", Open, proto.ModeEphemeralSequential)
		c.GetChildren(s.P("/d"), false)
	}},
	{Name: "create_sequential_name_collision", Run: func(s *S) {
		// A plain node named like the next sequential one makes that
		// sequential create fail with NodeExists.
		c := s.Client()
		c.Create(s.P("/x0000000001"), "", Open, proto.ModePersistent)
		c.Create(s.P("/x"), "", Open, proto.ModePersistentSequential)
		c.Create(s.P("/x"), "", Open, proto.ModePersistentSequential)
		c.Create(s.P("/x"), "", Open, proto.ModePersistentSequential)
		c.GetChildren(s.P(""), false)
	}},
	{Name: "create_sequential_two_sessions", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/n-"), "", Open, proto.ModeEphemeralSequential)
		c2.Create(s.P("/n-"), "", Open, proto.ModeEphemeralSequential)
		c1.Create(s.P("/n-"), "", Open, proto.ModePersistentSequential)
		c2.GetChildren2(s.P(""), false)
	}},
	{Name: "create_parent_stat_changes", Run: func(s *S) {
		c := s.Client()
		c.Exists(s.P(""), false)
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.Exists(s.P(""), false)
		c.Create(s.P("/a/b"), "", Open, proto.ModePersistent)
		c.Exists(s.P(""), false)
		c.Delete(s.P("/a/b"), -1)
		c.Exists(s.P("/a"), false)
		c.Exists(s.P(""), false)
	}},
	{Name: "create_no_parent", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/missing/child"), "", Open, proto.ModePersistent)
		c.Create2(s.P("/missing/child"), "", Open, proto.ModeEphemeral)
		c.Create(s.P("/missing/"), "", Open, proto.ModePersistentSequential)
		c.CreateContainer(s.P("/missing/c"), "", Open)
		c.CreateTTL(s.P("/missing/t"), "", Open, proto.ModePersistentWithTTL, 1000)
	}},
	{Name: "create_root", Run: func(s *S) {
		// A sequential create of "/" would make a child of the root; see
		// fresh_root_sequential, which has a server of its own for it.
		c := s.Client()
		c.Create("/", "", Open, proto.ModePersistent)
		c.Create2("/", "", Open, proto.ModeEphemeral)
		c.Create("/zookeeper", "", Open, proto.ModePersistent)
		c.Create("/zookeeper/quota", "", Open, proto.ModePersistent)
	}},
	{Name: "create_null_and_empty_data", Run: func(s *S) {
		c := s.Client()
		c.Call(proto.OpCreate, &proto.CreateRequest{Path: s.P("/null"), Data: nil, ACL: Open})
		c.Call(proto.OpCreate, &proto.CreateRequest{Path: s.P("/empty"), Data: []byte{}, ACL: Open})
		c.GetData(s.P("/null"), false)
		c.GetData(s.P("/empty"), false)
		c.Call(proto.OpSetData, &proto.SetDataRequest{Path: s.P("/empty"), Data: nil, Version: -1})
		c.GetData(s.P("/empty"), false)
	}},
	{Name: "create_binary_data", Run: func(s *S) {
		c := s.Client()
		c.Call(proto.OpCreate, &proto.CreateRequest{Path: s.P("/bin"), Data: []byte{0, 1, 2, 0xff, 0xfe}, ACL: Open})
		c.GetData(s.P("/bin"), false)
	}},
	{Name: "create_acl_empty", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", []proto.ACL{}, proto.ModePersistent)
		c.Exists(s.P("/a"), false)
	}},
	{Name: "create_acl_null_vector", Run: func(s *S) {
		c := s.Client()
		w := jute.NewWriter(64)
		w.String(s.P("/a"))
		w.Buffer([]byte("x"))
		w.VecLen(-1) // null ACL vector
		w.Int(proto.ModePersistent)
		c.SendRawAs("create with a null ACL vector", 1, proto.OpCreate, append(EncodeRequest(1, proto.OpCreate, nil), w.Bytes()...))
		c.Barrier()
		c.Exists(s.P("/a"), false)
	}},
	{Name: "create_large_data_ok", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/big"), strings.Repeat("x", 1000000), Open, proto.ModePersistent)
		c.Exists(s.P("/big"), false)
	}},
	{Name: "create_data_over_jute_maxbuffer", Run: func(s *S) {
		// The frame is larger than jute.maxbuffer (0xfffff): ZooKeeper
		// drops the connection without a reply.
		c := s.Client()
		c.Create(s.P("/big"), strings.Repeat("x", 1<<20), Open, proto.ModePersistent)
		c2 := s.Client()
		c2.Exists(s.P("/big"), false)
	}},
	{Name: "create_container", Run: func(s *S) {
		// ZooKeeper shows ephemeralOwner 0 for containers and TTL nodes:
		// DataNode.copyStat hides the internal marker from clients.
		c := s.Client()
		c.CreateContainer(s.P("/c"), "data", Open)
		c.GetData(s.P("/c"), false)
		c.Create2(s.P("/c/child"), "", Open, proto.ModePersistent)
		c.GetChildren2(s.P("/c"), false)
		c.CreateContainer(s.P("/c"), "data", Open)
	}},
	{Name: "create_container_flag_via_create", Run: func(s *S) {
		// The flags decide the node type, not the opcode: a plain create
		// with the container flag makes a container.
		c := s.Client()
		c.Create(s.P("/c1"), "", Open, proto.ModeContainer)
		c.Create2(s.P("/c2"), "", Open, proto.ModeContainer)
		c.Exists(s.P("/c1"), false)
		c.Create(s.P("/c1/x"), "", Open, proto.ModePersistent)
		c.Delete(s.P("/c1/x"), -1)
		s.Eventually("c1 swept as a container", 2e9, func() bool { return c.Exists(s.P("/c1"), false).Err == proto.ErrNoNode })
	}},
	{Name: "create_container_op_other_flags", Run: func(s *S) {
		// createContainer honours whatever flags it carries (ZooKeeper 3.8
		// only rejects the TTL ones): flags 0 makes a plain node, 1 an
		// ephemeral, 2 a sequential one.
		c := s.Client()
		for _, f := range []int32{proto.ModePersistent, proto.ModeEphemeral, proto.ModePersistentSequential, proto.ModePersistentWithTTL, 9} {
			c.Call(proto.OpCreateContainer, &proto.CreateRequest{Path: s.P(fmt.Sprintf("/c%d", f)), ACL: Open, Flags: f})
		}
		c.GetChildren(s.P(""), false)
		c.GetEphemerals(s.P(""))
		c.Create(s.P("/c0/x"), "", Open, proto.ModePersistent)
		c.Delete(s.P("/c0/x"), -1)
		s.Eventually("c0 swept as a container", 1e9, func() bool { return c.Exists(s.P("/c0"), false).Err == proto.ErrNoNode })
	}},
	{Name: "create_container_removed_when_emptied", Run: func(s *S) {
		c := s.Client()
		c.CreateContainer(s.P("/c"), "", Open)
		c.Create(s.P("/c/x"), "", Open, proto.ModePersistent)
		c.Delete(s.P("/c/x"), -1)
		s.Eventually("container removed", 5e9, func() bool { return c.Exists(s.P("/c"), false).Err == proto.ErrNoNode })
		c.Exists(s.P("/c"), false)
	}},
	{Name: "create_container_never_used_kept", Run: func(s *S) {
		// A container that never had a child (cversion 0) is not swept.
		c := s.Client()
		c.CreateContainer(s.P("/c"), "", Open)
		s.Quietly(func() { c.Sync(s.P("")) })
		c.Exists(s.P("/c"), false)
	}},
	{Name: "create_ttl", Run: func(s *S) {
		c := s.Client()
		c.CreateTTL(s.P("/t"), "x", Open, proto.ModePersistentWithTTL, 3600000)
		c.GetData(s.P("/t"), false)
		c.Create(s.P("/t/child"), "", Open, proto.ModePersistent)
		c.GetChildren2(s.P("/t"), false)
	}},
	{Name: "create_ttl_sequential", Run: func(s *S) {
		c := s.Client()
		c.CreateTTL(s.P("/t-"), "", Open, proto.ModePersistentSequentialWithTTL, 3600000)
		r := c.CreateTTL(s.P("/t-"), "", Open, proto.ModePersistentSequentialWithTTL, 3600000)
		c.Exists(r.Path(), false)
	}},
	{Name: "create_ttl_expires", Run: func(s *S) {
		// Scenarios must not leave nodes that expire later: their deletion
		// would shift zxids in another scenario's transcript.
		c := s.Client()
		c.CreateTTL(s.P("/t"), "", Open, proto.ModePersistentWithTTL, 1)
		c.CreateTTL(s.P("/p"), "", Open, proto.ModePersistentWithTTL, 100)
		c.Create(s.P("/p/child"), "", Open, proto.ModePersistent)
		s.Eventually("ttl node removed", 5e9, func() bool { return c.Exists(s.P("/t"), false).Err == proto.ErrNoNode })
		c.Exists(s.P("/p"), false) // kept: it has a child
		c.Delete(s.P("/p/child"), -1)
		s.Eventually("emptied ttl node removed", 5e9, func() bool { return c.Exists(s.P("/p"), false).Err == proto.ErrNoNode })
	}},
	{Name: "create_ttl_max", Run: func(s *S) {
		c := s.Client()
		c.CreateTTL(s.P("/max"), "", Open, proto.ModePersistentWithTTL, maxTTL)
		c.CreateTTL(s.P("/over"), "", Open, proto.ModePersistentWithTTL, maxTTL+1)
		c.Exists(s.P("/max"), false)
	}},
	{Name: "create_ttl_mode_via_create", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/t1"), "", Open, proto.ModePersistentWithTTL)
		c.Create2(s.P("/t2"), "", Open, proto.ModePersistentSequentialWithTTL)
		c.GetChildren(s.P(""), false)
	}},
	{Name: "create_invalid_flags", Run: func(s *S) {
		c := s.Client()
		for i, f := range []int32{7, 8, 100, -1} {
			c.Create(s.P(fmt.Sprintf("/f%d", i)), "", Open, f)
		}
		c.Create2(s.P("/g"), "", Open, 7)
		c.GetChildren(s.P(""), false)
		c.Ping()
	}},
	{Name: "create_truncated_body", Run: func(s *S) {
		c := s.Client()
		full := EncodeRequest(1, proto.OpCreate, &proto.CreateRequest{Path: s.P("/a"), Data: []byte("x"), ACL: Open})
		c.SendRawAs("create cut off inside the ACL", 1, proto.OpCreate, full[:len(full)-6])
		c.ClosedOrUsable()
		c.Exists(s.P("/a"), false)
	}},
}, append(ttlValueScenarios(), badPathScenarios()...)...)

// ttlValueScenarios checks createTTL's TTL range and flag checks.
func ttlValueScenarios() []Scenario {
	var out []Scenario
	for _, tc := range []struct {
		name  string
		flags int32
		ttl   int64
	}{
		{"ttl_zero", proto.ModePersistentWithTTL, 0},
		{"ttl_negative", proto.ModePersistentWithTTL, -1},

		{"ttl_huge", proto.ModePersistentWithTTL, 1 << 62},
		{"ttl_sequential_zero", proto.ModePersistentSequentialWithTTL, 0},
		{"ttl_flag_persistent", proto.ModePersistent, 3600000},
		{"ttl_flag_ephemeral", proto.ModeEphemeral, 3600000},
		{"ttl_flag_sequential", proto.ModePersistentSequential, 3600000},
		{"ttl_flag_container", proto.ModeContainer, 3600000},
		{"ttl_flag_invalid", 9, 3600000},
	} {
		out = append(out, Scenario{Name: "create_" + tc.name, Run: func(s *S) {
			c := s.Client()
			c.CreateTTL(s.P("/t"), "", Open, tc.flags, tc.ttl)
			c.GetChildren(s.P(""), false)
		}})
	}
	return out
}

// badPaths are paths PathUtils.validatePath rejects (relative to the
// scenario root unless they start with "!", which is stripped and used as
// an absolute path).
var badPaths = []struct{ name, path string }{
	{"empty", "!"},
	{"relative", "!a/b"},
	{"trailing_slash", "/"},             // "/R/": the parent exists, so the name is checked
	{"trailing_slash_no_parent", "/a/"}, // ZooKeeper looks up the parent first: NoNode
	{"double_slash", "//b"},
	{"dot", "/."},
	{"dotdot", "/.."},
	{"dot_middle", "/./a"},
	{"dotdot_middle", "/a/../b"},
	{"control_char", "/a\x01"},
	{"nul", "/a\x00b"},
	{"del", "/a\x7f"},
	{"c1_control", "/a\u0085"},
	{"private_use", "/a\ue000"},
	{"specials", "/a\ufff0"},
	{"surrogate_bytes", "/a\xed\xa0\x80"},
	{"non_bmp", "/a\U0001F600"},
	{"invalid_utf8", "/a\xff"},
}

// okPaths look suspicious but are valid.
var okPaths = []struct{ name, path string }{
	{"dot_prefix", "/.a"},
	{"dot_suffix", "/a."},
	{"three_dots", "/..."},
	{"space", "/a b"},
	{"unicode", "/\u00fc\u4e2d"},
	{"colon", "/a:b"},
}

func resolve(s *S, p string) string {
	if strings.HasPrefix(p, "!") {
		return p[1:]
	}
	return s.P(p)
}

func badPathScenarios() []Scenario {
	var out []Scenario
	for _, bp := range badPaths {
		out = append(out, Scenario{Name: "create_badpath_" + bp.name, Run: func(s *S) {
			c := s.Client()
			c.Create(resolve(s, bp.path), "", Open, proto.ModePersistent)
			c.Create(resolve(s, bp.path), "", Open, proto.ModePersistentSequential)
			c.GetChildren(s.P(""), false)
		}})
	}
	out = append(out, Scenario{Name: "create_odd_but_valid_paths", Run: func(s *S) {
		c := s.Client()
		for _, p := range okPaths {
			c.Create(s.P(p.path), "", Open, proto.ModePersistent)
		}
		c.GetChildren(s.P(""), false)
	}})
	// Every other path-taking op on the bad paths, one scenario per op.
	for _, op := range []struct {
		name string
		do   func(c *Client, p string)
	}{
		{"delete", func(c *Client, p string) { c.Delete(p, -1) }},
		{"exists", func(c *Client, p string) { c.Exists(p, true) }},
		{"getData", func(c *Client, p string) { c.GetData(p, true) }},
		{"setData", func(c *Client, p string) { c.SetData(p, "x", -1) }},
		{"getChildren", func(c *Client, p string) { c.GetChildren(p, true) }},
		{"getACL", func(c *Client, p string) { c.GetACL(p) }},
		{"setACL", func(c *Client, p string) { c.SetACL(p, Open, -1) }},
		{"sync", func(c *Client, p string) { c.Sync(p) }},
		{"check", func(c *Client, p string) { c.Probe(proto.OpCheck, &proto.CheckVersionRequest{Path: p, Version: -1}) }},
		{"addWatch", func(c *Client, p string) { c.AddWatch(p, proto.AddWatchPersistent) }},
		{"getAllChildrenNumber", func(c *Client, p string) { c.GetAllChildrenNumber(p) }},
		{"getEphemerals", func(c *Client, p string) { c.GetEphemerals(p) }},
		{"removeWatches", func(c *Client, p string) { c.RemoveWatches(p, proto.WatcherAny) }},
	} {
		out = append(out, Scenario{Name: "badpaths_" + op.name, Run: func(s *S) {
			// Reads do not validate paths in ZooKeeper: a bad path is just
			// a node that does not exist (NoNode), while writes answer
			// BadArguments. The empty path names the root for reads
			// (fresh_empty_path_reads), so it is left out here.
			c := s.Client()
			for _, bp := range []string{"!a/b", "/a/", "//b", "/.", "/a\x01", "/a\ufff0"} {
				op.do(c, resolve(s, bp))
			}
			c.Ping()
		}})
	}
	return out
}

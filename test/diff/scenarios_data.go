package diff

import (
	"github.com/zkd-io/zkd/proto"
)

// Scenarios of delete, setData, the reads, check, sync and the counting
// ops, each on its success and error paths.
var dataScenarios = []Scenario{
	// delete
	{Name: "delete_ok", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.Delete(s.P("/a"), -1)
		c.Exists(s.P("/a"), false)
		c.GetChildren2(s.P(""), false)
	}},
	{Name: "delete_version_match", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.SetData(s.P("/a"), "1", -1)
		c.Delete(s.P("/a"), 1)
		c.Exists(s.P("/a"), false)
	}},
	{Name: "delete_badversion", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.Delete(s.P("/a"), 1)
		c.Delete(s.P("/a"), -2)
		c.Delete(s.P("/a"), 1<<31-1)
		c.Exists(s.P("/a"), false)
	}},
	{Name: "delete_nonode", Run: func(s *S) {
		c := s.Client()
		c.Delete(s.P("/missing"), -1)
		c.Delete(s.P("/missing"), 5)
		c.Delete(s.P("/missing/deeper"), -1)
	}},
	{Name: "delete_notempty", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.Create(s.P("/a/b"), "", Open, proto.ModePersistent)
		c.Delete(s.P("/a"), -1)
		// NotEmpty wins over a wrong version? Order of the checks shows.
		c.Delete(s.P("/a"), 7)
		c.Delete(s.P("/a/b"), -1)
		c.Delete(s.P("/a"), -1)
	}},
	{Name: "delete_ephemeral_of_other_session", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/e"), "", Open, proto.ModeEphemeral)
		c2.Delete(s.P("/e"), -1)
		c1.Exists(s.P("/e"), false)
		c1.GetEphemerals(s.P(""))
	}},
	{Name: "delete_then_recreate", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "v1", Open, proto.ModePersistent)
		c.SetData(s.P("/a"), "v2", -1)
		c.Delete(s.P("/a"), -1)
		c.Create2(s.P("/a"), "v3", Open, proto.ModePersistent)
		c.GetData(s.P("/a"), false)
	}},

	// setData
	{Name: "setdata_versions", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "0", Open, proto.ModePersistent)
		c.SetData(s.P("/a"), "1", 0)
		c.SetData(s.P("/a"), "2", 1)
		c.SetData(s.P("/a"), "3", -1)
		c.SetData(s.P("/a"), "stale", 1)
		c.SetData(s.P("/a"), "neg", -2)
		c.GetData(s.P("/a"), false)
	}},
	{Name: "setdata_nonode", Run: func(s *S) {
		c := s.Client()
		c.SetData(s.P("/missing"), "x", -1)
		c.SetData(s.P("/missing"), "x", 3)
	}},
	{Name: "setdata_same_data_bumps_version", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "same", Open, proto.ModePersistent)
		c.SetData(s.P("/a"), "same", -1)
		c.SetData(s.P("/a"), "same", -1)
		c.GetData(s.P("/a"), false)
	}},
	{Name: "setdata_parent_unchanged", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.Exists(s.P(""), false)
		c.SetData(s.P("/a"), "x", -1)
		c.Exists(s.P(""), false)
	}},
	{Name: "setdata_ephemeral_other_session", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/e"), "", Open, proto.ModeEphemeral)
		c2.SetData(s.P("/e"), "by c2", -1)
		c1.GetData(s.P("/e"), false)
	}},
	{Name: "setdata_large", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.SetData(s.P("/a"), string(make([]byte, 500000)), -1)
		c.Exists(s.P("/a"), false)
	}},

	// reads
	{Name: "reads_nonode", Run: func(s *S) {
		c := s.Client()
		p := s.P("/missing")
		c.Exists(p, false)
		c.GetData(p, false)
		c.GetChildren(p, false)
		c.GetChildren2(p, false)
		c.GetACL(p)
		c.GetAllChildrenNumber(p)
		c.Probe(proto.OpCheck, &proto.CheckVersionRequest{Path: p, Version: -1})
	}},
	{Name: "reads_nonode_with_watch", Run: func(s *S) {
		// exists leaves a watch on a missing node; getData and getChildren
		// do not, so only one event fires when the node appears.
		c1, c2 := s.Client(), s.Client()
		p := s.P("/later")
		c1.Exists(p, true)
		c1.GetData(p, true)
		c1.GetChildren(p, true)
		c2.Create(p, "", Open, proto.ModePersistent)
		c1.Barrier()
		c2.Create(p+"/child", "", Open, proto.ModePersistent)
		c2.SetData(p, "x", -1)
		c1.Barrier()
	}},
	{Name: "getchildren_variants", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/p"), "", Open, proto.ModePersistent)
		c.GetChildren(s.P("/p"), false)
		c.GetChildren2(s.P("/p"), false)
		for _, n := range []string{"zeta", "alpha", "mid", "Alpha", "10", "9"} {
			c.Create(s.P("/p/"+n), "", Open, proto.ModePersistent)
		}
		c.GetChildren(s.P("/p"), false)
		c.GetChildren2(s.P("/p"), false)
		c.Create(s.P("/p/zeta/deep"), "", Open, proto.ModePersistent)
		c.GetChildren2(s.P("/p"), false)
	}},
	{Name: "getchildren_of_ephemeral", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/e"), "", Open, proto.ModeEphemeral)
		c.GetChildren2(s.P("/e"), false)
	}},
	{Name: "exists_and_getdata_stat_agree", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "abc", Open, proto.ModePersistent)
		c.Create(s.P("/a/b"), "", Open, proto.ModePersistent)
		c.SetData(s.P("/a"), "abcdef", -1)
		c.Exists(s.P("/a"), false)
		c.GetData(s.P("/a"), false)
		c.GetChildren2(s.P("/a"), false)
		c.GetACL(s.P("/a"))
	}},
	{Name: "read_own_writes_pipelined", Run: func(s *S) {
		// Requests of one session are answered in order, reads after
		// writes included.
		c := s.Client()
		x1 := c.Send(proto.OpCreate, &proto.CreateRequest{Path: s.P("/a"), Data: []byte("1"), ACL: Open})
		x2 := c.Send(proto.OpGetData, &proto.GetDataRequest{Path: s.P("/a")})
		x3 := c.Send(proto.OpSetData, &proto.SetDataRequest{Path: s.P("/a"), Data: []byte("2"), Version: 0})
		x4 := c.Send(proto.OpGetData, &proto.GetDataRequest{Path: s.P("/a")})
		x5 := c.Send(proto.OpDelete, &proto.DeleteRequest{Path: s.P("/a"), Version: 5})
		x6 := c.Send(proto.OpExists, &proto.ExistsRequest{Path: s.P("/a")})
		for _, x := range []int32{x1, x2, x3, x4, x5, x6} {
			c.Await(x)
		}
	}},
	{Name: "pipelined_many", Run: func(s *S) {
		c := s.Client()
		var xids []int32
		for i := 0; i < 20; i++ {
			xids = append(xids, c.Send(proto.OpCreate, &proto.CreateRequest{Path: s.P("/n-"), ACL: Open, Flags: proto.ModePersistentSequential}))
			xids = append(xids, c.Send(proto.OpGetChildren2, &proto.GetChildren2Request{Path: s.P("")}))
		}
		c.AwaitAll()
	}},

	// check (standalone op)
	{Name: "check_standalone", Run: func(s *S) {
		// ZooKeeper 3.8 does not answer a successful standalone check at
		// all (3.9 added it as an op of its own); failures are answered.
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.Probe(proto.OpCheck, &proto.CheckVersionRequest{Path: s.P("/a"), Version: 0})
		c.Probe(proto.OpCheck, &proto.CheckVersionRequest{Path: s.P("/a"), Version: -1})
		c.Probe(proto.OpCheck, &proto.CheckVersionRequest{Path: s.P("/a"), Version: 3})
		c.Probe(proto.OpCheck, &proto.CheckVersionRequest{Path: s.P("/missing"), Version: 0})
		c.GetData(s.P("/a"), false)
	}},

	// sync
	{Name: "sync_paths", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.Sync(s.P("/a"))
		c.Sync(s.P("/missing"))
		c.Sync("/")
		c.GetData(s.P("/a"), false)
	}},
	{Name: "sync_pipelined_with_writes", Run: func(s *S) {
		c := s.Client()
		c.Send(proto.OpCreate, &proto.CreateRequest{Path: s.P("/a"), ACL: Open})
		c.Send(proto.OpSync, &proto.SyncRequest{Path: s.P("/a")})
		c.Send(proto.OpSetData, &proto.SetDataRequest{Path: s.P("/a"), Data: []byte("x"), Version: -1})
		c.Send(proto.OpSync, &proto.SyncRequest{Path: s.P("")})
		c.Send(proto.OpGetData, &proto.GetDataRequest{Path: s.P("/a")})
		c.AwaitAll()
	}},

	// getAllChildrenNumber
	{Name: "getallchildrennumber", Run: func(s *S) {
		c := s.Client()
		c.GetAllChildrenNumber(s.P(""))
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.Create(s.P("/a/b"), "", Open, proto.ModePersistent)
		c.Create(s.P("/a/b/c"), "", Open, proto.ModePersistent)
		c.Create(s.P("/a/d"), "", Open, proto.ModeEphemeral)
		c.Create(s.P("/ab"), "", Open, proto.ModePersistent)
		c.GetAllChildrenNumber(s.P(""))
		c.GetAllChildrenNumber(s.P("/a"))
		c.GetAllChildrenNumber(s.P("/a/b/c"))
		c.GetAllChildrenNumber(s.P("/a/b/c/missing"))
	}},
	{Name: "getallchildrennumber_zookeeper", Run: func(s *S) {
		c := s.Client()
		c.GetAllChildrenNumber("/zookeeper")
		c.GetAllChildrenNumber("/zookeeper/quota")
	}},

	// getEphemerals
	{Name: "getephemerals_prefix", Run: func(s *S) {
		// The prefix is a plain string prefix, not a path: "/R/a" also
		// matches "/R/ab".
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModeEphemeral)
		c1.Create(s.P("/ab"), "", Open, proto.ModeEphemeral)
		c1.Create(s.P("/b"), "", Open, proto.ModePersistent)
		c1.Create(s.P("/b/c"), "", Open, proto.ModeEphemeral)
		c2.Create(s.P("/z"), "", Open, proto.ModeEphemeral)
		c1.GetEphemerals(s.P(""))
		c1.GetEphemerals(s.P("/a"))
		c1.GetEphemerals(s.P("/b/"))
		c1.GetEphemerals(s.P("/z"))
		c2.GetEphemerals(s.P(""))
		c2.GetEphemerals(s.P("/nothing"))
	}},
	{Name: "getephemerals_whole_session", Run: func(s *S) {
		c := s.Client()
		c.GetEphemerals("/")
		c.Create(s.P("/e1"), "", Open, proto.ModeEphemeral)
		c.Create(s.P("/s-"), "", Open, proto.ModeEphemeralSequential)
		c.GetEphemerals("/")
		c.Delete(s.P("/e1"), -1)
		c.GetEphemerals("/")
	}},
}

// unknownOpScenarios sends opcodes a server does not serve to clients.
func unknownOpScenarios() []Scenario {
	var out []Scenario
	for _, op := range []struct {
		name string
		code proto.OpCode
		body proto.Record
	}{
		{"unused_10", 10, nil},
		{"unassigned_999", 999, nil},
		{"negative_7", -7, nil},
		{"notification_0", proto.OpNotification, nil},
		{"deleteContainer", proto.OpDeleteContainer, &proto.DeleteRequest{Version: -1}},
		{"createSession", proto.OpCreateSession, nil},
		{"error_op", proto.OpError, nil},
		{"sasl", proto.OpSasl, &proto.GetSASLRequest{Token: []byte("x")}},
	} {
		out = append(out, Scenario{Name: "opcode_" + op.name, Run: func(s *S) {
			c := s.Client()
			if r, ok := op.body.(*proto.DeleteRequest); ok {
				c.Create(s.P("/c"), "", Open, proto.ModePersistent)
				r.Path = s.P("/c")
			}
			// Does the server answer, and is the connection still usable?
			// ZooKeeper answers Unimplemented (with zxid -1) and then
			// closes the connection.
			c.Await(c.Send(op.code, op.body))
			c.ClosedOrUsable()
			if op.code == proto.OpDeleteContainer {
				c2 := s.Client()
				c2.Exists(s.P("/c"), false)
			}
		}})
	}
	return out
}

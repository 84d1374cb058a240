package diff

import (
	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/proto"
)

// Scenarios of multi (all-or-nothing writes) and multiRead.
var multiScenarios = []Scenario{
	{Name: "multi_all_succeed", Run: func(s *S) {
		c := s.Client()
		c.Multi(
			MCreate(s.P("/a"), "1", Open, proto.ModePersistent),
			MCreate2(s.P("/a/b"), "2", Open, proto.ModePersistent),
			MSetData(s.P("/a"), "1b", 0),
			MCheck(s.P("/a"), 1),
			MCreate(s.P("/a/c"), "", Open, proto.ModePersistent),
			MDelete(s.P("/a/c"), 0),
		)
		c.GetData(s.P("/a"), false)
		c.GetChildren2(s.P("/a"), false)
	}},
	{Name: "multi_fail_middle", Run: func(s *S) {
		// ZooKeeper 3.8: the reply header says OK; the ops before the
		// failure are error results with code OK, then the failing op's
		// error, then RuntimeInconsistency for the rest; nothing applied.
		// A failed multi still uses a zxid.
		c := s.Client()
		c.Create(s.P("/exists"), "", Open, proto.ModePersistent)
		c.Multi(
			MCreate(s.P("/a"), "", Open, proto.ModePersistent),
			MCreate(s.P("/exists"), "", Open, proto.ModePersistent),
			MCreate(s.P("/b"), "", Open, proto.ModePersistent),
			MSetData(s.P("/exists"), "x", -1),
		)
		c.GetChildren2(s.P(""), false)
		c.GetData(s.P("/exists"), false)
	}},
	{Name: "multi_fail_first", Run: func(s *S) {
		c := s.Client()
		c.Multi(
			MDelete(s.P("/missing"), -1),
			MCreate(s.P("/a"), "", Open, proto.ModePersistent),
		)
		c.Exists(s.P("/a"), false)
	}},
	{Name: "multi_fail_last", Run: func(s *S) {
		c := s.Client()
		c.Multi(
			MCreate(s.P("/a"), "", Open, proto.ModePersistent),
			MCreate2(s.P("/b"), "", Open, proto.ModePersistent),
			MCheck(s.P("/a"), 5),
		)
		c.GetChildren(s.P(""), false)
	}},
	{Name: "multi_check_only", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.Multi(MCheck(s.P("/a"), 0))
		c.Multi(MCheck(s.P("/a"), 1))
		c.Multi(MCheck(s.P("/missing"), -1))
		c.Multi(MCheck(s.P("/a"), -1), MCheck(s.P("/a"), 0))
	}},
	{Name: "multi_empty", Run: func(s *S) {
		c := s.Client()
		c.Multi()
		c.MultiRead()
		c.Exists(s.P(""), false)
	}},
	{Name: "multi_create_kinds", Run: func(s *S) {
		c := s.Client()
		c.Multi(
			MCreate(s.P("/p"), "", Open, proto.ModePersistent),
			MCreate2(s.P("/p2"), "", Open, proto.ModePersistent),
			MCreate(s.P("/e"), "", Open, proto.ModeEphemeral),
			MCreate(s.P("/s-"), "", Open, proto.ModePersistentSequential),
			MCreate2(s.P("/s-"), "", Open, proto.ModeEphemeralSequential),
			MCreateContainer(s.P("/c"), "", Open),
			MCreateTTL(s.P("/t"), "", Open, proto.ModePersistentWithTTL, 3600000),
		)
		c.GetChildren(s.P(""), false)
		c.GetEphemerals(s.P(""))
	}},
	{Name: "multi_delete_and_recreate", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "old", Open, proto.ModePersistent)
		c.Multi(
			MDelete(s.P("/a"), 0),
			MCreate(s.P("/a"), "new", Open, proto.ModePersistent),
			MSetData(s.P("/a"), "newer", 0),
		)
		c.GetData(s.P("/a"), false)
	}},
	{Name: "multi_setdata_version_chain", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.Multi(MSetData(s.P("/a"), "1", 0), MSetData(s.P("/a"), "2", 1), MSetData(s.P("/a"), "3", 2))
		c.Multi(MSetData(s.P("/a"), "4", 3), MSetData(s.P("/a"), "5", 3))
		c.GetData(s.P("/a"), false)
	}},
	{Name: "multi_sequential_numbering", Run: func(s *S) {
		c := s.Client()
		c.Multi(
			MCreate(s.P("/q-"), "", Open, proto.ModePersistentSequential),
			MCreate(s.P("/q-"), "", Open, proto.ModePersistentSequential),
		)
		// A failed multi does not use up sequence numbers.
		c.Multi(
			MCreate(s.P("/q-"), "", Open, proto.ModePersistentSequential),
			MDelete(s.P("/missing"), -1),
		)
		c.Create(s.P("/q-"), "", Open, proto.ModePersistentSequential)
		c.GetChildren2(s.P(""), false)
	}},
	{Name: "multi_bad_path", Run: func(s *S) {
		c := s.Client()
		c.Multi(MCreate(s.P("/ok"), "", Open, proto.ModePersistent), MCreate(s.P("/bad/"), "", Open, proto.ModePersistent))
		c.Multi(MCreate(s.P("/ok"), "", Open, proto.ModePersistent), MDelete("", -1))
		c.Multi(MCreate(s.P("/ok"), "", Open, proto.ModePersistent), MCheck("bad", -1))
		c.Exists(s.P("/ok"), false)
	}},
	{Name: "multi_invalid_acl_and_flags", Run: func(s *S) {
		c := s.Client()
		c.Multi(MCreate(s.P("/a"), "", []proto.ACL{}, proto.ModePersistent))
		c.Multi(MCreate(s.P("/a"), "", Open, 42))
		c.Multi(MCreateTTL(s.P("/a"), "", Open, proto.ModePersistentWithTTL, 0))
		c.Exists(s.P("/a"), false)
	}},
	{Name: "multi_noauth", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/ro"), "", ACL(proto.PermRead, "world", "anyone"), proto.ModePersistent)
		c.Multi(
			MCreate(s.P("/a"), "", Open, proto.ModePersistent),
			MSetData(s.P("/ro"), "x", -1),
		)
		c.Multi(MCreate(s.P("/ro/kid"), "", Open, proto.ModePersistent))
		c.Exists(s.P("/a"), false)
	}},
	{Name: "multi_ephemeral_parent", Run: func(s *S) {
		c := s.Client()
		c.Multi(
			MCreate(s.P("/e"), "", Open, proto.ModeEphemeral),
			MCreate(s.P("/e/kid"), "", Open, proto.ModePersistent),
		)
		c.Multi(
			MCreate(s.P("/p"), "", Open, proto.ModePersistent),
			MCreate(s.P("/p/kid"), "", Open, proto.ModeEphemeral),
			MDelete(s.P("/p"), -1),
		)
		c.GetChildren(s.P(""), false)
	}},
	{Name: "multi_watch_events", Run: func(s *S) {
		// Watches fire once per op of a committed multi, in op order;
		// an aborted multi fires nothing.
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c2.GetData(s.P("/a"), true)
		c2.GetChildren(s.P(""), true)
		c2.Exists(s.P("/b"), true)
		c1.Multi(MSetData(s.P("/a"), "x", -1), MCreate(s.P("/b"), "", Open, proto.ModePersistent), MDelete(s.P("/missing"), -1))
		c2.Barrier()
		c1.Multi(MSetData(s.P("/a"), "x", -1), MCreate(s.P("/b"), "", Open, proto.ModePersistent), MDelete(s.P("/a"), -1))
		c2.Barrier()
	}},
	{Name: "multi_same_client_watch_before_reply", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.GetData(s.P("/a"), true)
		c.Multi(MSetData(s.P("/a"), "x", -1), MCheck(s.P("/a"), 1))
	}},
	{Name: "multi_read", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "data", Open, proto.ModePersistent)
		c.Create(s.P("/a/x"), "", Open, proto.ModePersistent)
		c.MultiRead(MGetData(s.P("/a")), MGetChildren(s.P("/a")), MGetData(s.P("/a/x")))
	}},
	{Name: "multi_read_errors", Run: func(s *S) {
		// multiRead is not all-or-nothing: each op gets its own result.
		c := s.Client()
		c.Create(s.P("/a"), "data", Open, proto.ModePersistent)
		c.Create(s.P("/locked"), "", ACL(proto.PermWrite, "world", "anyone"), proto.ModePersistent)
		c.MultiRead(MGetData(s.P("/missing")), MGetData(s.P("/a")), MGetChildren(s.P("/missing")), MGetData(s.P("/locked")), MGetChildren(s.P("/a")))
	}},
	{Name: "multi_read_watch_flag", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c1.MultiRead(
			proto.MultiOp{Type: proto.OpGetData, Op: &proto.GetDataRequest{Path: s.P("/a"), Watch: true}},
			proto.MultiOp{Type: proto.OpGetChildren, Op: &proto.GetChildrenRequest{Path: s.P("/a"), Watch: true}},
		)
		c2.SetData(s.P("/a"), "x", -1)
		c2.Create(s.P("/a/b"), "", Open, proto.ModePersistent)
		c1.Barrier()
	}},
	{Name: "multi_mixed_read_write", Run: func(s *S) {
		c := s.Client()
		c.Send(proto.OpMulti, &proto.MultiRequest{Ops: []proto.MultiOp{MCreate(s.P("/a"), "", Open, proto.ModePersistent), MGetData(s.P("/a"))}})
		c.ClosedOrUsable()
		c2 := s.Client()
		c2.Send(proto.OpMultiRead, &proto.MultiRequest{Ops: []proto.MultiOp{MGetData(s.P("")), MCreate(s.P("/b"), "", Open, proto.ModePersistent)}})
		c2.ClosedOrUsable()
		s.Client().GetChildren(s.P(""), false)
	}},
	{Name: "multi_unknown_op_type", Run: func(s *S) {
		c := s.Client()
		w := jute.NewWriter(64)
		(&proto.MultiHeader{Type: proto.OpCreate, Done: false, Err: -1}).Encode(w)
		(&proto.CreateRequest{Path: s.P("/a"), ACL: Open}).Encode(w)
		(&proto.MultiHeader{Type: proto.OpExists, Done: false, Err: -1}).Encode(w)
		(&proto.ExistsRequest{Path: s.P("/a")}).Encode(w)
		(&proto.MultiHeader{Type: -1, Done: true, Err: -1}).Encode(w)
		c.SendRawAs("multi with an exists op", 1, proto.OpMulti, append(EncodeRequest(1, proto.OpMulti, nil), w.Bytes()...))
		c.ClosedOrUsable()
		c.Exists(s.P("/a"), false)
	}},
	{Name: "multi_missing_end_marker", Run: func(s *S) {
		c := s.Client()
		w := jute.NewWriter(64)
		(&proto.MultiHeader{Type: proto.OpCreate, Done: false, Err: -1}).Encode(w)
		(&proto.CreateRequest{Path: s.P("/a"), ACL: Open}).Encode(w)
		c.SendRawAs("multi without its end header", 1, proto.OpMulti, append(EncodeRequest(1, proto.OpMulti, nil), w.Bytes()...))
		c.ClosedOrUsable()
		c.Exists(s.P("/a"), false)
	}},
	{Name: "multi_many_ops", Run: func(s *S) {
		c := s.Client()
		var ops []proto.MultiOp
		for i := 0; i < 50; i++ {
			ops = append(ops, MCreate(s.P("/n-"), "", Open, proto.ModePersistentSequential))
		}
		c.Multi(ops...)
		c.GetAllChildrenNumber(s.P(""))
	}},
	{Name: "multi_ops_see_earlier_ops", Run: func(s *S) {
		c := s.Client()
		c.Multi(
			MCreate(s.P("/a"), "", Open, proto.ModePersistent),
			MCreate(s.P("/a/b"), "", Open, proto.ModePersistent),
			MDelete(s.P("/a/b"), -1),
			MDelete(s.P("/a"), -1),
			MCreate(s.P("/a"), "again", Open, proto.ModePersistent),
		)
		c.GetData(s.P("/a"), false)
		c.Exists(s.P(""), false)
	}},
	{Name: "multi_delete_nonempty", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.Multi(MCreate(s.P("/a/b"), "", Open, proto.ModePersistent), MDelete(s.P("/a"), -1))
		c.GetChildren(s.P("/a"), false)
	}},
}

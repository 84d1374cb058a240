package diff

import (
	"github.com/zkd-io/zkd/proto"
)

// Scenarios of one-shot, persistent and recursive watches, their removal,
// setWatches after a reconnect, and the order of events and replies.
var watchScenarios = []Scenario{
	{Name: "watch_data_oneshot", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c2.GetData(s.P("/a"), true)
		c1.SetData(s.P("/a"), "1", -1)
		c1.SetData(s.P("/a"), "2", -1)
		c2.Barrier()
	}},
	{Name: "watch_data_delete", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c2.GetData(s.P("/a"), true)
		c1.Delete(s.P("/a"), -1)
		c2.Barrier()
	}},
	{Name: "watch_exists_create", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c2.Exists(s.P("/a"), true)
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c2.Barrier()
		c1.SetData(s.P("/a"), "x", -1)
		c2.Barrier()
	}},
	{Name: "watch_exists_existing", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c1.Create(s.P("/b"), "", Open, proto.ModePersistent)
		c2.Exists(s.P("/a"), true)
		c2.Exists(s.P("/b"), true)
		c1.SetData(s.P("/a"), "x", -1)
		c1.Delete(s.P("/b"), -1)
		c2.Barrier()
	}},
	{Name: "watch_children", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/p"), "", Open, proto.ModePersistent)
		c2.GetChildren(s.P("/p"), true)
		c1.Create(s.P("/p/a"), "", Open, proto.ModePersistent)
		c2.Barrier()
		c2.GetChildren2(s.P("/p"), true)
		c1.Delete(s.P("/p/a"), -1)
		c2.Barrier()
		c2.GetChildren(s.P("/p"), true)
		c1.Delete(s.P("/p"), -1)
		c2.Barrier()
	}},
	{Name: "watch_children_ignores_data_and_grandchildren", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/p"), "", Open, proto.ModePersistent)
		c1.Create(s.P("/p/a"), "", Open, proto.ModePersistent)
		c2.GetChildren(s.P("/p"), true)
		c1.SetData(s.P("/p"), "x", -1)
		c1.SetData(s.P("/p/a"), "x", -1)
		c1.Create(s.P("/p/a/deep"), "", Open, proto.ModePersistent)
		c2.Barrier()
		c1.Create(s.P("/p/b"), "", Open, proto.ModePersistent)
		c2.Barrier()
	}},
	{Name: "watch_data_and_child_on_deleted_node", Run: func(s *S) {
		// One NodeDeleted per connection even with both kinds of watch.
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c2.GetData(s.P("/a"), true)
		c2.GetChildren(s.P("/a"), true)
		c2.Exists(s.P("/a"), true)
		c2.GetChildren(s.P(""), true)
		c1.Delete(s.P("/a"), -1)
		c2.Barrier()
	}},
	{Name: "watch_data_and_exists_same_node", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c2.GetData(s.P("/a"), true)
		c2.Exists(s.P("/a"), true)
		c2.GetData(s.P("/a"), true)
		c1.SetData(s.P("/a"), "x", -1)
		c2.Barrier()
		c1.SetData(s.P("/a"), "y", -1)
		c2.Barrier()
	}},
	{Name: "watch_two_sessions", Run: func(s *S) {
		c1, c2, c3 := s.Client(), s.Client(), s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c2.GetData(s.P("/a"), true)
		c3.Exists(s.P("/a"), true)
		c1.SetData(s.P("/a"), "x", -1)
		c2.Barrier()
		c3.Barrier()
		c1.Barrier()
	}},
	{Name: "watch_own_write_event_before_reply", Run: func(s *S) {
		// The event a write triggers on its own connection precedes the
		// write's reply.
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.GetData(s.P("/a"), true)
		c.GetChildren(s.P(""), true)
		c.SetData(s.P("/a"), "x", -1)
		c.Create(s.P("/b"), "", Open, proto.ModePersistent)
		c.Exists(s.P("/c"), true)
		c.Create(s.P("/c"), "", Open, proto.ModeEphemeral)
	}},
	{Name: "watch_event_before_later_read", Run: func(s *S) {
		// A client must see the event before the new data.
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/a"), "old", Open, proto.ModePersistent)
		c2.GetData(s.P("/a"), true)
		c1.SetData(s.P("/a"), "new", -1)
		c2.GetData(s.P("/a"), false)
	}},
	{Name: "watch_pipelined_reads_and_event", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c2.Exists(s.P("/a"), true)
		c1.SetData(s.P("/a"), "x", -1)
		x1 := c2.Send(proto.OpGetData, &proto.GetDataRequest{Path: s.P("/a"), Watch: true})
		x2 := c2.Send(proto.OpExists, &proto.ExistsRequest{Path: s.P("/a")})
		c2.Await(x1)
		c2.Await(x2)
		c1.Delete(s.P("/a"), -1)
		c2.Barrier()
	}},
	{Name: "watch_not_fired_by_failed_ops", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c2.GetData(s.P("/a"), true)
		c2.GetChildren(s.P(""), true)
		c2.Exists(s.P("/b"), true)
		c1.SetData(s.P("/a"), "x", 9)
		c1.Delete(s.P("/a"), 9)
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c1.Create(s.P("/b/c"), "", Open, proto.ModePersistent)
		c1.Sync(s.P("/a"))
		c1.Probe(proto.OpCheck, &proto.CheckVersionRequest{Path: s.P("/a"), Version: 0})
		c2.Barrier()
	}},
	{Name: "watch_ephemeral_close_session", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/e"), "", Open, proto.ModeEphemeral)
		c2.Exists(s.P("/e"), true)
		c2.GetChildren(s.P(""), true)
		c1.Close()
		c2.Barrier()
		c2.GetChildren2(s.P(""), false)
	}},
	{Name: "watch_ephemerals_close_session_counts", Run: func(s *S) {
		// Several ephemerals go at once: ZooKeeper deletes them in hash
		// order, so only the parent's single child event is compared.
		c1, c2 := s.Client(), s.Client()
		for _, n := range []string{"/e1", "/e2", "/e3"} {
			c1.Create(s.P(n), "", Open, proto.ModeEphemeral)
		}
		c2.GetChildren(s.P(""), true)
		c1.Close()
		c2.Barrier()
		c2.GetChildren2(s.P(""), false)
	}},
	{Name: "watch_persistent", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c2.AddWatch(s.P("/a"), proto.AddWatchPersistent)
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c1.SetData(s.P("/a"), "1", -1)
		c1.SetData(s.P("/a"), "2", -1)
		c1.Create(s.P("/a/b"), "", Open, proto.ModePersistent)
		c1.Create(s.P("/a/b/c"), "", Open, proto.ModePersistent)
		c1.SetData(s.P("/a/b"), "x", -1)
		c1.Delete(s.P("/a/b/c"), -1)
		c1.Delete(s.P("/a/b"), -1)
		c1.Delete(s.P("/a"), -1)
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c2.Barrier()
	}},
	{Name: "watch_persistent_recursive", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c2.AddWatch(s.P("/a"), proto.AddWatchPersistentRecursive)
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c1.Create(s.P("/a/b"), "", Open, proto.ModePersistent)
		c1.Create(s.P("/a/b/c"), "", Open, proto.ModePersistent)
		c1.SetData(s.P("/a/b/c"), "x", -1)
		c1.Create(s.P("/ab"), "", Open, proto.ModePersistent) // not below /a
		c1.Delete(s.P("/a/b/c"), -1)
		c1.Delete(s.P("/a/b"), -1)
		c1.SetData(s.P("/a"), "y", -1)
		c2.Barrier()
	}},
	{Name: "watch_persistent_recursive_ephemeral_close", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c2.AddWatch(s.P(""), proto.AddWatchPersistentRecursive)
		c1.Create(s.P("/e"), "", Open, proto.ModeEphemeral)
		c1.Close()
		c2.Barrier()
	}},
	{Name: "watch_persistent_with_oneshot_same_path", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c2.AddWatch(s.P("/a"), proto.AddWatchPersistent)
		c2.GetData(s.P("/a"), true)
		c2.GetChildren(s.P("/a"), true)
		c1.SetData(s.P("/a"), "1", -1)
		c2.Barrier()
		c1.SetData(s.P("/a"), "2", -1)
		c1.Create(s.P("/a/b"), "", Open, proto.ModePersistent)
		c2.Barrier()
	}},
	{Name: "watch_persistent_and_recursive_same_path", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c2.AddWatch(s.P("/a"), proto.AddWatchPersistent)
		c2.AddWatch(s.P("/a"), proto.AddWatchPersistentRecursive)
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c1.Create(s.P("/a/b"), "", Open, proto.ModePersistent)
		c2.Barrier()
		c2.RemoveWatches(s.P("/a"), proto.WatcherPersistentRecursive)
		c1.Create(s.P("/a/c"), "", Open, proto.ModePersistent)
		c2.Barrier()
	}},
	{Name: "watch_addwatch_modes", Run: func(s *S) {
		c := s.Client()
		c.AddWatch(s.P("/a"), 2)
		c.AddWatch(s.P("/a"), -1)
		c.AddWatch(s.P("/missing/deep"), proto.AddWatchPersistent)
		c.AddWatch(s.P("/a"), proto.AddWatchPersistent)
		c.AddWatch(s.P("/a"), proto.AddWatchPersistent)
		c.CheckWatches(s.P("/a"), proto.WatcherAny)
	}},
	{Name: "watch_removewatches_data", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c2.GetData(s.P("/a"), true)
		c2.RemoveWatches(s.P("/a"), proto.WatcherData)
		c2.RemoveWatches(s.P("/a"), proto.WatcherData)
		c1.SetData(s.P("/a"), "x", -1)
		c2.Barrier()
	}},
	{Name: "watch_removewatches_types", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c2.GetData(s.P("/a"), true)
		c2.RemoveWatches(s.P("/a"), proto.WatcherChildren) // none of that type
		c2.GetChildren(s.P("/a"), true)
		c2.RemoveWatches(s.P("/a"), proto.WatcherChildren)
		c2.RemoveWatches(s.P("/a"), proto.WatcherAny)
		c2.RemoveWatches(s.P("/a"), proto.WatcherAny)
		c2.Exists(s.P("/a"), true)
		c2.RemoveWatches(s.P("/a"), proto.WatcherData) // exists watches are data watches
		c1.SetData(s.P("/a"), "x", -1)
		c1.Create(s.P("/a/b"), "", Open, proto.ModePersistent)
		c2.Barrier()
	}},
	{Name: "watch_removewatches_persistent", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c2.AddWatch(s.P("/a"), proto.AddWatchPersistent)
		c2.RemoveWatches(s.P("/a"), proto.WatcherData)
		c2.RemoveWatches(s.P("/a"), proto.WatcherPersistentRecursive)
		c2.RemoveWatches(s.P("/a"), proto.WatcherPersistent)
		c2.AddWatch(s.P("/b"), proto.AddWatchPersistentRecursive)
		c2.RemoveWatches(s.P("/b"), proto.WatcherAny)
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c1.Create(s.P("/b"), "", Open, proto.ModePersistent)
		c2.Barrier()
	}},
	{Name: "watch_removewatches_invalid_type", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.GetData(s.P("/a"), true)
		c.RemoveWatches(s.P("/a"), 0)
		c.RemoveWatches(s.P("/a"), 99)
		c.CheckWatches(s.P("/a"), 0)
		c.CheckWatches(s.P("/a"), 99)
		c.CheckWatches(s.P("/a"), proto.WatcherData)
	}},
	{Name: "watch_checkwatches", Run: func(s *S) {
		c := s.Client()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.CheckWatches(s.P("/a"), proto.WatcherData)
		c.CheckWatches(s.P("/a"), proto.WatcherAny)
		c.GetData(s.P("/a"), true)
		c.CheckWatches(s.P("/a"), proto.WatcherData)
		c.CheckWatches(s.P("/a"), proto.WatcherChildren)
		c.CheckWatches(s.P("/a"), proto.WatcherAny)
		c.GetChildren(s.P("/a"), true)
		c.CheckWatches(s.P("/a"), proto.WatcherChildren)
		c.CheckWatches(s.P("/missing"), proto.WatcherAny)
		c.AddWatch(s.P("/p"), proto.AddWatchPersistent)
		c.CheckWatches(s.P("/p"), proto.WatcherPersistent)
		c.CheckWatches(s.P("/p"), proto.WatcherAny)
		c.CheckWatches(s.P("/p"), proto.WatcherData)
	}},
	{Name: "watch_checkwatches_other_session", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c1.GetData(s.P("/a"), true)
		c2.CheckWatches(s.P("/a"), proto.WatcherData)
		c2.RemoveWatches(s.P("/a"), proto.WatcherAny)
		c1.CheckWatches(s.P("/a"), proto.WatcherData)
	}},
	{Name: "setwatches_missed_events", Run: func(s *S) {
		// A new session re-registers watches with the zxid it had seen:
		// changes after that zxid fire at once, the rest are armed.
		c1 := s.Client()
		for _, n := range []string{"/changed", "/deleted", "/same", "/parent"} {
			c1.Create(s.P(n), "", Open, proto.ModePersistent)
		}
		c1.Create(s.P("/parent/old"), "", Open, proto.ModePersistent)
		seen := c1.Sync(s.P("")).Zxid
		c1.SetData(s.P("/changed"), "x", -1)
		c1.Delete(s.P("/deleted"), -1)
		c1.Create(s.P("/born"), "", Open, proto.ModePersistent)
		c1.Create(s.P("/parent/new"), "", Open, proto.ModePersistent)
		c2 := s.Client()
		c2.SetWatches(&proto.SetWatches{
			RelativeZxid: seen,
			DataWatches:  []string{s.P("/changed"), s.P("/deleted"), s.P("/same")},
			ExistWatches: []string{s.P("/born"), s.P("/unborn"), s.P("/same")},
			ChildWatches: []string{s.P("/parent"), s.P("/same"), s.P("/deleted")},
		})
		c2.Barrier()
		c1.SetData(s.P("/same"), "x", -1)
		c1.Create(s.P("/unborn"), "", Open, proto.ModePersistent)
		c1.Create(s.P("/same/kid"), "", Open, proto.ModePersistent)
		c2.Barrier()
	}},
	{Name: "setwatches_relzxid_zero", Run: func(s *S) {
		c1 := s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c1.Create(s.P("/a/kid"), "", Open, proto.ModePersistent)
		c2 := s.Client()
		c2.SetWatches(&proto.SetWatches{
			DataWatches:  []string{s.P("/a")},
			ExistWatches: []string{s.P("/a"), s.P("/none")},
			ChildWatches: []string{s.P("/a"), s.P("/a/kid")},
		})
		c2.Barrier()
	}},
	{Name: "setwatches_relzxid_future", Run: func(s *S) {
		c1 := s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c2 := s.Client()
		c2.SetWatches(&proto.SetWatches{
			RelativeZxid: 1 << 62,
			DataWatches:  []string{s.P("/a")},
			ExistWatches: []string{s.P("/b")},
			ChildWatches: []string{s.P("/a")},
		})
		c2.Barrier()
		c1.SetData(s.P("/a"), "x", -1)
		c1.Create(s.P("/b"), "", Open, proto.ModePersistent)
		c1.Create(s.P("/a/kid"), "", Open, proto.ModePersistent)
		c2.Barrier()
	}},
	{Name: "setwatches_empty_and_normal_xid", Run: func(s *S) {
		c := s.Client()
		c.SetWatches(&proto.SetWatches{})
		c.Probe(proto.OpSetWatches, &proto.SetWatches{DataWatches: []string{s.P("")}})
	}},
	{Name: "setwatches2_persistent", Run: func(s *S) {
		c1 := s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		seen := c1.Sync(s.P("")).Zxid
		c1.SetData(s.P("/a"), "changed", -1)
		c2 := s.Client()
		c2.SetWatches2(&proto.SetWatches2{
			RelativeZxid:               seen,
			PersistentWatches:          []string{s.P("/a")},
			PersistentRecursiveWatches: []string{s.P("")},
		})
		c2.Barrier()
		c1.SetData(s.P("/a"), "again", -1)
		c1.Create(s.P("/a/kid"), "", Open, proto.ModePersistent)
		c2.Barrier()
		c2.CheckWatches(s.P("/a"), proto.WatcherPersistent)
		c2.CheckWatches(s.P(""), proto.WatcherPersistentRecursive)
	}},
	{Name: "watch_same_watch_twice", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c2.GetData(s.P("/a"), true)
		c2.GetData(s.P("/a"), true)
		c1.SetData(s.P("/a"), "x", -1)
		c2.Barrier()
	}},
	{Name: "watch_order_many_paths", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		for _, n := range []string{"/c", "/a", "/b"} {
			c1.Create(s.P(n), "", Open, proto.ModePersistent)
			c2.GetData(s.P(n), true)
		}
		c1.Multi(MSetData(s.P("/b"), "", -1), MSetData(s.P("/c"), "", -1), MSetData(s.P("/a"), "", -1))
		c2.Barrier()
	}},
	{Name: "watch_ordering_two_writers", Run: func(s *S) {
		c1, c2, c3 := s.Client(), s.Client(), s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c1.Create(s.P("/b"), "", Open, proto.ModePersistent)
		c3.GetData(s.P("/a"), true)
		c3.GetData(s.P("/b"), true)
		c1.SetData(s.P("/b"), "1", -1)
		c2.SetData(s.P("/a"), "2", -1)
		c3.GetData(s.P("/a"), false)
	}},
}

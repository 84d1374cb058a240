package diff

import "github.com/zkd-io/zkd/proto"

// Scenarios that need a server of their own: they read or change the
// initial tree (/, /zookeeper, /zookeeper/quota, /zookeeper/config), which
// every other scenario shares.
var freshScenarios = []Scenario{
	{Name: "fresh_initial_tree", Fresh: true, NoRoot: true, Run: func(s *S) {
		// ZooKeeper: every initial node has zxids and times 0 and empty
		// (not null) data; "/" has cversion -1 and /zookeeper -2;
		// /zookeeper/config is world:anyone=r with aversion -1.
		c := s.Client()
		for _, p := range []string{"/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"} {
			c.GetData(p, false)
			c.GetChildren2(p, false)
			c.GetACL(p)
			c.GetAllChildrenNumber(p)
		}
		c.GetEphemerals("/")
		c.Sync("/")
		c.Ping()
	}},
	{Name: "fresh_empty_path_reads", Fresh: true, NoRoot: true, Run: func(s *S) {
		// ZooKeeper's reads do not validate paths, and its node table has
		// the root under the key "": reading "" reads "/".
		c := s.Client()
		c.Exists("", true)
		c.GetData("", true)
		c.GetChildren("", true)
		c.GetChildren2("", false)
		c.GetACL("")
		c.GetAllChildrenNumber("")
		c.CheckWatches("", proto.WatcherAny)
		c.Create("/x", "", Open, proto.ModePersistent)
		c.Barrier()
	}},
	{Name: "fresh_special_node_writes", Fresh: true, NoRoot: true, Run: func(s *S) {
		c := s.Client()
		c.SetData("/", "root data", -1)
		c.SetData("/zookeeper", "zk", -1)
		c.SetData("/zookeeper/quota", "q", 0)
		c.SetData("/zookeeper/config", "x", -1)
		c.SetACL("/zookeeper/config", Open, -1)
		c.SetACL("/zookeeper/quota", ACL(proto.PermRead, "world", "anyone"), -1)
		c.Delete("/", -1)
		c.Delete("/zookeeper/config", -1)
		c.Delete("/zookeeper/quota", -1)
		c.Delete("/zookeeper", -1)
		c.Create("/zookeeper/mine", "", Open, proto.ModePersistent)
		c.Create("/zookeeper/config/mine", "", Open, proto.ModePersistent)
		c.Create("/zookeeper/quota/mine", "", Open, proto.ModePersistent)
		c.Delete("/zookeeper/mine", -1)
		// The root's cversion starts at -1, yet ZooKeeper names the first
		// sequential child of "/" 0000000000.
		c.Create("/", "", Open, proto.ModePersistentSequential)
		c.Create("/", "", Open, proto.ModeEphemeralSequential)
		for _, p := range []string{"/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"} {
			c.GetData(p, false)
			c.GetACL(p)
		}
		c.GetChildren("/", false)
		c.GetChildren("/zookeeper/quota", false)
		c.GetAllChildrenNumber("/")
	}},
}

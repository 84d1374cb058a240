package interop

// The zkCli.sh transcript of the core issue, shared by the interop suite
// (zkCli.sh against Apache ZooKeeper and zkd) and cmd/zkcli's tests (zkcli
// against the same reference). It is in an untagged file so that both can
// use it.

// ZkCliStep is one zkCli.sh command and what Apache ZooKeeper prints for it
// after normalisation: every line of Want must appear in the output, in
// order (Want "" means no output at all).
type ZkCliStep struct {
	Cmd  string
	Want string
}

// ZkCliSession1 exercises every command family; it runs in one zkCli.sh session.
var ZkCliSession1 = []ZkCliStep{
	// create: plain, sequential, ephemeral, container, TTL, combinations.
	{"create /t", "Created /t"},
	{"create /t/p data1", "Created /t/p"},
	{"create -s /t/s- sdata", "Created /t/s-0000000001"},
	{"create -s /t/s- sdata", "Created /t/s-0000000002"},
	{"create -e /t/e edata", "Created /t/e"},
	{"create -c /t/c", "Created /t/c"},
	{"create -t 3600000 /t/ttl tdata", "Created /t/ttl"},
	{"create -s -e /t/se- x", "Created /t/se-0000000006"},
	{"create -s -t 3600000 /t/sttl- x", "Created /t/sttl-0000000007"},
	// create errors.
	{"create /t/p dup", "Node already exists: /t/p"},
	{"create /nope/child x", "Node does not exist: /nope/child"},
	{"create /t/e/child x", "Ephemerals cannot have children: /t/e/child"},
	{"create bad x", "Path must start with / character"},
	{"create /t/p/ x", "Path must not end with / character"},
	// ls.
	{"ls /t", "[c, e, p, s-0000000001, s-0000000002, se-0000000006, sttl-0000000007, ttl]"},
	{"ls -s /t", "[c, e, p, s-0000000001, s-0000000002, se-0000000006, sttl-0000000007, ttl]\ncversion = 8\nnumChildren = 8"},
	{"ls -R /t", "/t\n/t/c\n/t/e\n/t/p\n/t/s-0000000001\n/t/s-0000000002\n/t/se-0000000006\n/t/sttl-0000000007\n/t/ttl"},
	{"ls /zookeeper", "[config, quota]"},
	{"ls /missing", "Node does not exist: /missing"},
	// get/set with versions.
	{"get /t/p", "data1"},
	{"get -s /t/p", "data1\ncZxid = Z\nctime = <TIME>\ndataVersion = 0\nephemeralOwner = 0x0\ndataLength = 5\nnumChildren = 0"},
	{"get -s /t/e", "edata\nephemeralOwner = S1"},
	{"get /missing", "Node does not exist: /missing"},
	{"set /t/p data2", ""},
	{"set -v 1 /t/p data3", ""},
	{"set -v 7 /t/p data4", "version No is not valid : /t/p"},
	{"set -s /t/p data5", "dataVersion = 3"},
	{"set /missing x", "Node does not exist: /missing"},
	// delete.
	{"delete -v 9 /t/p", "version No is not valid : /t/p"},
	{"delete /t", "Node not empty: /t"},
	{"delete /t/missing", "Node does not exist: /t/missing"},
	{"delete -v 0 /t/s-0000000001", ""},
	{"delete /t/s-0000000002", ""},
	// stat, sync, getEphemerals, getAllChildrenNumber.
	{"stat /t/p", "dataVersion = 3\naclVersion = 0"},
	{"stat /t/missing", "Node does not exist: /t/missing"},
	{"sync /t", "Sync is OK"},
	{"getEphemerals", "[/t/e, /t/se-0000000006]"},
	{"getEphemerals /t/s", "[/t/se-0000000006]"},
	{"getAllChildrenNumber /t", "6"},
	{"getAllChildrenNumber /missing", "Node does not exist: /missing"},
	// ACLs and auth.
	{"getAcl /t/p", "'world,'anyone\n: cdrwa"},
	{"getAcl /missing", "Node does not exist: /missing"},
	{"setAcl /t/p world:anyone:r", ""},
	{"getAcl -s /t/p", "'world,'anyone\n: r\naclVersion = 1"},
	{"set /t/p x", "Insufficient permission : /t/p"},
	{"setAcl -v 0 /t/p world:anyone:cdrwa", "Insufficient permission : /t/p"}, // ACL before version
	{"setAcl -v 5 /t/ttl world:anyone:cdrwa", "version No is not valid : /t/ttl"},
	{"addauth digest alice:secret", ""},
	{"whoami", "Auth scheme: User\ndigest: alice"},
	{"create /t/secret s auth:alice:cdrwa", "Created /t/secret"},
	{"getAcl /t/secret", "'digest,'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=\n: cdrwa"},
	{"create /t/bobs b digest:bob:ikIaKsbtGweaHnb/jKn7OHqbunM=:cdrwa", "Created /t/bobs"},
	{"get /t/bobs", "Insufficient permission : /t/bobs"},
	{"setAcl /t/secret world:anyone:r", ""},
	{"get /t/secret", "s"},
	// Watches: one-shot data, child and exists watches, persistent and
	// persistent-recursive watches, and removing them.
	{"stat -w /t/later", "Node does not exist: /t/later"},
	{"ls -w /t", "[bobs, c, e, p, se-0000000006, secret, sttl-0000000007, ttl]"},
	{"create /t/later l", "Created /t/later"},
	{"addWatch /t/p", ""},
	{"addWatch -m PERSISTENT_RECURSIVE /t/c", ""},
	{"create /t/c/x y", "Created /t/c/x"},
	{"create /t/c/x/y z", "Created /t/c/x/y"},
	{"removewatches /t/p", ""},
	{"removewatches /t/p", "KeeperErrorCode = No such watcher for /t/p"},
	{"get -w /t/later", "l"},
	{"set /t/later l2", ""},
	{"set /t/later l3", ""}, // the one-shot watch fired already
	{"get -w /t/later", "l3"},
	{"removewatches /t/later -d", ""},
	{"ls -w /t/c", "[x]"},
	{"removewatches /t/c -c", ""},
	{"removewatches /t/c -a", ""},
	{"removewatches /missing", "KeeperErrorCode = No such watcher for /missing"},
	// deleteall and the final state.
	{"stat -w /t/c/x/y", "dataLength = 1"},
	{"ls -w /t/c/x", "[y]"},
	{"deleteall /t/c", ""},
	{"ls /t", "[bobs, e, later, p, se-0000000006, secret, sttl-0000000007, ttl]"},
	{"sync /", "Sync is OK"},
	{"ls /", "[t, zookeeper]"},
}

// ZkCliSession2 runs after ZkCliSession1 has quit: its ephemerals are gone, auth does
// not carry over, and a wrong password does not authenticate.
//
// It starts with a sync: against an ensemble it may talk to another server
// than ZkCliSession1 did, and only a sync makes ZkCliSession1's close (and the
// removal of its ephemerals) visible there for certain.
var ZkCliSession2 = []ZkCliStep{
	{"sync /", "Sync is OK"},
	{"ls /t", "[bobs, later, p, secret, sttl-0000000007, ttl]"},
	{"getEphemerals /", "[]"},
	{"whoami", "Auth scheme: User\nip: 127.0.0.1"},
	{"get /t/secret", "s"},
	{"set /t/secret v", "Insufficient permission : /t/secret"},
	{"addauth digest alice:wrong", ""},
	{"set /t/secret v", "Insufficient permission : /t/secret"},
	{"addauth digest bob:pw", ""},
	{"get /t/bobs", "b"},
	{"deleteall /t", ""},
	{"ls /t", "Node does not exist: /t"},
	{"ls /", "[zookeeper]"},
}

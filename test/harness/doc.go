// Package harness starts real ZooKeeper-compatible servers as separate
// processes for tests: Debian's Apache ZooKeeper (the reference) and the zkd
// binary built from this module.
//
// Every server runs on a free loopback port with a generated zoo.cfg, data
// directory and log file inside t.TempDir(), and is ready (it answers the
// ruok four-letter word with imok) when ZooKeeper or Zkd returns.
//
// ZooKeeperEnsemble and ZkdEnsemble start replicated ensembles the same way,
// each server on its own loopback address 127.0.0.<id+1>, with helpers to
// find the leader, kill, restart and wipe servers, and (as root, with
// iptables) to partition them.
//
// The package owns those processes, the shared zkd build directory and the
// iptables chains it creates (named zkdtest-<pid>-<n>). It must never leave a
// process running or a rule installed after the test that started it ends,
// never touch files outside the test's temporary directories or iptables
// rules outside its own chains (and their jumps from OUTPUT), and never reuse
// a server between tests. A test package that calls Zkd should use Main as its
// TestMain so that zkd is built once per test binary and the build is removed
// at exit.
//
// Environment knobs (all optional):
//
//	CI=true              a missing tool fails the test instead of skipping it
//	JAVA_HOME            java is $JAVA_HOME/bin/java instead of java from PATH
//	ZOOKEEPER_CLASSPATH  replaces the default classpath of Debian's jars
//	ZKD_BINARY           use this zkd binary instead of building cmd/zkd
//	ZKD_BUILD_FLAGS      extra flags for go build of cmd/zkd (e.g. "-race")
package harness

// Package interop drives Debian's Apache ZooKeeper and zkd with real
// third-party clients — zkCli.sh and kazoo (Python) — and requires zkd to
// behave like ZooKeeper.
//
// The tests are behind the build tag "interop" because they start JVMs and
// Python and take tens of seconds:
//
//	go test -tags interop ./test/interop/...
//
// Every test runs as subtests "zookeeper/..." and "zkd/...". The ZooKeeper
// half checks the scenario itself (the reference must behave as the test
// expects), the zkd half compares zkd with it. Reference output is produced
// in the same run and never committed, so nothing goes stale when Debian
// updates ZooKeeper.
//
// This package owns the zkCli.sh transcript format and its normalisation
// (Normalize), and the kazoo suite under kazoo/. It must never start servers
// itself (test/harness does) and never write outside temporary directories.
package interop

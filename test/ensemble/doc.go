// Package ensemble holds zkd's replication tests: three-server ensembles of
// real processes (started through test/harness) losing their leader, a
// follower, a disk, or their network (iptables partitions on loopback
// addresses), with a go-zookeeper writer recording every acknowledged write.
// Each scenario runs against Apache ZooKeeper, which shows the test itself
// is right, and against zkd.
//
// After every scenario all servers must report the same last zxid, serve
// identical trees (data and every Stat field, read through each server's own
// client port), agree on every tree digest they both logged (the hash
// four-letter word), and hold every acknowledged write.
//
// It owns only its tests. It must never leave a process, iptables rule or
// temporary file behind, never touch iptables state it did not create, and
// never pass when an acknowledged write is lost. Timings are logged, not
// asserted, beyond generous liveness bounds.
//
// Environment knobs (all optional):
//
//	ZKD_ENSEMBLE_CYCLES=N        kill-leader cycles in KillLeaderRepeated (default 10 with CI=true, else 3)
//	ZKD_ENSEMBLE_WIPE_WRITES=N   writes before and again after the wipe in WipeRejoin (default 400)
//	CI=true                      missing java, root or iptables fails instead of skipping
package ensemble

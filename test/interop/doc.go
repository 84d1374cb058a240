// Package interop drives Debian's Apache ZooKeeper and zkd with real
// third-party clients and requires zkd to behave like ZooKeeper.
//
// The tests are behind the build tag "interop" because they start JVMs,
// Python and C programs and take minutes:
//
//	go test -tags interop ./test/interop/...
//
// Every test runs as subtests "zookeeper/..." and "zkd/...". The ZooKeeper
// half checks the scenario itself (the reference must behave as the test
// expects), the zkd half compares zkd with it. Reference output is produced
// in the same run and never committed, so nothing goes stale when Debian
// updates ZooKeeper.
//
//   - TestZkCli and TestKazoo run zkCli.sh and the kazoo suite against one
//     standalone server of each kind.
//   - TestEnsemble starts one 3-server ensemble of each kind and runs, with
//     all three addresses as the connect string: the zkCli.sh transcript,
//     the kazoo suite (kazoo/), a C program on the ZooKeeper C client
//     (cclient/zkc.c), the C client's shell cli_mt, go-zookeeper checks
//     (including its lock recipe across a leader kill and failover of the
//     server a client is connected to), and Curator recipes in one JVM
//     (curator/*.java). Transcript suites (zkCli.sh, C, cli_mt) compare zkd's
//     normalised output with the ZooKeeper ensemble's; the others check
//     their expectations against both kinds.
//
// At the end TestMain prints one markdown table of the run, client ×
// scenario, with the outcome on zkd and on Apache ZooKeeper (pass, FAIL
// or skip with the reason, or "not run" when filtered out); every subtest
// reports its cell (report, in table_test.go), and the kazoo tests and
// Curator checks run inside one process report one row each.
//
// Knobs: CI=true makes a missing tool a failure instead of a skip;
// CURATOR_CHECKS=part runs only the Curator checks whose names contain
// part; ZKD_INTEROP_TABLE=file also writes the results table to file (go
// test shows a passing package's output only with -v).
// The Debian packages the tests use: zookeeper, zookeeper-bin,
// libzookeeper-mt-dev, python3-kazoo, python3-pytest, default-jdk-headless,
// libcurator-framework-java, libcurator-recipes-java,
// libcurator-discovery-java, and gcc.
//
// This package owns the client transcripts and their normalisation
// (Normalize, NormalizeC, NormalizeCliMt), the kazoo suite under kazoo/, the
// C program under cclient/, the Java program under curator/ and the
// results table. It must never
// start servers itself (test/harness does) and never write outside temporary
// directories.
package interop

// Package crash holds zkd's process-level durability tests: real zkd
// processes (started through test/harness), real SIGKILLs, damaged files
// and full disks, checked through an independent client (go-zookeeper).
//
// It owns only its tests. It must never edit a running server's files
// except where a test injects a fault on purpose, never leave a process,
// mount or file behind, and never pass when an acknowledged write is lost.
//
// Environment knobs (all optional):
//
//	ZKD_CRASH_KILLS=N       SIGKILLs in TestCrashNoAckedWriteLost (default 30)
//	ZKD_CRASH_SEED=N        seed for the random choices (default: time-based, logged)
//	ZKD_BENCH=1             run the benchmarks (TestBench*), which are off by default
//	ZKD_BENCH_NODES=N       znodes for the benchmarks (default 200000)
//	CI=true                 a missing facility (root for tmpfs, java) fails instead of skipping
package crash

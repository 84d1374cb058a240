// Package load is zkbench's load generator: it runs one workload (create,
// set, get, exists, delete, mixed, multi, watch fan-out, session and
// ephemeral churn) against any ZooKeeper-compatible connect string through
// zkd's client, closed loop (sessions × outstanding requests) or open loop
// (a fixed rate, latency counted from each operation's scheduled time so a
// stalled server cannot hide its queue: no coordinated omission), and
// reports throughput and latency percentiles from a log-linear histogram.
//
// It owns the znodes under its run's prefix and nothing else: it must never
// touch a znode outside the prefix, never run without a bound (a duration,
// a count, and a hard timeout behind both), and never return with a
// goroutine or session of its own still running.
package load

// Package fsm owns the replicated state machine: the entry format of the Raft
// log, Apply (entry -> new tree, sessions, zxid, result and watch triggers),
// the read operations over the tree, and Snapshot / Restore.
//
// Apply is deterministic: it never reads a clock, randomness or Go map order.
// Everything non-deterministic (time, session ids, passwords, the caller's
// identities) is chosen by the proposer and carried in the Entry. The same log
// therefore yields the same state on every server.
//
// The package does no I/O and no locking; its owner (the server) serialises
// Apply against reads.
package fsm

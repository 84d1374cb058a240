// Package tree owns the znode tree: node records, their Stat fields, the ACLs
// attached to them, sequential names, and the indexes derived from the tree
// (ephemerals per session, containers, TTL nodes).
//
// The tree is pure: it does no I/O, reads no clock and uses no randomness.
// Every mutation takes the zxid and time it must record as arguments, so that
// applying the same log on every server yields the same tree. It is not safe
// for concurrent use; the state machine (internal/fsm) serialises access.
//
// Node records are immutable once inserted: a change replaces the record. A
// record is one pointer-free allocation with the Stat packed as varints
// (record.go); callers see a Node, a view decoded from it. The records live
// in a copy-on-write B-tree, so Clone is O(1) in the nodes and a snapshot
// can be serialised from a clone while the live tree keeps changing.
package tree

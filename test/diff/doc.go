// Package diff is the differential test suite: it runs one corpus of
// protocol scenarios against Debian's Apache ZooKeeper (the reference) and
// against zkd, and compares the replies one by one.
//
// The package owns a raw protocol client (Conn: handshake, frames, any
// opcode or raw bytes, pipelining), a scenario DSL (S, Client) that records
// a transcript of everything sent and received, the normalisation that makes
// transcripts of two servers comparable (zxids, times, session ids), the
// scenario corpus, and the table of intended differences.
//
// It must never change what it compares to make a server pass: normalisation
// only hides values that legitimately differ between two correct servers
// (absolute zxids, clock times, random session ids and passwords, hash order
// of children). It never edits either server and never reuses a namespace
// between scenarios.
//
// Run it with
//
//	go test ./test/diff -run TestDifferential -v
//
// Flags (after -args): -diff.a and -diff.b choose the two server kinds
// ("zookeeper" or "zkd"; the default compares zookeeper with zkd; the same
// kind twice runs every scenario twice on one server, which checks that the
// normalisation makes transcripts stable), -diff.show logs every transcript,
// -diff.dump=DIR writes them to files (NAME.KIND.txt), -diff.budget bounds
// the run (scenarios after it fail unrun). A subset runs with -run, e.g.
// -run 'TestDifferential/watch_'. Intended differences are listed in
// Intended (intended.go) and reported instead of failing.
package diff

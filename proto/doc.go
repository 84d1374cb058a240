// Package proto owns ZooKeeper's client wire protocol: the records of
// zookeeper.jute as plain Go structs with explicit Encode/Decode methods,
// opcodes, error codes, watch event and session state enums, create modes,
// permissions, the multi-op envelope and znode path validation.
//
// It is public so that clients, tools and the server share one definition of
// the protocol. It must never do I/O, keep state, or know about sessions,
// trees or replication: it only turns bytes into records and back.
//
// Decoding rules: every Decode reads from a *jute.Reader, which checks each
// length against the remaining input before allocating and never panics; a
// record's Decode returns the Reader's sticky error. Decoded byte slices and
// strings are copies, so records stay valid after the input frame buffer is
// reused. Vectors: a null (-1) or empty vector decodes as a nil slice, and a
// nil slice encodes as an empty vector (ZooKeeper never sends a null vector,
// and Java clients would fail on one). Buffers keep the nil/empty
// distinction: nil encodes as null (-1), as ZooKeeper does for null data.
// Decode does not reject trailing bytes, matching ZooKeeper.
package proto

// Package transport owns zkd's peer-to-peer connections on the quorum port
// (the first port of server.N=host:quorumPort:electionPort). It carries raft
// messages, small opaque application messages (session liveness and the
// like) and streamed snapshots between the servers of one ensemble.
//
// Per peer it owns one outbound stream connection, written by one goroutine
// from a bounded queue in batches, redialled with capped exponential backoff;
// an accept loop with one reader goroutine per inbound connection; and at
// most one outbound snapshot connection. Every connection starts with a
// handshake in both directions (magic, protocol version, connection kind,
// the fingerprint and text of the member list, sender id and intended
// receiver id); a mismatch is refused with a reason frame that names both
// member lists, logged on both sides.
//
// The handshake is a consistency check against misconfiguration (a stale
// zoo.cfg, two servers with one myid, an address that reaches the wrong
// server), not authentication against an attacker: it is plain TCP.
//
// The package must never act on raft messages beyond To, From and Type
// (it checks that a message comes from the peer that handshook and is meant
// for this server, and routes MsgSnap to the snapshot path), never deliver
// anything to the Handler from a connection whose handshake was not
// accepted, never block the caller of Send (the raft loop): a full queue or
// a peer that is down means the message is dropped and raft is told the peer
// is unreachable. Every goroutine it starts is stopped and waited for by
// Close, and no Handler method is called after Close returns.
package transport

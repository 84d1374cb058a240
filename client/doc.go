// Package client is a Go client for ZooKeeper-compatible servers (zkd and
// Apache ZooKeeper 3.5 to 3.9). It owns one session: the TCP connection to
// one server at a time, the session's reconnection through the server list,
// request pipelining, the client side of watches and the chroot view of the
// namespace. It shares the wire records of package proto with the server.
//
// It must never retry a request on its own (a request in flight when the
// connection drops fails with ConnectionLoss and the caller decides), never
// panic on a malformed or oversized reply, and never leave a goroutine
// running after Close returns.
//
// # Connecting
//
// Connect takes a connect string "host1:2181,host2:2181/chroot" (the port
// defaults to 2181; the optional chroot is prepended to every path sent and
// stripped from every path received). The host list is shuffled once; a
// lost connection moves to the next host in the list, so reconnects rotate
// through all of them, and a whole round of failures waits a second before
// the next round. A reconnect resumes the same session (id and password),
// re-sends every AddAuth credential and restores every watch with
// SetWatches/SetWatches2, split into packets of about 128 KB as ZooKeeper's
// Java client does.
//
// # Requests
//
// Every method takes a context. Any number of goroutines may share one Conn:
// requests are pipelined on the one connection (one writer goroutine batches
// frames into few writes, one reader goroutine matches replies to requests
// by xid, in order). When the context ends before the reply, the method
// returns the context's error; the request may still be applied by the
// server. Errors are *Error values that match, with errors.Is, the
// proto.ErrCode the server answered (errors.Is(err, proto.ErrNoNode)), or
// proto.ErrConnectionLoss for a request in flight when the connection was
// lost, proto.ErrSessionExpired after the session expired, proto.ErrAuthFailed
// after the server rejected credentials, and ErrClosed after Close. A reply
// larger than the maximum buffer size (WithMaxBufferSize) fails its request
// with ErrResponseTooLarge; the session goes on.
//
// # Watches
//
// One-shot watches are set by the W variants of the reads (GetW, ExistsW,
// ChildrenW, Children2W), which return a channel alongside the result. The
// channel receives exactly one Event and is then closed: the node event
// that fired the watch, a *WatchRemoved event after RemoveWatches, or, when
// the session ends (expired, auth failed, closed), an event of type
// EventNone whose State and Err say why. Watches survive reconnection: a
// Disconnected state is reported only on the session channel (Events), not
// to watches. ZooKeeper's ordering guarantee holds: a watch event reaches its
// channel before the reply of any request sent after the change that fired
// it is returned.
//
// AddWatch sets a persistent (or persistent recursive) watch and returns a
// channel that receives every matching event until RemoveWatches or
// RemoveWatch removes it (the last event is then EventPersistentWatchRemoved)
// or the session ends; the channel is then closed. A persistent watch's
// channel holds 1024 unread events; beyond that it is backed by an
// unbounded queue, so a slow reader never blocks the
// connection, but an unread channel grows without bound: read them, or
// remove the watch. The ordering guarantee above holds for them while at
// most 1024 events are unread; events queued beyond that reach the channel
// as the reader drains it, possibly after later replies.
//
// Session state changes (SyncConnected, ConnectedReadOnly, Disconnected,
// Expired, AuthFailed, Closed) are sent as EventNone events on the channel
// returned by Events. Expired, AuthFailed and Closed are final: every later
// request fails at once, and Close must still be called to release the
// client's goroutines.
//
// # Timeouts
//
// The server grants a session timeout (WithSessionTimeout asks for one). The
// client pings after a third of it without sending, and gives up on a
// connection that has been silent for two thirds of it, as ZooKeeper's client
// does; each connection attempt (dial and handshake) is limited to the
// session timeout divided by the number of hosts.
package client

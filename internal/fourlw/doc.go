// Package fourlw formats the replies to ZooKeeper's four-letter-word
// commands (ruok, srvr, stat, mntr, cons, conf, envi, isro, wchs, ...) byte
// for byte as Apache ZooKeeper prints them, so that monitoring scripts,
// zkServer.sh status, Nagios/Prometheus exporters and client libraries that
// parse those replies (go-zookeeper's FLWSrvr/FLWRuok/FLWCons, kazoo's
// command helpers) work against zkd unchanged.
//
// It owns: the list of known commands (Known, IsCommand), the whitelist
// refusal text, ZooKeeper's "srvr is always allowed" rule, the text layout of
// every reply, the mntr key names and their order, and the Java number and
// address formatting those replies use (Double.toString, Long.toHexString,
// InetSocketAddress.toString).
//
// It must never gather data itself: every number comes from the Source the
// server passes to Run, so this package holds no state, starts no goroutines,
// reads no clocks for its replies and touches no sockets other than the
// io.Writer it is given. The server decides whether a connection is a
// four-letter-word connection (with IsCommand on its first four bytes),
// calls Run once and then closes the connection, as ZooKeeper does.
//
// The reference is ZooKeeper 3.8 as packaged by Debian (checked by running
// it) and the ZooKeeper 3.9 sources. One deliberate difference: the version
// line uses ZooKeeper's pre-3.5 date shape "MM/DD/YYYY HH:MM GMT" (see
// VersionLine) because go-zookeeper's FLWSrvr only parses that shape.
package fourlw

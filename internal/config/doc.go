// Package config turns a ZooKeeper zoo.cfg file (and built-in defaults) into
// one validated Options value for the zkd server.
//
// It owns the zoo.cfg grammar (java.util.Properties as ZooKeeper reads it),
// the list of honoured keys with their defaults (Keys), the <dataDir>/myid
// file, ZooKeeper's standalone-versus-ensemble rule and every range check on
// configuration values. It must never open sockets, create directories or
// files, resolve host names, or start goroutines: loading a configuration has
// no side effects beyond reading the config, dynamic config and myid files.
//
// # Grammar
//
// A file is read the way Properties.load reads it: "key=value", "key: value"
// and "key value" lines; lines whose first non-blank character is '#' or '!'
// are comments; a line ending in an odd number of backslashes continues on
// the next line (whose leading blanks are dropped); \t \n \r \f \uXXXX and
// "\c" (any other character c, the backslash dropped) escapes. Keys and values
// are then trimmed, as ZooKeeper trims them. One deliberate difference: zkd
// reads the bytes as UTF-8 where Java reads ISO-8859-1; for ASCII files the
// two are identical.
//
// # Key names
//
// ZooKeeper copies every zoo.cfg key it does not parse itself into the Java
// system property "zookeeper.<key>", so "snapCount=" in zoo.cfg and
// -Dzookeeper.snapCount act alike. zkd accepts every honoured key in both the
// plain and the "zookeeper."-prefixed form (server.N excepted). When both forms
// are present the plain one wins, as in ZooKeeper. When a key appears twice the
// last line wins, as in Properties.load; both cases produce a warning.
//
// Keys that only make sense for the Java implementation (TLS keystores, SASL,
// JVM tuning, metrics provider classes, ...; see IgnoredKeys) are accepted with
// a notice. Unknown keys produce a warning. group.N / weight.N (hierarchical
// quorums) and multiple addresses per server are rejected, since ignoring them
// would silently change the quorum.
//
// Numbers parse as ZooKeeper parses them: Integer.parseInt for keys of
// zoo.cfg proper, Integer.decode (also "0x1F", "#1F", octal "017") for keys
// ZooKeeper reads as system properties (snapCount, jute.maxbuffer,
// admin.serverPort, znode.container.checkIntervalMs). Booleans are "true" or
// "false" in any case; other text is an error (where Java's Boolean.parseBoolean
// would quietly read it as false).
//
// # Files
//
// A config file must set dataDir, as ZooKeeper requires, and clientPort
// unless this server's server.N line carries a client port. When
// dynamicConfigFile is set, the server.N lines are read from that file (and
// may not appear in zoo.cfg), as ZooKeeper 3.5+ lays them out. When there are
// server.N lines, Load reads this server's id from the first line of
// <dataDir>/myid; a malformed myid is always an error, a missing one only for
// an ensemble. zkd reserves id 0 (raft's "no node"), so server ids start at 1.
//
// # Standalone rule
//
// As in ZooKeeper's QuorumPeerConfig: the server runs standalone when there
// are no server.N lines, or when standaloneEnabled=true (the default) and at
// most one participant line is present (ZooKeeper ignores a lone server line;
// zkd keeps it in Servers but Standalone reports true). Everything else is an
// ensemble, which needs <dataDir>/myid naming one of the server.N lines.
// Observers without at least two participants (or standaloneEnabled=false)
// are rejected, as ZooKeeper rejects them.
package config

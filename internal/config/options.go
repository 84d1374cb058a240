package config

import (
	"maps"
	"strconv"
	"strings"
	"time"
)

// Options is the complete server configuration. Each field's comment names
// the zoo.cfg key that sets it and the default; Keys lists the same facts for
// documentation. Zero values marked "resolved by Validate" are filled in by
// Validate, which Load always calls.
type Options struct {
	// TickTime is ZooKeeper's basic time unit (zoo.cfg tickTime, in
	// milliseconds). Default 2000ms.
	TickTime time.Duration
	// DataDir holds snapshots and, unless DataLogDir is set, the log (zoo.cfg
	// dataDir; required in a config file). Default "zkd-data", relative to
	// the working directory.
	DataDir string
	// DataLogDir holds the write-ahead log (zoo.cfg dataLogDir). Default ""
	// meaning DataDir; resolved by Validate.
	DataLogDir string
	// ClientPort is the client listener port (zoo.cfg clientPort). Default
	// 2181; a config file must set it, as in ZooKeeper, unless this server's
	// server.N line carries a client port, which Validate copies here.
	ClientPort int
	// ClientPortAddress is the client listener address (zoo.cfg
	// clientPortAddress). Default "" meaning all addresses.
	ClientPortAddress string
	// MaxClientCnxns limits concurrent connections per client IP (zoo.cfg
	// maxClientCnxns). Default 60; 0 means unlimited.
	MaxClientCnxns int
	// MinSessionTimeout is the smallest session timeout granted (zoo.cfg
	// minSessionTimeout, ms). Default 0 meaning 2 × TickTime; resolved by
	// Validate.
	MinSessionTimeout time.Duration
	// MaxSessionTimeout is the largest session timeout granted (zoo.cfg
	// maxSessionTimeout, ms). Default 0 meaning 20 × TickTime; resolved by
	// Validate.
	MaxSessionTimeout time.Duration
	// InitLimit is how many ticks a follower may take to connect and sync to
	// a leader (zoo.cfg initLimit). Default 10.
	InitLimit int
	// SyncLimit is how many ticks a follower may lag behind the leader
	// (zoo.cfg syncLimit). Default 5.
	SyncLimit int
	// Servers is the ensemble (zoo.cfg server.N lines, or the file named by
	// dynamicConfigFile), sorted by ID. Default none: standalone.
	Servers []Server
	// StandaloneEnabled lets a lone participant run standalone (zoo.cfg
	// standaloneEnabled). Default true. See Standalone.
	StandaloneEnabled bool
	// MyID is this server's id (the file <dataDir>/myid, not a zoo.cfg key).
	// Default 0: unset, read by Load when server lines exist.
	MyID uint64
	// PeerType is "participant" or "observer" (zoo.cfg peerType). Default
	// "participant"; this server's server.N line takes precedence.
	PeerType string
	// FourLetterWords is the set of enabled four letter word commands
	// (zoo.cfg 4lw.commands.whitelist, comma separated, "*" for all).
	// Default {"srvr"}; "srvr" is always enabled, as in ZooKeeper.
	FourLetterWords map[string]bool
	// AdminEnableServer turns the HTTP AdminServer on (zoo.cfg
	// admin.enableServer). Default true.
	AdminEnableServer bool
	// AdminServerAddress is the AdminServer listen address (zoo.cfg
	// admin.serverAddress). Default "0.0.0.0".
	AdminServerAddress string
	// AdminServerPort is the AdminServer port (zoo.cfg admin.serverPort).
	// Default 8080; 0 lets the OS choose.
	AdminServerPort int
	// AdminSnapshotEnabled and AdminRestoreEnabled allow the AdminServer's
	// snapshot and restore commands (admin.snapshot.enabled,
	// admin.restore.enabled). Default true, as in ZooKeeper 3.9.
	AdminSnapshotEnabled, AdminRestoreEnabled bool
	// AdminRateLimit is the least time between two snapshot (or restore)
	// commands (admin.rateLimiterIntervalInMS); 0 disables the limit.
	// Default 5 minutes.
	AdminRateLimit time.Duration
	// MetricsHTTPPort is the Prometheus /metrics port (zoo.cfg
	// metricsProvider.httpPort). Default 7000; 0 lets the OS choose.
	MetricsHTTPPort int
	// SnapCount is the number of log entries between snapshots (zoo.cfg
	// snapCount). Default 100000.
	SnapCount int
	// SnapSizeLimitKB also triggers a snapshot once this many KiB of log
	// entries were written since the last one (zoo.cfg snapSizeLimitInKb);
	// <= 0 disables it. Default 65536 (64 MiB): ZooKeeper's is 4 GiB, which
	// would let a restart replay gigabytes of log.
	SnapSizeLimitKB int64
	// CommitLogCount is how many applied log entries an ensemble member
	// keeps in memory so that a peer slightly behind catches up from the
	// log rather than from a snapshot (zoo.cfg commitLogCount, ZooKeeper's
	// count of committed proposals a leader keeps for a DIFF; a value below
	// ZooKeeper's minimum of 500 read from a file becomes 500). 0, the
	// default: 5000, or half of SnapCount if that is smaller.
	CommitLogCount int
	// CommitLogSizeLimitKB bounds the entry data of those entries: fewer
	// are kept if theirs would pass it (zkd.commitLogSizeLimitInKb, a zkd
	// extension). Default 65536 (64 MiB).
	CommitLogSizeLimitKB int
	// WALZeroFill writes zeros over the log's next segment ahead of the
	// log where that makes its syncs cheaper (zkd.walZeroFill, a zkd
	// extension). Default true.
	WALZeroFill bool
	// SnapRetainCount is how many snapshots autopurge keeps (zoo.cfg
	// autopurge.snapRetainCount). Default 3, the minimum.
	SnapRetainCount int
	// PurgeInterval is how often autopurge runs (zoo.cfg
	// autopurge.purgeInterval, in hours). Default 0: never.
	PurgeInterval time.Duration
	// JuteMaxBuffer is the largest request, response or znode payload in
	// bytes (zoo.cfg jute.maxbuffer). Default 0xfffff (1048575).
	JuteMaxBuffer int
	// ExtendedTypesEnabled allows TTL nodes (zoo.cfg extendedTypesEnabled).
	// Default false. When true, server ids must be at most 254.
	ExtendedTypesEnabled bool
	// ContainerCheckInterval is how often empty container and expired TTL
	// nodes are looked for (zoo.cfg znode.container.checkIntervalMs).
	// Default 60s.
	ContainerCheckInterval time.Duration
	// SuperDigest is "user:base64(sha1(user:password))"; a client that
	// authenticates with it bypasses ACLs (zoo.cfg
	// DigestAuthenticationProvider.superDigest). Default "": disabled.
	SuperDigest string
	// LogFormat is the server log encoding, "text" or "json" (zoo.cfg
	// zkd.logFormat, a zkd extension). Default "text".
	LogFormat string
	// FsyncWarningThreshold is how long a sync of the write-ahead log (or
	// of a snapshot file) may take before it is logged as a warning naming
	// the file and the duration, and counted in
	// fsync_threshold_exceed_count (zoo.cfg fsync.warningthresholdms, in
	// milliseconds). Default 1000ms.
	FsyncWarningThreshold time.Duration
}

// Server is one server.N line:
// server.N=host:quorumPort:electionPort[:participant|:observer][;[clientAddr:]clientPort].
type Server struct {
	ID           uint64 // N; 1 or more
	Host         string // host name or IP address, IPv6 without brackets
	QuorumPort   int    // peer (raft) traffic
	ElectionPort int    // ZooKeeper's leader election port; must differ from QuorumPort
	Observer     bool   // ":observer": a non-voting learner
	ClientAddr   string // "" when the line gives only a port (or no client part)
	ClientPort   int    // 0 when the line has no client part
}

// String renders the server the way ZooKeeper's QuorumServer prints it, e.g.
// "zk1:2888:3888:participant;0.0.0.0:2181".
func (s Server) String() string {
	var b strings.Builder
	b.WriteString(joinHostPort(s.Host, s.QuorumPort))
	b.WriteString(":")
	b.WriteString(strconv.Itoa(s.ElectionPort))
	if s.Observer {
		b.WriteString(":observer")
	} else {
		b.WriteString(":participant")
	}
	if s.ClientPort != 0 {
		addr := s.ClientAddr
		if addr == "" {
			addr = "0.0.0.0"
		}
		b.WriteString(";")
		b.WriteString(joinHostPort(addr, s.ClientPort))
	}
	return b.String()
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}

// Default returns a standalone server configuration: ZooKeeper's defaults,
// ClientPort 2181 and DataDir "zkd-data" in the working directory.
func Default() *Options {
	return &Options{
		TickTime:               2000 * time.Millisecond,
		DataDir:                "zkd-data",
		ClientPort:             2181,
		MaxClientCnxns:         60,
		InitLimit:              10,
		SyncLimit:              5,
		StandaloneEnabled:      true,
		PeerType:               PeerParticipant,
		FourLetterWords:        map[string]bool{"srvr": true},
		AdminEnableServer:      true,
		AdminServerAddress:     "0.0.0.0",
		AdminServerPort:        8080,
		AdminSnapshotEnabled:   true,
		AdminRestoreEnabled:    true,
		AdminRateLimit:         5 * time.Minute,
		MetricsHTTPPort:        7000,
		SnapCount:              100000,
		SnapSizeLimitKB:        65536,
		CommitLogSizeLimitKB:   65536,
		WALZeroFill:            true,
		SnapRetainCount:        3,
		JuteMaxBuffer:          0xfffff,
		ContainerCheckInterval: 60 * time.Second,
		LogFormat:              LogText,
		FsyncWarningThreshold:  time.Second,
	}
}

// Peer types and log formats.
const (
	PeerParticipant = "participant"
	PeerObserver    = "observer"
	LogText         = "text"
	LogJSON         = "json"
)

// Standalone reports whether the server runs alone rather than as an
// ensemble member: no server lines, or standaloneEnabled with at most one
// participant line (ZooKeeper's rule; see the package doc).
func (o *Options) Standalone() bool {
	participants := 0
	for _, s := range o.Servers {
		if !s.Observer {
			participants++
		}
	}
	return len(o.Servers) == 0 || (o.StandaloneEnabled && participants <= 1)
}

// Self returns this server's server.N entry (ID == MyID), if there is one.
func (o *Options) Self() (Server, bool) {
	if o.MyID == 0 {
		return Server{}, false
	}
	for _, s := range o.Servers {
		if s.ID == o.MyID {
			return s, true
		}
	}
	return Server{}, false
}

// FourLetterWordEnabled reports whether cmd (e.g. "ruok") may be answered.
// "srvr" always may, as in ZooKeeper, whose zkServer.sh depends on it.
func (o *Options) FourLetterWordEnabled(cmd string) bool {
	return cmd == "srvr" || o.FourLetterWords[cmd] ||
		(o.FourLetterWords["*"] && isFourLetterWord(cmd))
}

// KnownFourLetterWords lists every four letter word ZooKeeper 3.9 defines,
// the names 4lw.commands.whitelist accepts.
func KnownFourLetterWords() []string {
	return append([]string(nil), fourLetterWords...)
}

var fourLetterWords = []string{
	"conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro",
	"mntr", "ruok", "srst", "srvr", "stat", "stmk", "wchc", "wchp", "wchs",
}

func isFourLetterWord(s string) bool {
	for _, w := range fourLetterWords {
		if w == s {
			return true
		}
	}
	return false
}

// Clone returns a deep copy, so a caller may change it without affecting o.
func (o *Options) Clone() *Options {
	c := *o
	c.Servers = append([]Server(nil), o.Servers...)
	c.FourLetterWords = maps.Clone(o.FourLetterWords)
	return &c
}

// Validate checks every value and resolves the derived ones (session
// timeouts from TickTime, DataLogDir from DataDir, this server's client port
// and peer type from its server.N line, lower-cased enums, "srvr" in
// FourLetterWords). It returns the first problem as an *Error. Calling it
// again on its own result is harmless.
func (o *Options) Validate() error {
	if _, err := o.resolve(); err != nil {
		return err
	}
	return nil
}

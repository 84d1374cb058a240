package config

import (
	"strconv"
	"strings"
	"time"
)

// KeyDoc documents one honoured zoo.cfg key. The README's configuration
// table is generated from (and checked against) Keys.
type KeyDoc struct {
	Key            string // zoo.cfg key; "zookeeper."+Key is accepted too (server.N excepted)
	Field          string // the Options field it sets; "" for load-time keys (dynamicConfigFile)
	Default        string // default as it would be written in zoo.cfg
	Description    string
	SystemProperty string // the Java system property Apache ZooKeeper also reads it from; "" if none
}

// keySpec is a KeyDoc plus how to parse it. set reports false when the text
// is not of the right form; range checks live in Validate.
type keySpec struct {
	KeyDoc
	allowed string
	set     func(o *Options, v string) bool
}

// Keys lists every zoo.cfg key zkd honours, in documentation order.
func Keys() []KeyDoc {
	out := make([]KeyDoc, len(keySpecs))
	for i, k := range keySpecs {
		out[i] = k.KeyDoc
	}
	return out
}

var keySpecs = []keySpec{
	{KeyDoc{"tickTime", "TickTime", "2000", "Basic time unit in milliseconds; heartbeats and timeouts are multiples of it.", ""},
		allowPositiveMS, setMS(func(o *Options) *time.Duration { return &o.TickTime })},
	{KeyDoc{"dataDir", "DataDir", "zkd-data", "Directory for snapshots, the myid file and (unless dataLogDir is set) the log. Required in a config file.", ""},
		allowDir, func(o *Options, v string) bool { o.DataDir = v; return v != "" }},
	{KeyDoc{"dataLogDir", "DataLogDir", "(dataDir)", "Directory for the write-ahead log; a dedicated device helps latency.", ""},
		allowDir, func(o *Options, v string) bool { o.DataLogDir = v; return true }},
	{KeyDoc{"clientPort", "ClientPort", "2181", "Port clients connect to. A client port on this server's server.N line takes its place.", ""},
		allowClientPort, setInt(func(o *Options) *int { return &o.ClientPort })},
	{KeyDoc{"clientPortAddress", "ClientPortAddress", "(all addresses)", "Address the client port listens on.", ""},
		allowHost, func(o *Options, v string) bool { o.ClientPortAddress = v; return true }},
	{KeyDoc{"maxClientCnxns", "MaxClientCnxns", "60", "Concurrent connections allowed from one client IP address; 0 means unlimited.", ""},
		allowCnxns, setInt(func(o *Options) *int { return &o.MaxClientCnxns })},
	{KeyDoc{"minSessionTimeout", "MinSessionTimeout", "(2 × tickTime)", "Smallest session timeout in milliseconds granted to a client.", ""},
		allowSessionMS, setSessionMS(func(o *Options) *time.Duration { return &o.MinSessionTimeout })},
	{KeyDoc{"maxSessionTimeout", "MaxSessionTimeout", "(20 × tickTime)", "Largest session timeout in milliseconds granted to a client.", ""},
		allowSessionMS, setSessionMS(func(o *Options) *time.Duration { return &o.MaxSessionTimeout })},
	{KeyDoc{"initLimit", "InitLimit", "10", "Ticks a follower may take to connect and catch up with the leader.", ""},
		allowTicks, setInt(func(o *Options) *int { return &o.InitLimit })},
	{KeyDoc{"syncLimit", "SyncLimit", "5", "Ticks a follower may fall behind the leader before it is dropped.", ""},
		allowTicks, setInt(func(o *Options) *int { return &o.SyncLimit })},
	{KeyDoc{"server.N", "Servers", "(none: standalone)", "Ensemble member N: host:quorumPort:electionPort[:participant|:observer][;[clientAddress:]clientPort]. IPv6 hosts in brackets.", ""},
		allowServerForm, nil},
	{KeyDoc{"dynamicConfigFile", "", "(none)", "File holding the server.N lines instead of zoo.cfg (ZooKeeper 3.5+ layout); read once at start.", ""},
		"a file path", nil},
	{KeyDoc{"standaloneEnabled", "StandaloneEnabled", "true", "With true, a lone participant runs standalone; with false it runs as a one-member ensemble.", ""},
		allowBool, setBool(func(o *Options) *bool { return &o.StandaloneEnabled })},
	{KeyDoc{"myid", "MyID", "(none)", "Not a zoo.cfg key: this server's id, read from the file <dataDir>/myid when server.N lines exist.", ""},
		"", nil},
	{KeyDoc{"peerType", "PeerType", "participant", "participant or observer; this server's server.N line takes precedence.", ""},
		allowPeerType, func(o *Options, v string) bool { o.PeerType = v; return true }},
	{KeyDoc{"4lw.commands.whitelist", "FourLetterWords", "srvr", "Comma-separated four letter words to answer, or * for all; srvr is always answered.", "zookeeper.4lw.commands.whitelist"},
		allow4lw, set4lw},
	{KeyDoc{"admin.enableServer", "AdminEnableServer", "true", "Serve the HTTP AdminServer (/commands, /metrics).", "zookeeper.admin.enableServer"},
		allowBool, setBool(func(o *Options) *bool { return &o.AdminEnableServer })},
	{KeyDoc{"admin.serverAddress", "AdminServerAddress", "0.0.0.0", "Address the AdminServer listens on.", "zookeeper.admin.serverAddress"},
		allowHost, func(o *Options, v string) bool { o.AdminServerAddress = v; return true }},
	{KeyDoc{"admin.serverPort", "AdminServerPort", "8080", "Port the AdminServer listens on.", "zookeeper.admin.serverPort"},
		allowPort, setDecoded(func(o *Options) *int { return &o.AdminServerPort })},
	{KeyDoc{"admin.snapshot.enabled", "AdminSnapshotEnabled", "true", "Allow /commands/snapshot (authenticated backup download).", "zookeeper.admin.snapshot.enabled"},
		allowBool, setBool(func(o *Options) *bool { return &o.AdminSnapshotEnabled })},
	{KeyDoc{"admin.restore.enabled", "AdminRestoreEnabled", "true", "Allow /commands/restore (authenticated; replaces the whole state through the log and disconnects every client).", "zookeeper.admin.restore.enabled"},
		allowBool, setBool(func(o *Options) *bool { return &o.AdminRestoreEnabled })},
	{KeyDoc{"admin.rateLimiterIntervalInMS", "AdminRateLimit", "300000", "Milliseconds between two snapshot (or restore) commands; 0 turns the limit off.", "zookeeper.admin.rateLimiterIntervalInMS"},
		allowNonNegativeMS, setMS(func(o *Options) *time.Duration { return &o.AdminRateLimit })},
	{KeyDoc{"metricsProvider.httpPort", "MetricsHTTPPort", "7000", "Port serving Prometheus metrics at /metrics, and /healthz and /readyz, on admin.serverAddress; 0 picks a free port.", ""},
		allowPort, setInt(func(o *Options) *int { return &o.MetricsHTTPPort })},
	{KeyDoc{"snapCount", "SnapCount", "100000", "Log entries between snapshots: as in ZooKeeper, each snapshot is taken after a random count between half of this and all of it, so that ensemble members do not snapshot at once.", "zookeeper.snapCount"},
		allowSnapCount, setDecoded(func(o *Options) *int { return &o.SnapCount })},
	{KeyDoc{"snapSizeLimitInKb", "SnapSizeLimitKB", "65536", "Also snapshot once this many KiB of log were written since the last snapshot (likewise at a random point past half of it); once the last snapshot is larger, that snapshot's size instead, so that snapshots of a large tree write no more than the log they follow. 0 or less disables the size trigger (ZooKeeper's default is 4 GiB).", "zookeeper.snapSizeLimitInKb"},
		allowSnapSize, func(o *Options, v string) bool {
			n, err := strconv.ParseInt(v, 10, 64)
			o.SnapSizeLimitKB = n
			return err == nil
		}},
	{KeyDoc{"commitLogCount", "CommitLogCount", "(5000, or snapCount/2 if smaller)", "Applied log entries an ensemble member keeps in memory, so that a peer this far behind catches up from the log; one further behind gets a snapshot. As in ZooKeeper, values below 500 become 500 (ZooKeeper's default is 500, and its leader can also read older proposals from its log on disk).", "zookeeper.commitLogCount"},
		allowCommitLog, setInt(func(o *Options) *int { return &o.CommitLogCount })},
	{KeyDoc{"zkd.commitLogSizeLimitInKb", "CommitLogSizeLimitKB", "65536", "Most KiB of entry data those entries hold: fewer are kept if theirs would pass it (zkd only).", ""},
		allowCommitLogSize, setInt(func(o *Options) *int { return &o.CommitLogSizeLimitKB })},
	{KeyDoc{"zkd.walZeroFill", "WALZeroFill", "true", "On ext4 and XFS, write zeros over the log's next segment before the log reaches it, so that a log sync does not also write the file system's metadata for it; false leaves segments as the WAL preallocates them, and saves the second write of each (zkd only).", ""},
		allowBool, setBool(func(o *Options) *bool { return &o.WALZeroFill })},
	{KeyDoc{"autopurge.snapRetainCount", "SnapRetainCount", "3", "Snapshots (and the log they need) kept by autopurge; values below 3 become 3.", ""},
		allowRetain, setInt(func(o *Options) *int { return &o.SnapRetainCount })},
	{KeyDoc{"autopurge.purgeInterval", "PurgeInterval", "0", "Hours between autopurge runs; 0 disables autopurge.", ""},
		allowPurge, setPurge},
	{KeyDoc{"jute.maxbuffer", "JuteMaxBuffer", "1048575", "Largest packet or znode payload in bytes (0xfffff).", "jute.maxbuffer"},
		allowJute, setDecoded(func(o *Options) *int { return &o.JuteMaxBuffer })},
	{KeyDoc{"extendedTypesEnabled", "ExtendedTypesEnabled", "false", "Allow TTL nodes; server ids must then be at most 254.", "zookeeper.extendedTypesEnabled"},
		allowBool, setBool(func(o *Options) *bool { return &o.ExtendedTypesEnabled })},
	{KeyDoc{"znode.container.checkIntervalMs", "ContainerCheckInterval", "60000", "Milliseconds between sweeps for empty container and expired TTL nodes.", "znode.container.checkIntervalMs"},
		allowPositiveMS, func(o *Options, v string) bool {
			n, ok := decodeInt32(v)
			o.ContainerCheckInterval = time.Duration(n) * time.Millisecond
			return ok
		}},
	{KeyDoc{"DigestAuthenticationProvider.superDigest", "SuperDigest", "(disabled)", "user:base64(SHA-1(user:password)); a client authenticated with it bypasses ACLs.", "zookeeper.DigestAuthenticationProvider.superDigest"},
		allowDigest, func(o *Options, v string) bool { o.SuperDigest = v; return true }},
	{KeyDoc{"fsync.warningthresholdms", "FsyncWarningThreshold", "1000", "Milliseconds a write-ahead log or snapshot fsync may take before a warning naming the file and the duration is logged (and fsync_threshold_exceed_count counts it).", "zookeeper.fsync.warningthresholdms"},
		allowNonNegativeMS, func(o *Options, v string) bool {
			// ZooKeeper reads it with Long.getLong, hence Integer.decode's
			// forms (0x hex, 0 octal).
			n, ok := decodeInt32(v)
			o.FsyncWarningThreshold = time.Duration(n) * time.Millisecond
			return ok
		}},
	{KeyDoc{"zkd.logFormat", "LogFormat", "text", "Server log format: text or json (zkd only).", ""},
		allowLogFormat, func(o *Options, v string) bool { o.LogFormat = v; return true }},
}

// parseInt32 is Java's Integer.parseInt: optional sign, decimal, 32 bits.
func parseInt32(v string) (int, bool) {
	n, err := strconv.ParseInt(v, 10, 32)
	return int(n), err == nil
}

// decodeInt32 is Java's Integer.decode, which Integer.getInteger uses for
// the settings ZooKeeper reads as system properties: optional sign, then
// "0x", "0X" or "#" for hex, a leading "0" for octal, else decimal.
func decodeInt32(v string) (int, bool) {
	s, neg := v, false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	base := 10
	switch {
	case strings.HasPrefix(s, "0x"), strings.HasPrefix(s, "0X"):
		base, s = 16, s[2:]
	case strings.HasPrefix(s, "#"):
		base, s = 16, s[1:]
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	if s == "" || s[0] == '-' || s[0] == '+' {
		return 0, false
	}
	n, err := strconv.ParseInt(s, base, 64)
	if neg {
		n = -n
	}
	if err != nil || n < -1<<31 || n > 1<<31-1 {
		return 0, false
	}
	return int(n), true
}

// setDecoded is setInt for keys ZooKeeper reads with Integer.getInteger.
func setDecoded(f func(*Options) *int) func(*Options, string) bool {
	return func(o *Options, v string) bool {
		n, ok := decodeInt32(v)
		*f(o) = n
		return ok
	}
}

func setInt(f func(*Options) *int) func(*Options, string) bool {
	return func(o *Options, v string) bool {
		n, ok := parseInt32(v)
		*f(o) = n
		return ok
	}
}

func setMS(f func(*Options) *time.Duration) func(*Options, string) bool {
	return func(o *Options, v string) bool {
		n, ok := parseInt32(v)
		*f(o) = time.Duration(n) * time.Millisecond
		return ok
	}
}

// setSessionMS maps ZooKeeper's "-1: derive from tickTime" to 0.
func setSessionMS(f func(*Options) *time.Duration) func(*Options, string) bool {
	return func(o *Options, v string) bool {
		n, ok := parseInt32(v)
		if n == -1 {
			n = 0
		}
		*f(o) = time.Duration(n) * time.Millisecond
		return ok
	}
}

// setBool accepts what ZooKeeper's parseBoolean accepts: true or false in
// any case. (ZooKeeper reads some system properties with Boolean.parseBoolean,
// which takes any other text as false; zkd refuses such text instead.)
func setBool(f func(*Options) *bool) func(*Options, string) bool {
	return func(o *Options, v string) bool {
		switch {
		case strings.EqualFold(v, "true"):
			*f(o) = true
		case strings.EqualFold(v, "false"):
			*f(o) = false
		default:
			return false
		}
		return true
	}
}

func setPurge(o *Options, v string) bool {
	n, ok := parseInt32(v)
	if !ok || int64(n) > maxPurgeHours {
		return false
	}
	o.PurgeInterval = time.Duration(n) * time.Hour
	return true
}

// set4lw parses the list as ZooKeeper does: comma separated, trimmed, empty
// items skipped, "*" meaning every command. Unknown names are kept so that
// Validate can name them (ZooKeeper would ignore them silently).
func set4lw(o *Options, v string) bool {
	o.FourLetterWords = map[string]bool{"srvr": true}
	for _, w := range strings.Split(v, ",") {
		w = javaTrim(w)
		if w == "*" {
			for _, c := range fourLetterWords {
				o.FourLetterWords[c] = true
			}
			break
		}
		if w != "" {
			o.FourLetterWords[w] = true
		}
	}
	return true
}

func lookupSpec(key string) *keySpec {
	for i := range keySpecs {
		if keySpecs[i].Key == key && keySpecs[i].set != nil {
			return &keySpecs[i]
		}
	}
	return nil
}

// IgnoredKeys lists the keys (exact names, and prefixes ending in '.' or '_')
// that belong to the Java implementation. zkd accepts them, with or without
// the "zookeeper." prefix, and reports a notice for each.
func IgnoredKeys() []string {
	return append([]string(nil), javaOnlyKeys...)
}

var javaOnlyKeys = []string{
	// Transport and TLS.
	"serverCnxnFactory", "secureClientPort", "secureClientPortAddress", "sslQuorum", "sslQuorumReloadCertFiles",
	"portUnification", "client.portUnification", "client.secure", "fips-mode", "ssl.", "netty.", "nio.",
	"clientPortListenBacklog", "maxCnxns", "tcpKeepAlive", "cnxTimeout", "connection_throttle_",
	// Authentication plug-ins.
	"authProvider", "authProvider.", "quorum.auth.", "kerberos.", "X509AuthenticationProvider.superUser",
	"superUser", "sessionRequireClientSASLAuth", "enforce.auth.", "skipACL",
	// Quorum machinery that raft replaces.
	"electionAlg", "electionPortBindRetry", "quorumListenOnAllIPs", "syncEnabled", "observer.syncEnabled",
	"observerMasterPort", "connectToLearnerMasterLimit", "reconfigEnabled", "oraclePath", "multiAddress.",
	"quorum.cnxn.threads.size", "leaderServes", "learner.", "leader.", "localSessionsEnabled",
	"localSessionsUpgradingEnabled", "maxConcurrentSnapSyncs", "maxConcurrentDiffSyncs", "version",
	// Storage and JVM tuning.
	"preAllocSize", "txnLogSizeLimitInKb",
	"forceSync", "snapshot.", "jute.maxbuffer.extrasize", "digest.enabled", "jvm.pause.", "globalOutstandingLimit",
	"commitProcessor.", "requestThrottleLimit", "requestThrottleStallTime", "requestThrottleDropStale",
	"flushDelay", "maxWriteQueuePollTime", "maxBatchSize", "closeSessionTxn.enabled", "serializeLastProcessedZxid.enabled",
	"emulate353TTLNodes", "znode.container.maxPerMinute", "znode.container.maxNeverUsedIntervalMs",
	"readonlymode.enabled", "enforceQuota", "watchManagerName", "audit.",
	// Admin and metrics plug-ins (the honoured ones are matched first).
	"admin.", "metricsProvider.",
}

func isJavaOnly(key string) bool {
	for _, k := range javaOnlyKeys {
		last := k[len(k)-1]
		if key == k || ((last == '.' || last == '_') && strings.HasPrefix(key, k)) {
			return true
		}
	}
	return false
}

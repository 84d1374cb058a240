package fourlw

import (
	"net"
	"strconv"
	"strings"
)

// ServerConf holds what ZooKeeper's conf prints (ZooKeeperServer.dumpConf,
// plus QuorumZooKeeperServer's part on ensemble members). The server fills
// it from its options and returns KVs() from Source.Conf.
type ServerConf struct {
	ClientPort       int
	SecureClientPort int // -1 when there is no TLS port
	// DataDir and DataLogDir are absolute; ZooKeeper prints its snapshot
	// and log directories, which end in "/version-2".
	DataDir     string
	DataDirSize int64 // bytes
	DataLogDir  string
	DataLogSize int64 // bytes
	TickTime    int   // ms
	// MaxClientCnxns is the per-host connection limit.
	MaxClientCnxns                       int
	MinSessionTimeout, MaxSessionTimeout int // ms
	ClientPortListenBacklog              int // -1 = the OS default
	ServerID                             int64
	// Quorum is nil for a standalone server.
	Quorum *QuorumConf
}

// QuorumConf is the ensemble part of conf.
type QuorumConf struct {
	InitLimit, SyncLimit int
	// ElectionAlg is always 3 (fast leader election) in ZooKeeper 3.8+.
	ElectionAlg int
	// ElectionPort and QuorumPort are this server's ports.
	ElectionPort, QuorumPort int
	// PeerType is 0 for a participant and 1 for an observer.
	PeerType int
	Members  []Member
	// Version is the configuration version (the zxid that made it), printed
	// in hex.
	Version int64
}

// Member is one server.N line of the membership block.
type Member struct {
	ID                       uint64
	Host                     string
	QuorumPort, ElectionPort int
	Observer                 bool
	// ClientAddr and ClientPort come from the optional ";[addr:]port"
	// suffix of the server.N line; ClientPort 0 means there was none.
	ClientAddr string
	ClientPort int
}

// KVs lists conf in ZooKeeper's order. The membership block is carried as
// empty-Key pairs printed verbatim and, as in ZooKeeper, its last line
// ("version=<hex>") has no newline.
func (c *ServerConf) KVs() []KV {
	itoa := strconv.Itoa
	kvs := []KV{
		{"clientPort", itoa(c.ClientPort)},
		{"secureClientPort", itoa(c.SecureClientPort)},
		{"dataDir", c.DataDir},
		{"dataDirSize", strconv.FormatInt(c.DataDirSize, 10)},
		{"dataLogDir", c.DataLogDir},
		{"dataLogSize", strconv.FormatInt(c.DataLogSize, 10)},
		{"tickTime", itoa(c.TickTime)},
		{"maxClientCnxns", itoa(c.MaxClientCnxns)},
		{"minSessionTimeout", itoa(c.MinSessionTimeout)},
		{"maxSessionTimeout", itoa(c.MaxSessionTimeout)},
		{"clientPortListenBacklog", itoa(c.ClientPortListenBacklog)},
		{"serverId", strconv.FormatInt(c.ServerID, 10)},
	}
	q := c.Quorum
	if q == nil {
		return kvs
	}
	kvs = append(kvs,
		KV{"initLimit", itoa(q.InitLimit)},
		KV{"syncLimit", itoa(q.SyncLimit)},
		KV{"electionAlg", itoa(q.ElectionAlg)},
		KV{"electionPort", itoa(q.ElectionPort)},
		KV{"quorumPort", itoa(q.QuorumPort)},
		KV{"peerType", itoa(q.PeerType)},
		KV{"", "membership: \n"},
	)
	var b strings.Builder
	for _, m := range q.Members {
		b.WriteString("server.")
		b.WriteString(strconv.FormatUint(m.ID, 10))
		b.WriteByte('=')
		b.WriteString(m.String())
		b.WriteByte('\n')
	}
	b.WriteString("version=")
	b.WriteString(javaHex(q.Version))
	return append(kvs, KV{"", b.String()})
}

// String is the member as ZooKeeper's QuorumServer.toString prints it:
// "host:quorumPort:electionPort:participant|observer[;clientAddr:clientPort]".
func (m Member) String() string {
	role := "participant"
	if m.Observer {
		role = "observer"
	}
	s := bracketIPv6(m.Host) + ":" + strconv.Itoa(m.QuorumPort) + ":" + strconv.Itoa(m.ElectionPort) + ":" + role
	if m.ClientPort != 0 {
		addr := m.ClientAddr
		if addr == "" {
			addr = "0.0.0.0" // ZooKeeper binds a bare ";port" to the wildcard address.
		}
		s += ";" + bracketIPv6(addr) + ":" + strconv.Itoa(m.ClientPort)
	}
	return s
}

// bracketIPv6 wraps an IPv6 literal in brackets, as ZooKeeper's
// delimitedHostString does; names and IPv4 addresses are left alone.
func bracketIPv6(host string) string {
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return "[" + host + "]"
	}
	return host
}

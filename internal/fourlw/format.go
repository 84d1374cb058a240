package fourlw

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// zkVersionPrefix is the ZooKeeper release whose protocol zkd speaks. Tools
// compare this number (e.g. to decide whether a server knows multiRead), so
// it leads the version string; zkd's own version follows it.
const zkVersionPrefix = "3.9.0-zkd-"

// FullVersion is the version as ZooKeeper's Version.getFullVersion() prints
// it in srvr, stat, mntr (zk_version) and envi (zookeeper.version):
// "3.9.0-zkd-<version>, built on MM/DD/YYYY HH:MM GMT".
//
// The date uses ZooKeeper's pre-3.5 shape (3.5+ prints "YYYY-MM-DD HH:MM
// UTC") because go-zookeeper's FLWSrvr parses only this one. For the same
// reason any character of version outside [A-Za-z0-9.-] is replaced by '-'
// ("0.4.1+dirty" becomes "0.4.1-dirty"); an empty version becomes "dev".
func FullVersion(version string, built time.Time) string {
	if version == "" {
		version = "dev"
	}
	clean := []byte(version)
	for i, c := range clean {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			clean[i] = '-'
		}
	}
	return zkVersionPrefix + string(clean) + ", built on " + built.UTC().Format("01/02/2006 15:04") + " GMT"
}

// VersionLine is the first line of srvr and stat, without its newline:
// "Zookeeper version: 3.9.0-zkd-<version>, built on 11/21/2026 12:00 GMT".
func VersionLine(version string, built time.Time) string {
	return "Zookeeper version: " + FullVersion(version, built)
}

// writeSrvr writes srvr, or stat when stat is set (stat lists the
// connections briefly between the version line and the counters).
func writeSrvr(b *strings.Builder, st *Stats, readOnly, stat bool, conns []ConnInfo) {
	b.WriteString(VersionLine(st.Version, st.Built))
	b.WriteByte('\n')
	if readOnly {
		b.WriteString("READ-ONLY mode; serving only read-only clients\n")
	}
	if stat {
		b.WriteString("Clients:\n")
		for i := range conns {
			writeConn(b, &conns[i], true)
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	// ServerStats.toString, then the node count.
	b.WriteString("Latency min/avg/max: ")
	b.WriteString(strconv.FormatInt(st.MinLatency, 10))
	b.WriteByte('/')
	b.WriteString(javaDouble(roundHalfUp4(st.AvgLatency)))
	b.WriteByte('/')
	b.WriteString(strconv.FormatInt(st.MaxLatency, 10))
	b.WriteString("\nReceived: ")
	b.WriteString(strconv.FormatInt(st.Received, 10))
	b.WriteString("\nSent: ")
	b.WriteString(strconv.FormatInt(st.Sent, 10))
	b.WriteString("\nConnections: ")
	b.WriteString(strconv.Itoa(st.Connections))
	b.WriteString("\nOutstanding: ")
	b.WriteString(strconv.FormatInt(st.Outstanding, 10))
	b.WriteString("\nZxid: 0x")
	b.WriteString(javaHex(st.Zxid))
	b.WriteString("\nMode: ")
	b.WriteString(mode(st))
	if st.Fault != "" {
		b.WriteString("\nFault: ")
		b.WriteString(oneLine(st.Fault))
	}
	b.WriteString("\nNode count: ")
	b.WriteString(strconv.Itoa(st.NodeCount))
	b.WriteByte('\n')
	if mode(st) == "leader" {
		b.WriteString("Proposal sizes last/min/max: ")
		b.WriteString(bufferStat(st.LastProposalSize))
		b.WriteByte('/')
		b.WriteString(bufferStat(st.MinProposalSize))
		b.WriteByte('/')
		b.WriteString(bufferStat(st.MaxProposalSize))
		b.WriteByte('\n')
	}
}

// mode is Stats.Mode with its documented default.
func mode(st *Stats) string {
	if st.Mode == "" {
		return "standalone"
	}
	return st.Mode
}

// bufferStat prints a packet size the way ZooKeeper's BufferStats does:
// -1 until a first sample exists (0 in Stats).
func bufferStat(n int64) string {
	if n == 0 {
		return "-1"
	}
	return strconv.FormatInt(n, 10)
}

// writeCons writes every connection in full, each on its own line, and an
// empty line after them.
func writeCons(b *strings.Builder, conns []ConnInfo) {
	for i := range conns {
		writeConn(b, &conns[i], false)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
}

// writeConn writes one connection as ZooKeeper's
// ServerCnxn.dumpConnectionInfo does, without a newline.
func writeConn(b *strings.Builder, c *ConnInfo, brief bool) {
	b.WriteByte(' ')
	b.WriteString(javaSocketAddr(c.Remote))
	b.WriteByte('[')
	b.WriteString(strconv.FormatUint(uint64(uint32(c.InterestOps)), 16))
	b.WriteString("](queued=")
	b.WriteString(strconv.FormatInt(c.Queued, 10))
	b.WriteString(",recved=")
	b.WriteString(strconv.FormatInt(c.Received, 10))
	b.WriteString(",sent=")
	b.WriteString(strconv.FormatInt(c.Sent, 10))
	if !brief && c.SessionID != 0 {
		b.WriteString(",sid=0x")
		b.WriteString(javaHex(c.SessionID))
		b.WriteString(",lop=")
		if c.LastOp == "" {
			b.WriteString("NA")
		} else {
			b.WriteString(c.LastOp)
		}
		b.WriteString(",est=")
		var est int64
		if !c.Established.IsZero() {
			est = c.Established.UnixMilli()
		}
		b.WriteString(strconv.FormatInt(est, 10))
		b.WriteString(",to=")
		b.WriteString(strconv.Itoa(c.Timeout))
		if c.LastCxid >= 0 {
			b.WriteString(",lcxid=0x")
			b.WriteString(javaHex(c.LastCxid))
		}
		b.WriteString(",lzxid=0x")
		b.WriteString(javaHex(c.LastZxid))
		b.WriteString(",lresp=")
		b.WriteString(strconv.FormatInt(c.LastResponse, 10))
		b.WriteString(",llat=")
		b.WriteString(strconv.FormatInt(c.LastLatency, 10))
		b.WriteString(",minlat=")
		b.WriteString(strconv.FormatInt(c.MinLatency, 10))
		b.WriteString(",avglat=")
		b.WriteString(strconv.FormatInt(c.AvgLatency, 10))
		b.WriteString(",maxlat=")
		b.WriteString(strconv.FormatInt(c.MaxLatency, 10))
	}
	b.WriteByte(')')
}

// writeConf writes the conf pairs; see Source.Conf for the empty-Key rule.
func writeConf(b *strings.Builder, kvs []KV) {
	for _, kv := range kvs {
		if kv.Key == "" {
			b.WriteString(kv.Value)
			continue
		}
		b.WriteString(kv.Key)
		b.WriteByte('=')
		b.WriteString(kv.Value)
		b.WriteByte('\n')
	}
}

// writeEnv writes envi: a header, then one key=value line per pair.
func writeEnv(b *strings.Builder, kvs []KV) {
	b.WriteString("Environment:\n")
	for _, kv := range kvs {
		b.WriteString(kv.Key)
		b.WriteByte('=')
		b.WriteString(kv.Value)
		b.WriteByte('\n')
	}
}

// writeWatchesBySession writes wchc: each session in hex, then its paths
// indented by a tab; WatchCommand ends the reply with an empty line.
func writeWatchesBySession(b *strings.Builder, ws []SessionWatches, omitted int, lim WatchLimit) {
	for _, w := range ws {
		b.WriteString("0x")
		b.WriteString(javaHex(w.SessionID))
		b.WriteByte('\n')
		for _, p := range w.Paths {
			b.WriteByte('\t')
			b.WriteString(p)
			b.WriteByte('\n')
		}
	}
	b.WriteString(TruncatedLine(omitted, lim))
	b.WriteByte('\n')
}

// writeWatchesByPath writes wchp: each path, then its sessions indented.
func writeWatchesByPath(b *strings.Builder, ws []PathWatches, omitted int, lim WatchLimit) {
	for _, w := range ws {
		b.WriteString(w.Path)
		b.WriteByte('\n')
		for _, id := range w.SessionIDs {
			b.WriteString("\t0x")
			b.WriteString(javaHex(id))
			b.WriteByte('\n')
		}
	}
	b.WriteString(TruncatedLine(omitted, lim))
	b.WriteByte('\n')
}

// TruncatedLine is the line (with its newline) wchc and wchp print after
// the last entry of a listing cut short by lim, and "" for a complete one
// (omitted == 0), whose output is then ZooKeeper's exactly. It starts with
// '#', which no session line ("0x..."), path line ("/...") or indented
// line starts with, so a parser can tell it apart.
func TruncatedLine(omitted int, lim WatchLimit) string {
	switch {
	case omitted == 0:
		return ""
	case omitted < 0:
		return fmt.Sprintf("# truncated: more watches not listed (at most %d watches and %d bytes of paths are listed)\n",
			lim.Watches, lim.Bytes)
	}
	return fmt.Sprintf("# truncated: %d more watches not listed (at most %d watches and %d bytes of paths are listed)\n",
		omitted, lim.Watches, lim.Bytes)
}

// oneLine keeps a free-text value on its line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
}

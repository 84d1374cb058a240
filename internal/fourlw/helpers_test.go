package fourlw

import (
	"strings"
	"time"
)

// fakeSource is a Source with fixed answers.
type fakeSource struct {
	st    Stats
	conns []ConnInfo
	conf  []KV
	env   []KV
	ro    bool
}

func (f *fakeSource) Stats() Stats      { return f.st }
func (f *fakeSource) Conns() []ConnInfo { return f.conns }
func (f *fakeSource) Conf() []KV        { return f.conf }
func (f *fakeSource) Env() []KV         { return f.env }
func (f *fakeSource) ReadOnly() bool    { return f.ro }

// fullSource also implements every optional interface and records resets.
type fullSource struct {
	fakeSource
	bySession   []SessionWatches
	byPath      []PathWatches
	digests     []ZxidDigest
	statsResets int
	connResets  int
	omitted     int          // what the watch listings report as left out
	limits      []WatchLimit // the limits the watch listings were asked for
}

func (f *fullSource) ResetStats()             { f.statsResets++ }
func (f *fullSource) ResetConnStats()         { f.connResets++ }
func (f *fullSource) DigestLog() []ZxidDigest { return f.digests }

func (f *fullSource) WatchesBySession(lim WatchLimit) ([]SessionWatches, int) {
	f.limits = append(f.limits, lim)
	return f.bySession, f.omitted
}

func (f *fullSource) WatchesByPath(lim WatchLimit) ([]PathWatches, int) {
	f.limits = append(f.limits, lim)
	return f.byPath, f.omitted
}

// testBuilt is the build time every golden reply uses.
var testBuilt = time.Date(2026, 11, 21, 12, 0, 59, 0, time.UTC)

// testVersionLine is VersionLine("0.4.1", testBuilt), spelled out.
const testVersionLine = "Zookeeper version: 3.9.0-zkd-0.4.1, built on 11/21/2026 12:00 GMT"

// fixedStats is a standalone server with a little traffic, shaped like
// what ZooKeeper 3.8 reported after a client made a few writes.
func fixedStats() Stats {
	return Stats{
		Version:                "0.4.1",
		Built:                  testBuilt,
		Mode:                   "standalone",
		MinLatency:             1,
		AvgLatency:             2.571428571428571, // 18/7
		MaxLatency:             10,
		Received:               23,
		Sent:                   22,
		Connections:            2,
		Outstanding:            0,
		Zxid:                   0xb,
		NodeCount:              8,
		Watches:                3,
		WatchConnections:       1,
		WatchPaths:             2,
		DataWatches:            2,
		Ephemerals:             1,
		ApproxDataSize:         44,
		GlobalSessions:         1,
		OpenFDs:                38,
		MaxFDs:                 20000,
		Uptime:                 8369 * time.Millisecond,
		DataDirSize:            67109337,
		LogDirSize:             457,
		LastClientResponseSize: 84,
		MinClientResponseSize:  16,
		MaxClientResponseSize:  93,
	}
}

// sessionConn is a connection with a session, as cons prints it in full.
func sessionConn() ConnInfo {
	return ConnInfo{
		Remote:       "127.0.0.1:49326",
		InterestOps:  1,
		Received:     14,
		Sent:         14,
		SessionID:    0x1000005d5f00000,
		LastOp:       "SETD",
		Established:  time.UnixMilli(1795286397576),
		Timeout:      10000,
		LastCxid:     0xd,
		LastZxid:     0xb,
		LastResponse: 434607,
		LastLatency:  3,
		MinLatency:   0,
		AvgLatency:   2,
		MaxLatency:   10,
	}
}

// commandConn is the four-letter-word connection itself: no session.
func commandConn() ConnInfo {
	return ConnInfo{Remote: "127.0.0.1:49352", Received: 1, LastCxid: -1, LastZxid: -1}
}

// run is Run into a string, failing the caller's test on error.
func run(cmd string, allowed func(string) bool, src Source) (string, error) {
	var b strings.Builder
	err := Run(cmd, allowed, src, &b)
	return b.String(), err
}

func allowAll(string) bool { return true }

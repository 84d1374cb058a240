package fourlw

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Dumper is implemented by a Source that can answer dump.
type Dumper interface {
	Dump() DumpInfo
}

// DumpInfo is what dump prints: session deadlines, ephemerals per session,
// and the client connections with the deadline of their session.
type DumpInfo struct {
	// TickTime is the width of ZooKeeper's expiry buckets: deadlines are
	// rounded up to the next multiple of it.
	TickTime   time.Duration
	Sessions   map[int64]time.Time
	Ephemerals map[int64][]string // sorted paths
	Conns      []DumpConn
}

// DumpConn is one client connection.
type DumpConn struct {
	Remote  string // host:port
	Session int64  // 0 before the handshake
	Expiry  time.Time
}

// writeDump formats dump as ZooKeeper 3.8's standalone/leader server does:
// the session tracker's expiry buckets, the ephemerals, then the
// connections' buckets. Java prints dates with Date.toString, in UTC here.
func writeDump(b *strings.Builder, d DumpInfo) {
	b.WriteString("SessionTracker dump:\n")
	buckets, n := bucket(d.TickTime, d.Sessions)
	fmt.Fprintf(b, "Session Sets (%d)/(%d):\n", len(buckets), n)
	for _, bk := range buckets {
		fmt.Fprintf(b, "%d expire at %s:\n", len(bk.ids), javaDate(bk.at))
		for _, id := range bk.ids {
			fmt.Fprintf(b, "\t0x%x\n", uint64(id))
		}
	}
	b.WriteString("ephemeral nodes dump:\n")
	ids := make([]int64, 0, len(d.Ephemerals))
	for id := range d.Ephemerals {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	fmt.Fprintf(b, "Sessions with Ephemerals (%d):\n", len(ids))
	for _, id := range ids {
		fmt.Fprintf(b, "0x%x:\n", uint64(id))
		for _, p := range d.Ephemerals[id] {
			fmt.Fprintf(b, "\t%s\n", p)
		}
	}
	b.WriteString("Connections dump:\n")
	byTime := map[time.Time][]DumpConn{}
	for _, c := range d.Conns {
		at := roundUp(c.Expiry, d.TickTime)
		byTime[at] = append(byTime[at], c)
	}
	times := make([]time.Time, 0, len(byTime))
	for at := range byTime {
		times = append(times, at)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	fmt.Fprintf(b, "Connections Sets (%d)/(%d):\n", len(times), len(d.Conns))
	for _, at := range times {
		cs := byTime[at]
		slices.SortFunc(cs, func(a, b DumpConn) int { return strings.Compare(a.Remote, b.Remote) })
		fmt.Fprintf(b, "%d expire at %s:\n", len(cs), javaDate(at))
		for _, c := range cs {
			fmt.Fprintf(b, "\tip: /%s sessionId: 0x%x\n", c.Remote, uint64(c.Session))
		}
	}
}

type expiryBucket struct {
	at  time.Time
	ids []int64
}

// bucket groups deadlines into ZooKeeper's ExpiryQueue buckets, oldest
// first, ids sorted within one.
func bucket(tick time.Duration, deadlines map[int64]time.Time) ([]expiryBucket, int) {
	byTime := map[time.Time][]int64{}
	for id, t := range deadlines {
		at := roundUp(t, tick)
		byTime[at] = append(byTime[at], id)
	}
	out := make([]expiryBucket, 0, len(byTime))
	for at, ids := range byTime {
		slices.Sort(ids)
		out = append(out, expiryBucket{at, ids})
	}
	slices.SortFunc(out, func(a, b expiryBucket) int { return a.at.Compare(b.at) })
	return out, len(deadlines)
}

// roundUp is ZooKeeper's ExpiryQueue.roundToNextInterval: the next multiple
// of tick after t (in milliseconds since the epoch).
func roundUp(t time.Time, tick time.Duration) time.Time {
	ms, tk := t.UnixMilli(), tick.Milliseconds()
	if tk <= 0 {
		return time.UnixMilli(ms)
	}
	return time.UnixMilli((ms/tk + 1) * tk)
}

// javaDate is java.util.Date.toString in UTC: "Sat Nov 21 21:13:42 UTC 2026".
func javaDate(t time.Time) string {
	return t.UTC().Format("Mon Jan 02 15:04:05 UTC 2006")
}

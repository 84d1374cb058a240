package server

import (
	"sync"
	"sync/atomic"
	"time"
)

// serverStats are the counters srvr, stat and mntr report.
type serverStats struct {
	received, sent atomic.Int64
	connections    atomic.Int64
	outstanding    atomic.Int64
	expired        atomic.Int64
	pendingSyncs   atomic.Int64
	lat            latency
}

// latency keeps min / avg / max of request latencies, in microseconds.
type latency struct {
	mu                  sync.Mutex
	count               int64
	total, minUs, maxUs int64
	lastUs              int64
}

func (l *latency) add(us int64) {
	l.mu.Lock()
	if l.count == 0 || us < l.minUs {
		l.minUs = us
	}
	if us > l.maxUs {
		l.maxUs = us
	}
	l.count++
	l.total += us
	l.lastUs = us
	l.mu.Unlock()
}

// observe records d in l and in the server-wide g.
func (l *latency) observe(d time.Duration, g *latency) {
	us := d.Microseconds()
	l.add(us)
	g.add(us)
}

// snapshot returns min, avg and max in milliseconds, as ZooKeeper reports.
func (l *latency) snapshot() (minMs int64, avgMs float64, maxMs int64, lastMs int64, count int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count == 0 {
		return 0, 0, 0, 0, 0
	}
	return l.minUs / 1000, float64(l.total) / float64(l.count) / 1000, l.maxUs / 1000, l.lastUs / 1000, l.count
}

func (l *latency) reset() {
	l.mu.Lock()
	l.count, l.total, l.minUs, l.maxUs, l.lastUs = 0, 0, 0, 0, 0
	l.mu.Unlock()
}

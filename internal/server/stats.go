package server

import (
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkd-io/zkd/internal/fourlw"
)

// serverStats are the counters srvr, stat and mntr report.
type serverStats struct {
	received, sent atomic.Int64
	connections    atomic.Int64
	outstanding    atomic.Int64
	expired        atomic.Int64
	pendingSyncs   atomic.Int64
	// readLat and updateLat are ZooKeeper's readlatency and updatelatency
	// summaries: requests answered without a log entry (reads, pings,
	// syncs, watch and auth requests), and requests that went through
	// the log (ZooKeeper's "request has a txn header"), from receipt to
	// reply.
	readLat, updateLat latencySummary
}

// requestDone records a finished request's latency in the readlatency or
// updatelatency summary. It is called once per request on the request
// path, so it allocates nothing and takes no lock.
func (s *serverStats) requestDone(update bool, d time.Duration) {
	if update {
		s.updateLat.observe(d)
	} else {
		s.readLat.observe(d)
	}
}

// requestLatency is srvr's "Latency min/avg/max" in milliseconds: every
// request is in exactly one of the two summaries, so they hold it.
func (s *serverStats) requestLatency() (minMs int64, avgMs float64, maxMs int64) {
	count := s.readLat.count.Load() + s.updateLat.count.Load()
	if count == 0 {
		return 0, 0, 0
	}
	minUs, maxUs := int64(0), int64(0) // value + 1; 0 = none, as in the summaries
	for _, l := range []*latencySummary{&s.readLat, &s.updateLat} {
		if m := l.minUs.Load(); m > 0 && (minUs == 0 || m < minUs) {
			minUs = m
		}
		maxUs = max(maxUs, l.maxUs.Load())
	}
	sumUs := s.readLat.sumUs.Load() + s.updateLat.sumUs.Load()
	return max(minUs-1, 0) / 1000, float64(sumUs) / float64(count) / 1000, max(maxUs-1, 0) / 1000
}

// latency keeps min / avg / max of one connection's request latencies, in
// microseconds, for cons.
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

// Histogram layout of latencySummary, in microseconds: values below
// linearBuckets each have their own bucket; above, every power of two is
// split into subBuckets equal parts, so a percentile is off by at most
// 1/subBuckets (6.25%) of its value. Values of 2^maxExp µs (about 12 days)
// or more share the last bucket.
const (
	subBits       = 4
	subBuckets    = 1 << subBits
	linearBuckets = 2 * subBuckets // exact up to 31 µs
	minExp        = subBits + 1    // the exponent of linearBuckets
	maxExp        = 40
	numBuckets    = linearBuckets + (maxExp-minExp)*subBuckets
)

// latencySummary is a fixed-size, lock-free latency histogram with
// count, sum, min and max: ZooKeeper's AvgMinMaxPercentileCounter, which
// readlatency and updatelatency are. Recording is a few atomic adds and no
// allocation, so every request can be recorded; its memory is bounded
// (numBuckets counters) whatever the traffic, where ZooKeeper samples into
// a reservoir. It is read only by metrics, which tolerate a count that is
// one sample ahead of the buckets.
type latencySummary struct {
	count, sumUs atomic.Int64
	// minUs and maxUs hold the value + 1, so that 0 means "no sample".
	minUs, maxUs atomic.Int64
	buckets      [numBuckets]atomic.Int64
}

func (l *latencySummary) observe(d time.Duration) {
	us := max(d.Microseconds(), 0)
	l.count.Add(1)
	l.sumUs.Add(us)
	l.buckets[bucketOf(us)].Add(1)
	storeMin(&l.minUs, us+1)
	storeMax(&l.maxUs, us+1)
}

// storeMin lowers a to v unless it holds a smaller non-zero value. The
// loop retries only when another request changed a meanwhile.
func storeMin(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if old != 0 && old <= v || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// storeMax raises a to v unless it holds a larger value.
func storeMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if old >= v || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// bucketOf maps a value in µs to its histogram bucket.
func bucketOf(us int64) int {
	if us < linearBuckets {
		return int(us)
	}
	e := bits.Len64(uint64(us)) - 1 // us is in [2^e, 2^(e+1))
	if e >= maxExp {
		return numBuckets - 1
	}
	sub := int(us>>(e-subBits)) & (subBuckets - 1)
	return linearBuckets + (e-minExp)*subBuckets + sub
}

// bucketUpper is the largest value (µs) bucket b holds.
func bucketUpper(b int) int64 {
	if b < linearBuckets {
		return int64(b)
	}
	e := (b-linearBuckets)/subBuckets + minExp
	sub := int64((b - linearBuckets) % subBuckets)
	width := int64(1) << (e - subBits)
	return int64(1)<<e + (sub+1)*width - 1
}

// summary reports the recorded latencies in milliseconds, ZooKeeper's unit
// for both summaries. The sum is taken over microseconds and then
// converted, so avg_ is not biased down by truncating every sample.
// Percentiles are the upper bound of the bucket holding the rank, capped
// by the largest sample.
func (l *latencySummary) summary() fourlw.Summary {
	s := fourlw.Summary{Count: l.count.Load(), Sum: l.sumUs.Load() / 1000, Percentiles: true}
	if s.Count == 0 {
		return s
	}
	maxUs := l.maxUs.Load() - 1
	if m := l.minUs.Load(); m > 0 {
		s.Min = (m - 1) / 1000
	}
	s.Max = maxUs / 1000
	var counts [numBuckets]int64
	var total int64
	for i := range counts {
		counts[i] = l.buckets[i].Load()
		total += counts[i]
	}
	at := func(q float64) int64 {
		// The nearest-rank percentile; the epsilon keeps an exact rank
		// (q × total whole) from being pushed up by float rounding.
		rank := min(max(int64(math.Ceil(q*float64(total)-1e-9)), 1), total)
		var seen int64
		for i, n := range counts {
			if seen += n; seen >= rank {
				return min(bucketUpper(i), maxUs) / 1000
			}
		}
		return maxUs / 1000
	}
	if total > 0 {
		s.P50, s.P90, s.P95, s.P99, s.P999 = at(0.5), at(0.9), at(0.95), at(0.99), at(0.999)
	}
	return s
}

// reset zeroes the summary (srst). Samples recorded meanwhile may be lost
// or half-counted; the next scrape is consistent again.
func (l *latencySummary) reset() {
	l.count.Store(0)
	l.sumUs.Store(0)
	l.minUs.Store(0)
	l.maxUs.Store(0)
	for i := range l.buckets {
		l.buckets[i].Store(0)
	}
}

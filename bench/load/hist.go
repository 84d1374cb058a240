package load

import (
	"math"
	"math/bits"
	"time"
)

// The histogram is log-linear, in the manner of HdrHistogram: values below
// 2^histSubBits nanoseconds have a bucket each; above that, every power of
// two is split into histHalf equal buckets, so a bucket is never wider than
// 1/histHalf of the values it holds. Reporting a bucket's midpoint bounds
// the error at 1/(2*histHalf) ≈ 0.2% of the value, far below the noise of
// any latency measurement, with a fixed 70 KB of counters and no
// allocation per sample. A hand-written one avoids a dependency for what is
// fifty lines.
const (
	histSubBits = 9
	histSub     = 1 << histSubBits // values below this are exact
	histHalf    = histSub / 2      // buckets per power of two above histSub
	// histMaxBits bounds the values recorded: 2^40 ns is over 18 minutes;
	// anything larger is clamped into the last bucket (max stays exact).
	histMaxBits = 40
	histBuckets = (histMaxBits-histSubBits+1)*histHalf + histHalf
)

// Histogram records durations (nanoseconds). The zero value is ready to use.
// It is not safe for concurrent use.
type Histogram struct {
	counts   []uint64 // allocated on first use
	n        uint64
	sum      float64
	min, max int64
}

// bucketOf maps a non-negative value to its bucket.
func bucketOf(v int64) int {
	if v < histSub {
		return int(v)
	}
	if v >= 1<<histMaxBits {
		v = 1<<histMaxBits - 1
	}
	shift := bits.Len64(uint64(v)) - histSubBits // ≥ 1
	top := int(v >> shift)                       // in [histHalf, histSub)
	return shift*histHalf + top
}

// bucketRange returns the smallest and largest value of bucket i.
func bucketRange(i int) (lo, hi int64) {
	if i < histSub {
		return int64(i), int64(i)
	}
	shift := i/histHalf - 1
	top := int64(i - shift*histHalf)
	return top << shift, (top+1)<<shift - 1
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	if h.counts == nil {
		h.counts = make([]uint64, histBuckets)
	}
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds every sample of o.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.n == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint64, histBuckets)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Reset forgets every sample, keeping the counters' memory.
func (h *Histogram) Reset() {
	clear(h.counts)
	h.n, h.sum, h.min, h.max = 0, 0, 0, 0
}

// Count returns the number of samples.
func (h *Histogram) Count() uint64 { return h.n }

// Min returns the smallest sample (exact), 0 when empty.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Max returns the largest sample (exact), 0 when empty.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean returns the mean of the samples (exact up to float rounding).
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100): the
// smallest sample such that at least p% of the samples are ≤ it, to within
// the bucket precision. It returns 0 when empty.
func (h *Histogram) Percentile(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(p / 100 * float64(h.n)))
	rank = max(1, min(rank, h.n))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			v := lo + (hi-lo)/2
			// The exact extremes are known; never report beyond them.
			return time.Duration(min(max(v, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

// Summary is a histogram's digest as reports show it.
type Summary struct {
	Count uint64        `json:"count"`
	Min   time.Duration `json:"min_ns"`
	Mean  time.Duration `json:"mean_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p999_ns"`
	Max   time.Duration `json:"max_ns"`
}

// Summary digests the histogram.
func (h *Histogram) Summary() Summary {
	return Summary{
		Count: h.n, Min: h.Min(), Mean: h.Mean(),
		P50: h.Percentile(50), P90: h.Percentile(90), P99: h.Percentile(99), P999: h.Percentile(99.9),
		Max: h.Max(),
	}
}

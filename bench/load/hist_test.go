package load

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// reference is the nearest-rank percentile of sorted samples.
func reference(sorted []int64, p float64) int64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

func TestHistogramPercentilesMatchSortedReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := []struct {
		name string
		n    int
		gen  func() int64
	}{
		{"uniform 0-10ms", 100000, func() int64 { return rng.Int64N(int64(10 * time.Millisecond)) }},
		{"exponential mean 1ms", 50000, func() int64 { return int64(rng.ExpFloat64() * float64(time.Millisecond)) }},
		{"lognormal heavy tail", 50000, func() int64 { return int64(math.Exp(rng.NormFloat64()*2+12)) + 1 }},
		{"small exact values", 10000, func() int64 { return rng.Int64N(histSub) }},
		{"constant", 1000, func() int64 { return 1234567 }},
		{"one sample", 1, func() int64 { return 42 * int64(time.Microsecond) }},
		{"bimodal", 20000, func() int64 {
			if rng.IntN(100) < 99 {
				return int64(200*time.Microsecond) + rng.Int64N(int64(50*time.Microsecond))
			}
			return int64(80*time.Millisecond) + rng.Int64N(int64(20*time.Millisecond))
		}},
	}
	for _, d := range dists {
		t.Run(d.name, func(t *testing.T) {
			var h Histogram
			samples := make([]int64, d.n)
			for i := range samples {
				samples[i] = d.gen()
				h.Record(time.Duration(samples[i]))
			}
			slices.Sort(samples)
			if got := h.Count(); got != uint64(d.n) {
				t.Fatalf("Count() = %d, want %d", got, d.n)
			}
			if got, want := int64(h.Min()), samples[0]; got != want {
				t.Errorf("Min() = %d, want %d", got, want)
			}
			if got, want := int64(h.Max()), samples[d.n-1]; got != want {
				t.Errorf("Max() = %d, want %d", got, want)
			}
			var sum float64
			for _, v := range samples {
				sum += float64(v)
			}
			if got, want := float64(h.Mean()), sum/float64(d.n); math.Abs(got-want) > want*1e-9+1 {
				t.Errorf("Mean() = %v, want %v", got, want)
			}
			for _, p := range []float64{0.1, 1, 10, 50, 90, 99, 99.9, 99.99, 100} {
				want := reference(samples, p)
				got := int64(h.Percentile(p))
				// Midpoint of a bucket at most 1/histHalf wide: 0.2%.
				tol := float64(want)/(2*histHalf) + 1
				if math.Abs(float64(got-want)) > tol {
					t.Errorf("Percentile(%v) = %d, want %d ± %.0f", p, got, want, tol)
				}
			}
		})
	}
}

func TestHistogramBucketsCoverEveryValue(t *testing.T) {
	// Every value lands in a bucket whose range holds it, and buckets are
	// contiguous: the next bucket starts right after this one ends.
	for i := 0; i < histBuckets-1; i++ {
		lo, hi := bucketRange(i)
		nlo, _ := bucketRange(i + 1)
		if nlo != hi+1 {
			t.Fatalf("bucket %d ends at %d but bucket %d starts at %d", i, hi, i+1, nlo)
		}
		for _, v := range []int64{lo, hi, lo + (hi-lo)/2} {
			if got := bucketOf(v); got != i {
				t.Fatalf("bucketOf(%d) = %d, want %d (range %d..%d)", v, got, i, lo, hi)
			}
		}
		if lo >= histSub && float64(hi-lo+1)/float64(lo) > 1.0/histHalf+1e-12 {
			t.Fatalf("bucket %d (%d..%d) is wider than 1/%d of its values", i, lo, hi, histHalf)
		}
	}
	if got := bucketOf(math.MaxInt64); got != histBuckets-1 {
		t.Errorf("bucketOf(MaxInt64) = %d, want the last bucket %d", got, histBuckets-1)
	}
}

func TestHistogramMergeAndReset(t *testing.T) {
	var a, b, all Histogram
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i) * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	a.Merge(nil)
	a.Merge(&Histogram{})
	if got, want := a.Summary(), all.Summary(); got != want {
		t.Errorf("merged summary = %+v, want %+v", got, want)
	}
	a.Reset()
	if got := a.Summary(); got != (Summary{}) {
		t.Errorf("summary after Reset = %+v, want zero", got)
	}
	a.Record(-5) // negative counts as zero
	if got := a.Max(); got != 0 {
		t.Errorf("Max after recording a negative = %v, want 0", got)
	}
	var empty Histogram
	if got := empty.Percentile(50); got != 0 {
		t.Errorf("empty Percentile(50) = %v, want 0", got)
	}
}

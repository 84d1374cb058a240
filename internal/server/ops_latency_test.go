package server

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestLatencyBuckets(t *testing.T) {
	prevUpper := int64(-1)
	for b := range numBuckets {
		up := bucketUpper(b)
		if up <= prevUpper {
			t.Fatalf("bucketUpper(%d) = %d, not above bucketUpper(%d) = %d", b, up, b-1, prevUpper)
		}
		// Both ends of the bucket map back to it.
		if got := bucketOf(prevUpper + 1); got != b {
			t.Errorf("bucketOf(%d) (first value of bucket %d): got %d", prevUpper+1, b, got)
		}
		if got := bucketOf(up); got != b && b != numBuckets-1 {
			t.Errorf("bucketOf(%d) (last value of bucket %d): got %d", up, b, got)
		}
		// The promised precision: a bucket is at most 1/subBuckets of
		// its values wide.
		if width := up - prevUpper; b >= linearBuckets && width*subBuckets > prevUpper+1 {
			t.Errorf("bucket %d [%d, %d]: width %d above 1/%d of its start", b, prevUpper+1, up, width, subBuckets)
		}
		prevUpper = up
	}
	for _, us := range []int64{1 << maxExp, 1<<62 - 1, 1<<63 - 1} {
		if got := bucketOf(us); got != numBuckets-1 {
			t.Errorf("bucketOf(%d): got %d, want the last bucket %d", us, got, numBuckets-1)
		}
	}
}

func TestLatencySummary(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		samples []time.Duration
		want    string // Count Sum Min Max P50 P90 P95 P99 P999, ms
	}{
		{"empty", nil, "0 0 0 0 0 0 0 0 0"},
		{"sub-millisecond", []time.Duration{300 * time.Microsecond, 400 * time.Microsecond, 500 * time.Microsecond}, "3 1 0 0 0 0 0 0 0"},
		{"one", []time.Duration{7 * ms}, "1 7 7 7 7 7 7 7 7"},
		// 1..100 ms: the nearest-rank percentiles are 50, 90, 95, 99 and
		// 100; each is reported as its bucket's upper end, at most 6.25%
		// above, and never above the maximum.
		{"uniform", func() []time.Duration {
			var d []time.Duration
			for i := 1; i <= 100; i++ {
				d = append(d, time.Duration(i)*ms)
			}
			return d
		}(), "100 5050 1 100 51 90 98 100 100"},
		{"outlier", append(repeat(2*ms, 999), 3*time.Second), "1000 4998 2 3000 2 2 2 2 2"},
		{"negative clamps to zero", []time.Duration{-ms, 5 * ms}, "2 5 0 5 0 5 5 5 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l latencySummary
			for _, d := range tt.samples {
				l.observe(d)
			}
			s := l.summary()
			got := fmt.Sprint(s.Count, s.Sum, s.Min, s.Max, s.P50, s.P90, s.P95, s.P99, s.P999)
			if got != tt.want {
				t.Errorf("summary: got %s, want %s", got, tt.want)
			}
			if !s.Percentiles {
				t.Errorf("summary: Percentiles unset; mntr must print p50_..p999_")
			}
			l.reset()
			if s := l.summary(); s.Count != 0 || s.Max != 0 || s.P99 != 0 {
				t.Errorf("after reset: got %+v, want zero", s)
			}
		})
	}
}

// TestLatencyPercentilePrecision: over a wide spread of latencies every
// percentile is at least the exact one and within the bucket precision.
func TestLatencyPercentilePrecision(t *testing.T) {
	var l latencySummary
	var samples []int64 // µs, ascending
	for us := int64(1000); us <= 20_000_000; us = us*21/20 + 1 {
		samples = append(samples, us)
		l.observe(time.Duration(us) * time.Microsecond)
	}
	s := l.summary()
	exact := func(q float64) int64 {
		rank := int((q*float64(len(samples)))+0.999999) - 1
		return samples[max(rank, 0)]
	}
	for _, tt := range []struct {
		q   float64
		got int64
	}{{0.5, s.P50}, {0.9, s.P90}, {0.95, s.P95}, {0.99, s.P99}, {0.999, s.P999}} {
		want := exact(tt.q)
		hi := min(want+want/subBuckets+1000, samples[len(samples)-1]) // + the ms truncation
		if tt.got < want/1000 || tt.got > hi/1000 {
			t.Errorf("p%v: got %d ms, want between %d and %d (exact %d µs)", tt.q*100, tt.got, want/1000, hi/1000, want)
		}
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestLatencySummaryConcurrentAndAllocationFree(t *testing.T) {
	var l latencySummary
	const workers, each = 4, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				l.observe(time.Duration(w*each+i) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	s := l.summary()
	const n = workers * each
	if s.Count != n || s.Min != 0 || s.Max != (n-1)/1000 || s.Sum != (n*(n-1)/2)/1000 {
		t.Errorf("after %d concurrent samples: got %+v, want count %d, min 0, max %d, sum %d", n, s, n, (n-1)/1000, (n*(n-1)/2)/1000)
	}
	if allocs := testing.AllocsPerRun(1000, func() { l.observe(1500 * time.Microsecond) }); allocs != 0 {
		t.Errorf("observe: got %v allocations per call, want 0", allocs)
	}
}

// mntrValues parses an mntr reply into name -> value.
func mntrValues(t *testing.T, reply string) map[string]string {
	t.Helper()
	vals := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(reply, "\n"), "\n") {
		k, v, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("mntr line without a tab: %q", line)
		}
		vals[k] = v
	}
	return vals
}

// TestReadAndUpdateLatencyLive: reads and writes land in readlatency and
// updatelatency, in mntr (ZooKeeper's names, with percentiles) and in
// /metrics (Prometheus summaries), and srst resets them, as in ZooKeeper.
func TestReadAndUpdateLatencyLive(t *testing.T) {
	s := startAdminServer(t)
	c, _ := connect(t, s)
	const writes, reads = 5, 12
	for i := range writes {
		if _, err := c.Create(fmt.Sprintf("/lat%d", i), nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range reads {
		if _, _, err := c.Get(fmt.Sprintf("/lat%d", i%writes)); err != nil {
			t.Fatal(err)
		}
	}
	m := mntrValues(t, fourLetter(t, s, "mntr"))
	count := func(name string) int64 {
		n, err := strconv.ParseInt(m["zk_cnt_"+name], 10, 64)
		if err != nil {
			t.Fatalf("zk_cnt_%s: %q is not a number", name, m["zk_cnt_"+name])
		}
		return n
	}
	// Pings from the client may add reads; no write comes from elsewhere.
	if got := count("updatelatency"); got != writes {
		t.Errorf("zk_cnt_updatelatency: got %d, want %d", got, writes)
	}
	if got := count("readlatency"); got < reads {
		t.Errorf("zk_cnt_readlatency: got %d, want at least %d", got, reads)
	}
	for _, name := range []string{"readlatency", "updatelatency"} {
		for _, p := range []string{"avg_", "min_", "max_", "sum_", "p50_", "p95_", "p99_", "p999_"} {
			if _, ok := m["zk_"+p+name]; !ok {
				t.Errorf("mntr lacks zk_%s%s", p, name)
			}
		}
	}

	_, _, body := httpDo(t, "GET", metricsURL(s, "/metrics"), nil)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	for name, atLeast := range map[string]uint64{"readlatency": reads, "updatelatency": writes} {
		f := fams[name]
		if f == nil || len(f.Metric) != 1 || f.Metric[0].Summary == nil {
			t.Errorf("/metrics %s: got %v, want one summary", name, f)
			continue
		}
		sum := f.Metric[0].Summary
		if sum.GetSampleCount() < atLeast {
			t.Errorf("/metrics %s_count: got %d, want at least %d", name, sum.GetSampleCount(), atLeast)
		}
		var qs []float64
		for _, q := range sum.Quantile {
			qs = append(qs, q.GetQuantile())
		}
		if fmt.Sprint(qs) != "[0.5 0.9 0.95 0.99 0.999]" {
			t.Errorf("/metrics %s quantiles: got %v, want ZooKeeper's 0.5 0.9 0.99 and mntr's 0.95 0.999", name, qs)
		}
	}

	if got := fourLetter(t, s, "srst"); got != "Server stats reset.\n" {
		t.Fatalf("srst: got %q", got)
	}
	m = mntrValues(t, fourLetter(t, s, "mntr"))
	if got := count("updatelatency"); got != 0 {
		t.Errorf("zk_cnt_updatelatency after srst: got %d, want 0", got)
	}
}

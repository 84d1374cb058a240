package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// kind is one class of operation a workload reports on its own (mixed has
// reads and writes), with the number of server transactions (writes) each
// successful one causes.
type kind struct {
	name   string
	writes int64
}

// recorder is one slot's record. Only the slot writes it; the lock lets the
// progress line read it while the run goes on, and is never contended by
// another writer.
type recorder struct {
	mu       sync.Mutex
	byKind   []Histogram // measured samples, per kind
	interval Histogram   // every sample since the last progress line, warm-up included
	ok       int64       // measured successful samples
	failed   int64       // measured errors
	writes   int64       // measured server transactions
	errs     map[string]int64
	lastDone time.Time // completion of the last measured operation
}

func newRecorder(kinds int) *recorder {
	return &recorder{byKind: make([]Histogram, kinds), errs: map[string]int64{}}
}

// sample records one latency; measured says whether it counts in the result.
func (r *recorder) sample(k int, d time.Duration, done time.Time, measured bool) {
	r.mu.Lock()
	r.interval.Record(d)
	if measured {
		r.byKind[k].Record(d)
		r.ok++
		if done.After(r.lastDone) {
			r.lastDone = done
		}
	}
	r.mu.Unlock()
}

// fail records a failed operation under its error's name.
func (r *recorder) fail(err error, done time.Time, measured bool) {
	if !measured {
		return
	}
	name := errorName(err)
	r.mu.Lock()
	r.failed++
	r.errs[name]++
	if done.After(r.lastDone) {
		r.lastDone = done
	}
	r.mu.Unlock()
}

func (r *recorder) addWrites(n int64) {
	r.mu.Lock()
	r.writes += n
	r.mu.Unlock()
}

// errorName is the short name errors are counted under: the ZooKeeper code
// ("ConnectionLoss"), "timeout", "canceled" or the message.
func errorName(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, client.ErrClosed):
		return "closed"
	}
	if code := client.CodeOf(err); code != proto.ErrOK {
		return code.Error()
	}
	return err.Error()
}

// progress prints a line every interval until stop is closed: what the run
// did since the last line, and the measured totals so far.
func progress(stop <-chan struct{}, w io.Writer, every time.Duration, workload string, began, measureAt time.Time, recs []*recorder) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := began
	var h Histogram
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			h.Reset()
			var ok, failed int64
			for _, r := range recs {
				r.mu.Lock()
				h.Merge(&r.interval)
				r.interval.Reset()
				ok += r.ok
				failed += r.failed
				r.mu.Unlock()
			}
			phase := "measure"
			if last.Before(measureAt) {
				phase = "warm-up"
			}
			rate := float64(h.Count()) / now.Sub(last).Seconds()
			last = now
			fmt.Fprintf(w, "zkbench %6.1fs %-9s %-7s %9.0f ops/s  p50 %8s  p99 %8s  max %8s  measured %d  errors %d\n",
				now.Sub(began).Seconds(), workload, phase, rate,
				fmtDur(h.Percentile(50)), fmtDur(h.Percentile(99)), fmtDur(h.Max()), ok, failed)
		}
	}
}

// fmtDur prints a latency with about three significant digits in a unit
// that suits it.
func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return sig3(float64(d)/float64(time.Microsecond)) + "µs"
	case d < time.Second:
		return sig3(float64(d)/float64(time.Millisecond)) + "ms"
	}
	return sig3(d.Seconds()) + "s"
}

func sig3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

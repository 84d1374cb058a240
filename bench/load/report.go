package load

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Result is what a run measured. Durations are nanoseconds in JSON.
type Result struct {
	Workload    string  `json:"workload"`
	Servers     string  `json:"servers"`
	Mode        string  `json:"mode"` // "closed" or "open" loop
	Sessions    int     `json:"sessions"`
	Outstanding int     `json:"outstanding"`
	Rate        float64 `json:"rate,omitempty"` // open loop: scheduled operations per second
	ValueSize   int     `json:"value_size"`
	Keys        int     `json:"keys,omitempty"`
	ReadRatio   float64 `json:"read_ratio,omitempty"`
	MultiOps    int     `json:"multi_ops,omitempty"`
	Watchers    int     `json:"watchers,omitempty"`

	Warmup time.Duration `json:"warmup_ns"`
	// Elapsed is the measured phase: from its start to the completion of
	// its last operation.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Unit is what Ops counts: "ops", or "notifications" for watch.
	Unit string `json:"unit"`
	// Ops counts the measured successful operations (or notifications).
	Ops int64 `json:"ops"`
	// Errors counts the measured failed operations, by error in ErrorKinds.
	Errors     int64            `json:"errors"`
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
	// Writes counts the server transactions the measured operations made
	// (a multi is one, a session open and close two).
	Writes int64 `json:"writes"`
	// Throughput is Ops per second of Elapsed.
	Throughput float64 `json:"throughput"`
	// Latency covers every measured sample; ByKind splits it when the
	// workload has several kinds (mixed: read and write).
	Latency Summary            `json:"latency"`
	ByKind  map[string]Summary `json:"by_kind,omitempty"`
	// Unsent counts open-loop operations scheduled before the run was
	// stopped (timeout or interrupt) that were never sent.
	Unsent int64    `json:"unsent,omitempty"`
	Notes  []string `json:"notes,omitempty"`
}

func (r *runner) result() *Result {
	c := &r.cfg
	res := &Result{
		Workload: c.Workload, Servers: c.Servers, Mode: "closed",
		Sessions: c.Sessions, Outstanding: c.Outstanding, ValueSize: c.ValueSize,
		Warmup: c.Warmup, Unit: "ops",
	}
	if c.Rate > 0 {
		res.Mode, res.Rate = "open", c.Rate
	}
	switch c.Workload {
	case Session, Ephemeral, Create:
	default:
		res.Keys = c.Keys
	}
	switch c.Workload {
	case Mixed:
		res.ReadRatio = c.ReadRatio
	case Multi:
		res.MultiOps = c.MultiOps
	case Watch:
		res.Watchers, res.Unit = c.Watchers, "notifications"
	}
	byKind := make([]Histogram, len(r.kinds))
	var all Histogram
	var last time.Time
	for _, s := range r.slots {
		rec := s.rec
		rec.mu.Lock()
		for k := range rec.byKind {
			byKind[k].Merge(&rec.byKind[k])
			all.Merge(&rec.byKind[k])
		}
		res.Ops += rec.ok
		res.Errors += rec.failed
		res.Writes += rec.writes
		for name, n := range rec.errs {
			if res.ErrorKinds == nil {
				res.ErrorKinds = map[string]int64{}
			}
			res.ErrorKinds[name] += n
		}
		if rec.lastDone.After(last) {
			last = rec.lastDone
		}
		rec.mu.Unlock()
	}
	if last.After(r.measureAt) {
		res.Elapsed = last.Sub(r.measureAt)
		res.Throughput = float64(res.Ops) / res.Elapsed.Seconds()
	}
	res.Latency = all.Summary()
	if len(r.kinds) > 1 {
		res.ByKind = map[string]Summary{}
		for k, kd := range r.kinds {
			res.ByKind[kd.name] = byKind[k].Summary()
		}
	}
	if why, _ := r.haltWhy.Load().(string); why != "" {
		res.Notes = append(res.Notes, "stopped early: "+why)
	}
	if c.Rate > 0 && r.isHalted() {
		// Tickets due by the time the run stopped but never sent.
		end := time.Now()
		if !r.stopAt.IsZero() && r.stopAt.Before(end) {
			end = r.stopAt
		}
		due := int64(end.Sub(r.began).Seconds() * c.Rate)
		if c.Ops > 0 {
			due = min(due, c.Ops+int64(c.Warmup.Seconds()*c.Rate))
		}
		if unsent := due - r.sent.Load(); unsent > 1 {
			res.Unsent = unsent
			res.Notes = append(res.Notes, fmt.Sprintf("%d scheduled operations were never sent: the server fell behind the rate", unsent))
		}
	}
	if c.Rate > 0 && res.Elapsed > 0 && res.Throughput < 0.9*c.Rate {
		res.Notes = append(res.Notes, fmt.Sprintf("throughput %.0f/s is below the scheduled %.0f/s: latencies include the queueing", res.Throughput, c.Rate))
	}
	return res
}

// WriteTable prints the result for people.
func (res *Result) WriteTable(w io.Writer) {
	mode := fmt.Sprintf("closed loop, %d sessions × %d outstanding", res.Sessions, res.Outstanding)
	if res.Mode == "open" {
		mode = fmt.Sprintf("open loop at %.0f/s, %d sessions × %d outstanding at most", res.Rate, res.Sessions, res.Outstanding)
	}
	fmt.Fprintf(w, "workload   %s on %s\n", describe(res), res.Servers)
	fmt.Fprintf(w, "mode       %s, %d-byte values\n", mode, res.ValueSize)
	fmt.Fprintf(w, "measured   %.2fs after %v warm-up: %d %s, %d errors, %d writes\n",
		res.Elapsed.Seconds(), res.Warmup, res.Ops, res.Unit, res.Errors, res.Writes)
	fmt.Fprintf(w, "throughput %.1f %s/s\n", res.Throughput, res.Unit)
	if len(res.ErrorKinds) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(res.ErrorKinds)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, res.ErrorKinds[k]))
		}
		fmt.Fprintf(w, "errors     %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "\n%-8s %10s %9s %9s %9s %9s %9s %9s\n", "latency", "count", "mean", "p50", "p90", "p99", "p99.9", "max")
	row := func(name string, s Summary) {
		fmt.Fprintf(w, "%-8s %10d %9s %9s %9s %9s %9s %9s\n", name, s.Count,
			fmtDur(s.Mean), fmtDur(s.P50), fmtDur(s.P90), fmtDur(s.P99), fmtDur(s.P999), fmtDur(s.Max))
	}
	row("all", res.Latency)
	for _, k := range slices.Sorted(maps.Keys(res.ByKind)) {
		row(k, res.ByKind[k])
	}
	for _, n := range res.Notes {
		fmt.Fprintf(w, "note       %s\n", n)
	}
}

// describe names the workload with its parameters.
func describe(res *Result) string {
	switch res.Workload {
	case Mixed:
		return fmt.Sprintf("mixed (%.0f%% reads, %d keys)", res.ReadRatio*100, res.Keys)
	case Multi:
		return fmt.Sprintf("multi (%d setData per multi, %d keys)", res.MultiOps, res.Keys)
	case Watch:
		return fmt.Sprintf("watch (%d watchers on each of %d keys)", res.Watchers, res.Keys)
	case Set, Get, Exists, Delete:
		return fmt.Sprintf("%s (%d keys)", res.Workload, res.Keys)
	}
	return res.Workload
}

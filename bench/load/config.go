package load

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/zkd-io/zkd/client"
)

// Workload names.
const (
	Create    = "create"    // create a new persistent znode per operation
	Set       = "set"       // setData on one of Keys existing znodes
	Get       = "get"       // getData of one of Keys znodes
	Exists    = "exists"    // exists on one of Keys znodes
	Delete    = "delete"    // delete one of Keys znodes created during setup
	Mixed     = "mixed"     // get with probability ReadRatio, otherwise set
	Multi     = "multi"     // one multi of MultiOps setData operations
	Watch     = "watch"     // setData fanned out to Watchers sessions' watches
	Session   = "session"   // connect a new session and close it
	Ephemeral = "ephemeral" // connect, create an ephemeral znode, close
)

// Workloads lists every workload, in the order help texts show them.
var Workloads = []string{Create, Set, Get, Exists, Delete, Mixed, Multi, Watch, Session, Ephemeral}

// Limits that keep a typo from exhausting the machine or the server.
const (
	maxSessions    = 10000
	maxOutstanding = 10000
	maxKeys        = 10_000_000
	maxValueSize   = 1 << 20 // ZooKeeper's jute.maxbuffer is just under this
	maxMultiOps    = 1000
	maxWatchers    = 10000
	maxWatches     = 1_000_000 // watchers × keys for the watch workload
	defaultKeys    = 1000
	defaultDelete  = 10000
	// drainGrace bounds the wait for requests still in flight when the run
	// stops issuing new ones.
	drainGrace = 30 * time.Second
	// opsOnlyLimit bounds a run bounded by a count alone.
	opsOnlyLimit = time.Hour
)

// Config describes one run. DefaultConfig gives the defaults; Run validates.
type Config struct {
	// Servers is the connect string, "host:port,host:port[/chroot]".
	Servers string
	// Workload is one of Workloads.
	Workload string
	// Sessions is the number of sessions issuing operations (for watch: the
	// sessions issuing the setData that fires the watches).
	Sessions int
	// Outstanding is the number of requests each session keeps in flight in
	// closed-loop mode, and the concurrency limit per session in open-loop
	// mode (the client pipelines them on one connection).
	Outstanding int
	// Rate, if positive, runs open loop: operations are scheduled at this
	// many per second over all sessions and each latency is measured from
	// the operation's scheduled time, so a stalled server is charged for
	// every operation it delayed (no coordinated omission). Zero runs
	// closed loop: each slot sends its next request when the last returns.
	Rate float64
	// Duration bounds the measured phase (after Warmup); Ops bounds the
	// number of measured operations. At least one must be set; the run
	// stops at whichever comes first.
	Duration time.Duration
	Ops      int64
	// Warmup runs the workload unmeasured first (JIT, caches, connections).
	Warmup time.Duration
	// Timeout bounds the whole run, setup and cleanup excluded; 0 picks
	// Warmup+Duration plus a drain grace, or an hour for a count alone.
	Timeout time.Duration
	// ValueSize is the size of every value written, in bytes.
	ValueSize int
	// Keys is the number of znodes set, read or watched (0: per workload
	// default: 1000, 10000 for delete, one per writer slot for watch).
	Keys int
	// ReadRatio is the share of reads in the mixed workload, in [0, 1].
	ReadRatio float64
	// MultiOps is the number of operations in each multi.
	MultiOps int
	// Watchers is the number of sessions watching every key (watch).
	Watchers int
	// Prefix is the znode all of the run's znodes live under; it must not
	// exist. Default /zkbench-<pid>.
	Prefix string
	// Keep leaves the znodes in place at the end instead of deleting them.
	Keep bool
	// SessionTimeout is the session timeout asked for.
	SessionTimeout time.Duration
	// Progress, if not nil, gets a progress line every ProgressInterval.
	Progress         io.Writer
	ProgressInterval time.Duration
	// MeasureStart and MeasureEnd, if set, are called when the measured
	// phase begins and after its last operation completed (e.g. to sample
	// server CPU); they must return quickly.
	MeasureStart, MeasureEnd func()
	// ClientOptions are passed to every client.Connect.
	ClientOptions []client.Option
}

// DefaultConfig returns the defaults zkbench's flags show.
func DefaultConfig() Config {
	return Config{
		Servers:          "127.0.0.1:2181",
		Workload:         Create,
		Sessions:         32,
		Outstanding:      1,
		Duration:         10 * time.Second,
		Warmup:           2 * time.Second,
		ValueSize:        1024,
		ReadRatio:        0.9,
		MultiOps:         10,
		Watchers:         8,
		SessionTimeout:   10 * time.Second,
		ProgressInterval: time.Second,
	}
}

// slots is the number of concurrent operation slots.
func (c *Config) slots() int { return c.Sessions * c.Outstanding }

// Validate checks the configuration and fills in what was left to a
// default (Prefix, Keys, Timeout); the error names the setting and its
// value. Run calls it.
func (c *Config) Validate() error {
	if !isWorkload(c.Workload) {
		return fmt.Errorf("workload %q: want one of %s", c.Workload, strings.Join(Workloads, ", "))
	}
	if strings.TrimSpace(c.Servers) == "" {
		return errors.New("servers: empty connect string")
	}
	if _, _, err := client.ParseConnectString(c.Servers); err != nil {
		return fmt.Errorf("servers %q: %w", c.Servers, err)
	}
	checks := []struct {
		ok   bool
		what string
	}{
		{c.Sessions >= 1 && c.Sessions <= maxSessions, fmt.Sprintf("sessions %d: want 1..%d", c.Sessions, maxSessions)},
		{c.Outstanding >= 1 && c.Outstanding <= maxOutstanding, fmt.Sprintf("outstanding %d: want 1..%d", c.Outstanding, maxOutstanding)},
		{c.Rate >= 0, fmt.Sprintf("rate %g: want ≥ 0 (0 = closed loop)", c.Rate)},
		{c.Duration >= 0 && c.Ops >= 0, fmt.Sprintf("duration %v, ops %d: must not be negative", c.Duration, c.Ops)},
		{c.Duration > 0 || c.Ops > 0, "duration and ops are both 0: set at least one bound"},
		{c.Warmup >= 0, fmt.Sprintf("warmup %v: must not be negative", c.Warmup)},
		{c.Timeout >= 0, fmt.Sprintf("timeout %v: must not be negative", c.Timeout)},
		{c.ValueSize >= 0 && c.ValueSize <= maxValueSize, fmt.Sprintf("value size %d: want 0..%d", c.ValueSize, maxValueSize)},
		{c.Keys >= 0 && c.Keys <= maxKeys, fmt.Sprintf("keys %d: want 0..%d", c.Keys, maxKeys)},
		{c.ReadRatio >= 0 && c.ReadRatio <= 1, fmt.Sprintf("read ratio %g: want 0..1", c.ReadRatio)},
		{c.MultiOps >= 1 && c.MultiOps <= maxMultiOps, fmt.Sprintf("multi ops %d: want 1..%d", c.MultiOps, maxMultiOps)},
		{c.Watchers >= 1 && c.Watchers <= maxWatchers, fmt.Sprintf("watchers %d: want 1..%d", c.Watchers, maxWatchers)},
		{c.SessionTimeout > 0, fmt.Sprintf("session timeout %v: want > 0", c.SessionTimeout)},
		{c.ProgressInterval > 0 || c.Progress == nil, fmt.Sprintf("progress interval %v: want > 0", c.ProgressInterval)},
	}
	for _, ch := range checks {
		if !ch.ok {
			return errors.New(ch.what)
		}
	}
	if c.Prefix == "" {
		c.Prefix = fmt.Sprintf("/zkbench-%d", os.Getpid())
	}
	if c.Prefix == "/" || !strings.HasPrefix(c.Prefix, "/") || strings.HasSuffix(c.Prefix, "/") {
		return fmt.Errorf("prefix %q: want an absolute znode path other than /", c.Prefix)
	}
	if c.Keys == 0 {
		switch c.Workload {
		case Delete:
			c.Keys = defaultDelete
		case Watch:
			c.Keys = c.slots()
		default:
			c.Keys = defaultKeys
		}
	}
	switch c.Workload {
	case Multi:
		if c.Keys < c.MultiOps {
			return fmt.Errorf("keys %d: the multi workload needs at least multi-ops (%d) keys", c.Keys, c.MultiOps)
		}
	case Watch:
		if c.Keys < c.slots() {
			return fmt.Errorf("keys %d: the watch workload needs a key per writer slot (sessions×outstanding = %d)", c.Keys, c.slots())
		}
		if c.Keys*c.Watchers > maxWatches {
			return fmt.Errorf("watchers×keys = %d: want at most %d watches", c.Keys*c.Watchers, maxWatches)
		}
	}
	if c.Timeout == 0 {
		if c.Duration > 0 {
			c.Timeout = c.Warmup + c.Duration + drainGrace
		} else {
			c.Timeout = c.Warmup + opsOnlyLimit
		}
	}
	return nil
}

func isWorkload(w string) bool {
	for _, x := range Workloads {
		if w == x {
			return true
		}
	}
	return false
}

//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/zkd-io/zkd/bench/load"
)

// spec is one workload of the comparison, with the target where it
// sets one.
type spec struct {
	key, title string
	apply      func(c *load.Config, sessions int)
	// target is the zkd/ZooKeeper throughput ratio to reach (≥), or with
	// latency set ("p50", "p99") that percentile's latency ratio not to
	// exceed (≤); 0: none.
	target  float64
	latency string
	// rateOf, if set, runs the workload open loop, both kinds at the same
	// rate: rateShare × the throughput ZooKeeper reached in the (closed
	// loop) workload rateOf earlier in the same round and topology.
	rateOf    string
	rateShare float64
}

// tailOutstanding is the requests each session may have in flight in the
// open-loop workload, so the slots do not cap the offered rate.
const tailOutstanding = 8

var specs = []spec{
	{key: "create", title: "create", target: 2.5, apply: func(c *load.Config, s int) { c.Workload, c.Sessions = load.Create, s }},
	{key: "set", title: "set", target: 2.5, apply: func(c *load.Config, s int) { c.Workload, c.Sessions = load.Set, s }},
	{key: "get", title: "get", target: 2, apply: func(c *load.Config, s int) { c.Workload, c.Sessions = load.Get, s }},
	{key: "mixed", title: "mixed 90/10", target: 2, apply: func(c *load.Config, s int) {
		c.Workload, c.Sessions, c.ReadRatio = load.Mixed, s, 0.9
	}},
	{key: "tail", title: "mixed 90/10, open loop at 80% of ZooKeeper's max", target: 0.5, latency: "p99",
		rateOf: "mixed", rateShare: 0.8, apply: func(c *load.Config, s int) {
			c.Workload, c.Sessions, c.Outstanding, c.ReadRatio = load.Mixed, s, tailOutstanding, 0.9
		}},
	{key: "create1", title: "create, 1 session", target: 0.5, latency: "p50", apply: func(c *load.Config, _ int) {
		c.Workload, c.Sessions = load.Create, 1
	}},
	// Not in the default set: no targets.
	{key: "exists", title: "exists", apply: func(c *load.Config, s int) { c.Workload, c.Sessions = load.Exists, s }},
	{key: "multi", title: "multi of 10 setData", apply: func(c *load.Config, s int) { c.Workload, c.Sessions, c.MultiOps = load.Multi, s, 10 }},
	{key: "watch", title: "watch fan-out 1→8", apply: func(c *load.Config, _ int) { c.Workload, c.Sessions, c.Watchers = load.Watch, 1, 8 }},
	{key: "session", title: "session churn", apply: func(c *load.Config, s int) { c.Workload, c.Sessions = load.Session, min(s, 8) }},
	{key: "ephemeral", title: "ephemeral churn", apply: func(c *load.Config, s int) { c.Workload, c.Sessions = load.Ephemeral, min(s, 8) }},
}

// topology is a server layout.
type topology struct {
	name string
	n    int
}

var topologies = map[string]topology{"standalone": {"standalone", 1}, "ensemble": {"3 servers", 3}}

type flags struct {
	out, raw, dir, zkd, heap string
	rounds, sessions, value  int
	footprint, footprintVal  int
	duration, warmup         time.Duration
	serverWarmup             time.Duration
	workloads, topos         string
	keepDirs, verbose        bool
	selected                 []spec
	selectedTopos            []topology
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.out, "out", "bench/results.md", "markdown file to write the tables to")
	fs.StringVar(&f.raw, "raw", "", "also write every run's figures as JSON to this file")
	fs.StringVar(&f.dir, "dir", "", "directory for the servers' data dirs (default: a new temp dir; must not be tmpfs)")
	fs.StringVar(&f.zkd, "zkd", "", "zkd binary (default: go build ./cmd/zkd)")
	fs.StringVar(&f.heap, "heap", "1g", "ZooKeeper JVM heap (-Xmx and -Xms)")
	fs.IntVar(&f.rounds, "rounds", 3, "rounds; each runs every workload on both servers, alternating which goes first")
	fs.IntVar(&f.sessions, "sessions", 32, "sessions of the multi-session workloads")
	fs.IntVar(&f.value, "value-size", 1024, "bytes per value")
	fs.DurationVar(&f.duration, "duration", 5*time.Second, "measured phase of each run")
	fs.DurationVar(&f.warmup, "warmup", 2*time.Second, "warm-up of each workload")
	fs.DurationVar(&f.serverWarmup, "server-warmup", 8*time.Second, "warm-up of each freshly started server (half mixed 50/50, half create)")
	fs.StringVar(&f.workloads, "workloads", "create,set,get,mixed,tail,create1", "workloads to run, in this order, of: "+specKeys()+
		" (tail after mixed: its rate derives from ZooKeeper's mixed throughput)")
	fs.StringVar(&f.topos, "topologies", "standalone,ensemble", "standalone and/or ensemble (3 servers on 127.0.0.2-4)")
	fs.IntVar(&f.footprint, "footprint", 1_000_000, "znodes of the footprint and restart measurement (standalone, after the rounds); 0 skips it")
	fs.IntVar(&f.footprintVal, "footprint-value", 100, "bytes per value of the footprint measurement's znodes")
	fs.BoolVar(&f.keepDirs, "keep-dirs", false, "keep the servers' data dirs and logs")
	fs.BoolVar(&f.verbose, "v", false, "print each run's progress lines")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if f.rounds < 1 || f.rounds > 100 || f.sessions < 1 || f.duration <= 0 || f.warmup < 0 {
		return nil, fmt.Errorf("rounds %d (1..100), sessions %d (≥1), duration %v (>0), warmup %v (≥0)", f.rounds, f.sessions, f.duration, f.warmup)
	}
	if err := f.selectWorkloads(); err != nil {
		return nil, err
	}
	if f.footprint < 0 {
		return nil, fmt.Errorf("footprint %d: want ≥ 0 znodes (0 skips it)", f.footprint)
	}
	if f.footprint > 0 {
		cfg := footprintLoad(f, "127.0.0.1:2181")
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("footprint: %w", err)
		}
	}
	for _, k := range strings.Split(f.topos, ",") {
		t, ok := topologies[strings.TrimSpace(k)]
		if !ok {
			return nil, fmt.Errorf("topology %q: want standalone and/or ensemble", k)
		}
		f.selectedTopos = append(f.selectedTopos, t)
	}
	return f, nil
}

// selectWorkloads parses -workloads; a workload whose rate derives from
// another's throughput must come after it.
func (f *flags) selectWorkloads() error {
	seen := map[string]bool{}
	for _, k := range strings.Split(f.workloads, ",") {
		s, ok := findSpec(strings.TrimSpace(k))
		if !ok {
			return fmt.Errorf("workload %q: want some of %s", k, specKeys())
		}
		if s.rateOf != "" && !seen[s.rateOf] {
			return fmt.Errorf("workload %s runs at %.0f%% of the throughput ZooKeeper reached in %s: list %s before it in -workloads",
				s.key, s.rateShare*100, s.rateOf, s.rateOf)
		}
		seen[s.key] = true
		f.selected = append(f.selected, s)
	}
	return nil
}

func specKeys() string {
	var k []string
	for _, s := range specs {
		k = append(k, s.key)
	}
	return strings.Join(k, ",")
}

func findSpec(key string) (spec, bool) {
	for _, s := range specs {
		if s.key == key {
			return s, true
		}
	}
	return spec{}, false
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "compare: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := compare(ctx, f, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "compare: %v\n", err)
		return 1
	}
	return 0
}

func compare(ctx context.Context, f *flags, stdout, stderr io.Writer) error {
	java, cp, err := findJava()
	if err != nil {
		return err
	}
	base := f.dir
	if base == "" {
		if base, err = os.MkdirTemp("", "zkbench-compare-"); err != nil {
			return err
		}
		if !f.keepDirs {
			defer os.RemoveAll(base)
		}
	} else if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	env := describeEnv(base, java)
	p := &programs{zkd: f.zkd, java: java, classpath: cp, heap: f.heap}
	if p.zkd == "" {
		fmt.Fprintln(stderr, "compare: building cmd/zkd")
		if p.zkd, err = buildZkd(base); err != nil {
			return err
		}
	}
	rep := &report{flags: f, env: env, started: time.Now(), loadBefore: loadAverage()}
	total := len(f.selectedTopos) * f.rounds * len(f.selected) * 2
	for _, topo := range f.selectedTopos {
		for round := 1; round <= f.rounds && ctx.Err() == nil; round++ {
			runRound(ctx, f, p, base, topo, round, rep, func(m *runFigures) {
				fmt.Fprintf(stderr, "compare: [%d/%d] %s\n", len(rep.runs), total, m.line())
			}, stderr)
		}
	}
	if f.footprint > 0 {
		for _, kind := range []string{kindZooKeeper, kindZkd} {
			if ctx.Err() != nil {
				break
			}
			fp := measureFootprint(ctx, f, p, base, kind, stderr)
			rep.footprint = append(rep.footprint, fp)
			fmt.Fprintf(stderr, "compare: %s\n", fp.line())
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "compare: interrupted; writing what was measured")
	}
	rep.loadAfter = loadAverage()
	rep.finished = time.Now()
	md := rep.markdown()
	fmt.Fprint(stdout, md)
	if err := os.WriteFile(f.out, []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "compare: wrote %s\n", f.out)
	if f.raw != "" {
		b, err := json.MarshalIndent(rep.raw(), "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(f.raw, b, 0o644)
	}
	return nil
}

// runFigures is one workload on one cluster, with the servers' resource
// use over the measured phase.
type runFigures struct {
	Topology string       `json:"topology"`
	Workload string       `json:"workload"`
	Kind     string       `json:"kind"`
	Round    int          `json:"round"`
	LoadAvg  string       `json:"load_average"` // at the run's start
	Result   *load.Result `json:"result,omitempty"`
	Err      string       `json:"error,omitempty"`
	// Server figures, summed over the cluster's servers.
	CPUSeconds float64 `json:"cpu_seconds"`  // user+system during the measured phase
	RSSPeakKiB int64   `json:"rss_peak_kib"` // VmHWM at the end of the run
	RSSEndKiB  int64   `json:"rss_end_kib"`  // VmRSS at the end of the measured phase
	Fsyncs     int64   `json:"fsyncs"`       // mntr zk_cnt_fsynctime delta; -1 unknown
	FsyncErr   string  `json:"fsync_err,omitempty"`
}

func (m *runFigures) line() string {
	if m.Err != "" {
		return fmt.Sprintf("%s %s %s round %d: FAILED: %s", m.Topology, m.Workload, m.Kind, m.Round, m.Err)
	}
	r := m.Result
	open := ""
	if r.Rate > 0 {
		open = fmt.Sprintf(" of %.0f offered", r.Rate)
	}
	return fmt.Sprintf("%s %-18s %-9s round %d: %9.0f %s/s%s p50 %v p99 %v errors %d (load %s)",
		m.Topology, m.Workload, m.Kind, m.Round, r.Throughput, r.Unit, open,
		r.Latency.P50.Round(time.Microsecond), r.Latency.P99.Round(time.Microsecond), r.Errors, m.LoadAvg)
}

// runRound starts a fresh cluster of each kind (both stay up for the
// round, the idle one costing next to nothing), warms each up, then runs
// every workload on both, alternating which goes first, so that both
// servers see the same background load as nearly as a shared machine
// allows. A run that cannot happen is reported as failed.
func runRound(ctx context.Context, f *flags, p *programs, base string, topo topology, round int, rep *report, progress func(*runFigures), stderr io.Writer) {
	type pair struct {
		sp   spec
		kind string
	}
	var order []pair
	for si, sp := range f.selected {
		kinds := []string{kindZooKeeper, kindZkd}
		if (round+si)%2 == 0 {
			kinds[0], kinds[1] = kinds[1], kinds[0]
		}
		for _, k := range kinds {
			order = append(order, pair{sp, k})
		}
	}
	done := 0
	fail := func(err error) {
		for _, pr := range order[done:] {
			m := failedRun(topo, pr.sp, pr.kind, round, err)
			rep.add(m)
			progress(m)
		}
	}
	dir := filepath.Join(base, fmt.Sprintf("%s-r%d", strings.ReplaceAll(topo.name, " ", ""), round))
	if !f.keepDirs {
		defer os.RemoveAll(dir) // after the servers stopped (deferred below, so run first)
	}
	clusters := map[string]*cluster{}
	defer func() {
		for _, c := range clusters {
			c.stop()
		}
	}()
	for _, kind := range []string{kindZooKeeper, kindZkd} {
		c, err := startCluster(ctx, p, kind, topo.n, dir)
		if err != nil {
			fail(err)
			return
		}
		clusters[kind] = c
		if err := warm(ctx, f, c, stderr); err != nil {
			fail(fmt.Errorf("%s warm-up: %w", kind, err))
			return
		}
	}
	for _, pr := range order {
		if ctx.Err() != nil {
			return
		}
		var m *runFigures
		if rate, err := rep.offeredRate(topo, round, pr.sp); err != nil {
			m = failedRun(topo, pr.sp, pr.kind, round, err)
		} else {
			m = measure(ctx, f, clusters[pr.kind], topo, pr.sp, round, rate, stderr)
		}
		rep.add(m)
		progress(m)
		done++
	}
}

// warm runs the server warm-up: reads and writes, then creates, so the
// JVM's JIT has compiled the request paths before anything is measured
// (ZooKeeper's throughput climbs for several seconds after a start).
func warm(ctx context.Context, f *flags, c *cluster, stderr io.Writer) error {
	if f.serverWarmup <= 0 {
		return nil
	}
	for i, w := range []string{load.Mixed, load.Create} {
		cfg := load.DefaultConfig()
		cfg.Servers = c.connectString()
		cfg.Workload, cfg.Sessions, cfg.ReadRatio, cfg.ValueSize = w, f.sessions, 0.5, f.value
		cfg.Warmup, cfg.Duration = 0, f.serverWarmup/2
		cfg.Prefix, cfg.Keep = fmt.Sprintf("/zkbench-warmup-%d", i), true
		if f.verbose {
			cfg.Progress = stderr
		}
		if _, err := load.Run(ctx, cfg); err != nil {
			return err
		}
	}
	return nil
}

// failedRun is the record of a run that could not happen.
func failedRun(topo topology, sp spec, kind string, round int, err error) *runFigures {
	return &runFigures{Topology: topo.name, Workload: sp.title, Kind: kind, Round: round, LoadAvg: loadAverage(), Fsyncs: -1, Err: err.Error()}
}

// offeredRate is the open-loop rate of sp in this round and topology: its
// share of the throughput ZooKeeper reached in sp.rateOf, which ran
// before it; 0 (closed loop) for the other workloads.
func (r *report) offeredRate(topo topology, round int, sp spec) (float64, error) {
	if sp.rateOf == "" {
		return 0, nil
	}
	basis, _ := findSpec(sp.rateOf)
	for _, m := range r.runs {
		if m.Topology != topo.name || m.Round != round || m.Workload != basis.title || m.Kind != kindZooKeeper {
			continue
		}
		if m.Result == nil || m.Result.Ops == 0 || m.Result.Throughput <= 0 {
			return 0, fmt.Errorf("no rate to offer: ZooKeeper's %s run of round %d failed", basis.key, round)
		}
		return sp.rateShare * m.Result.Throughput, nil
	}
	return 0, fmt.Errorf("no rate to offer: ZooKeeper's %s run of round %d did not happen", basis.key, round)
}

// measure runs sp on c, closed loop or, with rate > 0, open loop at rate
// operations per second.
func measure(ctx context.Context, f *flags, c *cluster, topo topology, sp spec, round int, rate float64, stderr io.Writer) *runFigures {
	m := &runFigures{Topology: topo.name, Workload: sp.title, Kind: c.kind, Round: round, LoadAvg: loadAverage(), Fsyncs: -1}
	pids := c.pids()
	var cpu0, fs0 total
	cfg := load.DefaultConfig()
	sp.apply(&cfg, f.sessions)
	cfg.Servers, cfg.Rate = c.connectString(), rate
	if cfg.Sessions == 1 && len(c.members) > 1 {
		addr, err := c.followerAddr()
		if err != nil {
			m.Err = err.Error()
			return m
		}
		cfg.Servers = addr
	}
	cfg.Duration, cfg.Warmup, cfg.ValueSize = f.duration, f.warmup, f.value
	// The data dir is thrown away after the round: no cleanup, so the
	// next workload starts at once on the tree this one left.
	cfg.Prefix, cfg.Keep = "/zkbench-"+sp.key, true
	if f.verbose {
		cfg.Progress = stderr
	}
	cfg.MeasureStart = func() {
		cpu0 = sumCPU(pids)
		fs0 = sumFsyncs(c)
	}
	cfg.MeasureEnd = func() {
		cpu1 := sumCPU(pids)
		fs1 := sumFsyncs(c)
		m.CPUSeconds = (cpu1.v - cpu0.v) / 1000
		if cpu0.err != nil || cpu1.err != nil {
			m.CPUSeconds = -1
		}
		if fs0.err == nil && fs1.err == nil {
			m.Fsyncs = int64(fs1.v - fs0.v)
		} else {
			m.FsyncErr = errors.Join(fs0.err, fs1.err).Error()
		}
		for _, pid := range pids {
			rss, _, err := memory(pid)
			if err == nil {
				m.RSSEndKiB += rss
			}
		}
	}
	res, err := load.Run(ctx, cfg)
	if err != nil {
		m.Err = err.Error()
		return m
	}
	m.Result = res
	for _, pid := range pids {
		if _, peak, err := memory(pid); err == nil {
			m.RSSPeakKiB += peak
		}
	}
	return m
}

// total is a figure summed over the servers, with the first error.
type total struct {
	v   float64
	err error
}

func sumCPU(pids []int) total {
	var s total
	for _, pid := range pids {
		sec, err := cpuSeconds(pid)
		if err != nil && s.err == nil {
			s.err = err
		}
		s.v += sec * 1000 // milliseconds, so float rounding stays small
	}
	return s
}

func sumFsyncs(c *cluster) total {
	var s total
	for _, mb := range c.members {
		n, err := mntrValue(mb.addr(), "zk_cnt_fsynctime")
		if err != nil && s.err == nil {
			s.err = err
		}
		s.v += float64(n)
	}
	return s
}

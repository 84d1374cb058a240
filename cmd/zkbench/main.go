// Command zkbench is a load generator for any ZooKeeper-compatible server
// (zkd or Apache ZooKeeper), built on zkd's Go client:
//
//	zkbench -servers 127.0.0.1:2181 -workload create -sessions 32 -duration 10s
//	zkbench -workload mixed -read-ratio 0.9 -value-size 1024
//	zkbench -workload get -rate 20000 -outstanding 4     # open loop
//	zkbench -workload watch -watchers 16 -json
//
// It prints a progress line on stderr once a second, then a table (or, with
// -json, one JSON object) on stdout. Everything it creates lives under
// -prefix (default /zkbench-<pid>) and is deleted at the end unless -keep.
// The first interrupt stops the run and cleans up; a second one exits at
// once. It only turns flags into a load.Config; the load generator itself
// lives in bench/load.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/zkd-io/zkd/bench/load"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// options are the flags that are not part of load.Config.
type options struct {
	json       bool
	quiet      bool
	cpuprofile string
}

// parseFlags turns the command line into a validated run configuration.
func parseFlags(args []string, stderr io.Writer) (load.Config, options, error) {
	cfg := load.DefaultConfig()
	var o options
	fs := flag.NewFlagSet("zkbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Servers, "servers", cfg.Servers, "connect string: host:port[,host:port...][/chroot]")
	fs.StringVar(&cfg.Workload, "workload", cfg.Workload, "one of: "+strings.Join(load.Workloads, ", "))
	fs.IntVar(&cfg.Sessions, "sessions", cfg.Sessions, "sessions issuing operations (watch: sessions issuing the setData)")
	fs.IntVar(&cfg.Outstanding, "outstanding", cfg.Outstanding, "requests in flight per session (pipelined on its connection)")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "open loop: operations per second over all sessions, latency from the scheduled time (0 = closed loop)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "length of the measured phase (0 = bounded by -ops only)")
	fs.Int64Var(&cfg.Ops, "ops", cfg.Ops, "number of measured operations (0 = bounded by -duration only)")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "unmeasured warm-up before the measured phase")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "hard limit on the run (0 = warm-up + duration + 30s, or 1h with -ops alone)")
	fs.IntVar(&cfg.ValueSize, "value-size", cfg.ValueSize, "bytes per value written")
	fs.IntVar(&cfg.Keys, "keys", cfg.Keys, "znodes set/read/watched/deleted (0 = 1000; delete 10000; watch one per writer slot)")
	fs.Float64Var(&cfg.ReadRatio, "read-ratio", cfg.ReadRatio, "mixed: share of reads, 0..1")
	fs.IntVar(&cfg.MultiOps, "multi-ops", cfg.MultiOps, "multi: setData operations per multi")
	fs.IntVar(&cfg.Watchers, "watchers", cfg.Watchers, "watch: sessions watching every key")
	fs.StringVar(&cfg.Prefix, "prefix", cfg.Prefix, "znode the run works under; must not exist (default /zkbench-<pid>)")
	fs.BoolVar(&cfg.Keep, "keep", cfg.Keep, "leave the run's znodes in place")
	fs.DurationVar(&cfg.SessionTimeout, "session-timeout", cfg.SessionTimeout, "session timeout asked for")
	fs.DurationVar(&cfg.ProgressInterval, "progress", cfg.ProgressInterval, "interval of the progress line on stderr")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress line")
	fs.BoolVar(&o.json, "json", false, "print the result as JSON instead of a table")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of zkbench itself (the client side) to this file")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: zkbench [flags]\n\nRuns one workload against a ZooKeeper-compatible server and reports throughput and latency.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, o, err
	}
	if fs.NArg() > 0 {
		return cfg, o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if !o.quiet {
		cfg.Progress = stderr
	}
	return cfg, o, cfg.Validate()
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, o, err := parseFlags(args, stderr)
	if err == flag.ErrHelp {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "zkbench: %v\n", err)
		return 2
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer func() {
		signal.Stop(sig) // no delivery after this returns, so closing is safe
		close(sig)
	}()
	go func() {
		if _, ok := <-sig; !ok {
			return
		}
		fmt.Fprintln(stderr, "zkbench: stopping (cleaning up; interrupt again to quit at once)")
		stop()
		if _, ok := <-sig; ok {
			os.Exit(130)
		}
	}()

	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			fmt.Fprintf(stderr, "zkbench: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "zkbench: cpu profile: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	res, err := load.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "zkbench: %v\n", err)
		return 1
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(stderr, "zkbench: %v\n", err)
			return 1
		}
	} else {
		res.WriteTable(stdout)
	}
	if res.Ops == 0 {
		fmt.Fprintln(stderr, "zkbench: no operation succeeded")
		return 1
	}
	return 0
}

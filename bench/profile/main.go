// Command profile takes a CPU profile of zkd under one zkbench workload:
// it starts a standalone zkd server in this process (zkd has no pprof
// endpoint), runs the load generator in a child process (so the profile
// holds the server's work only, not the client's), and profiles the server
// from the end of the warm-up until the load ends.
//
//	go run ./bench/profile -workload create -o create.pprof
//	go run ./bench/profile -workload get -duration 20s -top 25
//	go run ./bench/profile -workload create -heap create.heap
//	go run ./bench/profile -workload create -trace create.trace
//	go tool pprof -http=: create.pprof
//
// It owns its temporary data dir and its child and must never leave
// either behind.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"syscall"
	"time"

	"github.com/zkd-io/zkd/bench/load"
	"github.com/zkd-io/zkd/internal/config"
	"github.com/zkd-io/zkd/internal/server"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type flags struct {
	cfg      load.Config
	out, dir string
	heap     string
	trace    string
	top      int
	child    bool
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{cfg: load.DefaultConfig()}
	fs := flag.NewFlagSet("profile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.cfg.Workload, "workload", f.cfg.Workload, "zkbench workload")
	fs.IntVar(&f.cfg.Sessions, "sessions", f.cfg.Sessions, "sessions")
	fs.IntVar(&f.cfg.Outstanding, "outstanding", f.cfg.Outstanding, "requests in flight per session")
	fs.IntVar(&f.cfg.ValueSize, "value-size", f.cfg.ValueSize, "bytes per value")
	fs.Float64Var(&f.cfg.ReadRatio, "read-ratio", f.cfg.ReadRatio, "mixed: share of reads")
	fs.DurationVar(&f.cfg.Duration, "duration", f.cfg.Duration, "profiled (measured) phase")
	fs.DurationVar(&f.cfg.Warmup, "warmup", f.cfg.Warmup, "unprofiled warm-up")
	fs.StringVar(&f.out, "o", "", "profile file (default <workload>.pprof)")
	fs.StringVar(&f.heap, "heap", "", "also write the server's heap profile (in-use memory after the load) to this file")
	fs.StringVar(&f.dir, "dir", "", "parent of the server's temporary data dir (default the system temp dir)")
	fs.StringVar(&f.trace, "trace", "", "also write an execution trace of the profiled phase to this file (go tool trace)")
	fs.IntVar(&f.top, "top", 15, "print this many top entries (flat and cumulative) with go tool pprof; 0: none")
	fs.StringVar(&f.cfg.Servers, "servers", "", "(child mode) the server to load")
	fs.BoolVar(&f.child, "child", false, "run the load generator only (used by the parent)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if f.out == "" {
		f.out = f.cfg.Workload + ".pprof"
	}
	check := f.cfg
	if check.Servers == "" {
		check.Servers = "127.0.0.1:1"
	}
	if check.Duration <= 0 {
		return nil, fmt.Errorf("duration %v: want > 0", check.Duration)
	}
	return f, check.Validate()
}

func run(args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "profile: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if f.child {
		f.cfg.Keep = true // the server's data dir is thrown away; no cleanup load in the profile
		res, err := load.Run(ctx, f.cfg)
		if err != nil {
			fmt.Fprintf(stderr, "profile: load: %v\n", err)
			return 1
		}
		res.WriteTable(stdout)
		return 0
	}
	if err := profile(ctx, f, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "profile: %v\n", err)
		return 1
	}
	return 0
}

func profile(ctx context.Context, f *flags, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp(f.dir, "zkd-profile-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	o := config.Default()
	o.DataDir = dir
	o.ClientPortAddress = "127.0.0.1"
	o.MaxClientCnxns = 0
	o.AdminEnableServer = false
	o.FourLetterWords = map[string]bool{"*": true}
	if err := o.Validate(); err != nil {
		return err
	}
	o.ClientPort, o.MetricsHTTPPort = 0, 0
	srv := server.New(o, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Close()

	self, err := os.Executable()
	if err != nil {
		return err
	}
	c := f.cfg
	cmd := exec.CommandContext(ctx, self, "-child", "-servers", srv.Addr().String(),
		"-workload", c.Workload, "-sessions", strconv.Itoa(c.Sessions), "-outstanding", strconv.Itoa(c.Outstanding),
		"-value-size", strconv.Itoa(c.ValueSize), "-read-ratio", strconv.FormatFloat(c.ReadRatio, 'g', -1, 64),
		"-duration", c.Duration.String(), "-warmup", c.Warmup.String(), "-top", "0")
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = childAttr() // the child dies with us
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// The child spends a moment connecting and creating keys before its
	// warm-up; the profile starts after both, give or take that moment.
	select {
	case <-time.After(c.Warmup + 500*time.Millisecond):
	case err := <-exited:
		return fmt.Errorf("load generator ended before the warm-up did: %v", err)
	}
	pf, err := os.Create(f.out)
	if err != nil {
		cmd.Process.Kill()
		<-exited
		return err
	}
	if err := pprof.StartCPUProfile(pf); err != nil {
		pf.Close()
		cmd.Process.Kill()
		<-exited
		return err
	}
	stopTrace := func() error { return nil }
	if f.trace != "" {
		if stopTrace, err = startTrace(f.trace); err != nil {
			pprof.StopCPUProfile()
			pf.Close()
			cmd.Process.Kill()
			<-exited
			return err
		}
	}
	cpu0, cpuKnown := processCPU()
	wall0 := time.Now()
	werr := <-exited
	cpu1, _ := processCPU()
	cpu, wall := cpu1-cpu0, time.Since(wall0)
	pprof.StopCPUProfile()
	if err := stopTrace(); err != nil {
		return err
	}
	if err := pf.Close(); err != nil {
		return err
	}
	if werr != nil {
		return fmt.Errorf("load generator: %v", werr)
	}
	if cpuKnown {
		fmt.Fprintf(stderr, "profile: wrote %s (server only, %v of load); server CPU %.2fs in %.2fs (%.2f cores)\n",
			f.out, c.Duration, cpu.Seconds(), wall.Seconds(), cpu.Seconds()/wall.Seconds())
	} else {
		fmt.Fprintf(stderr, "profile: wrote %s (server only, %v of load)\n", f.out, c.Duration)
	}
	if f.heap != "" {
		if err := writeHeap(f.heap); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "profile: wrote %s (in-use heap after the load)\n", f.heap)
	}
	if f.top > 0 {
		for _, order := range []string{"-flat", "-cum"} {
			top := exec.Command("go", "tool", "pprof", "-top", order, "-nodecount="+strconv.Itoa(f.top), self, f.out)
			top.Stdout, top.Stderr = stdout, stderr
			if err := top.Run(); err != nil {
				return fmt.Errorf("go tool pprof: %v", err)
			}
		}
	}
	return nil
}

// startTrace starts an execution trace into path; the returned function
// stops it and closes the file.
func startTrace(path string) (func() error, error) {
	tf, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := trace.Start(tf); err != nil {
		tf.Close()
		return nil, err
	}
	return func() error {
		trace.Stop()
		return tf.Close()
	}, nil
}

// writeHeap writes the heap profile after a collection, so in-use figures
// are what the server holds, not garbage.
func writeHeap(path string) error {
	hf, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(hf); err != nil {
		hf.Close()
		return err
	}
	return hf.Close()
}

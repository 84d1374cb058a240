// Command zkd is a ZooKeeper-compatible coordination server.
//
//	zkd                      standalone server on port 2181, data in ./zkd-data
//	zkd zoo.cfg              read an Apache ZooKeeper config file as is
//	zkd -config zoo.cfg      the same
//	zkd wal dump DIR         print the log's entries
//	zkd snapshot inspect F   summarise a snapshot file (-tree prints the tree)
//	zkd snapshot verify DIR  check every snapshot's checksums
//	zkd check zoo.cfg        validate a config and print what it would do
//
// It only turns flags and the config file into options, runs the server and
// handles signals; everything else lives in internal/server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/zkd-io/zkd/internal/config"
	"github.com/zkd-io/zkd/internal/gctune"
	"github.com/zkd-io/zkd/internal/server"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	if len(args) > 0 {
		if args[0] == "check" {
			return checkTool(args[1:], os.Stdout, os.Stderr)
		}
		if tool, ok := tools[args[0]]; ok {
			return tool(args[1:], os.Stdout, os.Stderr)
		}
	}
	fs := flag.NewFlagSet("zkd", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "Apache ZooKeeper zoo.cfg to read")
	logFormat := fs.String("log-format", "", `log encoding: "text" or "json" (overrides zkd.logFormat)`)
	verbose := fs.Bool("v", false, "log debug messages")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: zkd [-config] [zoo.cfg]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 1 || fs.NArg() == 1 && *cfgPath != "" {
		fs.Usage()
		return 2
	}
	if fs.NArg() == 1 {
		*cfgPath = fs.Arg(0)
	}

	opts := config.Default()
	var notices []string
	var err error
	if *cfgPath != "" {
		opts, notices, err = config.Load(*cfgPath)
	} else {
		err = opts.Validate()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "zkd: %v\n", err)
		return config.ExitCode(err)
	}
	if *logFormat != "" {
		opts.LogFormat = *logFormat
	}
	log := newLogger(opts.LogFormat, *verbose)
	for _, n := range notices {
		log.Warn(n)
	}

	// Before Start, so that loading a large snapshot is paced too.
	gcCtx, gcStop := context.WithCancel(context.Background())
	defer gcStop()
	if !gctune.Run(gcCtx) {
		log.Info("GOGC is set; the collector keeps its pacing")
	}

	srv := server.New(opts, log)
	if err := srv.Start(); err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
		log.Info("shutting down", "reason", "signal")
	case <-srv.Done():
	}
	if err := srv.Close(); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("stopped with an error", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

func newLogger(format string, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	ho := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, ho))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, ho))
}

package load

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/internal/config"
	"github.com/zkd-io/zkd/internal/server"
)

// startZkd runs an in-process standalone zkd on a free loopback port and
// stops it when the test ends.
func startZkd(t *testing.T) string {
	t.Helper()
	o := config.Default()
	o.DataDir = t.TempDir()
	o.ClientPortAddress = "127.0.0.1"
	o.TickTime = 200 * time.Millisecond
	o.MaxClientCnxns = 0
	o.AdminEnableServer = false
	if err := o.Validate(); err != nil {
		t.Fatalf("options: %v", err)
	}
	o.ClientPort = 0
	o.MetricsHTTPPort = 0
	s := server.New(o, slog.New(slog.DiscardHandler))
	if err := s.Start(); err != nil {
		t.Fatalf("start zkd: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s.Addr().String()
}

// tiny is a run small enough for a unit test.
func tiny(addr, workload string) Config {
	cfg := DefaultConfig()
	cfg.Servers, cfg.Workload = addr, workload
	cfg.Sessions, cfg.Outstanding = 2, 2
	cfg.Warmup, cfg.Duration = 50*time.Millisecond, 250*time.Millisecond
	cfg.ValueSize, cfg.Keys, cfg.MultiOps, cfg.Watchers = 64, 20, 3, 2
	cfg.SessionTimeout = 4 * time.Second
	return cfg
}

// prefixGone checks that the run deleted its prefix.
func prefixGone(t *testing.T, addr, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := c.Exists(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if st != nil {
		kids, _ := c.Children(ctx, prefix)
		t.Errorf("prefix %s still exists after the run (children %v), want it deleted", prefix, kids)
	}
}

func TestEveryWorkloadAgainstZkd(t *testing.T) {
	addr := startZkd(t)
	for _, w := range Workloads {
		t.Run(w, func(t *testing.T) {
			cfg := tiny(addr, w)
			cfg.Prefix = "/zkbench-test-" + w
			if w == Delete {
				cfg.Keys, cfg.Warmup = 200, 0 // a warm-up would delete them all
			}
			if w == Watch {
				cfg.Keys = 4 // one per writer slot
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := Run(ctx, cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Ops == 0 || res.Errors != 0 {
				t.Fatalf("ops %d errors %d (%v), want some ops and no errors; notes %v", res.Ops, res.Errors, res.ErrorKinds, res.Notes)
			}
			if res.Throughput <= 0 || res.Latency.Count != uint64(res.Ops) || res.Latency.P50 <= 0 || res.Latency.Max < res.Latency.P99 {
				t.Errorf("throughput %v, latency %+v: want positive figures covering every op", res.Throughput, res.Latency)
			}
			wantWrites := map[string]bool{Create: true, Set: true, Delete: true, Mixed: true, Multi: true, Watch: true, Session: true, Ephemeral: true}
			if got := res.Writes > 0; got != wantWrites[w] {
				t.Errorf("writes = %d, want writes: %v", res.Writes, wantWrites[w])
			}
			switch w {
			case Mixed:
				if res.ByKind["read"].Count == 0 || res.ByKind["write"].Count == 0 {
					t.Errorf("by kind %+v, want reads and writes", res.ByKind)
				}
			case Watch:
				if res.Unit != "notifications" || res.Ops != 2*res.Writes {
					t.Errorf("unit %q, %d notifications for %d sets; want 2 watchers notified per set", res.Unit, res.Ops, res.Writes)
				}
			case Delete:
				if res.Ops > 200 {
					t.Errorf("deleted %d, want at most the 200 keys", res.Ops)
				}
			}
			var tbl strings.Builder
			res.WriteTable(&tbl)
			if !strings.Contains(tbl.String(), "p99.9") || !strings.Contains(tbl.String(), w) {
				t.Errorf("table lacks the workload or the percentiles:\n%s", tbl.String())
			}
			if _, err := json.Marshal(res); err != nil {
				t.Errorf("JSON: %v", err)
			}
			prefixGone(t, addr, cfg.Prefix)
		})
	}
}

func TestOpenLoopAndCountBoundAgainstZkd(t *testing.T) {
	addr := startZkd(t)
	cfg := tiny(addr, Get)
	cfg.Rate, cfg.Duration, cfg.Ops, cfg.Warmup = 400, 0, 60, 0
	var progress strings.Builder
	cfg.Progress, cfg.ProgressInterval = &progress, 50*time.Millisecond
	var starts, ends int
	cfg.MeasureStart = func() { starts++ }
	cfg.MeasureEnd = func() { ends++ }
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops+res.Errors != 60 || res.Mode != "open" {
		t.Errorf("mode %s, ops %d + errors %d, want open loop and exactly 60", res.Mode, res.Ops, res.Errors)
	}
	if starts != 1 || ends != 1 {
		t.Errorf("MeasureStart called %d times, MeasureEnd %d times; want once each", starts, ends)
	}
	if !strings.Contains(progress.String(), "ops/s") {
		t.Errorf("no progress line in %q", progress.String())
	}
}

func TestKeepAndExistingPrefix(t *testing.T) {
	addr := startZkd(t)
	cfg := tiny(addr, Create)
	cfg.Prefix, cfg.Keep = "/kept", true
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	// The prefix is still there, so a second run must refuse it.
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("second run on a kept prefix: err = %v, want a prefix-exists error", err)
	}
}

func TestInterruptStopsAndCleansUp(t *testing.T) {
	addr := startZkd(t)
	cfg := tiny(addr, Create)
	cfg.Duration = time.Minute
	cfg.Prefix = "/interrupted"
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("interrupted run took %v, want it to stop soon after the interrupt", took)
	}
	if len(res.Notes) == 0 || !strings.Contains(strings.Join(res.Notes, " "), "interrupted") {
		t.Errorf("notes %v, want a note that the run was interrupted", res.Notes)
	}
	prefixGone(t, addr, cfg.Prefix)
}

//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/zkd-io/zkd/bench/load"
	"github.com/zkd-io/zkd/client"
)

// The footprint measurement: a standalone server of each kind is filled
// with -footprint znodes, then restarted on its data dir.
const (
	footprintPrefix      = "/zkbench-footprint"
	footprintSessions    = 16
	footprintOutstanding = 16
	// footprintSettle is the pause between the load and the RSS reading,
	// so the figure is the loaded server's, not the load's (buffers,
	// pending collections).
	footprintSettle = 10 * time.Second
	// restartSettle is the pause between serving after the restart and
	// the RSS reading.
	restartSettle = 5 * time.Second
	// restartTimeout bounds the wait for the restarted server to serve
	// the loaded tree.
	restartTimeout = 5 * time.Minute
	// servingPoll is the granularity of the restart time.
	servingPoll = 25 * time.Millisecond
	// probeTimeout bounds one probe of a restarted server.
	probeTimeout = 2 * time.Second
)

// footprintFigures is the footprint and restart measurement of one kind.
// Zero figures were not reached: Err says why.
type footprintFigures struct {
	Kind      string `json:"kind"`
	Znodes    int    `json:"znodes"`     // created by the load
	ValueSize int    `json:"value_size"` // bytes per znode's value
	// Counted is mntr's zk_znode_count after the load (with the root,
	// /zookeeper and the prefix's nodes).
	Counted         int64         `json:"znode_count"`
	RSSEmptyKiB     int64         `json:"rss_empty_kib"`     // VmRSS once the fresh server serves
	RSSLoadedKiB    int64         `json:"rss_loaded_kib"`    // VmRSS after the load and a settle
	RSSPeakKiB      int64         `json:"rss_peak_kib"`      // VmHWM then
	RSSRestartedKiB int64         `json:"rss_restarted_kib"` // VmRSS after the restart and a settle
	Load            time.Duration `json:"load_ns"`           // the load's first create to its last reply
	Restart         time.Duration `json:"restart_ns"`        // launch to serving the loaded tree
	Err             string        `json:"error,omitempty"`
}

// bytesPerZnode is the RSS the load added, per znode.
func (fp *footprintFigures) bytesPerZnode() float64 {
	return float64(fp.RSSLoadedKiB-fp.RSSEmptyKiB) * 1024 / float64(fp.Znodes)
}

// done reports whether every figure was measured.
func (fp *footprintFigures) done() bool { return fp != nil && fp.Err == "" && fp.RSSRestartedKiB > 0 }

func (fp *footprintFigures) line() string {
	if !fp.done() {
		return fmt.Sprintf("footprint %s: FAILED: %s", fp.Kind, oneLine(fp.Err))
	}
	return fmt.Sprintf("footprint %-9s %d znodes: RSS empty %d MiB, loaded %d MiB (peak %d), %.0f B/znode, restarted %d MiB; load %v, restart to serving %v",
		fp.Kind, fp.Znodes, fp.RSSEmptyKiB>>10, fp.RSSLoadedKiB>>10, fp.RSSPeakKiB>>10, fp.bytesPerZnode(), fp.RSSRestartedKiB>>10,
		fp.Load.Round(time.Millisecond), fp.Restart.Round(time.Millisecond))
}

// footprintLoad is the load that fills the server: -footprint creates of
// -footprint-value bytes, as fast as the server takes them, kept.
func footprintLoad(f *flags, servers string) load.Config {
	cfg := load.DefaultConfig()
	cfg.Servers, cfg.Workload = servers, load.Create
	cfg.Sessions, cfg.Outstanding = footprintSessions, footprintOutstanding
	cfg.Ops, cfg.Duration, cfg.Warmup = int64(f.footprint), 0, 0
	cfg.ValueSize, cfg.Prefix, cfg.Keep = f.footprintVal, footprintPrefix, true
	return cfg
}

// measureFootprint starts a fresh standalone server of kind, fills it,
// restarts it and records its memory and times; a step that fails ends
// the measurement with the figures so far.
func measureFootprint(ctx context.Context, f *flags, p *programs, base, kind string, stderr io.Writer) *footprintFigures {
	fp := &footprintFigures{Kind: kind, Znodes: f.footprint, ValueSize: f.footprintVal}
	dir := filepath.Join(base, "footprint")
	if !f.keepDirs {
		defer os.RemoveAll(dir) // after the server stopped (deferred below, so run first)
	}
	fmt.Fprintf(stderr, "compare: footprint %s: %d znodes of %d bytes, then a restart\n", kind, f.footprint, f.footprintVal)
	c, err := startCluster(ctx, p, kind, 1, dir)
	if err != nil {
		fp.Err = err.Error()
		return fp
	}
	defer c.stop()
	if err := fp.measure(ctx, f, p, c); err != nil {
		fp.Err = err.Error()
	}
	return fp
}

// measure fills, settles and restarts the started server c.
func (fp *footprintFigures) measure(ctx context.Context, f *flags, p *programs, c *cluster) error {
	m := c.members[0]
	var err error
	if fp.RSSEmptyKiB, _, err = memory(m.pid()); err != nil {
		return err
	}
	if fp.Load, err = fill(ctx, f, c); err != nil {
		return err
	}
	if err := sleep(ctx, footprintSettle); err != nil {
		return err
	}
	if fp.RSSLoadedKiB, fp.RSSPeakKiB, err = memory(m.pid()); err != nil {
		return err
	}
	if fp.Counted, err = mntrValue(m.addr(), "zk_znode_count"); err != nil {
		return err
	}
	if fp.Counted < int64(fp.Znodes) {
		return fmt.Errorf("%s holds %d znodes (mntr zk_znode_count) after the load of %d", c.kind, fp.Counted, fp.Znodes)
	}
	if fp.Restart, err = c.restart(ctx, p, fp.Znodes); err != nil {
		return err
	}
	if err := sleep(ctx, restartSettle); err != nil {
		return err
	}
	fp.RSSRestartedKiB, _, err = memory(m.pid())
	return err
}

// fill runs the footprint load on c and returns how long the creates took.
func fill(ctx context.Context, f *flags, c *cluster) (time.Duration, error) {
	res, err := load.Run(ctx, footprintLoad(f, c.connectString()))
	if err != nil {
		return 0, fmt.Errorf("load: %w", err)
	}
	if res.Ops != int64(f.footprint) || res.Errors > 0 {
		return 0, fmt.Errorf("load created %d of %d znodes (%d errors: %v; %v)", res.Ops, f.footprint, res.Errors, res.ErrorKinds, res.Notes)
	}
	return res.Elapsed, nil
}

// restart stops the standalone server c and launches it again on the same
// data dir and ports, and returns the time from the launch until it serves
// the loaded tree: n znodes under footprintPrefix.
func (c *cluster) restart(ctx context.Context, p *programs, n int) (time.Duration, error) {
	c.stop()
	m := c.members[0]
	launched := time.Now()
	if err := c.launch(p, m); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, restartTimeout)
	defer cancel()
	for {
		if err := c.exited(); err != nil {
			return 0, err
		}
		at, err := serving(ctx, m.addr(), n)
		if err == nil {
			return at.Sub(launched), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%s not serving the %d znodes %v after its restart (%v); log %s:\n%s",
				c.kind, n, time.Since(launched).Round(time.Second), err, m.log, tail(m.log, 20))
		case <-time.After(servingPoll):
		}
	}
}

// serving probes the server at addr: it serves the loaded tree if mntr
// counts at least n znodes and a client session reads the load's parent
// znode with at least n children. It returns when the read succeeded.
func serving(ctx context.Context, addr string, n int) (time.Time, error) {
	count, err := mntrValue(addr, "zk_znode_count")
	if err != nil {
		return time.Time{}, err
	}
	if count < int64(n) {
		return time.Time{}, fmt.Errorf("mntr counts %d znodes", count)
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	conn, err := client.Connect(ctx, addr, client.WithSessionTimeout(10*time.Second))
	if err != nil {
		return time.Time{}, err
	}
	defer conn.Close()
	parent := footprintPrefix + "/c" // where bench/load's create workload puts its znodes
	st, err := conn.Exists(ctx, parent)
	switch {
	case err != nil:
		return time.Time{}, err
	case st == nil:
		return time.Time{}, fmt.Errorf("%s does not exist", parent)
	case int(st.NumChildren) < n:
		return time.Time{}, fmt.Errorf("%s has %d children", parent, st.NumChildren)
	}
	return time.Now(), nil
}

// sleep waits d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return errors.New("interrupted")
	}
}

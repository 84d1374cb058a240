package crash

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd-io/zkd/internal/storage"
	"github.com/zkd-io/zkd/test/harness"
)

// The benchmarks run only with ZKD_BENCH=1: they take minutes and report
// numbers (t.Log) rather than pass or fail on them.
//
//	ZKD_BENCH=1 ZKD_BENCH_NODES=200000 go test -run TestBench -v -timeout 60m ./test/crash/

func benchOnly(t *testing.T) {
	if os.Getenv("ZKD_BENCH") != "1" {
		t.Skip("benchmark; set ZKD_BENCH=1 (and ZKD_BENCH_NODES) to run")
	}
}

const benchGroups = 100

func benchPath(i int) string {
	return fmt.Sprintf("/bench/g%03d/n%07d", i%benchGroups, i)
}

// populate creates n znodes of 100 bytes, in multis of 200, from 8 clients.
func populate(t *testing.T, addr string, n int) time.Duration {
	t.Helper()
	start := time.Now()
	setup := dial(t, addr, 30*time.Second)
	mustCreate(t, setup.Conn, "/bench", nil)
	for g := 0; g < benchGroups; g++ {
		mustCreate(t, setup.Conn, fmt.Sprintf("/bench/g%03d", g), nil)
	}
	data := make([]byte, 100)
	for i := range data {
		data[i] = 'a' + byte(i%26)
	}
	const batch = 200
	next := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		c := dial(t, addr, 30*time.Second)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for from := range next {
				ops := make([]any, 0, batch)
				for i := from; i < min(from+batch, n); i++ {
					ops = append(ops, &zk.CreateRequest{Path: benchPath(i), Data: data, Acl: zk.WorldACL(zk.PermAll)})
				}
				if _, err := c.Multi(ops...); err != nil {
					errs <- fmt.Errorf("multi from %d: %w", from, err)
					return
				}
			}
		}()
	}
feed:
	for from := 0; from < n; from += batch {
		select {
		case next <- from:
		case err := <-errs:
			t.Error(err)
			break feed
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	if t.Failed() {
		t.FailNow()
	}
	return time.Since(start)
}

// TestBenchStartup: time from process start to serving a read with n znodes
// of 100 bytes on disk, for Apache ZooKeeper and zkd, after a clean stop.
// Two layouts: the default snapCount (100000 txns; populate's multis of 200
// stay below it, so the whole log is replayed) and snapCount=1000 (start
// from a snapshot plus a short log).
func TestBenchStartup(t *testing.T) {
	benchOnly(t)
	n := harness.EnvInt(t, "ZKD_BENCH_NODES", 200000)
	for _, mode := range []struct {
		name      string
		snapCount string
	}{{"log replay", "100000"}, {"from snapshot", "1000"}} {
		results := map[string]time.Duration{}
		for _, kind := range harness.Kinds {
			t.Run(mode.name+"/"+kind, func(t *testing.T) {
				srv := harness.Start(t, kind, harness.WithStartTimeout(10*time.Minute), harness.WithJVMOptions("-Xmx3g"),
					harness.WithConfig("snapCount", mode.snapCount))
				took := populate(t, srv.Addr, n)
				t.Logf("%s: populated %d znodes in %v (%.0f/s)", kind, n, took.Round(time.Millisecond), float64(n)/took.Seconds())
				srv.Stop()
				du := dirBytes(srv.DataDir)
				start := time.Now()
				srv.Restart(t)
				ready := time.Since(start)
				c := dial(t, srv.Addr, 30*time.Second)
				if _, _, err := c.Get(benchPath(n - 1)); err != nil {
					t.Fatalf("get %s after restart: %v", benchPath(n-1), err)
				}
				served := time.Since(start)
				results[kind] = served
				t.Logf("%s, snapCount=%s: %d znodes, data dir %d MB: ready (ruok+srvr) %v, first read served %v after process start",
					kind, mode.snapCount, n, du>>20, ready.Round(time.Millisecond), served.Round(time.Millisecond))
			})
		}
		if zk, zkd := results[harness.KindZooKeeper], results[harness.KindZkd]; zk > 0 && zkd > 0 {
			t.Logf("%s, start to serving with %d znodes: ZooKeeper %v, zkd %v (zkd/ZooKeeper = %.2f)",
				mode.name, n, zk.Round(time.Millisecond), zkd.Round(time.Millisecond), zkd.Seconds()/zk.Seconds())
		}
	}
}

func dirBytes(dir string) int64 {
	var total int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			total += fi.Size()
		}
		return nil
	})
	return total
}

// TestBenchSnapshotStall: the longest getData latency a client sees, doing
// back-to-back reads, while zkd snapshots n znodes; and the same client's
// latencies outside the snapshot for comparison.
func TestBenchSnapshotStall(t *testing.T) {
	benchOnly(t)
	n := harness.EnvInt(t, "ZKD_BENCH_NODES", 200000)
	// No snapshot while populating (the size trigger off too), so that the
	// one measured below falls where snapCount puts it.
	srv := harness.Zkd(t, harness.WithConfig("snapCount", "100000000"), harness.WithConfig("snapSizeLimitInKb", "0"),
		harness.WithStartTimeout(10*time.Minute))
	took := populate(t, srv.Addr, n)
	t.Logf("populated %d znodes in %v", n, took.Round(time.Millisecond))
	srv.Stop()
	// Arrange for the next snapshot to fall 300 entries into the measurement.
	recs, _ := walRecords(t, srv.DataDir)
	var last uint64
	for _, r := range recs {
		if r.Entry != nil {
			last = max(last, r.Entry.GetIndex())
		}
	}
	cfg, err := os.ReadFile(srv.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = regexp.MustCompile(`(?m)^snapCount=.*$`).ReplaceAll(cfg, []byte("snapCount="+strconv.FormatUint(last+300, 10)))
	if err := os.WriteFile(srv.ConfigPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	srv.Restart(t)
	snapDir := filepath.Join(srv.DataDir, "snap")
	before := len(currentSnapshots(t, srv.DataDir))

	reader := dial(t, srv.Addr, 30*time.Second)
	writer := dial(t, srv.Addr, 30*time.Second)
	type sample struct {
		at  time.Time
		lat time.Duration
	}
	var samples []sample
	stop := make(chan struct{})
	readDone := make(chan error, 1)
	go func() {
		p := benchPath(0)
		for {
			select {
			case <-stop:
				readDone <- nil
				return
			default:
			}
			s := time.Now()
			if _, _, err := reader.Get(p); err != nil {
				readDone <- err
				return
			}
			samples = append(samples, sample{s, time.Since(s)})
		}
	}()
	var snapSeen time.Time
	var writeSamples []sample
	writes := 0
	deadline := time.Now().Add(5 * time.Minute)
	for snapSeen.IsZero() || time.Since(snapSeen) < time.Second {
		if time.Now().After(deadline) {
			close(stop)
			<-readDone
			t.Fatalf("no snapshot appeared in %s within 5 minutes (%d writes)", snapDir, writes)
		}
		s := time.Now()
		if _, err := writer.Set(benchPath(1), []byte(strconv.Itoa(writes)), -1); err != nil {
			t.Fatal(err)
		}
		writeSamples = append(writeSamples, sample{s, time.Since(s)})
		writes++
		if snapSeen.IsZero() && len(currentSnapshots(t, srv.DataDir)) > before {
			snapSeen = time.Now()
		}
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	if err := <-readDone; err != nil {
		t.Fatal(err)
	}
	lats := make([]time.Duration, len(samples))
	var maxLat time.Duration
	var maxAt time.Time
	for i, s := range samples {
		lats[i] = s.lat
		if s.lat > maxLat {
			maxLat, maxAt = s.lat, s.at
		}
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	pct := func(p float64) time.Duration { return lats[int(p*float64(len(lats)-1))] }
	t.Logf("snapshot of %d znodes: file seen %v into the write phase; %d reads: p50 %v p99 %v p99.9 %v max %v (at %v before the file was seen)",
		n, snapSeen.Sub(samples[0].at).Round(time.Millisecond), len(lats), pct(0.5), pct(0.99), pct(0.999), maxLat, snapSeen.Sub(maxAt).Round(time.Millisecond))
	// The snapshot is due at about the 297th write (the new leader's empty
	// entry and two createSessions come first).
	var early, during, late time.Duration
	for i, w := range writeSamples {
		switch {
		case i < 290:
			early = max(early, w.lat)
		case w.at.Before(snapSeen):
			during = max(during, w.lat)
		default:
			late = max(late, w.lat)
		}
	}
	t.Logf("%d writes (setData, one at a time): max latency %v before the snapshot was due, %v while it was written, %v after",
		writes, early, during, late)
	files, err := storage.ListSnapshotFiles(snapDir)
	if err == nil && len(files) > 0 {
		f := files[len(files)-1]
		t.Logf("snapshot %s: %d bytes", filepath.Base(f.Path), fileSize(t, f.Path))
	}
}

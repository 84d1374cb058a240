package client

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd-io/zkd/proto"
)

// The comparison benchmarks run the same operations through this client
// and through go-zookeeper, each on one session to the same in-process
// zkd, so the ratio of their ns/op is the clients' difference:
//
//	go test -run '^$' -bench Compare -benchtime 2s -count 3 ./client/
//
// get and set are synchronous (one request in flight); get-parallel-32 has
// 32 goroutines sharing the one session, so both clients pipeline, and
// also reports ops/s. The node holds 128 bytes.

const compareParallel = 32

// benchOps is what one benchmark needs from a client.
type benchOps struct {
	get func(path string) error
	set func(path string, data []byte) error
}

func BenchmarkCompare(b *testing.B) {
	addr := startServer(b).Addr().String()
	data := make([]byte, 128)
	ctx := ctxT(b, 10*time.Minute) // bounds a hung request; runs are far shorter

	c := connect(b, addr)
	const path = "/compare"
	if _, err := c.Create(ctx, path, data, proto.OpenACLUnsafe, ModePersistent); err != nil {
		b.Fatalf("create %s: %v", path, err)
	}
	ours := benchOps{
		get: func(p string) error { _, _, err := c.Get(ctx, p); return err },
		set: func(p string, d []byte) error { _, err := c.Set(ctx, p, d, -1); return err },
	}
	gz := gozkConnect(b, addr)
	theirs := benchOps{
		get: func(p string) error { _, _, err := gz.Get(p); return err },
		set: func(p string, d []byte) error { _, err := gz.Set(p, d, -1); return err },
	}
	clients := []struct {
		name string
		ops  benchOps
	}{{"client", ours}, {"go-zookeeper", theirs}}

	for _, cl := range clients {
		b.Run("get/"+cl.name, func(b *testing.B) {
			for b.Loop() {
				if err := cl.ops.get(path); err != nil {
					b.Fatalf("get: %v", err)
				}
			}
		})
	}
	for _, cl := range clients {
		b.Run("set/"+cl.name, func(b *testing.B) {
			for b.Loop() {
				if err := cl.ops.set(path, data); err != nil {
					b.Fatalf("set: %v", err)
				}
			}
		})
	}
	for _, cl := range clients {
		b.Run("get-parallel-32/"+cl.name, func(b *testing.B) {
			parallel(b, compareParallel, func() error { return cl.ops.get(path) })
		})
	}
}

// parallel runs op b.N times over n goroutines and reports ops/s.
func parallel(b *testing.B, n int, op func() error) {
	var next atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) && firstErr.Load() == nil {
				if err := op(); err != nil {
					firstErr.CompareAndSwap(nil, &err)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err := firstErr.Load(); err != nil {
		b.Fatalf("op: %v", *err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
}

// gozkConnect opens a go-zookeeper session, waits until it is established,
// and closes it when the benchmark ends.
func gozkConnect(b *testing.B, addr string) *zk.Conn {
	b.Helper()
	conn, events, err := zk.Connect([]string{addr}, 4*time.Second, zk.WithLogger(quietLogger{}))
	if err != nil {
		b.Fatalf("zk.Connect(%s): %v", addr, err)
	}
	b.Cleanup(conn.Close)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return conn
			}
		case <-deadline:
			b.Fatalf("go-zookeeper: no session with %s within 10s", addr)
		}
	}
}

// quietLogger drops go-zookeeper's connection log.
type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

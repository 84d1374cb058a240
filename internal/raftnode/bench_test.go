package raftnode

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkProposeApply measures a write's full path on a one-member group:
// propose, WAL append with fdatasync, commit, apply, wake the proposer.
// fsyncs/op below 1 under parallel load shows group commit at work: one
// Ready, one Save, one fdatasync for every proposal that arrived meanwhile.
func BenchmarkProposeApply(b *testing.B) {
	for _, bc := range []struct {
		name        string
		parallelism int // goroutines per GOMAXPROCS; 0 = one proposer
	}{
		{"sequential", 0},
		{"parallel-16", 16},
		{"parallel-64", 64},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := testConfig(b, b.TempDir())
			cfg.SnapCount = 1 << 40 // measure the write path only
			sm := newListSM()
			n := mustStart(b, cfg, sm)
			defer n.Stop()
			payload := make([]byte, 100)
			var seq atomic.Uint64
			op := func() {
				id := seq.Add(1)
				data := fmt.Appendf(payload[:0:0], "%016x%s", id, payload[16:])
				ch := sm.register(string(data))
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := n.Propose(ctx, data); err != nil {
					b.Error(err)
					return
				}
				select {
				case <-ch:
				case <-ctx.Done():
					b.Error("not applied within 10s")
				}
			}
			start := n.Stats().WALSyncs
			b.ReportAllocs()
			b.ResetTimer()
			if bc.parallelism == 0 {
				for b.Loop() {
					op()
				}
			} else {
				b.SetParallelism(bc.parallelism)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						op()
					}
				})
			}
			b.StopTimer()
			b.ReportMetric(float64(n.Stats().WALSyncs-start)/float64(b.N), "fsyncs/op")
		})
	}
}

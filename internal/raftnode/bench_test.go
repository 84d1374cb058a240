package raftnode

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
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

// bigSnapSM applies nothing but wakes proposers; its snapshot is size bytes
// of incompressible-looking data, standing in for a large znode tree.
type bigSnapSM struct {
	*listSM
	size int
}

func (s *bigSnapSM) Apply(e *raftpb.Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.waiters[string(e.GetData())]; ok && len(e.GetData()) > 0 {
		close(ch)
		delete(s.waiters, string(e.GetData()))
	}
}

func (s *bigSnapSM) Snapshot() (func(io.Writer) error, error) {
	size := s.size
	return func(w io.Writer) error {
		buf := make([]byte, 64<<10)
		for i := range buf {
			buf[i] = byte(i*7919 + i>>8)
		}
		for left := size; left > 0; left -= len(buf) {
			if _, err := w.Write(buf[:min(left, len(buf))]); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

func (s *bigSnapSM) Restore(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

// BenchmarkSnapshotStall measures how long a write can stall while a large
// snapshot file is written and synced: one proposer writes back to back on a
// one-member group, a 100 MiB snapshot falls due after 200 entries, and the
// longest propose-to-apply latency while the snapshot is in flight (and
// 200 ms after) is reported as max-stall-ms, with the 99th percentile while
// it is in flight (p99-snap-ms), next to the same figures for the writes
// before it (max-idle-ms, p99-idle-ms) as the machine's noise floor. The
// first snapshot ends when its file is written (the next one may fall due
// at once when writes outpace it).
// Each iteration takes under a second:
//
//	go test -run xxx -bench SnapshotStall -benchtime=1x -count=5 ./internal/raftnode/
func BenchmarkSnapshotStall(b *testing.B) {
	const snapSize = 100 << 20
	for b.Loop() {
		b.StopTimer()
		cfg := testConfig(b, b.TempDir())
		cfg.SnapCount = 200
		sm := &bigSnapSM{listSM: newListSM(), size: snapSize}
		n := mustStart(b, cfg, sm)
		var idle, stall time.Duration
		var idleLats, snapLats []time.Duration
		var seenSnap bool
		var doneAt time.Time
		deadline := time.Now().Add(10 * time.Second)
		b.StartTimer()
		for i := 0; ; i++ {
			if time.Now().After(deadline) {
				b.Fatal("snapshot not finished within 10s")
			}
			snapping := n.snapping.Load()
			data := fmt.Sprintf("w-%08d", i)
			ch := sm.register(data)
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := n.Propose(ctx, []byte(data)); err != nil {
				cancel()
				b.Fatal(err)
			}
			select {
			case <-ch:
			case <-ctx.Done():
				cancel()
				b.Fatal("write not applied within 10s")
			}
			cancel()
			lat := time.Since(start)
			if seenSnap && doneAt.IsZero() && n.Stats().Snapshots > 0 {
				doneAt = time.Now()
			}
			switch {
			case doneAt.IsZero() && (snapping || n.snapping.Load()):
				stall = max(stall, lat)
				snapLats = append(snapLats, lat)
				seenSnap = true
			case !seenSnap:
				idle = max(idle, lat)
				idleLats = append(idleLats, lat)
			default:
				if doneAt.IsZero() {
					doneAt = time.Now()
				}
				stall = max(stall, lat)
			}
			if !doneAt.IsZero() && time.Since(doneAt) > 200*time.Millisecond {
				break
			}
		}
		b.StopTimer()
		n.Stop()
		b.ReportMetric(float64(stall)/1e6, "max-stall-ms")
		b.ReportMetric(float64(idle)/1e6, "max-idle-ms")
		b.ReportMetric(float64(p99(snapLats))/1e6, "p99-snap-ms")
		b.ReportMetric(float64(p99(idleLats))/1e6, "p99-idle-ms")
		b.ReportMetric(float64(len(snapLats)), "writes-during-snap")
		b.StartTimer()
	}
}

func p99(lats []time.Duration) time.Duration {
	if len(lats) == 0 {
		return 0
	}
	s := slices.Clone(lats)
	slices.Sort(s)
	return s[len(s)*99/100]
}

package raftnode

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zkd-io/zkd/internal/storage"
)

// startSizeTriggered starts a lone node whose snapshots only the size
// trigger takes, with SnapBytes 20 KiB (due past 10 KiB, by 20 KiB).
func startSizeTriggered(t *testing.T) (*Node, *listSM) {
	t.Helper()
	cfg := testConfig(t, t.TempDir())
	cfg.SnapCount = 1 << 40
	cfg.SnapBytes = 20 << 10
	sm := newListSM()
	return mustStart(t, cfg, sm), sm
}

// proposeKiB proposes entries numbered from up to to (not included), each
// of 1 KiB, and waits for each to apply.
func proposeKiB(t *testing.T, n *Node, sm *listSM, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		proposeWait(t, n, sm, fmt.Sprintf("%04d%s", i, strings.Repeat("x", 1020)))
	}
}

// stillSnapshots checks, after a moment for a snapshot wrongly due to
// start, that want snapshots were written.
func stillSnapshots(t *testing.T, n *Node, want uint64, when string) {
	t.Helper()
	time.Sleep(50 * time.Millisecond)
	if got := n.Stats().Snapshots; got != want {
		t.Fatalf("snapshots %s: got %d, want %d", when, got, want)
	}
}

// waitSnapshots waits until no snapshot is in flight and at least want
// snapshot files were written.
func waitSnapshots(t testing.TB, n *Node, want uint64) {
	t.Helper()
	eventually(t, 5*time.Second, "snapshots written", func() bool {
		return n.Stats().Snapshots >= want && !n.snapping.Load()
	})
}

// proposeUntilSnapshots writes until want snapshots are on disk. A
// snapshot that falls due while another is being written is taken at the
// next apply after that one finishes, so the entry count alone does not
// say how many snapshots there will be.
func proposeUntilSnapshots(t testing.TB, n *Node, sm *listSM, prefix string, want uint64) {
	t.Helper()
	for i := 0; n.Stats().Snapshots < want; i++ {
		if i == 2000 {
			t.Fatalf("got %d snapshots after %d writes, want %d", n.Stats().Snapshots, i, want)
		}
		proposeWait(t, n, sm, fmt.Sprintf("%s-%05d", prefix, i))
	}
	waitSnapshots(t, n, want)
}

func TestSnapshotCompactsAndRestartUsesIt(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.SnapCount, cfg.SnapCatchUpEntries = 20, 5
	sm1 := newListSM()
	n := mustStart(t, cfg, sm1)
	proposeUntilSnapshots(t, n, sm1, "s", 4)
	first, err := n.ms.FirstIndex()
	if err != nil {
		t.Fatal(err)
	}
	snap, err := n.ms.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	snapIdx := snap.GetMetadata().GetIndex()
	// Each snapshot falls due after more than half of SnapCount entries.
	if least := 4 * (cfg.SnapCount/2 + 1); snapIdx < least {
		t.Fatalf("in-memory snapshot index: got %d, want >= %d after 4 snapshots with SnapCount %d", snapIdx, least, cfg.SnapCount)
	}
	if want := snapIdx - cfg.SnapCatchUpEntries + 1; first != want {
		t.Fatalf("first in-memory log index: got %d, want %d (snapshot %d minus the %d-entry catch-up tail)",
			first, want, snapIdx, cfg.SnapCatchUpEntries)
	}
	if got := len(snapFiles(t, cfg.SnapDir)); got < 4 {
		t.Fatalf("snapshot files: got %d, want >= 4 (no retention configured)", got)
	}
	before := sm1.snapshotOf()
	n.Stop()

	sm2 := newListSM()
	n = mustStart(t, cfg, sm2)
	defer n.Stop()
	if sm2.restoredAt < snapIdx {
		t.Fatalf("restored from index %d, want the newest snapshot (>= %d)", sm2.restoredAt, snapIdx)
	}
	// Only the tail after the snapshot goes through Apply again.
	sm2.mu.Lock()
	calls := sm2.applyCalls
	sm2.mu.Unlock()
	if maxTail := int(before[len(before)-1].Index-sm2.restoredAt) + 1; calls > maxTail {
		t.Fatalf("Apply calls after restart: got %d, want <= %d (entries after snapshot %d, plus the new leader's)", calls, maxTail, sm2.restoredAt)
	}
	after := sm2.snapshotOf()
	if len(after) < len(before) || !slices.EqualFunc(after[:len(before)], before, recEqual) {
		t.Fatalf("state after restart differs from before:\n got %v\nwant %v", after, before)
	}
}

func recEqual(a, b rec) bool {
	return a.Index == b.Index && a.Term == b.Term && string(a.Data) == string(b.Data)
}

func TestSnapshotDoesNotStallApply(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SnapCount = 10
	sm := newListSM()
	block := make(chan struct{})
	sm.snapBlock = block
	n := mustStart(t, cfg, sm)
	defer n.Stop()
	defer func() {
		select {
		case <-block:
		default:
			close(block)
		}
	}()
	for _, p := range payloads("a", 10) {
		proposeWait(t, n, sm, p)
	}
	eventually(t, 2*time.Second, "snapshot started", n.snapping.Load)
	// The serializer is blocked; apply must keep going.
	for _, p := range payloads("b", 40) {
		proposeWait(t, n, sm, p)
	}
	if got := n.Stats().Snapshots; got != 0 {
		t.Fatalf("snapshots written while the serializer is blocked: got %d, want 0 (at most one in flight)", got)
	}
	if !n.snapping.Load() {
		t.Fatal("snapshot no longer in progress while its serializer is blocked")
	}
	close(block)
	waitSnapshots(t, n, 1)
	// 40 more entries were applied meanwhile, so the next one follows.
	proposeWait(t, n, sm, "c")
	waitSnapshots(t, n, 2)
}

func TestRestartFallsBackWhenNewestSnapshotIsCorrupt(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SnapCount = 10
	sm1 := newListSM()
	n := mustStart(t, cfg, sm1)
	proposeUntilSnapshots(t, n, sm1, "f", 3)
	for _, p := range payloads("tail", 5) {
		proposeWait(t, n, sm1, p)
	}
	before := sm1.snapshotOf()
	n.Stop()

	// The tail may have started one more snapshot that Stop cut short
	// before the WAL recorded it; recovery ignores such a file. Corrupt the
	// snapshot recovery would pick, the newest one the WAL records.
	st, rec, err := storage.Open(cfg.WALDir, cfg.SnapDir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if rec.Snapshot == nil {
		t.Fatal("no snapshot recorded in the WAL after 3 were taken")
	}
	newest := filepath.Join(cfg.SnapDir, storage.SnapshotFileName(*rec.Snapshot))
	b, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(newest, b, 0o600); err != nil {
		t.Fatal(err)
	}

	sm2 := newListSM()
	n = mustStart(t, cfg, sm2)
	defer n.Stop()
	if sm2.restoredAt == 0 {
		t.Fatal("restored from no snapshot, want the older valid one")
	}
	after := sm2.snapshotOf()
	if len(after) < len(before) || !slices.EqualFunc(after[:len(before)], before, recEqual) {
		t.Fatalf("state after fallback differs:\n got %v\nwant %v", after, before)
	}
	if _, err := os.Stat(newest + ".broken"); err != nil {
		t.Fatalf("corrupt snapshot not set aside: %v", err)
	}
}

func TestRetentionPurgesOldSnapshots(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SnapCount, cfg.SnapRetainCount = 10, 2
	sm := newListSM()
	n := mustStart(t, cfg, sm)
	defer n.Stop()
	proposeUntilSnapshots(t, n, sm, "p", 4)
	if got := len(snapFiles(t, cfg.SnapDir)); got != 2 {
		t.Fatalf("snapshot files with SnapRetainCount 2: got %d, want 2", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Purge(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if got := len(snapFiles(t, cfg.SnapDir)); got != 1 {
		t.Fatalf("snapshot files after Purge(1): got %d, want 1", got)
	}
	if err := n.Purge(ctx, 0); err == nil {
		t.Fatal("Purge(0): got nil error, want one")
	}
}

func TestStopAbortsSnapshotInProgress(t *testing.T) {
	base := runtime.NumGoroutine()
	cfg := testConfig(t, t.TempDir())
	cfg.SnapCount = 5
	sm := newListSM()
	sm.snapEndless = true
	n := mustStart(t, cfg, sm)
	for _, p := range payloads("x", 5) {
		proposeWait(t, n, sm, p)
	}
	eventually(t, 2*time.Second, "snapshot started", n.snapping.Load)
	stopped := make(chan struct{})
	go func() { n.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return while a snapshot was being written")
	}
	checkNoLeak(t, base)
	if m, _ := filepath.Glob(filepath.Join(cfg.SnapDir, "*.tmp")); len(m) != 0 {
		t.Fatalf("got leftover temp files %v after an aborted snapshot, want none", m)
	}
	if got := n.Stats().Snapshots; got != 0 {
		t.Fatalf("snapshots written: got %d, want 0", got)
	}
}

// TestRestartUndoesSpeculativeRestoreOfUnrecordedSnapshot: a restart starts
// restoring the newest snapshot file before the WAL says which snapshot to
// trust. A file the WAL does not record (its writer crashed before
// recording it) must leave no trace: here the WAL records no snapshot at
// all, so the state is the replayed log alone.
func TestRestartUndoesSpeculativeRestoreOfUnrecordedSnapshot(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	sm1 := newListSM()
	n := mustStart(t, cfg, sm1)
	for _, p := range payloads("w", 5) {
		proposeWait(t, n, sm1, p)
	}
	want := sm1.data()
	n.Stop()

	bogus := newListSM()
	bogus.ents = []rec{{Index: 1000, Term: 1, Data: []byte("bogus")}}
	ser, err := bogus.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	st, rec, err := storage.Open(cfg.WALDir, cfg.SnapDir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Snapshot != nil {
		t.Fatalf("WAL records snapshot %d; the test needs none", rec.Snapshot.Index)
	}
	if err := st.WriteSnapshot(storage.SnapshotMeta{Index: 1000, Term: 1}, ser); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	sm2 := newListSM()
	n = mustStart(t, cfg, sm2)
	defer n.Stop()
	if got := sm2.data(); !slices.Equal(got, want) {
		t.Fatalf("state after restart: got %q, want %q (the log only)", got, want)
	}
}

// TestSnapshotDueAtRandomPastHalf: as in ZooKeeper, a snapshot falls due
// past half of SnapCount entries (or SnapBytes bytes) and by all of it, at
// a point drawn anew after each snapshot.
func TestSnapshotDueAtRandomPastHalf(t *testing.T) {
	cfg := Config{SnapCount: 1000, SnapBytes: 1 << 20}
	var d snapDue
	seen := map[uint64]bool{}
	for range 200 {
		d.roll(cfg)
		first := uint64(0)
		for e := uint64(1); e <= cfg.SnapCount; e++ {
			if d.due(cfg, e, 0, cfg.SnapBytes) {
				first = e
				break
			}
		}
		if first <= cfg.SnapCount/2 || first > cfg.SnapCount {
			t.Fatalf("due after %d entries, want in (%d, %d]", first, cfg.SnapCount/2, cfg.SnapCount)
		}
		for _, limit := range []uint64{cfg.SnapBytes, 5 * cfg.SnapBytes, 1, math.MaxUint64} {
			if d.due(cfg, 0, limit/2, limit) || !d.due(cfg, 0, limit, limit) {
				t.Fatalf("limit %d: bytes threshold %d outside (%d, %d]", limit, d.byteThreshold(limit), limit/2, limit)
			}
		}
		seen[first] = true
	}
	if len(seen) < 50 {
		t.Fatalf("200 rolls gave %d distinct due points, want them spread", len(seen))
	}
	small := Config{SnapCount: 2, SnapBytes: 2}
	d.roll(small)
	if d.due(small, 1, 0, small.SnapBytes) || !d.due(small, 2, 0, small.SnapBytes) {
		t.Fatal("SnapCount 2: want a snapshot due after exactly 2 entries")
	}
}

// TestSnapshotsOncePerStateOfLog: on a member holding a state larger than
// SnapBytes, the next snapshot waits for more than half of that state's size
// in log, not for half of SnapBytes.
func TestSnapshotsOncePerStateOfLog(t *testing.T) {
	n, sm := startSizeTriggered(t)
	defer n.Stop()
	proposeWait(t, n, sm, strings.Repeat("b", 100<<10)) // a state of 100 KiB
	waitSnapshots(t, n, 1)
	if got := n.snapSize.Load(); got < 100<<10 {
		t.Fatalf("last snapshot size %d, want at least the 100 KiB state", got)
	}
	proposeKiB(t, n, sm, 0, 45) // 45 KiB: past SnapBytes, under half of the state
	stillSnapshots(t, n, 1, "after 45 KiB of log behind a 100 KiB snapshot")
	proposeKiB(t, n, sm, 45, 101)
	waitSnapshots(t, n, 2)
}

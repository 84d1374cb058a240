package storage

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

// recordHandler keeps every record it is given.
type recordHandler struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

// find returns the attributes of the records with message msg at level.
func (h *recordHandler) find(msg string, level slog.Level) []map[string]slog.Value {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]slog.Value
	for _, r := range h.recs {
		if r.Message != msg || r.Level != level {
			continue
		}
		attrs := map[string]slog.Value{}
		r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value; return true })
		out = append(out, attrs)
	}
	return out
}

func TestSlowSyncWarning(t *testing.T) {
	walDir, snapDir := dirs(t)
	h := &recordHandler{}
	s, _, err := Open(walDir, snapDir, slog.New(h))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ents := mkEnts(1, 4, 1, 10)

	// Default threshold: a sync on a test disk takes far less than 1 s.
	saveEach(t, s, ents[:1])
	if got := s.Stats().SlowSyncs; got != 0 {
		t.Fatalf("SlowSyncs at the default threshold: got %d, want 0", got)
	}

	// Threshold 0: every sync is slow; one warning, naming the segment.
	s.SetSlowSyncThreshold(0)
	saveEach(t, s, ents[1:2])
	warns := h.find("slow fsync", slog.LevelWarn)
	if len(warns) != 1 {
		t.Fatalf("slow fsync warnings: got %d, want 1", len(warns))
	}
	w := warns[0]
	if f := w["file"].String(); filepath.Dir(f) != walDir || !strings.HasSuffix(f, ".wal") {
		t.Errorf("file: got %q, want a .wal segment in %s", f, walDir)
	}
	if d := w["took"].Duration(); d <= 0 {
		t.Errorf("took: got %v, want > 0", d)
	}
	if th := w["threshold"].Duration(); th != 0 {
		t.Errorf("threshold: got %v, want 0", th)
	}
	if got := s.Stats().SlowSyncs; got != 1 {
		t.Errorf("SlowSyncs: got %d, want 1", got)
	}

	// Within slowSyncLogInterval: counted, not logged; the next warning
	// says how many were left out.
	saveEach(t, s, ents[2:3])
	if got, n := s.Stats().SlowSyncs, len(h.find("slow fsync", slog.LevelWarn)); got != 2 || n != 1 {
		t.Errorf("second slow sync within the interval: got %d counted, %d logged, want 2, 1", got, n)
	}
	s.lastSlowLog.Store(time.Now().Add(-2 * slowSyncLogInterval).UnixNano())
	saveEach(t, s, ents[3:4])
	warns = h.find("slow fsync", slog.LevelWarn)
	if len(warns) != 2 || warns[1]["not_logged_since_last"].Uint64() != 1 {
		t.Errorf("warning after the interval: got %d warnings (last %v), want 2 with not_logged_since_last=1", len(warns), warns)
	}

	// A snapshot file is checked too, and named.
	s.lastSlowLog.Store(0)
	if err := s.WriteSnapshot(SnapshotMeta{Index: 4, Term: 1}, func(w io.Writer) error {
		_, err := w.Write([]byte("state"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	warns = h.find("slow fsync", slog.LevelWarn)
	if last := warns[len(warns)-1]; last["sync"].String() != "snapshot file" || filepath.Dir(last["file"].String()) != snapDir {
		t.Errorf("snapshot sync warning: got %v, want sync=snapshot file in %s", last, snapDir)
	}

	// Negative: off.
	s.SetSlowSyncThreshold(-1)
	before := s.Stats().SlowSyncs
	saveEach(t, s, mkEnts(5, 5, 1, 10))
	if got := s.Stats().SlowSyncs; got != before {
		t.Errorf("SlowSyncs with the warning off: got %d, want %d", got, before)
	}
}

// TestEtcdSlowSyncDemoted: etcd's own fixed-threshold warning, which names
// no file, is kept at debug level; storage's replaces it.
func TestEtcdSlowSyncDemoted(t *testing.T) {
	h := &recordHandler{}
	zl := newZapLogger(h)
	zl.Warn(etcdSlowSync, zap.Duration("took", 2*time.Second))
	zl.Warn("created a new WAL segment")
	if got := len(h.find(etcdSlowSync, slog.LevelDebug)); got != 1 {
		t.Errorf("etcd slow fdatasync at debug: got %d records, want 1", got)
	}
	if got := len(h.find(etcdSlowSync, slog.LevelWarn)); got != 0 {
		t.Errorf("etcd slow fdatasync at warn: got %d records, want 0", got)
	}
	if got := len(h.find("created a new WAL segment", slog.LevelWarn)); got != 1 {
		t.Errorf("other etcd warnings: got %d records, want 1 (unchanged)", got)
	}
}

package storage

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/raft/v3/raftpb"
)

func TestMain(m *testing.M) {
	// Small preallocated segments keep the tests' disk use low; tests that
	// need several segments shrink it further.
	wal.SegmentSizeBytes = 1 << 20
	// The zero filler runs on every file system, so that its tests do.
	zeroFillAlways = true
	// The tail is filled when a test asks (fillTail), not on a timer.
	zeroTailAfter = time.Hour
	os.Exit(m.Run())
}

// segmentSize makes the WAL's segments n bytes for the rest of the test.
func segmentSize(t testing.TB, n int64) {
	old := wal.SegmentSizeBytes
	wal.SegmentSizeBytes = n
	t.Cleanup(func() { wal.SegmentSizeBytes = old })
}

// testLogger sends log records to t.Log so they show only on failure or -v.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func dirs(t testing.TB) (walDir, snapDir string) {
	root := t.TempDir()
	return filepath.Join(root, "wal"), filepath.Join(root, "snap")
}

func mkEnts(from, to, term uint64, size int) []*raftpb.Entry {
	var out []*raftpb.Entry
	for i := from; i <= to; i++ {
		d := fmt.Appendf(nil, "entry-%06d-", i)
		for len(d) < size {
			d = append(d, 'x')
		}
		out = append(out, &raftpb.Entry{Term: new(term), Index: new(i), Type: raftpb.EntryNormal.Enum(), Data: d})
	}
	return out
}

func hs(term, commit uint64) *raftpb.HardState {
	return &raftpb.HardState{Term: new(term), Vote: new(uint64(1)), Commit: new(commit)}
}

func mustOpen(t testing.TB, walDir, snapDir string) (*Storage, *Recovered) {
	t.Helper()
	s, rec, err := Open(walDir, snapDir, testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s, rec
}

// saveEach saves entries one Save (and one sync) at a time, committing each.
func saveEach(t testing.TB, s *Storage, ents []*raftpb.Entry) {
	t.Helper()
	for _, e := range ents {
		if err := s.Save(hs(e.GetTerm(), e.GetIndex()), []*raftpb.Entry{e}); err != nil {
			t.Fatalf("Save(%d): %v", e.GetIndex(), err)
		}
	}
}

func checkEnts(t testing.TB, got, want []*raftpb.Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].GetIndex() != want[i].GetIndex() || got[i].GetTerm() != want[i].GetTerm() || !bytes.Equal(got[i].GetData(), want[i].GetData()) {
			t.Fatalf("entry %d: got index %d term %d data %q, want index %d term %d data %q", i,
				got[i].GetIndex(), got[i].GetTerm(), got[i].GetData(), want[i].GetIndex(), want[i].GetTerm(), want[i].GetData())
		}
	}
}

func walSegments(t testing.TB, walDir string) []string {
	t.Helper()
	segs, err := sortedWALFiles(walDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range segs {
		out = append(out, filepath.Join(walDir, s.name))
	}
	return out
}

func TestOpenCreatesMissingDirsAndReopens(t *testing.T) {
	root := t.TempDir()
	walDir := filepath.Join(root, "a", "b", "wal")
	snapDir := filepath.Join(root, "c", "d", "snap")
	s, rec := mustOpen(t, walDir, snapDir)
	if !rec.New {
		t.Fatalf("got New=false on an empty directory, want true")
	}
	want := mkEnts(1, 20, 1, 50)
	if err := s.Save(hs(1, 15), want); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, rec = mustOpen(t, walDir, snapDir)
	defer s.Close()
	if rec.New {
		t.Fatalf("got New=true on reopen, want false")
	}
	if rec.Snapshot != nil {
		t.Fatalf("got snapshot %+v, want none", rec.Snapshot)
	}
	if got := rec.HardState.GetCommit(); got != 15 {
		t.Fatalf("got commit %d, want 15", got)
	}
	checkEnts(t, rec.Entries, want)
}

func TestOpenRefusesBadDirectories(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	strayWAL := filepath.Join(root, "stray-wal")
	if err := os.MkdirAll(strayWAL, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(strayWAL, "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	orphanSnap := filepath.Join(root, "orphan-snap")
	if err := os.MkdirAll(orphanSnap, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(orphanSnap, snapName(1, 10)), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, walDir, snapDir string
		want                  []string
	}{
		{"same dir", filepath.Join(root, "d"), filepath.Join(root, "d"), []string{"must differ"}},
		{"empty wal dir", "", filepath.Join(root, "s1"), []string{"must both be set"}},
		{"snap dir under a file", filepath.Join(root, "w2"), filepath.Join(file, "snap"), []string{"cannot create snapshot directory", filepath.Join(file, "snap")}},
		{"wal dir under a file", filepath.Join(file, "wal"), filepath.Join(root, "s3"), []string{"WAL directory", filepath.Join(file, "wal")}},
		{"wal dir with stray files", strayWAL, filepath.Join(root, "s4"), []string{"not empty", "notes.txt"}},
		{"snapshots without wal", filepath.Join(root, "w5"), orphanSnap, []string{"no WAL", orphanSnap}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, err := Open(tt.walDir, tt.snapDir, testLogger(t))
			if err == nil {
				s.Close()
				t.Fatalf("got nil error, want one containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("got error %q, want it to contain %q", err, w)
				}
			}
		})
	}
	// Nothing in the stray directory may have been deleted.
	if _, err := os.Stat(filepath.Join(strayWAL, "notes.txt")); err != nil {
		t.Fatalf("stray file after Open: got %v, want it untouched", err)
	}
}

func TestOpenUnwritableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions; TestOpenRefusesBadDirectories covers uncreatable paths")
	}
	walDir, snapDir := dirs(t)
	if err := os.MkdirAll(snapDir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(snapDir, 0o700)
	s, _, err := Open(walDir, snapDir, testLogger(t))
	if err == nil {
		s.Close()
		t.Fatal("got nil error for a read-only snapshot directory, want one")
	}
	if !strings.Contains(err.Error(), "not writable") || !strings.Contains(err.Error(), snapDir) {
		t.Fatalf("got %q, want it to say %s is not writable", err, snapDir)
	}
}

func TestLockHeldBySecondOpen(t *testing.T) {
	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	saveEach(t, s, mkEnts(1, 3, 1, 10))

	_, _, err := Open(walDir, snapDir, testLogger(t))
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: got %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), snapDir) || !strings.Contains(err.Error(), "another zkd") {
		t.Fatalf("got %q, want it to name %s and another zkd process", err, snapDir)
	}
	// Same WAL, different snapshot dir: the WAL segment locks catch it.
	_, _, err = Open(walDir, filepath.Join(t.TempDir(), "other-snap"), testLogger(t))
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Open sharing the WAL dir: got %v, want ErrLocked", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = mustOpen(t, walDir, snapDir)
	s.Close()
}

// dataEnd returns the offset after the last non-zero byte: WAL segments are
// preallocated with zeros.
func dataEnd(t testing.TB, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := len(b)
	for i > 0 && b[i-1] == 0 {
		i--
	}
	return int64(i)
}

func TestTornTailRepaired(t *testing.T) {
	const n = 20
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 5 {
		t.Run(fmt.Sprint(iter), func(t *testing.T) {
			walDir, snapDir := dirs(t)
			s, _ := mustOpen(t, walDir, snapDir)
			want := mkEnts(1, n, 1, 40+rng.IntN(300))
			seg := walSegments(t, walDir)[0]
			ends := []int64{dataEnd(t, seg)} // ends[i]: data end after entry i
			for _, e := range want {
				saveEach(t, s, []*raftpb.Entry{e})
				ends = append(ends, dataEnd(t, seg))
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			off := ends[1] + rng.Int64N(ends[n]-ends[1])
			if err := os.Truncate(seg, off); err != nil {
				t.Fatal(err)
			}
			// Entry i survives if all of its Save is before off (allowing 8
			// bytes of zero padding) and cannot if its Save starts at or after off.
			lower, upper := 0, 0
			for i := 1; i <= n; i++ {
				if ends[i]+8 <= off {
					lower = i
				}
				if ends[i-1] < off {
					upper = i
				}
			}
			s, rec := mustOpen(t, walDir, snapDir)
			k := len(rec.Entries)
			if k < lower || k > upper {
				t.Fatalf("truncated at %d: got %d entries, want between %d and %d", off, k, lower, upper)
			}
			checkEnts(t, rec.Entries, want[:k])
			// The repaired WAL takes appends and keeps them.
			next := mkEnts(uint64(k+1), uint64(k+1), 1, 30)
			saveEach(t, s, next)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s, rec = mustOpen(t, walDir, snapDir)
			defer s.Close()
			checkEnts(t, rec.Entries, append(want[:k:k], next...))
		})
	}
}

// walWithFlippedBit writes entries 1..last, one Save each, and flips a bit
// inside entry 10's data in the first segment, which it returns.
func walWithFlippedBit(t *testing.T, last uint64) (walDir, snapDir, seg string) {
	t.Helper()
	walDir, snapDir = dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	saveEach(t, s, mkEnts(1, last, 1, 100))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	seg = walSegments(t, walDir)[0]
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("entry-000010-"))
	if i < 0 {
		t.Fatal("entry 10 not found in the WAL segment")
	}
	b[i+20] ^= 0x01
	if err := os.WriteFile(seg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return walDir, snapDir, seg
}

func TestCRCMismatchInMiddleRefused(t *testing.T) {
	walDir, snapDir, seg := walWithFlippedBit(t, 60)
	for range 2 { // the failed Open must release the lock: the second reports the same problem
		s, _, err := Open(walDir, snapDir, testLogger(t))
		if err == nil {
			s.Close()
			t.Fatal("got nil error for a WAL with a flipped bit in the middle, want one")
		}
		if errors.Is(err, ErrLocked) {
			t.Fatalf("got %v, want a corruption error", err)
		}
		for _, w := range []string{walDir, filepath.Base(seg), "refuses to start"} {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("got %q, want it to contain %q", err, w)
			}
		}
	}
	if _, err := os.Stat(seg + brokenSuffix); err == nil {
		t.Fatalf("a mid-log CRC mismatch was treated as a torn tail (found %s)", seg+brokenSuffix)
	}
}

func TestSaveSyncsOnlyWhenRaftRequires(t *testing.T) {
	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	defer s.Close()
	steps := []struct {
		name string
		hs   *raftpb.HardState
		ents []*raftpb.Entry
		want uint64
	}{
		{"entries", hs(1, 0), mkEnts(1, 5, 1, 10), 1},
		{"commit only", hs(1, 5), nil, 1},
		{"nothing", nil, nil, 1},
		{"new term", hs(2, 5), nil, 2},
		{"more entries batched", hs(2, 5), mkEnts(6, 100, 2, 10), 3},
	}
	for _, st := range steps {
		if err := s.Save(st.hs, st.ents); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := s.Stats().WALSyncs; got != st.want {
			t.Fatalf("%s: got %d WAL syncs, want %d", st.name, got, st.want)
		}
	}
}

func TestCloseTwice(t *testing.T) {
	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: got %v, want nil", err)
	}
}

// TestFlipInZeroedRecordRefused damages a record that holds a run of zero
// bytes, as znode data often does. etcd's reader calls such a record torn
// (a piece of it in one disk sector is all zeros), so only the check for
// complete records after it tells the damage from a crash's torn tail. Both
// the server's Open and ReadWAL (behind `zkd wal dump`) must call it
// corruption at that record.
func TestFlipInZeroedRecordRefused(t *testing.T) {
	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	ents := mkEnts(1, 30, 1, 20)
	for _, e := range ents {
		e.Data = append(e.Data, make([]byte, 1500)...)
	}
	saveEach(t, s, ents)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	recs, _, err := readAllRecords(t, walDir)
	if err != nil {
		t.Fatal(err)
	}
	var mid WALRecord
	for _, r := range recs {
		if r.Type == WALEntry && r.Entry.GetIndex() == 10 {
			mid = r
		}
	}
	seg := filepath.Join(walDir, mid.Segment)
	flipAt(t, seg, mid.Offset+12) // in the entry's header, before the zeros
	_, end, err := readAllRecords(t, walDir)
	var we *WALError
	if !errors.As(err, &we) || we.Path != seg || we.Offset != mid.Offset || !strings.Contains(err.Error(), "complete records follow") {
		t.Fatalf("ReadWAL: got end %+v, err %v; want corruption at %s:%d", end, err, seg, mid.Offset)
	}
	s, _, err = Open(walDir, snapDir, testLogger(t))
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a WAL with a damaged record in the middle")
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("%s at byte offset %d", seg, mid.Offset)) {
		t.Fatalf("Open: got %v, want it to name %s at byte offset %d", err, seg, mid.Offset)
	}
	if _, err := os.Stat(seg + brokenSuffix); err == nil {
		t.Fatal("the damaged record was repaired away as a torn tail")
	}
}

//go:build failpoints && linux

package storage

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Run with: go test -tags failpoints ./internal/storage

// readMark reads the failpoint side file of the WAL in root/wal.
func readMark(t testing.TB, root string) (string, int64) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, FailpointSyncedFile))
	if err != nil {
		t.Fatalf("reading the side file: %v", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 || f[0] == "error" {
		t.Fatalf("side file holds %q, want \"<segment> <offset>\"", b)
	}
	off, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatalf("side file holds %q: %v", b, err)
	}
	return f[0], off
}

// walEnd is where the records in the WAL files end: the newest segment and
// the end of its last complete record. Right after a sync, etcd has
// flushed every record it buffered, so this is the durable end.
func walEnd(t testing.TB, walDir string) (string, int64) {
	t.Helper()
	var seg string
	var end int64
	if _, err := ReadWAL(walDir, func(r *WALRecord) error {
		seg, end = r.Segment, r.Offset+r.Size
		return nil
	}); err != nil {
		t.Fatalf("ReadWAL: %v", err)
	}
	if newest := filepath.Base(walTail(walDir)); newest != seg {
		t.Fatalf("last record is in %s, but the newest segment is %s", seg, newest)
	}
	return seg, end
}

// TestFailpointRecordsDurableEnd checks the side file after synced and
// unsynced writes: right after a sync it names the end of the last record,
// and unsynced writes that reached the file leave it where it was.
func TestFailpointRecordsDurableEnd(t *testing.T) {
	// Above etcd's 128 KiB encoder buffer, so that unsynced records reach
	// the file before a cut; small, so that cuts are cheap.
	segmentSize(t, 256<<10)
	root := t.TempDir()
	walDir, snapDir := filepath.Join(root, "wal"), filepath.Join(root, "snap")
	s, _ := mustOpen(t, walDir, snapDir)
	defer s.Close()

	last := uint64(0) // index of the last entry saved
	saveEnts := func(t *testing.T, n, size int) {
		t.Helper()
		ents := mkEnts(last+1, last+uint64(n), 1, size)
		if err := s.Save(hs(1, last), ents); err != nil {
			t.Fatal(err)
		}
		last += uint64(n)
	}
	// commitOnly saves commit-index HardStates (no sync) until stop says so.
	commitOnly := func(t *testing.T, stop func() bool) {
		t.Helper()
		for i := 0; i < 100_000; i++ {
			if stop() {
				return
			}
			if err := s.Save(hs(1, last), nil); err != nil {
				t.Fatal(err)
			}
		}
		t.Fatalf("condition not reached after 100000 unsynced saves")
	}
	segments := func() int { return len(walSegments(t, walDir)) }

	steps := []struct {
		name string
		do   func(t *testing.T)
		// synced: the step ends with a sync, so the side file must name
		// the end of the records; otherwise it must not move.
		synced bool
	}{
		{"entries", func(t *testing.T) { saveEnts(t, 10, 100) }, true},
		{"unsynced commit-only states reach the file", func(t *testing.T) {
			seg, off := readMark(t, root)
			commitOnly(t, func() bool {
				s, end := walEnd(t, walDir)
				return s == seg && end > off
			})
		}, false},
		{"entries after unsynced states", func(t *testing.T) { saveEnts(t, 1, 100) }, true},
		{"snapshot record", func(t *testing.T) {
			if err := s.RecordSnapshot(SnapshotMeta{Index: last, Term: 1}); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"entries cut a segment", func(t *testing.T) {
			n := segments()
			for i := 0; i < 100 && segments() == n; i++ {
				saveEnts(t, 1, 8<<10)
			}
			if got := segments(); got != n+1 {
				t.Fatalf("got %d segments, want %d", got, n+1)
			}
		}, true},
		{"unsynced states cut a segment", func(t *testing.T) {
			n := segments()
			commitOnly(t, func() bool { return segments() > n })
		}, true},
		{"entries in the new segment", func(t *testing.T) { saveEnts(t, 3, 500) }, true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			beforeSeg, beforeOff := "", int64(-1)
			if _, err := os.Stat(filepath.Join(root, FailpointSyncedFile)); err == nil {
				beforeSeg, beforeOff = readMark(t, root)
			}
			st.do(t)
			seg, off := readMark(t, root)
			endSeg, end := walEnd(t, walDir)
			if st.synced {
				if seg != endSeg || off != end {
					t.Fatalf("got side file %s %d, want the end of the records %s %d", seg, off, endSeg, end)
				}
				return
			}
			if seg != beforeSeg || off != beforeOff {
				t.Fatalf("got side file %s %d after unsynced writes, want it unchanged at %s %d", seg, off, beforeSeg, beforeOff)
			}
			if endSeg != seg || end <= off {
				t.Fatalf("records end at %s %d: the unsynced writes did not reach the file past %d, so this step tests nothing", endSeg, end, off)
			}
		})
	}
}

// TestFailpointDiscardKeepsSynced plays the lose-unsynced nemesis in
// process: copy the WAL as a crash leaves it (unsynced records included),
// zero the copy from the recorded offset on, and reopen it. Every synced
// entry must come back, the unsynced commit index must not.
func TestFailpointDiscardKeepsSynced(t *testing.T) {
	root := t.TempDir()
	walDir, snapDir := filepath.Join(root, "wal"), filepath.Join(root, "snap")
	s, _ := mustOpen(t, walDir, snapDir)
	defer s.Close()
	want := mkEnts(1, 20, 1, 200)
	if err := s.Save(hs(1, 10), want); err != nil {
		t.Fatal(err)
	}
	seg, off := readMark(t, root)
	// Unsynced commit-only states until some reach the file.
	for i := 0; ; i++ {
		if i == 100_000 {
			t.Fatal("unsynced states never reached the file")
		}
		if _, end := walEnd(t, walDir); end > off {
			break
		}
		if err := s.Save(hs(1, 20), nil); err != nil {
			t.Fatal(err)
		}
	}

	crash := t.TempDir()
	crashWAL := filepath.Join(crash, "wal")
	copyWAL(t, walDir, crashWAL)
	for _, tc := range []struct {
		name       string
		discard    bool
		wantCommit uint64
	}{
		// Without the discard the copy shows the unsynced commit index:
		// proof that the discard below has something to remove.
		{"crash only", false, 20},
		{"crash and lose unsynced", true, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "wal")
			copyWAL(t, crashWAL, dir)
			if tc.discard {
				zeroFrom(t, filepath.Join(dir, seg), off)
			}
			s2, rec := mustOpen(t, dir, filepath.Join(filepath.Dir(dir), "snap"))
			defer s2.Close()
			if got := rec.HardState.GetCommit(); got != tc.wantCommit {
				t.Fatalf("got commit %d, want %d", got, tc.wantCommit)
			}
			checkEnts(t, rec.Entries, want)
		})
	}
}

func copyWAL(t testing.TB, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range walSegments(t, from) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, filepath.Base(p)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func zeroFrom(t testing.TB, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		t.Fatal(err)
	}
	if size < off {
		t.Fatalf("%s has %d bytes, fewer than the recorded offset %d", path, size, off)
	}
	if _, err := f.WriteAt(make([]byte, size-off), off); err != nil {
		t.Fatal(fmt.Errorf("zeroing %s from %d: %w", path, off, err))
	}
}

package storage

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rawSnap writes a snapshot with s and returns its file's bytes.
func rawSnap(t *testing.T, s *Storage, meta SnapshotMeta, data []byte) []byte {
	t.Helper()
	err := s.WriteSnapshot(meta, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r, size, err := s.OpenRawSnapshot(meta)
	if err != nil {
		t.Fatalf("OpenRawSnapshot: %v", err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != size {
		t.Fatalf("OpenRawSnapshot size: got %d, read %d bytes", size, len(b))
	}
	return b
}

// onlyLock fails if dir holds anything but the lock file.
func onlyLock(t *testing.T, dir string) {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		if de.Name() != lockName {
			t.Fatalf("found %s, want only %s", de.Name(), lockName)
		}
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestSaveSnapshotFile(t *testing.T) {
	// The sender: a leader's snapshot of 3 chunks and a bit.
	_, srcSnap := dirs(t)
	src, _ := mustOpen(t, filepath.Join(filepath.Dir(srcSnap), "wal"), srcSnap)
	defer src.Close()
	data := payload(7, 3*writeChunkSize+123)
	meta := SnapshotMeta{Index: 40, Term: 3, ConfState: confState(1)}
	raw := rawSnap(t, src, meta, data)

	damaged := func(off int) []byte {
		b := bytes.Clone(raw)
		b[off] ^= 0x01
		return b
	}
	netErr := errors.New("connection reset")
	tests := []struct {
		name string
		meta SnapshotMeta
		body io.Reader
		size int64
		want string // "" = accepted
	}{
		{"intact", meta, bytes.NewReader(raw), int64(len(raw)), ""},
		{"flipped header byte", meta, bytes.NewReader(damaged(20)), int64(len(raw)), "header crc"},
		{"flipped payload byte", meta, bytes.NewReader(damaged(len(raw) / 2)), int64(len(raw)), "crc"},
		{"flipped trailer byte", meta, bytes.NewReader(damaged(len(raw) - 10)), int64(len(raw)), "payload crc"},
		{"stream short of size", meta, bytes.NewReader(raw[:len(raw)-100]), int64(len(raw)), "ended after"},
		{"size short of file", meta, bytes.NewReader(raw), int64(len(raw) - 1), "truncated"},
		{"bytes after trailer", meta, io.MultiReader(bytes.NewReader(raw), strings.NewReader("x")), int64(len(raw)) + 1, "after the trailer"},
		{"other index", SnapshotMeta{Index: 41, Term: 3, ConfState: confState(1)}, bytes.NewReader(raw), int64(len(raw)), "header says term 3 index 40"},
		{"other term", SnapshotMeta{Index: 40, Term: 4, ConfState: confState(1)}, bytes.NewReader(raw), int64(len(raw)), "header says term 3 index 40"},
		{"other conf state", SnapshotMeta{Index: 40, Term: 3, ConfState: confState(1, 2)}, bytes.NewReader(raw), int64(len(raw)), "conf state"},
		{"read error", meta, io.MultiReader(bytes.NewReader(raw[:1000]), failingReader{netErr}), int64(len(raw)), "connection reset"},
		{"not a snapshot", meta, strings.NewReader("hello"), 5, "header"},
		{"negative size", meta, bytes.NewReader(raw), -1, "negative size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			walDir, snapDir := dirs(t)
			s, _ := mustOpen(t, walDir, snapDir)
			defer s.Close()
			err := s.SaveSnapshotFile(tt.meta, tt.body, tt.size)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got error %v, want one containing %q", err, tt.want)
				}
				onlyLock(t, snapDir)
				return
			}
			if err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			got, err := os.ReadFile(filepath.Join(snapDir, snapName(meta.Term, meta.Index)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, raw) {
				t.Fatalf("stored file: got %d bytes, want the %d sent, identical", len(got), len(raw))
			}
			if got := readSnap(t, s, meta); !bytes.Equal(got, data) {
				t.Fatalf("payload read back: got %d bytes, want the %d written, identical", len(got), len(data))
			}
			if m, _ := filepath.Glob(filepath.Join(snapDir, "*"+snapTmpSuffix)); len(m) > 0 {
				t.Fatalf("got temp files %v, want none", m)
			}
		})
	}
}

func TestOpenRawSnapshotMissing(t *testing.T) {
	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	defer s.Close()
	_, _, err := s.OpenRawSnapshot(SnapshotMeta{Index: 9, Term: 1})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want an error wrapping os.ErrNotExist", err)
	}
}

// A received snapshot raft found stale is never recorded; Purge and Open
// delete it once a recorded snapshot is at least as new, and keep newer
// unrecorded files, which may be on their way to being recorded.
func TestStaleUnrecordedSnapshotsRemoved(t *testing.T) {
	for _, via := range []string{"Purge", "Open"} {
		t.Run(via, func(t *testing.T) {
			walDir, snapDir := dirs(t)
			s, _ := mustOpen(t, walDir, snapDir)
			buildLog(t, s, 30, 20, 10, 20)
			writeSnap(t, s, 15, 1, payload(15, 100)) // stale: 20 is recorded
			writeSnap(t, s, 25, 1, payload(25, 100)) // newer: may still be recorded
			writeSnap(t, s, 20, 2, payload(20, 100)) // same index, other term: stale
			if via == "Purge" {
				if err := s.Purge(5); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				var rec *Recovered
				s, rec = mustOpen(t, walDir, snapDir)
				if rec.Snapshot == nil || rec.Snapshot.Index != 20 {
					t.Fatalf("got snapshot %+v, want index 20", rec.Snapshot)
				}
			}
			defer s.Close()
			files, err := listSnapshots(snapDir)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range files {
				got = append(got, f.name)
			}
			want := []string{snapName(1, 10), snapName(1, 20), snapName(1, 25)}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("snapshot files: got %v, want %v", got, want)
			}
		})
	}
}

// A received snapshot recorded in the WAL ahead of the entries (the WAL
// jumps from the follower's old log to the snapshot) is what Open starts
// from, and entries after it follow.
func TestReceivedSnapshotRecordedAheadOfLog(t *testing.T) {
	_, srcSnap := dirs(t)
	src, _ := mustOpen(t, filepath.Join(filepath.Dir(srcSnap), "wal"), srcSnap)
	defer src.Close()
	meta := SnapshotMeta{Index: 500, Term: 4, ConfState: confState(1, 2, 3)}
	data := payload(500, 5000)
	raw := rawSnap(t, src, meta, data)

	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	saveEach(t, s, mkEnts(1, 10, 1, 30))
	if err := s.SaveSnapshotFile(meta, bytes.NewReader(raw), int64(len(raw))); err != nil {
		t.Fatal(err)
	}
	// The raft loop's order for a Ready with a snapshot: record it, then
	// the HardState (commit = snapshot index) and the entries after it.
	if err := s.RecordSnapshot(meta); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(hs(4, 502), mkEnts(501, 502, 4, 30)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, rec := mustOpen(t, walDir, snapDir)
	defer s.Close()
	if rec.Snapshot == nil || rec.Snapshot.Index != 500 || rec.Snapshot.Term != 4 || len(rec.Snapshot.ConfState.GetVoters()) != 3 {
		t.Fatalf("got snapshot %+v, want index 500 term 4 with 3 voters", rec.Snapshot)
	}
	if got := readSnap(t, s, *rec.Snapshot); !bytes.Equal(got, data) {
		t.Fatal("payload of the received snapshot differs from the leader's")
	}
	checkEnts(t, rec.Entries, mkEnts(501, 502, 4, 30))
}

func TestSnapshotWriterSyncsIncrementally(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := &syncWriter{f: f}
	data := payload(3, 5*syncEvery/2+1000)
	for p := data; len(p) > 0; {
		k := min(len(p), 100_000)
		if _, err := w.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
	}
	if got, want := w.syncs, 2; got != want {
		t.Fatalf("incremental syncs for %d bytes: got %d, want %d (one per %d bytes)", len(data), got, want, syncEvery)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("file: got %d bytes, want the %d written, identical", len(got), len(data))
	}
}

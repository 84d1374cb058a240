package storage

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readAllRecords collects every record ReadWAL delivers.
func readAllRecords(t *testing.T, walDir string) ([]WALRecord, WALEnd, error) {
	t.Helper()
	var recs []WALRecord
	end, err := ReadWAL(walDir, func(r *WALRecord) error {
		recs = append(recs, *r)
		return nil
	})
	return recs, end, err
}

// multiSegmentLog writes 300 entries of 4 KB across several 256 KB segments,
// with one snapshot recorded, and closes the storage.
func multiSegmentLog(t *testing.T) (walDir, snapDir string) {
	t.Helper()
	segmentSize(t, 256<<10)
	walDir, snapDir = dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	buildLog(t, s, 300, 4096, 150)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(walSegments(t, walDir)); n < 3 {
		t.Fatalf("got %d segments, want at least 3", n)
	}
	return walDir, snapDir
}

func TestReadWAL(t *testing.T) {
	walDir, _ := multiSegmentLog(t)
	recs, end, err := readAllRecords(t, walDir)
	if err != nil {
		t.Fatalf("ReadWAL: %v", err)
	}
	if end.Torn || end.Segments != len(walSegments(t, walDir)) {
		t.Errorf("got end %+v, want %d segments, not torn", end, len(walSegments(t, walDir)))
	}
	var next uint64 = 1
	types := map[WALRecordType]int{}
	for _, r := range recs {
		types[r.Type]++
		if r.Size <= 8 || r.Offset < 0 {
			t.Errorf("record %s at %s:%d: size %d", r.Type, r.Segment, r.Offset, r.Size)
		}
		if r.Type == WALEntry {
			if got := r.Entry.GetIndex(); got != next {
				t.Fatalf("entry index %d, want %d", got, next)
			}
			next++
		}
	}
	if next != 301 {
		t.Errorf("got entries up to %d, want 300", next-1)
	}
	// One crc and one metadata record per segment; the recorded snapshot
	// plus the empty one the log starts with.
	if segs := len(walSegments(t, walDir)); types[WALCRC] != segs || types[WALMetadata] != segs || types[WALSnapshot] != 2 {
		t.Errorf("got record counts %v, want %d crc, %d metadata, 2 snapshot", types, segs, segs)
	}
	// Offsets are frames: each record starts where the previous ended.
	for i := 1; i < len(recs); i++ {
		if recs[i].Segment == recs[i-1].Segment && recs[i].Offset != recs[i-1].Offset+recs[i-1].Size {
			t.Fatalf("record %d at %d, want %d (previous at %d, %d bytes)", i, recs[i].Offset, recs[i-1].Offset+recs[i-1].Size, recs[i-1].Offset, recs[i-1].Size)
		}
	}
}

func TestReadWALDamage(t *testing.T) {
	tests := []struct {
		name string
		// damage gets the segments and the records; it returns the
		// segment and offset ReadWAL must name, or "" for a torn end.
		damage   func(t *testing.T, segs []string, recs []WALRecord) (string, int64)
		wantTorn bool
		wantErr  string
	}{
		{
			name: "flipped byte in an earlier segment",
			damage: func(t *testing.T, segs []string, recs []WALRecord) (string, int64) {
				r := recordIn(t, recs, filepath.Base(segs[1]), WALEntry)
				flipAt(t, segs[1], r.Offset+r.Size/2)
				return segs[1], r.Offset
			},
			wantErr: "crc mismatch",
		},
		{
			name: "last segment cut inside its last record",
			damage: func(t *testing.T, segs []string, recs []WALRecord) (string, int64) {
				last := recs[len(recs)-1]
				if err := os.Truncate(segs[len(segs)-1], last.Offset+last.Size-3); err != nil {
					t.Fatal(err)
				}
				return "", last.Offset
			},
			wantTorn: true,
		},
		{
			name: "earlier segment cut short",
			damage: func(t *testing.T, segs []string, recs []WALRecord) (string, int64) {
				r := recordIn(t, recs, filepath.Base(segs[0]), WALEntry)
				if err := os.Truncate(segs[0], r.Offset+5); err != nil {
					t.Fatal(err)
				}
				return segs[0], r.Offset
			},
			wantErr: "EOF",
		},
		{
			name: "middle segment missing",
			damage: func(t *testing.T, segs []string, recs []WALRecord) (string, int64) {
				if err := os.Remove(segs[1]); err != nil {
					t.Fatal(err)
				}
				return segs[2], 0
			},
			wantErr: "a segment is missing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			walDir, _ := multiSegmentLog(t)
			recs, _, err := readAllRecords(t, walDir)
			if err != nil {
				t.Fatal(err)
			}
			segs := walSegments(t, walDir)
			path, off := tt.damage(t, segs, recs)
			_, end, err := readAllRecords(t, walDir)
			if tt.wantTorn {
				if err != nil || !end.Torn || end.TornOffset != off || end.TornSegment != filepath.Base(segs[len(segs)-1]) {
					t.Errorf("got end %+v, err %v; want torn at %s:%d", end, err, filepath.Base(segs[len(segs)-1]), off)
				}
				return
			}
			var we *WALError
			if !errors.As(err, &we) {
				t.Fatalf("got %v, want a *WALError", err)
			}
			if we.Path != path || we.Offset != off || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v (path %s offset %d), want %q at %s:%d", err, we.Path, we.Offset, tt.wantErr, path, off)
			}
		})
	}
}

func recordIn(t *testing.T, recs []WALRecord, seg string, typ WALRecordType) WALRecord {
	t.Helper()
	for _, r := range recs {
		if r.Segment == seg && r.Type == typ {
			return r
		}
	}
	t.Fatalf("no %s record in %s", typ, seg)
	return WALRecord{}
}

func flipAt(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestReadWALTakesNoLock(t *testing.T) {
	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	defer s.Close()
	saveEach(t, s, mkEnts(1, 5, 1, 100))
	recs, _, err := readAllRecords(t, walDir)
	if err != nil {
		t.Fatalf("ReadWAL while the WAL is open for writing: %v", err)
	}
	if n := countType(recs, WALEntry); n != 5 {
		t.Errorf("got %d entries, want 5", n)
	}
	// The writer is unaffected.
	saveEach(t, s, mkEnts(6, 6, 1, 100))
	recs, _, _ = readAllRecords(t, walDir)
	if n := countType(recs, WALEntry); n != 6 {
		t.Errorf("after another Save: got %d entries, want 6", n)
	}
}

func countType(recs []WALRecord, typ WALRecordType) int {
	n := 0
	for _, r := range recs {
		if r.Type == typ {
			n++
		}
	}
	return n
}

func TestSnapshotReader(t *testing.T) {
	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	data := payload(7, 700<<10) // three chunks of 256 KB
	meta := writeSnap(t, s, 10, 2, data)
	s.Close()
	path := filepath.Join(snapDir, snapName(meta.Term, meta.Index))

	r, err := OpenSnapshotFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(got) != string(data) {
		t.Fatalf("read %d bytes, err %v; want the %d bytes written", len(got), err, len(data))
	}
	if r.PayloadBytes() != uint64(len(data)) || r.Meta().Index != 10 || r.Meta().Term != 2 {
		t.Errorf("got payload %d meta %+v, want %d bytes at term 2 index 10", r.PayloadBytes(), r.Meta(), len(data))
	}

	// A flip in the second chunk is reported at that chunk's frame.
	hdr, err := encodeHeader(meta)
	if err != nil {
		t.Fatal(err)
	}
	second := int64(len(hdr)) + 8 + writeChunkSize
	flipAt(t, path, second+8+100)
	r, err = OpenSnapshotFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = io.ReadAll(r)
	var se *SnapshotError
	if !errors.As(err, &se) || se.Offset != second || se.Path != path || !errors.Is(err, ErrCorruptSnapshot) {
		t.Errorf("got %v, want a corrupt-snapshot error for %s at offset %d", err, path, second)
	}

	// A header flip fails at open.
	flipAt(t, path, 9)
	if _, err := OpenSnapshotFile(path); !errors.As(err, &se) || se.Offset != 0 {
		t.Errorf("header flip: got %v, want a SnapshotError at offset 0", err)
	}
}

func TestListSnapshotFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{
		snapName(3, 300), snapName(2, 200) + brokenSuffix, snapName(4, 400) + snapTmpSuffix,
		snapName(9, 100), "LOCK", "snap-junk.snap", snapName(1, 50) + ".bak",
		snapName(5, 500) + ".123456" + snapTmpSuffix,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	files, err := ListSnapshotFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f.Path)+":"+f.State.String())
	}
	want := []string{
		snapName(9, 100) + ":current", snapName(2, 200) + brokenSuffix + ":broken",
		snapName(3, 300) + ":current", snapName(4, 400) + snapTmpSuffix + ":unfinished",
		snapName(5, 500) + ".123456" + snapTmpSuffix + ":unfinished",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", got, want)
	}
}

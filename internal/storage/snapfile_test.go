package storage

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

func payload(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.IntN(255) + 1)
	}
	return b
}

func confState(voters ...uint64) *raftpb.ConfState {
	return &raftpb.ConfState{Voters: voters}
}

func writeSnap(t testing.TB, s *Storage, index, term uint64, data []byte) SnapshotMeta {
	t.Helper()
	meta := SnapshotMeta{Index: index, Term: term, ConfState: confState(1)}
	// Write in odd-sized pieces so chunk boundaries fall mid-Write.
	err := s.WriteSnapshot(meta, func(w io.Writer) error {
		for p := data; len(p) > 0; {
			k := min(len(p), 77777)
			if _, err := w.Write(p[:k]); err != nil {
				return err
			}
			p = p[k:]
		}
		return nil
	})
	if err != nil {
		t.Fatalf("WriteSnapshot(%d): %v", index, err)
	}
	return meta
}

func readSnap(t testing.TB, s *Storage, meta SnapshotMeta) []byte {
	t.Helper()
	r, err := s.OpenSnapshot(meta)
	if err != nil {
		t.Fatalf("OpenSnapshot: %v", err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading snapshot: %v", err)
	}
	return b
}

func TestSnapshotRoundTrip(t *testing.T) {
	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	defer s.Close()
	for _, n := range []int{0, 1, writeChunkSize - 1, writeChunkSize, 3*writeChunkSize + 5} {
		data := payload(uint64(n), n)
		meta := writeSnap(t, s, uint64(n)+1, 3, data)
		if got := readSnap(t, s, meta); !bytes.Equal(got, data) {
			t.Fatalf("payload of %d bytes: got %d bytes back, not equal", n, len(got))
		}
		got, err := verifySnapFile(filepath.Join(snapDir, snapName(3, uint64(n)+1)))
		if err != nil {
			t.Fatal(err)
		}
		if got.Index != meta.Index || got.Term != 3 || len(got.ConfState.GetVoters()) != 1 {
			t.Fatalf("header: got index %d term %d conf %v, want index %d term 3 voters [1]", got.Index, got.Term, got.ConfState, meta.Index)
		}
	}
}

func TestSnapshotWriteErrorLeavesNoFile(t *testing.T) {
	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	defer s.Close()
	boom := errors.New("serializer failed")
	err := s.WriteSnapshot(SnapshotMeta{Index: 5, Term: 1}, func(w io.Writer) error {
		w.Write(payload(1, 1000))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the serializer's error", err)
	}
	des, _ := os.ReadDir(snapDir)
	for _, de := range des {
		if de.Name() != lockName {
			t.Fatalf("found %s after a failed write, want only %s", de.Name(), lockName)
		}
	}
}

func TestSnapshotCorruptionDetected(t *testing.T) {
	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	defer s.Close()
	data := payload(7, 2*writeChunkSize+100)
	writeSnap(t, s, 10, 2, data)
	path := filepath.Join(snapDir, snapName(2, 10))
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) func([]byte) []byte {
		return func(b []byte) []byte { b[i] ^= 0x40; return b }
	}
	tests := []struct {
		name   string
		mutate func([]byte) []byte
	}{
		{"magic", flip(0)},
		{"header index", flip(len(snapMagic) + 12)},
		{"first chunk length", flip(len(orig) - len(data) - 3*8 - 16 + 1)},
		{"first chunk data", flip(len(orig) / 3)},
		{"last chunk data", flip(len(orig) - 16 - 10)},
		{"trailer crc", flip(len(orig) - 10)},
		{"trailer length", flip(len(orig) - 1)},
		{"truncated mid chunk", func(b []byte) []byte { return b[:len(b)/2] }},
		{"truncated trailer", func(b []byte) []byte { return b[:len(b)-5] }},
		{"no trailer", func(b []byte) []byte { return b[:len(b)-16] }},
		{"trailing garbage", func(b []byte) []byte { return append(b, 1, 2, 3) }},
		{"empty file", func(b []byte) []byte { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.mutate(bytes.Clone(orig))
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := verifySnapFile(path)
			if !errors.Is(err, ErrCorruptSnapshot) {
				t.Fatalf("got %v, want ErrCorruptSnapshot", err)
			}
		})
	}
	if err := os.WriteFile(path, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := verifySnapFile(path); err != nil {
		t.Fatalf("restored original: got %v, want nil", err)
	}
}

// buildLog writes entries 1..n and snapshots at the given indexes, each
// recorded in the WAL, and returns the snapshot payloads by index.
func buildLog(t testing.TB, s *Storage, n uint64, entSize int, snapAt ...uint64) map[uint64][]byte {
	t.Helper()
	payloads := map[uint64][]byte{}
	next := uint64(1)
	for _, at := range append(snapAt, n) {
		if at >= next {
			if err := s.Save(hs(1, at), mkEnts(next, at, 1, entSize)); err != nil {
				t.Fatal(err)
			}
			next = at + 1
		}
		if at == n && (len(snapAt) == 0 || snapAt[len(snapAt)-1] != n) {
			break
		}
		payloads[at] = payload(at, 1000+int(at))
		meta := writeSnap(t, s, at, 1, payloads[at])
		if err := s.RecordSnapshot(meta); err != nil {
			t.Fatal(err)
		}
	}
	return payloads
}

func TestOpenPicksNewestValidSnapshot(t *testing.T) {
	tests := []struct {
		name      string
		damage    func(t *testing.T, snapDir string)
		wantIndex uint64
		broken    string
	}{
		{"all good", func(*testing.T, string) {}, 20, ""},
		{"newest corrupt", func(t *testing.T, d string) { flipByte(t, filepath.Join(d, snapName(1, 20)), 200) }, 10, snapName(1, 20)},
		{"newest truncated", func(t *testing.T, d string) { truncateBy(t, filepath.Join(d, snapName(1, 20)), 9) }, 10, snapName(1, 20)},
		{"both corrupt", func(t *testing.T, d string) {
			flipByte(t, filepath.Join(d, snapName(1, 20)), 100)
			flipByte(t, filepath.Join(d, snapName(1, 10)), 100)
		}, 0, snapName(1, 10)},
		{"unrecorded newer file ignored", func(t *testing.T, d string) {
			if err := os.WriteFile(filepath.Join(d, snapName(1, 25)), []byte("not recorded"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, 20, ""},
		{"leftover temp file removed", func(t *testing.T, d string) {
			if err := os.WriteFile(filepath.Join(d, snapName(1, 25)+snapTmpSuffix), []byte("half"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, 20, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			walDir, snapDir := dirs(t)
			s, _ := mustOpen(t, walDir, snapDir)
			payloads := buildLog(t, s, 30, 20, 10, 20)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			tt.damage(t, snapDir)
			s, rec := mustOpen(t, walDir, snapDir)
			defer s.Close()
			var gotIndex uint64
			if rec.Snapshot != nil {
				gotIndex = rec.Snapshot.Index
				if got := readSnap(t, s, *rec.Snapshot); !bytes.Equal(got, payloads[gotIndex]) {
					t.Fatalf("snapshot %d payload differs from what was written", gotIndex)
				}
			}
			if gotIndex != tt.wantIndex {
				t.Fatalf("got snapshot index %d, want %d", gotIndex, tt.wantIndex)
			}
			checkEnts(t, rec.Entries, mkEnts(tt.wantIndex+1, 30, 1, 20))
			if tt.broken != "" {
				if _, err := os.Stat(filepath.Join(snapDir, tt.broken+brokenSuffix)); err != nil {
					t.Fatalf("corrupt snapshot not renamed: %v", err)
				}
			}
			if m, _ := filepath.Glob(filepath.Join(snapDir, "*"+snapTmpSuffix)); len(m) > 0 {
				t.Fatalf("got leftover temp files %v, want none", m)
			}
		})
	}
}

func flipByte(t testing.TB, path string, fromEnd int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-fromEnd] ^= 0x10
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func truncateBy(t testing.TB, path string, n int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()-n); err != nil {
		t.Fatal(err)
	}
}

func TestPurgeKeepsNewestSnapshotsAndTheirWAL(t *testing.T) {
	segmentSize(t, 16<<10)

	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	var payloads map[uint64][]byte
	func() {
		// Save in small batches so the WAL cuts many segments.
		next := uint64(1)
		payloads = map[uint64][]byte{}
		for _, at := range []uint64{100, 200, 300, 400} {
			for next <= at {
				end := min(next+9, at)
				if err := s.Save(hs(1, end), mkEnts(next, end, 1, 200)); err != nil {
					t.Fatal(err)
				}
				next = end + 1
			}
			payloads[at] = payload(at, 500)
			if err := s.RecordSnapshot(writeSnap(t, s, at, 1, payloads[at])); err != nil {
				t.Fatal(err)
			}
		}
	}()
	before := walSegments(t, walDir)
	if len(before) < 5 {
		t.Fatalf("got %d WAL segments, want several for this test", len(before))
	}
	if err := s.Purge(0); err == nil {
		t.Fatal("Purge(0): got nil error, want one")
	}
	if err := s.Purge(2); err != nil {
		t.Fatal(err)
	}
	files, _ := listSnapshots(snapDir)
	var got []uint64
	for _, f := range files {
		got = append(got, f.index)
	}
	if len(got) != 2 || got[0] != 300 || got[1] != 400 {
		t.Fatalf("snapshots after Purge(2): got %v, want [300 400]", got)
	}
	after := walSegments(t, walDir)
	if len(after) >= len(before) {
		t.Fatalf("WAL segments: got %d after purge, %d before, want fewer", len(after), len(before))
	}
	segs, _ := sortedWALFiles(walDir)
	if segs[0].index > 300 {
		t.Fatalf("first WAL segment starts at %d, want <= 300 so snapshot 300 stays usable", segs[0].index)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The oldest kept snapshot must still be a usable fallback.
	flipByte(t, filepath.Join(snapDir, snapName(1, 400)), 50)
	s, rec := mustOpen(t, walDir, snapDir)
	defer s.Close()
	if rec.Snapshot == nil || rec.Snapshot.Index != 300 {
		t.Fatalf("got snapshot %+v, want index 300", rec.Snapshot)
	}
	checkEnts(t, rec.Entries, mkEnts(301, 400, 1, 200))
	if strings.Contains(walDir, snapDir) {
		t.Fatal("test dirs overlap")
	}
}

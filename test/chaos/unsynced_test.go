package chaos

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/zkd-io/zkd/internal/storage"
)

// The lose-unsynced nemesis: a power loss on one server. A SIGKILL alone
// loses only what the process had not handed to the kernel; a power loss
// also loses what the kernel had not written to the disk, i.e. every WAL
// byte written after the last completed fsync. The zkd binary is built
// with -tags failpoints (TestMain), so its storage layer records where
// the WAL stood at each fsync (storage.FailpointSyncedFile); after the
// kill, everything past that point is overwritten with the zeros etcd
// preallocates segments with, which is what the disk holds there after a
// power loss. Raft only acts on (acknowledges, votes on) what it fsynced,
// so no acknowledged write may be lost; the run's checks judge that.

// failpointsTag is the build tag that turns the storage hook on.
const failpointsTag = "failpoints"

// failpointBuildFlags adds the failpoints tag to go build flags: to an
// existing -tags list, else as a new flag, so that ZKD_BUILD_FLAGS given
// from outside keeps its own tags.
func failpointBuildFlags(flags string) string {
	f := strings.Fields(flags)
	add := func(list string) string {
		if list == "" {
			return failpointsTag
		}
		return list + "," + failpointsTag
	}
	for k, a := range f {
		for _, name := range []string{"-tags", "--tags"} {
			switch {
			case strings.HasPrefix(a, name+"="):
				f[k] = name + "=" + add(strings.TrimPrefix(a, name+"="))
				return strings.Join(f, " ")
			case a == name && k+1 < len(f):
				f[k+1] = add(f[k+1])
				return strings.Join(f, " ")
			}
		}
	}
	return strings.Join(append(f, "-tags="+failpointsTag), " ")
}

// injectLoseUnsynced kills one running server of any role, discards what
// it wrote after its last WAL fsync, and restarts it when healed.
func injectLoseUnsynced(r *run) (string, func()) {
	running := r.e.Running()
	i := running[r.rnd.IntN(len(running))]
	s := r.e.Servers[i]
	role, err := s.Mode()
	if role == "" {
		role = fmt.Sprintf("role unknown: %v", err)
	}
	r.e.Kill(i)
	lost, err := loseUnsynced(s.DataDir)
	if err != nil {
		r.t.Fatalf("lose-unsynced: server.%d: %v", i+1, err)
	}
	return fmt.Sprintf("kill -9 server.%d (%s), then lost its unsynced writes: %s", i+1, role, lost),
		func() { r.restartOrFail(i) }
}

// unsyncedLoss is what loseUnsynced threw away.
type unsyncedLoss struct {
	segment  string
	offset   int64          // the durable end recorded in segment
	bytes    int64          // non-zero bytes zeroed in segment (up to the last non-zero one)
	removed  []string       // newer segments deleted
	records  map[string]int // discarded records by type, as storage.ReadWAL reads them
	countErr error          // why the records could not be counted
}

func (l unsyncedLoss) String() string {
	var recs []string
	for _, t := range []string{"entry", "hardstate", "snapshot", "crc", "metadata"} {
		if n := l.records[t]; n > 0 {
			recs = append(recs, fmt.Sprintf("%d %s", n, t))
		}
	}
	what := "no records"
	if len(recs) > 0 {
		what = strings.Join(recs, ", ")
	}
	if l.countErr != nil {
		what = fmt.Sprintf("records not counted: %v", l.countErr)
	}
	out := fmt.Sprintf("zeroed %d bytes after offset %d of %s (%s)", l.bytes, l.offset, l.segment, what)
	if len(l.removed) > 0 {
		out += fmt.Sprintf("; removed newer segments %v", l.removed)
	}
	return out
}

// loseUnsynced applies a power loss to the WAL of a stopped server.
func loseUnsynced(dataDir string) (unsyncedLoss, error) {
	var l unsyncedLoss
	side := filepath.Join(dataDir, storage.FailpointSyncedFile)
	b, err := os.ReadFile(side)
	if errors.Is(err, os.ErrNotExist) {
		return l, fmt.Errorf("%s does not exist: the zkd binary was not built with -tags %s (TestMain adds it to ZKD_BUILD_FLAGS; a ZKD_BINARY given from outside must be built with it), or the server could not write the file",
			side, failpointsTag)
	}
	if err != nil {
		return l, err
	}
	f := strings.Fields(string(b))
	if len(f) > 0 && f[0] == "error" {
		return l, fmt.Errorf("the server could not find its WAL's durable end at its last sync: %s", strings.TrimSpace(string(b)))
	}
	if len(f) != 2 || !strings.HasSuffix(f[0], ".wal") || strings.ContainsRune(f[0], '/') {
		return l, fmt.Errorf("%s holds %q, want \"<segment>.wal <offset>\"", side, b)
	}
	l.segment = f[0]
	if l.offset, err = strconv.ParseInt(f[1], 10, 64); err != nil || l.offset < 0 {
		return l, fmt.Errorf("%s holds %q: bad offset", side, b)
	}
	walDir := filepath.Join(dataDir, "wal")

	// Count what goes, before it goes (for the log only).
	l.records = map[string]int{}
	if _, err := storage.ReadWAL(walDir, func(rec *storage.WALRecord) error {
		if rec.Segment > l.segment || rec.Segment == l.segment && rec.Offset >= l.offset {
			l.records[rec.Type.String()]++
		}
		return nil
	}); err != nil {
		l.countErr = err
	}

	if l.bytes, err = zeroTail(filepath.Join(walDir, l.segment), l.offset); err != nil {
		return l, err
	}
	des, err := os.ReadDir(walDir)
	if err != nil {
		return l, err
	}
	for _, de := range des {
		// Segment names (hex sequence-index) sort in log order.
		if name := de.Name(); strings.HasSuffix(name, ".wal") && name > l.segment {
			if err := os.Remove(filepath.Join(walDir, name)); err != nil {
				return l, err
			}
			l.removed = append(l.removed, name)
		}
	}
	return l, nil
}

// zeroTail makes every byte of path from off to its end zero, and returns
// how many bytes it had to overwrite: up to the last non-zero one, since
// the rest of the preallocated segment is zero already (writing zeros over
// zeros would change nothing but cost tens of MiB of writes per fault).
func zeroTail(path string, off int64) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	if size < off {
		// The segment was cut shorter than its synced part: synced data
		// is gone, which no crash explains.
		return 0, fmt.Errorf("%s has %d bytes, fewer than the %d recorded as synced", path, size, off)
	}
	buf := make([]byte, 1<<20)
	end := off // one past the last non-zero byte
	for pos := off; pos < size; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), size-pos)], pos)
		if n == 0 && err != nil {
			return 0, fmt.Errorf("reading %s at %d: %w", path, pos, err)
		}
		if k := lastNonZero(buf[:n]); k >= 0 {
			end = pos + int64(k) + 1
		}
		pos += int64(n)
	}
	zeros := make([]byte, 1<<20)
	for pos := off; pos < end; {
		n, err := f.WriteAt(zeros[:min(int64(len(zeros)), end-pos)], pos)
		if err != nil {
			return 0, fmt.Errorf("zeroing %s at %d: %w", path, pos, err)
		}
		pos += int64(n)
	}
	return end - off, nil
}

// lastNonZero is the index of the last non-zero byte of b, or -1.
func lastNonZero(b []byte) int {
	for len(b) > 0 {
		// Skip zero runs a page at a time.
		k := len(b) - min(len(b), 4096)
		if !bytes.Equal(b[k:], zeroPage[:len(b)-k]) {
			for j := len(b) - 1; j >= k; j-- {
				if b[j] != 0 {
					return j
				}
			}
		}
		b = b[:k]
	}
	return -1
}

var zeroPage [4096]byte

func TestFailpointBuildFlags(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "-tags=failpoints"},
		{"-race", "-race -tags=failpoints"},
		{"-tags=foo,bar -race", "-tags=foo,bar,failpoints -race"},
		{"-tags foo", "-tags foo,failpoints"},
		{"--tags=foo", "--tags=foo,failpoints"},
		{"-tags=", "-tags=failpoints"},
		{"-tags", "-tags -tags=failpoints"}, // go build reports the dangling flag
	} {
		if got := failpointBuildFlags(tc.in); got != tc.want {
			t.Errorf("failpointBuildFlags(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestLoseUnsynced runs the discard on a WAL written in process: a side
// file naming a point inside the first of two segments must leave exactly
// the records before it, and damage the side file names must fail.
func TestLoseUnsynced(t *testing.T) {
	old := wal.SegmentSizeBytes
	wal.SegmentSizeBytes = 16 << 10
	t.Cleanup(func() { wal.SegmentSizeBytes = old })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	write := func(t *testing.T) (dataDir string, marks []storage.WALRecord) {
		dataDir = t.TempDir()
		st, _, err := storage.Open(filepath.Join(dataDir, "wal"), filepath.Join(dataDir, "snap"), log)
		if err != nil {
			t.Fatal(err)
		}
		for i := uint64(1); i <= 40; i++ {
			e := &raftpb.Entry{Term: new(uint64(1)), Index: new(i), Type: raftpb.EntryNormal.Enum(), Data: bytes.Repeat([]byte{'x'}, 1000)}
			if err := st.Save(&raftpb.HardState{Term: new(uint64(1)), Commit: new(i)}, []*raftpb.Entry{e}); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := storage.ReadWAL(filepath.Join(dataDir, "wal"), func(r *storage.WALRecord) error {
			if r.Type == storage.WALState {
				marks = append(marks, *r)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if marks[len(marks)-1].Segment == marks[0].Segment {
			t.Fatalf("all records in %s, want more than one segment", marks[0].Segment)
		}
		return dataDir, marks
	}
	setSide := func(t *testing.T, dataDir, line string) {
		if err := os.WriteFile(filepath.Join(dataDir, storage.FailpointSyncedFile), []byte(line), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("discards after the mark", func(t *testing.T) {
		dataDir, marks := write(t)
		m := marks[5] // the state saved with entry 6, in the first segment
		setSide(t, dataDir, fmt.Sprintf("%s %d\n", m.Segment, m.Offset+m.Size))
		l, err := loseUnsynced(dataDir)
		if err != nil {
			t.Fatal(err)
		}
		if l.bytes <= 0 || len(l.removed) == 0 || l.records["entry"] != 34 {
			t.Fatalf("got %s, want bytes zeroed, newer segments removed and 34 entries discarded", l)
		}
		st, rec, err := storage.Open(filepath.Join(dataDir, "wal"), filepath.Join(dataDir, "snap"), log)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if got, want := len(rec.Entries), 6; got != want {
			t.Fatalf("got %d entries after the discard, want %d", got, want)
		}
		if got, want := rec.HardState.GetCommit(), uint64(6); got != want {
			t.Fatalf("got commit %d after the discard, want %d", got, want)
		}
	})
	for _, tc := range []struct {
		name, side string // side "" = no side file
		want       string
	}{
		{"no side file", "", "-tags failpoints"},
		{"error line", "error no descriptor\n", "could not find"},
		{"garbage", "x\n", "want"},
		{"offset past the end", "%s 999999999\n", "fewer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dataDir, marks := write(t)
			if tc.side != "" {
				setSide(t, dataDir, strings.ReplaceAll(tc.side, "%s", marks[0].Segment))
			}
			_, err := loseUnsynced(dataDir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

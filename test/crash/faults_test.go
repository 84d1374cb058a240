package crash

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd-io/zkd/internal/storage"
	"github.com/zkd-io/zkd/test/harness"
)

// faultServer starts zkd with snapshots every 200 entries.
func faultServer(t *testing.T, opts ...harness.Option) *harness.Server {
	t.Helper()
	return harness.Zkd(t, append([]harness.Option{
		harness.WithConfig("snapCount", "200"),
		harness.WithTickTime(500 * time.Millisecond),
	}, opts...)...)
}

// lastSegment returns the path of the newest WAL segment and its records.
func lastSegment(t *testing.T, dataDir string) (string, []storage.WALRecord) {
	t.Helper()
	recs, end := walRecords(t, dataDir)
	if end.Torn {
		t.Fatalf("the WAL of a cleanly stopped server ends in a torn write at %s:%d", end.TornSegment, end.TornOffset)
	}
	seg := recs[len(recs)-1].Segment
	var in []storage.WALRecord
	for _, r := range recs {
		if r.Segment == seg {
			in = append(in, r)
		}
	}
	return filepath.Join(dataDir, "wal", seg), in
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func fileHash(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func flipByte(t *testing.T, path string, off int64) {
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
	b[0] ^= 0x41
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// checkPresent fails for every path that is missing or holds other data.
func checkPresent(t *testing.T, c *zk.Conn, paths []string) {
	t.Helper()
	missing := 0
	for _, p := range paths {
		data, _, err := c.Get(p)
		if err != nil || string(data) != p {
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged %s: got data %q, err %v; want data %q", p, data, err, p)
			}
		}
	}
	if missing > 5 {
		t.Errorf("... %d acknowledged nodes missing or wrong in all", missing)
	}
}

// TestWALTornTail cuts the last WAL segment of a cleanly stopped server,
// inside its last record (a torn append) or in the preallocated zeros after
// it. The server must start, log the repair of a torn record, and keep
// every acknowledged write: a clean stop fsyncs everything that was
// acknowledged, and the last record is never one a client waited for alone.
func TestWALTornTail(t *testing.T) {
	rng := newRand(t)
	srv := faultServer(t)
	c := dial(t, srv.Addr, 4*time.Second)
	mustCreate(t, c.Conn, "/t", nil)
	var acked []string
	for trial := 0; trial < 6; trial++ {
		acked = append(acked, createSeq(t, c.Conn, "/t", trial*70, 70, nil)...)
		srv.Stop()
		seg, recs := lastSegment(t, srv.DataDir)
		last := recs[len(recs)-1]
		end := last.Offset + last.Size
		size := fileSize(t, seg)
		var cut int64
		// A repair truncates the segment where its records end, so only a
		// segment never repaired still has a preallocated tail to cut into.
		inRecord := trial%2 == 1 || size == end
		if inRecord {
			cut = last.Offset + 1 + rng.Int64N(last.Size-1)
		} else {
			cut = end + rng.Int64N(size-end)
		}
		if err := os.Truncate(seg, cut); err != nil {
			t.Fatal(err)
		}
		mark := logSize(t, srv)
		srv.Restart(t)
		log := logSince(t, srv, mark)
		if inRecord && !strings.Contains(log, "torn write") {
			t.Errorf("trial %d: cut %s at %d inside its last %s record [%d,%d): the log does not mention repairing a torn write:\n%s",
				trial, filepath.Base(seg), cut, last.Type, last.Offset, end, log)
		}
		if err := c.waitSession(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		checkPresent(t, c.Conn, acked)
		if t.Failed() {
			t.Fatalf("trial %d: cut %s at byte %d (last record %s at [%d,%d), file %d bytes)", trial, seg, cut, last.Type, last.Offset, end, size)
		}
	}
}

// TestWALTruncatedAnywhere cuts the last WAL segment at a random offset
// anywhere after its first entry, losing acknowledged writes on purpose. The
// server must still start, repairing the torn end, and serve exactly a
// prefix of what one client wrote in order: no gap, nothing half-applied.
func TestWALTruncatedAnywhere(t *testing.T) {
	rng := newRand(t)
	for trial := 0; trial < 4; trial++ {
		t.Run(fmt.Sprint(trial), func(t *testing.T) {
			srv := faultServer(t)
			c := dial(t, srv.Addr, 4*time.Second)
			mustCreate(t, c.Conn, "/t", nil)
			acked := createSeq(t, c.Conn, "/t", 0, 450, nil)
			// This client has seen zxids the cut will take away; zkd rightly
			// refuses it a session until that session expires. Use a new one.
			c.Close()
			srv.Stop()
			seg, recs := lastSegment(t, srv.DataDir)
			firstEntry := -1
			for i, r := range recs {
				if r.Type == storage.WALEntry {
					firstEntry = i
					break
				}
			}
			if firstEntry < 0 {
				t.Fatalf("no entry record in %s", seg)
			}
			last := recs[len(recs)-1]
			lo, hi := recs[firstEntry].Offset+recs[firstEntry].Size, last.Offset+last.Size
			cut := lo + rng.Int64N(hi-lo)
			if err := os.Truncate(seg, cut); err != nil {
				t.Fatal(err)
			}
			t.Logf("cut %s at byte %d of [%d,%d)", filepath.Base(seg), cut, lo, hi)
			srv.Restart(t)
			c = dial(t, srv.Addr, 4*time.Second)
			kids, _, err := c.Children("/t")
			if errors.Is(err, zk.ErrNoNode) {
				// The cut fell before /t's own create: an empty prefix.
				t.Log("the cut took /t itself")
				mustCreate(t, c.Conn, "/t", nil)
			} else if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, k := range kids {
				have["/t/"+k] = true
			}
			n := 0
			for n < len(acked) && have[acked[n]] {
				n++
			}
			if n != len(kids) {
				t.Errorf("after the cut the server has %d of the %d nodes, but only the first %d form a prefix of the write order", len(kids), len(acked), n)
			}
			checkPresent(t, c.Conn, acked[:n])
			// It keeps working on the repaired log, and a restart keeps that.
			more := createSeq(t, c.Conn, "/t", 1000, 30, nil)
			srv.Restart(t)
			if err := c.waitSession(10 * time.Second); err != nil {
				t.Fatal(err)
			}
			checkPresent(t, c.Conn, append(acked[:n:n], more...))
		})
	}
}

// TestWALCorruptRefusesToStart flips a byte inside a record in the middle of
// the log. That is not a torn append, so zkd must refuse to start, name the
// file, say what to do, and leave the log as it was.
func TestWALCorruptRefusesToStart(t *testing.T) {
	srv := faultServer(t)
	c := dial(t, srv.Addr, 4*time.Second)
	mustCreate(t, c.Conn, "/t", nil)
	createSeq(t, c.Conn, "/t", 0, 300, nil)
	c.Close()
	srv.Stop()
	seg, recs := lastSegment(t, srv.DataDir)
	var mid storage.WALRecord
	for i := len(recs) / 2; i < len(recs); i++ {
		if recs[i].Type == storage.WALEntry && recs[i].Size > 40 {
			mid = recs[i]
			break
		}
	}
	if mid.Size == 0 {
		t.Fatalf("no entry record in the second half of %s", seg)
	}
	flipByte(t, seg, mid.Offset+mid.Size/2)
	before := fileHash(t, seg)

	code, out, running := runOnce(t, srv.ConfigPath, 15*time.Second)
	if running {
		t.Fatalf("zkd started on a WAL with a flipped byte in the record at %s:%d; output:\n%s", seg, mid.Offset, out)
	}
	if code == 0 {
		t.Errorf("got exit code 0, want non-zero")
	}
	for _, want := range []string{filepath.Base(seg), "corrupt", "backup"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q; got:\n%s", want, out)
		}
	}
	if fileHash(t, seg) != before {
		t.Errorf("the refused start changed %s; damaged logs must be left for the operator", seg)
	}
	// The dump tool finds the same damage and names the offset.
	var so, se bytes.Buffer
	cmdOut := runTool(t, &so, &se, "wal", "dump", srv.DataDir)
	if cmdOut != 1 || !strings.Contains(se.String(), fmt.Sprintf("%s at byte offset %d", seg, mid.Offset)) {
		t.Errorf("zkd wal dump: got exit %d, want 1 naming %s at byte offset %d; stderr:\n%s", cmdOut, seg, mid.Offset, se.String())
	}
}

// runTool runs a zkd tool subcommand as a process.
func runTool(t *testing.T, stdout, stderr *bytes.Buffer, args ...string) int {
	t.Helper()
	cmd := exec.Command(zkdBin, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		t.Fatalf("running zkd %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode()
}

// snapshotServer writes enough for three snapshots and returns the
// server (stopped), the tree as a client saw it, and the snapshot files.
func snapshotServer(t *testing.T) (*harness.Server, map[string]*znode, []storage.SnapshotFile) {
	t.Helper()
	srv := faultServer(t)
	c := dial(t, srv.Addr, 4*time.Second)
	mustCreate(t, c.Conn, "/t", nil)
	createSeq(t, c.Conn, "/t", 0, 700, nil)
	tree, err := readTree(c.Conn)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	srv.Stop()
	files := currentSnapshots(t, srv.DataDir)
	if len(files) < 2 {
		t.Fatalf("got %d snapshot files after 700 writes with snapCount=200, want at least 2", len(files))
	}
	return srv, tree, files
}

func currentSnapshots(t *testing.T, dataDir string) []storage.SnapshotFile {
	t.Helper()
	all, err := storage.ListSnapshotFiles(filepath.Join(dataDir, "snap"))
	if err != nil {
		t.Fatal(err)
	}
	var out []storage.SnapshotFile
	for _, f := range all {
		if f.State == storage.SnapshotCurrent {
			out = append(out, f)
		}
	}
	return out
}

// restartAndCompare restarts the server and checks the tree is exactly the
// one before (ignoring the checking client's own session changes: none).
func restartAndCompare(t *testing.T, srv *harness.Server, before map[string]*znode) string {
	t.Helper()
	mark := logSize(t, srv)
	srv.Restart(t)
	c := dial(t, srv.Addr, 4*time.Second)
	after, err := readTree(c.Conn)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range first(treeDiff(before, after), 10) {
		t.Errorf("after restart: %s", d)
	}
	return logSince(t, srv, mark)
}

func TestSnapshotNewestCorrupt(t *testing.T) {
	srv, before, files := snapshotServer(t)
	newest := files[len(files)-1].Path
	flipByte(t, newest, fileSize(t, newest)/2)
	log := restartAndCompare(t, srv, before)
	if !strings.Contains(log, filepath.Base(newest)) || !strings.Contains(log, "corrupt") {
		t.Errorf("the log does not report the corrupt %s:\n%s", newest, log)
	}
	if _, err := os.Stat(newest + ".broken"); err != nil {
		t.Errorf("the corrupt snapshot was not set aside as %s.broken: %v", filepath.Base(newest), err)
	}
}

func TestSnapshotNewestDeleted(t *testing.T) {
	srv, before, files := snapshotServer(t)
	if err := os.Remove(files[len(files)-1].Path); err != nil {
		t.Fatal(err)
	}
	restartAndCompare(t, srv, before)
}

// TestSnapshotOnlyCopyCorrupt corrupts the one snapshot left after the log
// behind it was compacted away: nothing can rebuild the state, so zkd must
// refuse to start and name the file rather than start empty or partial.
func TestSnapshotOnlyCopyCorrupt(t *testing.T) {
	srv := faultServer(t, harness.WithConfig("snapCount", "20"))
	c := dial(t, srv.Addr, 4*time.Second)
	mustCreate(t, c.Conn, "/big", nil)
	mustCreate(t, c.Conn, "/t", nil)
	// Each setData of ~900 KB adds as much to the log but not to the tree,
	// so the first 64 MB segment fills quickly while snapshots stay small.
	big := bytes.Repeat([]byte("z"), 900<<10)
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; ; i++ {
		if _, err := c.Set("/big", big, -1); err != nil {
			t.Fatalf("set /big #%d: %v", i, err)
		}
		if i%10 == 0 && walCompacted(t, srv.DataDir) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first WAL segment was not purged after %d writes of %d bytes", i, len(big))
		}
	}
	acked := createSeq(t, c.Conn, "/t", 0, 25, nil) // past the next snapshot
	c.Close()
	srv.Stop()
	files := currentSnapshots(t, srv.DataDir)
	for _, f := range files[:len(files)-1] {
		if err := os.Remove(f.Path); err != nil {
			t.Fatal(err)
		}
	}
	only := files[len(files)-1].Path
	flipByte(t, only, fileSize(t, only)/2)

	code, out, running := runOnce(t, srv.ConfigPath, 15*time.Second)
	if running {
		t.Fatalf("zkd started with its only snapshot corrupt and the log compacted (it had acknowledged %d nodes under /t); output:\n%s", len(acked), out)
	}
	if code == 0 {
		t.Errorf("got exit code 0, want non-zero")
	}
	if !strings.Contains(out, filepath.Base(only)) {
		t.Errorf("output does not name the corrupt snapshot %s:\n%s", filepath.Base(only), out)
	}
}

// walCompacted reports whether the first WAL segment was purged.
func walCompacted(t *testing.T, dataDir string) bool {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dataDir, "wal", "*.wal"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m {
		if strings.HasPrefix(filepath.Base(p), "0000000000000000-") {
			return false
		}
	}
	return len(m) > 0
}

// TestDataDirProblems: a data dir zkd cannot use, or that another zkd
// holds, gets a clear error and a non-zero exit; a missing one is created.
func TestDataDirProblems(t *testing.T) {
	t.Run("under a regular file", func(t *testing.T) {
		// Fails for root too, unlike a permission problem.
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		dataDir := filepath.Join(file, "data")
		code, out, running := runOnce(t, writeConfig(t, "dataDir", dataDir), 15*time.Second)
		if running || code == 0 {
			t.Fatalf("got running=%v exit %d, want a non-zero exit; output:\n%s", running, code, out)
		}
		if !strings.Contains(out, file) || !strings.Contains(out, "not a directory") {
			t.Errorf("output does not name %s and the problem; got:\n%s", file, out)
		}
	})
	t.Run("unwritable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores directory permissions; the regular-file case covers an unusable data dir")
		}
		dataDir := filepath.Join(t.TempDir(), "ro")
		if err := os.Mkdir(dataDir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dataDir, 0o700) })
		code, out, running := runOnce(t, writeConfig(t, "dataDir", dataDir), 15*time.Second)
		if running || code == 0 {
			t.Fatalf("got running=%v exit %d, want a non-zero exit; output:\n%s", running, code, out)
		}
		if !strings.Contains(out, dataDir) || !strings.Contains(out, "permission denied") {
			t.Errorf("output does not name %s and the problem; got:\n%s", dataDir, out)
		}
	})
	t.Run("held by another zkd", func(t *testing.T) {
		srv := faultServer(t)
		c := dial(t, srv.Addr, 4*time.Second)
		acked := createSeq(t, c.Conn, "", 0, 20, nil)
		code, out, running := runOnce(t, writeConfig(t, "dataDir", srv.DataDir), 15*time.Second)
		if running || code == 0 {
			t.Fatalf("a second zkd on %s: got running=%v exit %d, want a non-zero exit; output:\n%s", srv.DataDir, running, code, out)
		}
		if !strings.Contains(out, "locked") || !strings.Contains(out, "another zkd process") {
			t.Errorf("output does not say the data directory is locked by another zkd; got:\n%s", out)
		}
		// The first server is untouched.
		checkPresent(t, c.Conn, acked)
		createSeq(t, c.Conn, "", 100, 5, nil)
	})
	t.Run("missing is created", func(t *testing.T) {
		dataDir := filepath.Join(t.TempDir(), "does", "not", "exist")
		srv := faultServer(t, harness.WithConfig("dataDir", dataDir))
		c := dial(t, srv.Addr, 4*time.Second)
		acked := createSeq(t, c.Conn, "", 0, 5, nil)
		srv.Restart(t)
		if err := c.waitSession(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		checkPresent(t, c.Conn, acked)
		if _, err := os.Stat(filepath.Join(dataDir, "wal")); err != nil {
			t.Errorf("no WAL in the created data dir: %v", err)
		}
	})
}

// TestWALCorruptLengthField flips one bit in the length field of a record in
// the middle of the last segment. The frame then claims to run past the end
// of the file, which etcd's decoder reports exactly like a torn final append,
// so a naive repair would cut everything after that record and serve what is
// left. zkd must refuse to start instead (storage checks that nothing valid
// follows a "torn" record before repairing).
func TestWALCorruptLengthField(t *testing.T) {
	srv := faultServer(t)
	c := dial(t, srv.Addr, 4*time.Second)
	mustCreate(t, c.Conn, "/t", nil)
	acked := createSeq(t, c.Conn, "/t", 0, 300, nil)
	c.Close()
	srv.Stop()
	seg, recs := lastSegment(t, srv.DataDir)
	mid := recs[len(recs)/2]
	// Bit 20 of the little-endian length: the frame now claims ~1 MB more.
	f, err := os.OpenFile(seg, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, mid.Offset+2); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x10
	if _, err := f.WriteAt(b, mid.Offset+2); err != nil {
		t.Fatal(err)
	}
	f.Close()
	code, out, running := runOnce(t, srv.ConfigPath, 5*time.Second)
	if running || code == 0 {
		t.Fatalf("zkd started (or exited 0) on a log whose record at %s:%d has a damaged length, which would lose %d acknowledged nodes; output:\n%s",
			seg, mid.Offset, len(acked), out)
	}
	if !strings.Contains(out, filepath.Base(seg)) || !strings.Contains(out, "complete records follow") {
		t.Errorf("refusal does not name the segment and the damage:\n%s", out)
	}
}

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"go.etcd.io/etcd/server/v3/storage/wal"

	"github.com/zkd-io/zkd/internal/config"
	"github.com/zkd-io/zkd/internal/fsm"
	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/internal/server"
	"github.com/zkd-io/zkd/internal/servertest"
	"github.com/zkd-io/zkd/internal/storage"
	"github.com/zkd-io/zkd/proto"
)

func TestMain(m *testing.M) {
	// etcd preallocates 64 MB per WAL segment; 1 MB keeps the tests light.
	wal.SegmentSizeBytes = 1 << 20
	os.Exit(m.Run())
}

// runTool runs a tool subcommand as main would and captures its output.
func runTool(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	tool, ok := tools[args[0]]
	if !ok {
		return -1, "", "no tool " + args[0]
	}
	code = tool(args[1:], &out, &errb)
	return code, out.String(), errb.String()
}

// testServer runs an in-process standalone server whose data lives in dir.
func testServer(t *testing.T, dir string, snapCount int) *server.Server {
	t.Helper()
	return servertest.Start(t, func(o *config.Options) {
		o.DataDir = dir
		o.SnapCount = snapCount
	})
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

func connect(t *testing.T, s *server.Server) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect([]string{s.Addr().String()}, 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(quietLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	deadline := time.Now().Add(5 * time.Second)
	for c.State() != zk.StateHasSession {
		if time.Now().After(deadline) {
			t.Fatalf("no session after 5s; state %v", c.State())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c
}

// workload writes one of each kind of entry and returns the czxid of every
// node it created and still exists, keyed by path.
func workload(t *testing.T, c *zk.Conn, extra int) map[string]int64 {
	t.Helper()
	acl := zk.WorldACL(zk.PermAll)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.Create("/a", []byte("one"), 0, acl)
	must(err)
	_, err = c.Create("/a/eph", nil, zk.FlagEphemeral, acl)
	must(err)
	seq, err := c.Create("/a/seq-", nil, zk.FlagSequence, acl)
	must(err)
	_, err = c.Set("/a", []byte("two"), -1)
	must(err)
	_, err = c.Multi(
		&zk.CreateRequest{Path: "/m1", Data: []byte("x"), Acl: acl},
		&zk.CreateRequest{Path: "/m2", Acl: acl},
		&zk.SetDataRequest{Path: "/m1", Data: []byte("yy"), Version: -1},
		&zk.DeleteRequest{Path: "/m2", Version: -1},
	)
	must(err)
	_, err = c.SetACL("/m1", zk.WorldACL(zk.PermRead|zk.PermWrite), -1)
	must(err)
	_, err = c.CreateTTL("/ttl", nil, zk.FlagTTL, acl, time.Hour)
	must(err)
	for i := range extra {
		_, err = c.Create(fmt.Sprintf("/x%04d", i), []byte("data"), 0, acl)
		must(err)
	}
	zxids := map[string]int64{}
	for _, p := range []string{"/a", "/a/eph", seq, "/m1", "/ttl"} {
		_, st, err := c.Exists(p)
		must(err)
		zxids[p] = st.Czxid
	}
	return zxids
}

func TestWALDump(t *testing.T) {
	dir := t.TempDir()
	s := testServer(t, dir, 100000)
	c := connect(t, s)
	zxids := workload(t, c, 0)
	c.Close()
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	for _, arg := range []string{dir, filepath.Join(dir, "wal")} {
		code, out, errOut := runTool("wal", "dump", "-data", arg)
		if code != exitOK {
			t.Fatalf("wal dump %s: got exit %d, want 0; stderr:\n%s", arg, code, errOut)
		}
		for _, want := range []string{
			"confChange ConfChangeAddNode node=1",
			"empty (a new leader's first entry)",
			"createSession timeout=4000ms",
			"create /a persistent data=3B \"one\" acl=[world:anyone:cdrwa]",
			"create /a/eph ephemeral",
			"create /a/seq- persistent_sequential",
			"setData /a version=-1 data=3B \"two\"",
			"multi 4 ops",
			"    [0] create /m1 persistent data=1B",
			"    [2] setData /m1 version=-1 data=2B",
			"    [3] delete /m2 version=-1",
			"setACL /m1 version=-1 acl=[world:anyone:rw]",
			"createTTL /ttl persistent_ttl ttl=3600000ms",
			"closeSession",
			"1 segment(s)",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("wal dump %s: output lacks %q; got:\n%s", arg, want, out)
			}
		}
		// The zxid the dump derives must be the czxid the server reported.
		for p, z := range zxids {
			if strings.HasPrefix(p, "/a/seq-") {
				p = "/a/seq-"
			}
			re := regexp.MustCompile(`zxid=(0x[0-9a-f]+) [^\n]* (create|createTTL) ` + regexp.QuoteMeta(p) + ` `)
			if p == "/m1" {
				re = regexp.MustCompile(`zxid=(0x[0-9a-f]+) [^\n]* multi 4 ops\n    \[0\] create /m1 `)
			}
			m := re.FindStringSubmatch(out)
			if m == nil {
				t.Errorf("wal dump: no create line for %s", p)
				continue
			}
			if got, want := m[1], fmt.Sprintf("0x%x", z); got != want {
				t.Errorf("wal dump: create %s: got zxid %s, want the server's czxid %s", p, got, want)
			}
		}
	}
}

// TestWALDumpLiveServer checks the dump neither blocks on nor breaks the
// lock and the log of a running server.
func TestWALDumpLiveServer(t *testing.T) {
	dir := t.TempDir()
	s := testServer(t, dir, 100000)
	c := connect(t, s)
	if _, err := c.Create("/before", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runTool("wal", "dump", dir)
	if code != exitOK || !strings.Contains(out, "create /before") {
		t.Fatalf("wal dump of a live server: got exit %d, want 0 with create /before; stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// The server still holds its lock and still writes.
	if _, _, err := storage.Open(filepath.Join(dir, "wal"), filepath.Join(dir, "snap"), nil); !errors.Is(err, storage.ErrLocked) {
		t.Errorf("storage.Open while the server runs: got %v, want ErrLocked", err)
	}
	if _, err := c.Create("/after", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create after the dump: %v", err)
	}
	if _, _, err := c.Exists("/after"); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies a flat tree of files (data dirs hold two levels).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func walSegments(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "wal", "*.wal"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no WAL segments in %s: %v", dir, err)
	}
	sort.Strings(m)
	return m
}

// lastRecordOffsets returns the frame offsets of every record in a segment.
func recordOffsets(t *testing.T, walDir string) (segment string, offsets []int64) {
	t.Helper()
	_, err := storage.ReadWAL(walDir, func(r *storage.WALRecord) error {
		if r.Segment != segment {
			segment, offsets = r.Segment, nil
		}
		offsets = append(offsets, r.Offset)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(walDir, segment), offsets
}

func TestWALDumpDamage(t *testing.T) {
	base := t.TempDir()
	s := testServer(t, base, 100000)
	c := connect(t, s)
	workload(t, c, 20)
	c.Close()
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	seg, offs := recordOffsets(t, filepath.Join(base, "wal"))
	if len(offs) < 10 {
		t.Fatalf("got %d records, want at least 10", len(offs))
	}
	mid := offs[len(offs)/2] + 12 // inside a record's payload
	last := offs[len(offs)-1]

	tests := []struct {
		name     string
		damage   func(path string) error
		wantCode int
		wantOut  []string // in stdout
		wantErr  []string // in stderr
	}{
		{
			name: "byte flipped mid-log",
			damage: func(path string) error {
				return flipByte(path, mid)
			},
			wantCode: exitFailure,
			wantErr:  []string{filepath.Base(seg), fmt.Sprintf("at byte offset %d", offs[len(offs)/2]), "Restore this server's data"},
		},
		{
			name: "last record cut short",
			damage: func(path string) error {
				// A crash mid-append leaves the last record incomplete.
				return os.Truncate(path, last+10)
			},
			wantCode: exitOK,
			wantOut:  []string{"torn write", fmt.Sprintf("at byte offset %d", last)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, base, dir)
			if err := tt.damage(filepath.Join(dir, "wal", filepath.Base(seg))); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runTool("wal", "dump", dir)
			if code != tt.wantCode {
				t.Fatalf("got exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q; got:\n%s", w, out)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q; got:\n%s", w, errOut)
				}
			}
		})
	}
}

func flipByte(path string, off int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		return err
	}
	b[0] ^= 0x5a
	_, err = f.WriteAt(b, off)
	return err
}

func TestSnapshotTools(t *testing.T) {
	dir := t.TempDir()
	s := testServer(t, dir, 30)
	c := connect(t, s)
	// Many snapshot points: at most one snapshot is written at a time, so
	// a due point that finds one in progress is skipped.
	zxids := workload(t, c, 300)
	if err := s.Close(); err != nil { // the session stays: a crash leaves it too
		t.Fatalf("close: %v", err)
	}
	files, err := storage.ListSnapshotFiles(filepath.Join(dir, "snap"))
	if err != nil || len(files) < 2 {
		t.Fatalf("got %d snapshot files (err %v), want at least 2 with snapCount=30", len(files), err)
	}
	newest := files[len(files)-1].Path

	code, out, errOut := runTool("snapshot", "inspect", newest, "-tree", "-sessions")
	if code != exitOK {
		t.Fatalf("inspect: got exit %d, want 0; stderr:\n%s", code, errOut)
	}
	for _, want := range []string{
		fmt.Sprintf("index       %d", files[len(files)-1].Index),
		"sessions    1",
		"acls        3",
		fmt.Sprintf("/a czxid=0x%x", zxids["/a"]),
		"/a/eph czxid=",
		"ephemeralOwner=0x",
		"/ttl czxid=",
		"ttl=3600000ms",
		"session 0x",
		"/zookeeper/quota",
		"checksums verified",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q; got:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n/x00"); n < 1 {
		t.Errorf("inspect -tree: got %d /x00.. lines, want some", n)
	}

	code, out, errOut = runTool("snapshot", "verify", dir)
	if code != exitOK || strings.Count(out, "ok ") != len(files) {
		t.Fatalf("verify: got exit %d and %d ok lines, want 0 and %d; stdout:\n%s\nstderr:\n%s",
			code, strings.Count(out, "ok "), len(files), out, errOut)
	}

	// A flipped byte in a chunk is found, named with the chunk's offset.
	fi, err := os.Stat(newest)
	if err != nil {
		t.Fatal(err)
	}
	if err := flipByte(newest, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runTool("snapshot", "verify", filepath.Join(dir, "snap"))
	if code != exitFailure {
		t.Fatalf("verify after a flip: got exit %d, want 1; stdout:\n%s", code, out)
	}
	for _, want := range []string{newest, "at byte offset", "crc", "Restore the data directory"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("verify stderr lacks %q; got:\n%s", want, errOut)
		}
	}
	if strings.Count(out, "ok ") != len(files)-1 {
		t.Errorf("verify: got %d ok lines, want %d (the others are intact); stdout:\n%s", strings.Count(out, "ok "), len(files)-1, out)
	}
	code, _, errOut = runTool("snapshot", "inspect", newest)
	if code != exitFailure || !strings.Contains(errOut, newest) {
		t.Errorf("inspect of the damaged file: got exit %d, want 1 naming %s; stderr:\n%s", code, newest, errOut)
	}
}

func TestSnapshotVerifyDecodeError(t *testing.T) {
	// A file whose checksums hold but whose payload is not a state machine
	// stream: written through storage itself.
	dir := t.TempDir()
	st, _, err := storage.Open(filepath.Join(dir, "wal"), filepath.Join(dir, "snap"), nil)
	if err != nil {
		t.Fatal(err)
	}
	meta := storage.SnapshotMeta{Index: 7, Term: 2}
	err = st.WriteSnapshot(meta, func(w io.Writer) error {
		_, err := w.Write([]byte("\x00\x00\x00\x05hello"))
		return err
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runTool("snapshot", "verify", dir)
	if code != exitFailure || !strings.Contains(errOut, "does not decode") || !strings.Contains(errOut, "snap-0000000000000002-0000000000000007.snap") {
		t.Errorf("verify: got exit %d, want 1 saying the stream does not decode and naming the file; stderr:\n%s", code, errOut)
	}
}

func TestToolUsage(t *testing.T) {
	empty := t.TempDir()
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"wal"}, exitUsage},
		{[]string{"wal", "cat", empty}, exitUsage},
		{[]string{"wal", "dump"}, exitUsage},
		{[]string{"wal", "dump", "a", "b"}, exitUsage},
		{[]string{"wal", "dump", "-nosuchflag", empty}, exitUsage},
		{[]string{"wal", "dump", empty}, exitFailure},
		{[]string{"wal", "dump", filepath.Join(empty, "missing")}, exitFailure},
		{[]string{"snapshot"}, exitUsage},
		{[]string{"snapshot", "inspect"}, exitUsage},
		{[]string{"snapshot", "inspect", filepath.Join(empty, "missing.snap")}, exitFailure},
		{[]string{"snapshot", "verify"}, exitUsage},
		{[]string{"snapshot", "verify", empty}, exitOK},
		{[]string{"snapshot", "verify", filepath.Join(empty, "missing")}, exitFailure},
	}
	for _, tt := range tests {
		if got, _, errOut := runTool(tt.args...); got != tt.want {
			t.Errorf("zkd %s: got exit %d, want %d; stderr:\n%s", strings.Join(tt.args, " "), got, tt.want, errOut)
		}
	}
	if got := run([]string{"snapshot"}); got != exitUsage {
		t.Errorf("run(snapshot): got exit %d, want %d: main must dispatch tools", got, exitUsage)
	}
}

// FuzzDescribeEntry: the dump must describe any bytes a damaged (but
// checksum-valid) log could hold without panicking.
func FuzzDescribeEntry(f *testing.F) {
	body := func(r proto.Record) []byte {
		var w jute.Writer
		r.Encode(&w)
		return w.Bytes()
	}
	for _, e := range []fsm.Entry{
		{Op: proto.OpCreate, Session: 1, Body: body(&proto.CreateRequest{Path: "/a", Data: []byte("x"), ACL: proto.OpenACLUnsafe})},
		{Op: proto.OpMulti, Body: body(&proto.MultiRequest{Ops: []proto.MultiOp{
			{Type: proto.OpCreate, Op: &proto.CreateRequest{Path: "/m"}},
			{Type: proto.OpDelete, Op: &proto.DeleteRequest{Path: "/m", Version: -1}},
		}})},
		{Op: proto.OpCreateSession, Timeout: 4000, Passwd: make([]byte, 16)},
		{Op: fsm.OpDeleteExpired, Path: "/c"},
	} {
		f.Add(e.Marshal())
	}
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, data := range []bool{false, true} {
			if s := describeEntry(b, data); s == "" {
				t.Errorf("describeEntry(%x) is empty", b)
			}
		}
	})
}

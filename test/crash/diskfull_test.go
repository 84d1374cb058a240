package crash

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd-io/zkd/test/harness"
)

// bigValue is what the disk-full tests write over and over: most of a
// request's 1 MB limit, so the 64 MB WAL segment fills in about 70 writes
// while the tree (and so every snapshot) stays small.
var bigValue = bytes.Repeat([]byte("f"), 900<<10)

// fillResult is what a client learned while filling the disk.
type fillResult struct {
	acked   []string // small creates, in order
	bigSets int      // acknowledged setData of /big (each writes its number first)
	err     error    // the first failed write
}

// fillUntilFailure alternates a small create with a big setData until a
// write fails, then checks that no further write is acknowledged.
func fillUntilFailure(t *testing.T, srv *harness.Server, c *client) fillResult {
	t.Helper()
	mustCreate(t, c.Conn, "/t", nil)
	mustCreate(t, c.Conn, "/big", nil)
	var res fillResult
	deadline := time.Now().Add(90 * time.Second)
	for i := 0; res.err == nil; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("no write failed within 90s (%d small, %d big acknowledged); the disk never filled", len(res.acked), res.bigSets)
		}
		p := fmt.Sprintf("/t/n%06d", i)
		if _, err := c.Create(p, []byte(p), 0, zk.WorldACL(zk.PermAll)); err != nil {
			res.err = err
			break
		}
		res.acked = append(res.acked, p)
		v := append([]byte(strconv.Itoa(res.bigSets+1)+":"), bigValue...)
		if _, err := c.Set("/big", v, -1); err != nil {
			res.err = err
			break
		}
		res.bigSets++
	}
	t.Logf("first failed write after %d small and %d big acknowledged writes: %v", len(res.acked), res.bigSets, res.err)

	// The server refuses to acknowledge what it cannot persist, stays up
	// for reads, and says why in srvr and mntr.
	srvr := waitFault(t, srv, 30*time.Second)
	t.Logf("srvr after the failure:\n%s", srvr)
	if mntr, err := srv.FourLetterWord("mntr"); err != nil || !strings.Contains(mntr, "zk_fault\t") {
		t.Errorf("mntr does not report the fault (err %v):\n%s", err, mntr)
	}
	// Nothing is acknowledged after the failure, however often the client
	// retries; the client learns it as a lost connection.
	for i := 0; i < 3; i++ {
		if _, err := c.Create("/t/late", []byte("/t/late"), 0, zk.WorldACL(zk.PermAll)); err == nil {
			t.Fatalf("a write was acknowledged after the server failed to persist")
		}
	}
	// Reads still work: the client reconnects and resumes its session.
	if len(res.acked) > 0 {
		readDeadline := time.Now().Add(10 * time.Second)
		for {
			_, _, err := c.Get(res.acked[0])
			if err == nil {
				break
			}
			if time.Now().After(readDeadline) {
				t.Fatalf("reading %s after the failure: %v", res.acked[0], err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	c.Close()
	return res
}

// waitFault polls srvr until it reports a fault, and returns that reply.
func waitFault(t *testing.T, srv *harness.Server, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		out, err := srv.FourLetterWord("srvr")
		if err == nil && strings.Contains(out, "\nFault: persistence failed") {
			return out
		}
		if exited, xerr := srv.Exited(); exited {
			t.Fatalf("the server exited (%v) instead of staying up to report the fault; log:\n%s", xerr, srv.LogTail(30))
		}
		if time.Now().After(deadline) {
			t.Fatalf("srvr did not report a fault within %v (err %v):\n%s\nlog:\n%s", d, err, out, srv.LogTail(30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkAfterRefill restarts the server with room again and checks every
// acknowledged write.
func checkAfterRefill(t *testing.T, srv *harness.Server, res fillResult) {
	t.Helper()
	srv.Stop()
	srv.Restart(t)
	c := dial(t, srv.Addr, 4*time.Second)
	checkPresent(t, c.Conn, res.acked)
	data, _, err := c.Get("/big")
	if err != nil {
		t.Fatalf("get /big: %v", err)
	}
	n, _ := strconv.Atoi(string(data[:bytes.IndexByte(append(data, ':'), ':')]))
	if n < res.bigSets || (len(data) > 0 && !bytes.HasSuffix(data, bigValue)) {
		t.Errorf("/big holds write #%d (%d bytes); %d were acknowledged", n, len(data), res.bigSets)
	}
	// And it works again.
	createSeq(t, c.Conn, "/t", 1000000, 5, nil)
}

// TestDiskFullTmpfs runs zkd on a small tmpfs: the WAL fills it, the next
// segment cannot be allocated, and the append fails with ENOSPC.
func TestDiskFullTmpfs(t *testing.T) {
	needRoot(t, "mounting a tmpfs")
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=100m"); err != nil {
		if harness.CI() {
			t.Fatalf("mount tmpfs on %s: %v (CI=true, so this is a failure)", mnt, err)
		}
		t.Skipf("cannot mount a tmpfs (%v); run as root with mount permission, or set CI=true to make this a failure", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	srv := faultServer(t, harness.WithConfig("dataDir", filepath.Join(mnt, "data")))
	res := fillUntilFailure(t, srv, dial(t, srv.Addr, 4*time.Second))
	if log := srv.LogTail(40); !strings.Contains(log, "no space left on device") {
		t.Errorf("the log does not say the disk is full:\n%s", log)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", syscall.MS_REMOUNT, "size=400m"); err != nil {
		t.Fatalf("growing the tmpfs: %v", err)
	}
	checkAfterRefill(t, srv, res)
}

// TestFileSizeLimit runs zkd under "ulimit -f" a little above one WAL
// segment: the write that would grow the segment past it fails with EFBIG
// (Go ignores SIGXFSZ, so the process survives to report it) and leaves a
// torn record, which the restart without the limit repairs.
func TestFileSizeLimit(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		harness.MissingTool(t, "bash not found; apt-get install bash")
	}
	dir := t.TempDir()
	limit := filepath.Join(dir, "limit")
	// 62600 KiB: the 64,000,000-byte segment plus about 100 KB.
	if err := os.WriteFile(limit, []byte("62600"), 0o644); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(dir, "zkd-limited")
	script := fmt.Sprintf("#!%s\nulimit -f \"$(cat %q)\" || exit 99\nexec %q \"$@\"\n", bash, limit, zkdBin)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ZKD_BINARY", wrapper)
	srv := faultServer(t)
	res := fillUntilFailure(t, srv, dial(t, srv.Addr, 4*time.Second))
	if log := srv.LogTail(40); !strings.Contains(log, "file too large") {
		t.Errorf("the log does not say the file size limit was hit:\n%s", log)
	}
	if err := os.WriteFile(limit, []byte("unlimited"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkAfterRefill(t, srv, res)
}

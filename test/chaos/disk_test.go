package chaos

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/zkd-io/zkd/internal/storage"
)

// Disk damage kinds of the disk nemesis. Each hits one stopped follower
// while the other servers keep a full quorum, so no acknowledged write
// can be lost by a correct ensemble.
var diskKinds = []string{"wal-corrupt", "wal-truncate", "snap-corrupt", "wipe"}

// catchUpWait bounds how long a damaged server may take to rejoin.
const catchUpWait = 30 * time.Second

// injectDisk kills a follower, damages its data dir and restarts it. The
// server must either refuse to start with a log message naming the damaged
// file (it is then wiped, as an operator would, and must rejoin) or start
// and catch up; the run's checks then show it serves no wrong data. The
// fault is over when inject returns.
func injectDisk(r *run) (string, func()) {
	leader := r.leader()
	var followers []int
	for _, i := range r.e.Running() {
		if i != leader {
			followers = append(followers, i)
		}
	}
	i := followers[r.rnd.IntN(len(followers))]
	s := r.e.Servers[i]
	r.e.Kill(i)
	kind := diskKinds[r.rnd.IntN(len(diskKinds))]
	what, file, err := damage(r, s.DataDir, kind)
	if err != nil {
		r.logf("disk: %s not possible on server.%d (%v); wiping instead", kind, i+1, err)
		kind, what, file = "wipe", "", ""
	}
	if kind == "wipe" {
		r.e.Wipe(r.t, i)
		what = "wiped the data dir (kept myid)"
	}
	mark := logSize(s.LogPath)
	errs := r.restart(i)
	result := "started"
	if err := errs[i]; err != nil {
		log := logFrom(s.LogPath, mark)
		switch {
		case file == "":
			r.errorf("disk: server.%d did not start after %s: %v\nlog:\n%s", i+1, what, err, tail(log, 20))
		case !strings.Contains(log, filepath.Base(file)):
			r.errorf("disk: server.%d refused to start after %s, but its log does not name %s:\n%s", i+1, what, filepath.Base(file), tail(log, 20))
		}
		result = "refused to start naming " + filepath.Base(file) + "; wiped and restarted"
		r.e.Wipe(r.t, i)
		r.restartOrFail(i)
	}
	r.waitCaughtUp(i, leader)
	desc := fmt.Sprintf("server.%d: %s: %s; %s", i+1, kind, what, result)
	return desc, func() {}
}

// damage breaks one file of a stopped server's data dir and says what it
// did and to which file.
func damage(r *run, dataDir, kind string) (what, file string, err error) {
	switch kind {
	case "wal-corrupt", "wal-truncate":
		recs, err := newestSegment(filepath.Join(dataDir, "wal"))
		if err != nil {
			return "", "", err
		}
		if len(recs) < 4 {
			return "", "", fmt.Errorf("newest WAL segment has %d records, want at least 4", len(recs))
		}
		file = filepath.Join(dataDir, "wal", recs[0].Segment)
		if kind == "wal-corrupt" {
			// A record with complete records after it: damage a torn
			// write cannot explain.
			rec := recs[1+r.rnd.IntN(len(recs)-3)]
			off := rec.Offset + rec.Size/2
			if err := flipByte(file, off); err != nil {
				return "", "", err
			}
			return fmt.Sprintf("flipped a byte at offset %d (record at %d of %d) of %s", off, rec.Offset, len(recs), recs[0].Segment), file, nil
		}
		// Cut inside one of the last three records, as a torn append.
		rec := recs[len(recs)-1-r.rnd.IntN(3)]
		off := rec.Offset + 1 + r.rnd.Int64N(max(rec.Size-1, 1))
		if err := os.Truncate(file, off); err != nil {
			return "", "", err
		}
		return fmt.Sprintf("truncated %s to %d bytes (inside the record at %d)", recs[0].Segment, off, rec.Offset), file, nil
	case "snap-corrupt":
		files, err := storage.ListSnapshotFiles(filepath.Join(dataDir, "snap"))
		if err != nil {
			return "", "", err
		}
		var newest *storage.SnapshotFile
		for k := range files {
			if files[k].State == storage.SnapshotCurrent {
				newest = &files[k]
			}
		}
		if newest == nil {
			return "", "", errors.New("no snapshot file yet")
		}
		fi, err := os.Stat(newest.Path)
		if err != nil {
			return "", "", err
		}
		off := fi.Size() / 2
		if err := flipByte(newest.Path, off); err != nil {
			return "", "", err
		}
		return fmt.Sprintf("flipped a byte at offset %d of snapshot %s (index %d)", off, filepath.Base(newest.Path), newest.Index), newest.Path, nil
	case "wipe":
		return "", "", nil
	}
	return "", "", fmt.Errorf("unknown disk damage %q", kind)
}

// newestSegment returns the records of the last WAL segment.
func newestSegment(walDir string) ([]storage.WALRecord, error) {
	var recs []storage.WALRecord
	if _, err := storage.ReadWAL(walDir, func(rec *storage.WALRecord) error {
		if len(recs) > 0 && recs[0].Segment != rec.Segment {
			recs = recs[:0]
		}
		recs = append(recs, *rec)
		return nil
	}); err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, errors.New("no WAL records")
	}
	return recs, nil
}

func flipByte(path string, off int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		f.Close()
		return err
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, off); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// waitCaughtUp waits until server i has applied what the leader had
// applied when the wait began.
func (r *run) waitCaughtUp(i, leader int) {
	target, err := r.e.Servers[leader].Zxid()
	if err != nil {
		r.logf("disk: cannot read the leader's zxid: %v", err)
		return
	}
	deadline := time.Now().Add(catchUpWait)
	for {
		z, err := r.e.Servers[i].Zxid()
		if err == nil && z >= target {
			return
		}
		if time.Now().After(deadline) {
			r.errorf("disk: server.%d did not catch up with zxid %#x within %v (at %#x, %v)", i+1, target, catchUpWait, z, err)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func logSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func logFrom(path string, mark int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	if int64(len(b)) < mark {
		return string(b)
	}
	return string(b[mark:])
}

func tail(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(slices.Clip(lines), "\n")
}

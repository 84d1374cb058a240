package storage

import (
	"errors"
	"os"
	"strings"
	"time"
)

// The tail segment.
//
// When etcd creates the WAL, it preallocates the first segment; when it
// opens one, it truncates the tail segment after its last record and
// preallocates the rest again (fileutil.ZeroToEnd). Either way the WAL
// then appends into unwritten extents until it cuts to a segment the
// filler prepared (zerofill.go), 64 MB later: on a server that writes
// little, that is never, and each restart starts over. So the filler also
// writes zeros over the rest of the tail, ahead of the WAL.
//
// The WAL is writing that file, so the filler must never write where the
// WAL has written or is about to. It reads how far the WAL has written
// from the WAL's own descriptor (walwriter_linux.go); before each piece,
// holding mu, which every WAL write holds, it checks that the descriptor
// still writes the same file and reads its offset again. The WAL writes the
// file only forward, at that offset, from its encoder's user-space buffer
// (up to 128 KiB that it has not written out yet), so zeros written at
// least tailMargin beyond the offset land where the WAL has not written,
// and whatever it writes there later replaces them. After a cut, the old
// tail's descriptor stays open with its offset at or past the segment size,
// which ends the fill; a descriptor closed and its number reused no longer
// writes the same file, which ends it too.
//
// The first look at the tail comes zeroTailAfter the start, so that a server
// that starts and stops at once (a failed start, a test) does not write the
// zeros; later looks come with the filler's other work, so that a tail the
// filler did not finish (a cut that came mid-fill) is finished.

// tailMargin is how far beyond the WAL's offset the tail's zeros start:
// eight times etcd's encoder buffer (128 KiB). Appends to the first
// tailMargin bytes after the start still land in unwritten extents.
const tailMargin = 1 << 20

// zeroTailAfter is how long after the start the filler first fills the
// tail; tests change it.
var zeroTailAfter = time.Second

// fillTail fills the rest of the segment the WAL is writing, ahead of the
// WAL, unless the filler filled it already (as the waiting segment, or
// earlier as the tail). Where the WAL's descriptor cannot be found (outside
// Linux, or if etcd ever writes otherwise), the tail stays as etcd
// preallocated it.
func (f *zeroFiller) fillTail() error {
	path := walTail(f.dir)
	if !strings.HasSuffix(path, ".wal") {
		return nil
	}
	id, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // purged or repaired meanwhile; the next look finds the tail
	}
	if err != nil {
		return err
	}
	if f.lastTail != nil && os.SameFile(id, f.lastTail) {
		return nil
	}
	f.lastTail = id // filled already, filled below, or given up on
	if f.last != nil && os.SameFile(id, f.last) {
		return nil // filled while it waited, before the cut
	}
	// The search reads every descriptor of the process; it runs without
	// mu, and the floor checks its answer holding mu.
	fd, err := walWriter(id)
	if err != nil {
		f.log.Debug("not zero-filling the tail WAL segment: cannot find the WAL's descriptor", "path", path, "err", err)
		return nil
	}
	err = f.fill(path, id, func() (int64, error) {
		pos, err := writerPos(fd, id)
		if err != nil {
			return 0, errTaken
		}
		return pos + f.margin, nil
	})
	if errors.Is(err, errTaken) {
		return nil
	}
	if err == nil {
		f.tails.Add(1)
	}
	return err
}

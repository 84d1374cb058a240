package storage

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/fileutil"
	"go.etcd.io/etcd/server/v3/storage/wal"
)

// Zero-filled WAL segments.
//
// etcd's wal preallocates each segment with fallocate, which on ext4 (and
// XFS) leaves its blocks as unwritten extents. An append that lands in one
// must record the extent as written, so the fdatasync after it also writes
// that metadata: with a journal (the default on both), a journal commit, one
// more device flush in a journal that every writer on the disk shares;
// without one, a write of the extent's block. An append into blocks already
// written needs neither. On this project's test machine (ext4 without a
// journal, on a virtual disk),
// appending 14 KB and fdatasyncing it took 242-246 µs in a fallocated file
// and 130-143 µs in a zero-filled one, and 333-375 µs against 196-218 µs
// with three writers at once (BenchmarkSyncedAppend).
//
// etcd's file pipeline keeps the next segment ready, created and
// preallocated, as "0.tmp" or "1.tmp" in the WAL directory, until a Save
// that fills the current segment cuts to it: it takes the file, writes the
// segment's first records into it and renames it to its segment name. The
// zero filler writes zeros over that waiting file in the background, in
// small pieces, before the cut. Each piece is written holding mu, which
// Save holds around the WAL's append, and only once the file's name still
// names the file the filler opened (same device and inode). A cut happens
// only inside Save and renames the file before Save returns, so while the
// filler holds mu and the name still matches, the WAL has not written to
// the file, and whatever it writes later replaces the zeros. (A cut that
// fails before its rename fails the Save, and the server stops; the file
// it leaves is not a segment.) If etcd ever names its next segment
// otherwise, the filler finds nothing to fill, and segments are as etcd
// preallocates them: slower syncs, the same log.
//
// The segment the WAL is writing when it is created or opened (etcd
// preallocates the rest of it anew at every open) is filled too, ahead of
// the WAL's own writes: see zerotail.go.
//
// The filler runs only where it helps (zeroFillHelps: ext4 and XFS on
// Linux), or where tests ask for it (zeroFillAlways).

// zeroFillAlways starts the filler whatever the file system; tests set it,
// so that the filler's safety is tested wherever they run.
var zeroFillAlways = false

// pipelineNames are the names etcd's file pipeline gives the next segment,
// in turn.
var pipelineNames = [2]string{"0.tmp", "1.tmp"}

// zeroPiece is how much of the waiting segment is written per hold of
// mu: a Save that finds the filler mid-piece waits for one page-cache
// copy of this size.
const zeroPiece = 64 << 10

// zeroFiller fills the waiting segment, and the rest of the tail segment,
// with zeros. Save reports what it appended (grew); once every zeroEvery
// bytes, the filler looks for a tail or a waiting segment it has not
// filled yet.
type zeroFiller struct {
	dir   string
	log   *slog.Logger
	every int64 // zeroEvery, or less in tests
	piece int64 // zeroPiece, or less in tests
	// margin is how far beyond the WAL's offset the tail's zeros start
	// (tailMargin, or less in tests).
	margin int64
	// between, if set (by tests), runs after each piece, holding nothing.
	between func()
	kick    chan struct{}
	quit    chan struct{}
	done    chan struct{}

	// mu is held around every WAL write (Storage.writeWAL) and by the
	// filler while it writes a piece.
	mu sync.Mutex

	grown int64 // bytes appended since the last kick; Save's goroutine only

	last     os.FileInfo   // the waiting segment filled last
	filled   atomic.Uint64 // waiting segments filled
	lastTail os.FileInfo   // the tail segment filled (or given up on) last
	tails    atomic.Uint64 // tail segments filled
	failed   bool          // a write failed: no more filling (the log says why); run's only
}

// zeroEvery is how many bytes the WAL grows between two looks for a waiting
// segment to fill: the first look comes early in a segment, and a server
// writing little never fills one.
func zeroEvery() int64 { return wal.SegmentSizeBytes / 16 }

// startZeroFiller starts the filler of the WAL in dir. It first fills the
// tail segment after tailAfter, and the waiting one every zeroEvery bytes.
func startZeroFiller(dir string, log *slog.Logger, tailAfter time.Duration) *zeroFiller {
	f := &zeroFiller{
		dir: dir, log: log, every: zeroEvery(), piece: zeroPiece, margin: tailMargin,
		kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
	}
	go f.run(tailAfter)
	return f
}

// grew records n bytes appended to the WAL and wakes the filler every
// f.every bytes. Call it from Save's goroutine.
func (f *zeroFiller) grew(n int64) {
	f.grown += n
	if f.grown < f.every {
		return
	}
	f.grown = 0
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// stop ends the filler and waits for it, abandoning a segment half filled
// (the WAL preallocated the rest).
func (f *zeroFiller) stop() {
	close(f.quit)
	<-f.done
}

func (f *zeroFiller) run(tailAfter time.Duration) {
	defer close(f.done)
	start := time.NewTimer(tailAfter)
	defer start.Stop()
	for {
		tailOnly := false
		select {
		case <-start.C:
			tailOnly = true
		case <-f.kick:
		case <-f.quit:
			return
		}
		if f.failed {
			continue
		}
		err := f.fillTail()
		if err == nil && !tailOnly {
			err = f.fillWaiting()
		}
		if err != nil && !errors.Is(err, errStopped) {
			f.failed = true
			f.log.Warn("cannot zero-fill WAL segments; segments stay as the WAL preallocates them, and their syncs are slower",
				"dir", f.dir, "err", err)
		}
	}
}

var errStopped = errors.New("stopped")

// errTaken ends a fill whose segment the WAL took before it was done.
var errTaken = errors.New("taken")

// fillWaiting fills the segment waiting in the pipeline, if there is one
// it has not filled.
func (f *zeroFiller) fillWaiting() error {
	for _, name := range pipelineNames {
		path := filepath.Join(f.dir, name)
		id, err := os.Stat(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if f.last != nil && os.SameFile(id, f.last) {
			continue
		}
		err = f.fill(path, id, fromStart)
		if errors.Is(err, errTaken) {
			continue // cut to meanwhile, or removed by a closing WAL
		}
		if err == nil {
			f.last = id
			f.filled.Add(1)
		}
		return err
	}
	return nil
}

// fromStart is the floor of a waiting segment: the WAL has not written it.
func fromStart() (int64, error) { return 0, nil }

// fill writes zeros over the segment file at path, whose identity was id
// when found, up to the segment size, and syncs it. Each piece is written
// holding mu, at or beyond the offset floor returns then (rounded up to a
// whole piece), or not at all if floor fails. It keeps the file open
// read-only, to pace its writeback and sync it; each piece is written
// through a descriptor opened and closed holding mu, so that no descriptor
// of the filler has a file open for writing once it may be a segment
// (writerFD looks for the WAL's writer among the process's descriptors).
func (f *zeroFiller) fill(path string, id os.FileInfo, floor func() (int64, error)) error {
	file, err := openSame(path, os.O_RDONLY, id)
	if err != nil {
		return err
	}
	defer file.Close()
	start := time.Now()
	zeros := make([]byte, f.piece)
	w := &syncWriter{f: file}
	for off := int64(0); off < wal.SegmentSizeBytes; {
		select {
		case <-f.quit:
			return errStopped
		default:
		}
		next, err := f.write(path, id, zeros, off, floor)
		if err != nil {
			return err
		}
		if f.between != nil {
			f.between()
		}
		// Push the zeros to disk as a snapshot's bytes are, so that the
		// WAL's syncs never queue behind many of them. (Where the floor
		// skipped ahead, the range also covers what the WAL wrote there,
		// which its own fdatasync writes out anyway.)
		if err := w.wrote(next - off); err != nil {
			return err
		}
		off = next
	}
	if err := fileutil.Fdatasync(file); err != nil {
		return err
	}
	f.log.Debug("zero-filled a WAL segment", "path", path, "bytes", wal.SegmentSizeBytes, "took", time.Since(start))
	return nil
}

// write writes one piece of zeros at off, or at floor's offset rounded up
// to a whole piece if that is beyond off, holding mu, if path still names
// the file; it returns the offset after the piece (the segment size once
// the floor has reached it).
func (f *zeroFiller) write(path string, id os.FileInfo, zeros []byte, off int64, floor func() (int64, error)) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	lo, err := floor()
	if err != nil {
		return off, err
	}
	if lo > off {
		off = (lo + f.piece - 1) / f.piece * f.piece
	}
	if off >= wal.SegmentSizeBytes {
		return wal.SegmentSizeBytes, nil
	}
	file, err := openSame(path, os.O_WRONLY, id)
	if err != nil {
		return off, err
	}
	defer file.Close()
	n, err := file.WriteAt(zeros[:min(f.piece, wal.SegmentSizeBytes-off)], off)
	return off + int64(n), err
}

// openSame opens path if it still names the file id, and fails with
// errTaken if it names another or none.
func openSame(path string, flag int, id os.FileInfo) (*os.File, error) {
	file, err := os.OpenFile(path, flag, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errTaken
	}
	if err != nil {
		return nil, err
	}
	now, err := file.Stat()
	if err == nil && !os.SameFile(now, id) {
		err = errTaken
	}
	if err != nil {
		file.Close()
		return nil, err
	}
	return file, nil
}

package storage

import (
	"errors"

	"golang.org/x/sys/unix"
)

// pace waits until the range whose writeback the previous call started is
// on disk, then starts writeback of what was written since, without waiting
// for it. So at most two ranges of syncEvery bytes are dirty or in flight,
// and the serializer runs at disk speed instead of filling the page cache.
// sync_file_range flushes data only, never metadata: the caller still
// fsyncs at the end.
func (w *syncWriter) pace() error {
	fd := int(w.f.Fd())
	if w.started > w.synced {
		err := unix.SyncFileRange(fd, w.synced, w.started-w.synced,
			unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
		if err != nil {
			return w.fallback(err)
		}
		w.synced = w.started
	}
	if err := unix.SyncFileRange(fd, w.started, w.written-w.started, unix.SYNC_FILE_RANGE_WRITE); err != nil {
		return w.fallback(err)
	}
	w.started = w.written
	return nil
}

// fallback handles a file system that does not support sync_file_range by
// syncing the data written so far instead; real I/O errors are returned.
func (w *syncWriter) fallback(err error) error {
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EOPNOTSUPP) {
		return err
	}
	if err := unix.Fdatasync(int(w.f.Fd())); err != nil {
		return err
	}
	w.started, w.synced = w.written, w.written
	return nil
}

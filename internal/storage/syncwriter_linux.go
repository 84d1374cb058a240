package storage

import (
	"errors"

	"golang.org/x/sys/unix"
)

// pace writes what was written since the last call to disk and waits for
// it, so the serializer runs at disk speed instead of filling the page
// cache, and a WAL sync never waits behind more than syncEvery bytes of
// it. sync_file_range flushes data only, never metadata: the caller still
// fsyncs at the end.
func (w *syncWriter) pace() error {
	err := unix.SyncFileRange(int(w.f.Fd()), w.synced, w.written-w.synced,
		unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
	if err != nil {
		return w.fallback(err)
	}
	w.synced = w.written
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
	w.synced = w.written
	return nil
}

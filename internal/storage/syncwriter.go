package storage

import (
	"os"
)

// syncEvery is how many bytes of a snapshot file are written between two
// incremental syncs. A snapshot of a large tree is 100 MB or more; left to
// one fsync at the end, that fsync queues the whole file on the disk at
// once, and every WAL fdatasync issued meanwhile (each one a write waiting
// to be acknowledged) queues behind it. Syncing as it goes keeps the disk's
// queue short, so a WAL sync waits for a few MiB of snapshot data at most,
// and the closing fsync has little left to do. BenchmarkSnapshotStall in
// internal/raftnode (100 MiB snapshot, back-to-back writes) measured the
// longest write stall at 30-70 ms with one final fsync, 4-11 ms syncing
// every 4 MiB and 3-9 ms every 2 MiB, with no slower snapshot.
const syncEvery = 2 << 20

// syncWriter writes a file and pushes it to disk as it goes (see
// syncEvery). It does not replace the final fsync: only that one makes the
// file's metadata durable.
type syncWriter struct {
	f       *os.File
	written int64 // bytes written so far
	started int64 // writeback was started for [0, started)
	synced  int64 // writeback finished for [0, synced)
	syncs   int   // incremental syncs issued, for tests
}

func (w *syncWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.written += int64(n)
	if err != nil {
		return n, err
	}
	if w.written-w.started >= syncEvery {
		if err := w.pace(); err != nil {
			return n, err
		}
		w.syncs++
	}
	return n, nil
}

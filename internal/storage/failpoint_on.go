//go:build failpoints && linux

package storage

// The failpoints build records where the durable part of the WAL ends, for
// the lose-unsynced chaos nemesis (see FailpointSyncedFile). etcd's wal
// keeps its files private, so the end is found from outside: the newest
// *.wal segment, the descriptor of this process that has it open for
// writing (found once in /proc/self/fd by device and inode, then reused
// while it stays valid), and that descriptor's offset (walwriter_linux.go).
//
// The offset is exact only right after a sync: etcd's encoder buffers
// records in user space (up to 128 KiB) and flushes the buffer to the file
// just before each fdatasync, so then the descriptor's offset is the end of
// the last record, and everything before it is on disk. Between syncs the
// offset may run ahead (a full buffer is written out unsynced), which is why
// only synced writes are recorded.
//
// Every call runs on the goroutine that calls Save (raftnode's append
// goroutine), the only one that moves the tail's offset, so the offset
// cannot change while it is read. Where the zero filler runs, every call is
// made holding its lock (Storage.writeWAL), so the descriptor the filler
// opens for a moment to write zeros is never seen as a second writer.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"go.etcd.io/etcd/server/v3/storage/wal"
	"golang.org/x/sys/unix"
)

// syncMarks holds one *syncMark per WAL directory (tests open several).
var syncMarks sync.Map

// syncMark caches the tail segment's descriptor between calls.
type syncMark struct {
	mu       sync.Mutex
	side     string   // the side file
	seg      string   // name of the segment fd has open; "" before the first lookup
	fd       int      // -1 when unknown
	dev, ino uint64   // identity of seg, to tell a reused descriptor number
	line     string   // the line last written, to skip rewriting it
	sideFile *os.File // the side file, open for the life of the process
}

// noteSynced is called after every successful WAL write. synced says the
// write was fsynced (raft.MustSync, or a snapshot record). A write raft did
// not need synced is fsynced anyway when it made etcd cut a new segment;
// that is recognised too.
func noteSynced(walDir string, synced bool) {
	v, ok := syncMarks.Load(walDir)
	if !ok {
		v, _ = syncMarks.LoadOrStore(walDir, &syncMark{fd: -1, side: filepath.Join(filepath.Dir(walDir), FailpointSyncedFile)})
	}
	m := v.(*syncMark)
	m.mu.Lock()
	defer m.mu.Unlock()
	cut := false
	if !synced {
		// etcd cuts only once the tail's offset reached SegmentSizeBytes,
		// and the old tail keeps that offset: a tail still below it was
		// not cut. This keeps the common unsynced write (a commit-index
		// HardState) at two syscalls.
		pos, err := m.cachedPos()
		if err == nil && pos < wal.SegmentSizeBytes {
			return
		}
		cut = err == nil
	}
	prev := m.seg
	seg, pos, err := m.locate(walDir)
	if err != nil {
		if synced || cut {
			// A stale line would make the nemesis discard synced data:
			// say instead that the end is unknown.
			m.write(fmt.Sprintf("error %v\n", err))
		}
		return
	}
	if !synced && (prev == "" || seg == prev) {
		// No cut; or the first call after Open, where nothing tells
		// whether the tail was synced: keep the line the last sync left.
		return
	}
	m.write(seg + " " + strconv.FormatInt(pos, 10) + "\n")
}

// cachedPos returns the offset of the cached descriptor if it still has
// the cached segment open.
func (m *syncMark) cachedPos() (int64, error) {
	if m.fd < 0 {
		return 0, errors.New("no cached descriptor")
	}
	return writerOffset(m.fd, m.dev, m.ino)
}

// locate finds the newest segment and the offset of the descriptor that
// writes it.
func (m *syncMark) locate(walDir string) (string, int64, error) {
	seg := walTail(walDir)
	if !strings.HasSuffix(seg, ".wal") {
		return "", 0, fmt.Errorf("no *.wal segment in %s", walDir)
	}
	var st unix.Stat_t
	if err := unix.Stat(seg, &st); err != nil {
		return "", 0, err
	}
	name := filepath.Base(seg)
	dev, ino := uint64(st.Dev), uint64(st.Ino) // their widths differ between architectures
	if m.seg != name || m.dev != dev || m.ino != ino {
		m.fd, m.seg, m.dev, m.ino = -1, name, dev, ino
	}
	if pos, err := m.cachedPos(); err == nil {
		return name, pos, nil
	}
	fd, err := writerFD(dev, ino)
	if err != nil {
		m.fd = -1
		return "", 0, fmt.Errorf("%s: %w", seg, err)
	}
	m.fd = fd
	pos, err := unix.Seek(fd, 0, io.SeekCurrent)
	if err != nil {
		m.fd = -1
		return "", 0, fmt.Errorf("%s: offset of descriptor %d: %w", seg, fd, err)
	}
	return name, pos, nil
}

// sideRecord is the fixed size of the side file's content: the line,
// padded with spaces. A fixed size lets every update be one pwrite at
// offset 0 that always covers the whole previous content.
const sideRecord = 256

// write updates the side file in place with one pwrite, without fsync: it
// only has to survive the process (SIGKILL), not the machine, and the page
// cache keeps it. A write of less than a page is copied into the page
// cache whole or not at all (a fatal signal is acted on between pages), so
// a reader never sees half a line. Replacing the file by write and rename
// instead costs 300-500 µs per sync on ext4 (its replace-by-rename and
// replace-by-truncate heuristics start writeback), against about 2 µs.
// If the file cannot be written, it is removed: a missing file fails the
// nemesis, a stale one would make it discard synced data.
func (m *syncMark) write(line string) {
	if line == m.line {
		return
	}
	rec := []byte(line[:min(len(line), sideRecord-1)])
	rec = append(rec, bytes.Repeat([]byte{' '}, sideRecord-1-len(rec))...)
	rec = append(rec, '\n')
	var err error
	if m.sideFile == nil {
		m.sideFile, err = os.OpenFile(m.side, os.O_CREATE|os.O_WRONLY, 0o600)
	}
	if err == nil {
		_, err = m.sideFile.WriteAt(rec, 0)
	}
	if err != nil {
		if m.sideFile != nil {
			m.sideFile.Close()
			m.sideFile = nil
		}
		os.Remove(m.side)
		m.line = ""
		return
	}
	m.line = line
}

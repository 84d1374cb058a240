package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// etcd's wal keeps its files private. Two parts of zkd need to know how far
// it has written its tail segment: the zero filler (zerotail.go), which
// writes zeros only beyond that point, and the failpoints build
// (failpoint_on.go). They find the descriptor of this process that has the
// segment open for writing, in /proc/self/fd, and read its offset with
// lseek(fd, 0, SEEK_CUR): the same number /proc/self/fdinfo shows as "pos",
// in one syscall and without parsing. etcd writes a segment only through
// that descriptor and only forward (its encoder buffers up to 128 KiB in
// user space and writes it at the descriptor's offset), so everything the
// WAL has written lies below the offset, and everything it will write lies
// at or beyond it.

// errNoWriter says that no descriptor of this process writes the file.
var errNoWriter = errors.New("no descriptor of this process writes it")

// writerFD finds this process's descriptor that has the file dev/ino open
// for writing (the offline tools' readers open segments read-only).
func writerFD(dev, ino uint64) (int, error) {
	des, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1, err
	}
	found := -1
	for _, de := range des {
		fd, err := strconv.Atoi(de.Name())
		if err != nil {
			continue
		}
		if !writes(fd, dev, ino) {
			continue // closed since the listing, another file, or read-only
		}
		if found >= 0 {
			return -1, fmt.Errorf("descriptors %d and %d both write it", found, fd)
		}
		found = fd
	}
	if found < 0 {
		return -1, errNoWriter
	}
	return found, nil
}

// writes reports whether fd has the file dev/ino open for writing.
func writes(fd int, dev, ino uint64) bool {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || uint64(st.Dev) != dev || uint64(st.Ino) != ino {
		return false
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	return err == nil && fl&unix.O_ACCMODE != unix.O_RDONLY
}

// fileID returns the device and inode of a file os.Stat described; their
// widths differ between architectures.
func fileID(id os.FileInfo) (dev, ino uint64) {
	st := id.Sys().(*syscall.Stat_t)
	return uint64(st.Dev), uint64(st.Ino)
}

// walWriter finds the descriptor that writes the file id.
func walWriter(id os.FileInfo) (int, error) {
	return writerFD(fileID(id))
}

// writerPos returns the offset of fd if it still writes the file id (a
// descriptor number is reused once closed), or errNoWriter.
func writerPos(fd int, id os.FileInfo) (int64, error) {
	dev, ino := fileID(id)
	return writerOffset(fd, dev, ino)
}

// writerOffset returns the offset of fd if it still writes the file
// dev/ino, or errNoWriter.
func writerOffset(fd int, dev, ino uint64) (int64, error) {
	if !writes(fd, dev, ino) {
		return 0, errNoWriter
	}
	return unix.Seek(fd, 0, io.SeekCurrent)
}

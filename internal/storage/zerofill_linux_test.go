package storage

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// unwrittenBytes reports how many bytes of path lie in unwritten extents
// (allocated but never written: what fallocate leaves), from the FIEMAP
// ioctl. ok is false when the file system cannot tell (tmpfs, for one).
func unwrittenBytes(path string) (n int64, ok bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	const (
		fsIocFiemap       = 0xC020660B // _IOWR('f', 11, struct fiemap)
		fiemapFlagSync    = 0x1
		fiemapExtentLast  = 0x1
		fiemapUnwritten   = 0x800
		extentsPerRequest = 64
	)
	type extent struct {
		Logical, Physical, Length uint64
		_                         [2]uint64
		Flags                     uint32
		_                         [3]uint32
	}
	type request struct {
		Start, Length           uint64
		Flags, Mapped, Count, _ uint32
		Extents                 [extentsPerRequest]extent
	}
	var req request
	for start := uint64(0); ; {
		req = request{Start: start, Length: ^uint64(0), Flags: fiemapFlagSync, Count: extentsPerRequest}
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), fsIocFiemap, uintptr(unsafe.Pointer(&req))); errno != 0 {
			if errno == unix.EOPNOTSUPP || errno == unix.ENOTTY {
				return 0, false, nil
			}
			return 0, false, errno
		}
		if req.Mapped == 0 {
			return n, true, nil
		}
		for _, e := range req.Extents[:req.Mapped] {
			if e.Flags&fiemapUnwritten != 0 {
				n += int64(e.Length)
			}
			if e.Flags&fiemapExtentLast != 0 {
				return n, true, nil
			}
			start = e.Logical + e.Length
		}
	}
}

// BenchmarkSyncedAppend appends 14 KB (a batch of about eleven 1 KB writes,
// as a loaded server syncs) and fdatasyncs it, into a file preallocated as
// etcd's wal does (fallocate) and into one written full of zeros first, by
// one writer and by three at once (an ensemble's members on one disk).
// µs/sync is the mean time of the fdatasync alone.
//
//	go test -run xxx -bench SyncedAppend -benchtime 2000x -count 3 ./internal/storage/
func BenchmarkSyncedAppend(b *testing.B) {
	const size = 14000
	for _, kind := range []string{"fallocated", "zeroed"} {
		for _, writers := range []int{1, 3} {
			b.Run(fmt.Sprintf("%s/writers=%d", kind, writers), func(b *testing.B) {
				n := b.N/writers + 1
				files := make([]*os.File, writers)
				for i := range files {
					f, err := os.Create(filepath.Join(b.TempDir(), "segment"))
					if err != nil {
						b.Fatal(err)
					}
					defer f.Close()
					total := int64(n) * size
					if kind == "fallocated" {
						err = unix.Fallocate(int(f.Fd()), 0, 0, total)
					} else {
						_, err = f.WriteAt(make([]byte, total), 0)
					}
					if err == nil {
						err = f.Sync()
					}
					if err != nil {
						b.Fatal(err)
					}
					files[i] = f
				}
				data := bytes.Repeat([]byte{'x'}, size)
				var synced atomic.Int64
				b.ResetTimer()
				var wg sync.WaitGroup
				for _, f := range files {
					wg.Go(func() {
						var took time.Duration
						for i := range n {
							if _, err := f.WriteAt(data, int64(i)*size); err != nil {
								b.Error(err)
								return
							}
							start := time.Now()
							if err := unix.Fdatasync(int(f.Fd())); err != nil {
								b.Error(err)
								return
							}
							took += time.Since(start)
						}
						synced.Add(int64(took / time.Duration(n)))
					})
				}
				wg.Wait()
				b.ReportMetric(float64(synced.Load())/float64(writers)/1e3, "µs/sync")
			})
		}
	}
}

// The filler runs on ext4 and XFS and nowhere else: on tmpfs (or a
// copy-on-write file system) its zeros would buy nothing.
func TestZeroFillOnlyWhereItHelps(t *testing.T) {
	checked := 0
	for _, dir := range []string{t.TempDir(), "/dev/shm"} {
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			t.Logf("%s: %v", dir, err)
			continue
		}
		want := map[uint64]bool{unix.EXT4_SUPER_MAGIC: true, unix.XFS_SUPER_MAGIC: true, unix.TMPFS_MAGIC: false}
		w, known := want[uint64(st.Type)]
		if !known {
			t.Logf("%s: file system 0x%x is neither ext4, XFS nor tmpfs", dir, st.Type)
			continue
		}
		checked++
		if got, fs := zeroFillHelps(dir); got != w {
			t.Errorf("zeroFillHelps(%s) = %v (%s), want %v", dir, got, fs, w)
		}
	}
	if checked == 0 {
		t.Fatal("no directory on ext4, XFS or tmpfs to check")
	}
}

package storage

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dioAlign is the offset alignment the file system of dir asks of direct
// writes to its files (statx's STATX_DIOALIGN, which only regular files
// report), 0 when it does not do them for real (tmpfs) or the kernel does
// not say (before 6.1).
func dioAlign(t *testing.T, dir string) uint32 {
	t.Helper()
	f, err := os.CreateTemp(dir, "dioalign")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	defer os.Remove(f.Name())
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, f.Name(), 0, unix.STATX_DIOALIGN, &st); err != nil {
		t.Fatalf("statx %s: %v", f.Name(), err)
	}
	if st.Mask&unix.STATX_DIOALIGN == 0 {
		return 0
	}
	return st.Dio_offset_align
}

// cachedPages counts the pages of path that are in the page cache
// (mincore on a mapping of the file, which faults nothing in).
func cachedPages(t *testing.T, path string) (cached, pages int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatalf("mincore %s: %v", path, errno)
	}
	for _, v := range vec {
		if v&1 != 0 {
			cached++
		}
	}
	return cached, len(vec)
}

// TestSnapshotSkipsThePageCache: a snapshot's whole pieces reach the disk
// without passing through the page cache; only its last partial piece is
// cached. Written through the cache, every page of it would be there.
func TestSnapshotSkipsThePageCache(t *testing.T) {
	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	defer s.Close()
	if dioAlign(t, snapDir) == 0 {
		t.Skipf("the file system of %s does not write directly (tmpfs), or this kernel does not say (statx STATX_DIOALIGN, Linux 6.1); snapshots go through the page cache there, and TestDirectWriterWritesEverything checks their contents", snapDir)
	}
	data := payload(7, 4*syncEvery+12345)
	meta := writeSnap(t, s, 9, 1, data)
	path := filepath.Join(snapDir, snapName(meta.Term, meta.Index))
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	tail := fi.Size() % syncEvery
	page := int64(os.Getpagesize())
	limit := int((tail+page-1)/page) + 1 // the tail's pages, and the one it may share with the last piece
	if cached, pages := cachedPages(t, path); cached > limit {
		t.Fatalf("%d of the snapshot's %d pages are in the page cache after it was written, want at most %d (its last %d bytes)", cached, pages, limit, tail)
	}
	if got := readSnap(t, s, meta); !bytes.Equal(got, data) {
		t.Fatalf("the snapshot reads back %d bytes, not the %d written", len(got), len(data))
	}
}

// TestDirectWriterFallsBackWhenRefused: when the disk refuses a direct
// write (here a piece whose length is no multiple of its blocks), the
// writer writes that piece and everything after it through the page cache,
// and the file holds what was written.
func TestDirectWriterFallsBackWhenRefused(t *testing.T) {
	dir := t.TempDir()
	align := dioAlign(t, dir)
	data := payload(11, 3*syncEvery+777)
	began := false
	w, got := writeThrough(t, dir, data, 100_000, func(w *directWriter) {
		began = w.direct
		if w.direct {
			w.buf = alignedBuf(syncEvery - 1)
		}
	})
	if !bytes.Equal(got, data) {
		t.Fatalf("the file holds %d bytes, not the %d written", len(got), len(data))
	}
	if align > 0 && !began {
		t.Fatalf("the writer did not turn direct writes on, on a file system that takes them (alignment %d)", align)
	}
	if align > 1 && w.pieces != 0 {
		t.Fatalf("%d pieces of %d bytes were written directly on a file system that aligns direct writes to %d bytes; want the first refused", w.pieces, syncEvery-1, align)
	}
	if align <= 1 {
		t.Logf("the file system of %s does not refuse unaligned direct writes (alignment %d); only the contents were checked", dir, align)
	}
}

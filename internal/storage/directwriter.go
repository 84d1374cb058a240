package storage

import (
	"os"
	"unsafe"
)

// directAlign is the alignment of a direct write's buffer, offset and
// length: a page, which covers the logical block size of every common
// disk. A device with larger blocks refuses the first direct write, and
// directWriter falls back to the page cache.
const directAlign = 4096

// directWriter writes a snapshot file past the page cache (O_DIRECT) where
// the file system allows it. A snapshot is written once, front to back,
// and read only when it is complete (at a restart, or to stream it to a
// peer), so caching its pages buys little, and writing through the cache
// copies every byte into a freshly allocated page: under 32 sessions of
// 1 KB creates on a standalone server, that copy was 17% of the server's
// CPU (perf, copy_folio_from_iter_atomic under the snapshot's write(2)).
//
// It gathers syncEvery bytes in an aligned buffer and writes them at once.
// A direct write returns when the disk has the piece, which paces the
// serializer as syncWriter's sync_file_range does, so a WAL sync still
// waits behind at most one piece. What is left at the end (less than a
// piece, and not a multiple of a block) goes through the page cache; the
// caller's fsync covers both, and makes the file's metadata durable.
// Where direct writes are refused (a file system without them, or a
// device with larger blocks), it writes through the page cache as a
// syncWriter from there on.
type directWriter struct {
	sw     *syncWriter // the file; what is not written directly goes through it
	buf    []byte      // the piece being gathered, while direct
	direct bool
	pieces int // pieces written directly, for tests
}

func newDirectWriter(f *os.File) *directWriter {
	w := &directWriter{sw: &syncWriter{f: f}}
	if setDirect(f, true) == nil {
		w.direct = true
		w.buf = alignedBuf(syncEvery)
	}
	return w
}

func (w *directWriter) Write(p []byte) (int, error) {
	if !w.direct {
		return w.sw.Write(p)
	}
	n := 0
	for len(p) > 0 {
		k := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+k]
		p = p[k:]
		n += k
		if len(w.buf) == cap(w.buf) {
			if err := w.writePiece(); err != nil {
				return n, err
			}
			if !w.direct {
				m, err := w.sw.Write(p)
				return n + m, err
			}
		}
	}
	return n, nil
}

// writePiece writes the gathered piece directly. If the file or the device
// refuses, it turns direct writes off and writes the piece's rest through
// the page cache.
func (w *directWriter) writePiece() error {
	n, err := w.sw.f.Write(w.buf)
	w.sw.written += int64(n)
	w.sw.synced = w.sw.written // a direct write is on the disk when it returns
	if err == nil {
		w.pieces++
		w.buf = w.buf[:0]
		return nil
	}
	if !directRefused(err) {
		return err
	}
	return w.toCache(w.buf[n:])
}

// toCache turns direct writes off and writes rest, what was gathered and
// not written, through the page cache.
func (w *directWriter) toCache(rest []byte) error {
	w.direct = false
	w.buf = nil
	if err := setDirect(w.sw.f, false); err != nil {
		return err
	}
	_, err := w.sw.Write(rest)
	return err
}

// finish writes what is gathered through the page cache. The caller then
// fsyncs the file.
func (w *directWriter) finish() error {
	if !w.direct {
		return nil
	}
	return w.toCache(w.buf)
}

// alignedBuf returns an empty slice of capacity n whose first byte is
// directAlign-aligned. Go's heap does not move objects.
func alignedBuf(n int) []byte {
	b := make([]byte, n+directAlign)
	off := int(uintptr(unsafe.Pointer(&b[0])) & (directAlign - 1))
	if off != 0 {
		off = directAlign - off
	}
	return b[off : off : off+n]
}

package storage

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"
)

// Shipping snapshots between servers. A leader streams its snapshot file
// byte for byte, header and CRC framing included, so the receiver can check
// every chunk before it keeps the file, and both servers hold identical
// files.

// OpenRawSnapshot opens the snapshot file for meta as it is on disk, for a
// leader to stream to a peer, and returns its size. The caller closes it.
// When the file is gone (purged since raft chose it), the error wraps
// os.ErrNotExist. Safe from any goroutine.
func (s *Storage) OpenRawSnapshot(meta SnapshotMeta) (io.ReadCloser, int64, error) {
	path := filepath.Join(s.snapDir, snapName(meta.Term, meta.Index))
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("storage: opening snapshot %s to send: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("storage: opening snapshot %s to send: %w", path, err)
	}
	return f, fi.Size(), nil
}

// SaveSnapshotFile stores a snapshot file streamed from a leader: exactly
// size bytes are read from r into a temporary file, and the whole stream is
// checked as it passes (header, every chunk's CRC, the trailer, nothing
// after it); the header must name meta's index and term and carry meta's
// ConfState. Then the file is fsynced and renamed into place, where
// OpenSnapshot finds it. On any error nothing is left behind. Like
// WriteSnapshot, the file is not used at startup until RecordSnapshot
// records it. Safe to call concurrently with the raft loop's calls.
func (s *Storage) SaveSnapshotFile(meta SnapshotMeta, r io.Reader, size int64) (err error) {
	name := snapName(meta.Term, meta.Index)
	if size < 0 {
		return fmt.Errorf("storage: received snapshot %s: negative size %d", name, size)
	}
	final := filepath.Join(s.snapDir, name)
	// A unique name: the same snapshot may arrive twice at once when a
	// leader retries after a failure it saw before this server did.
	f, err := os.CreateTemp(s.snapDir, name+".*"+snapTmpSuffix)
	if err != nil {
		return fmt.Errorf("storage: creating received snapshot %s: %w", name, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	lr := &io.LimitedReader{R: r, N: size}
	dw := newDirectWriter(f)
	tee := &teeFile{r: lr, w: dw}
	br := bufio.NewReaderSize(tee, 256<<10)
	got, err := readHeader(br)
	if err == nil {
		if got.Index != meta.Index || got.Term != meta.Term ||
			!proto.Equal(confStateOrEmpty(got.ConfState), confStateOrEmpty(meta.ConfState)) {
			err = fmt.Errorf("%w: header says term %d index %d conf state {%v}, the message says term %d index %d conf state {%v}",
				ErrCorruptSnapshot, got.Term, got.Index, confStateOrEmpty(got.ConfState), meta.Term, meta.Index, confStateOrEmpty(meta.ConfState))
		}
	}
	if err == nil {
		_, err = io.Copy(io.Discard, &chunkReader{r: br, name: "received " + name})
	}
	ended := errors.Is(tee.rerr, io.EOF) && lr.N > 0 // the sender stopped short of size
	switch {
	case tee.werr != nil:
		// The disk failed, not the stream: say so.
		return fmt.Errorf("storage: writing received snapshot %s: %w", tmp, tee.werr)
	case tee.rerr != nil && !errors.Is(tee.rerr, io.EOF):
		return fmt.Errorf("storage: receiving snapshot %s after %d of %d bytes: %w", name, size-lr.N, size, tee.rerr)
	case ended && err != nil:
		return fmt.Errorf("storage: receiving snapshot %s: the stream ended after %d of %d bytes: %w", name, size-lr.N, size, err)
	case ended:
		return fmt.Errorf("storage: receiving snapshot %s: the stream ended after %d of %d bytes", name, size-lr.N, size)
	case err != nil:
		return fmt.Errorf("storage: received snapshot %s: %w", name, err)
	}
	if err = dw.finish(); err != nil {
		return fmt.Errorf("storage: writing received snapshot %s: %w", tmp, err)
	}
	if err = s.installSnapFile(f, tmp, final); err != nil {
		return err
	}
	s.log.Info("received snapshot", "path", final, "index", meta.Index, "term", meta.Term, "bytes", size)
	return nil
}

// teeFile writes to w everything read from r, keeping the read and write
// errors apart so a failing disk is not reported as a corrupt stream.
type teeFile struct {
	r    io.Reader
	w    io.Writer
	rerr error
	werr error
}

func (t *teeFile) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		if _, werr := t.w.Write(p[:n]); werr != nil {
			t.werr = werr
			return 0, werr
		}
	}
	if err != nil {
		t.rerr = err
	}
	return n, err
}

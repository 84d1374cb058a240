package storage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Snapshot file format (all integers big-endian):
//
//	header:  magic "ZKDSNAP1" | term u64 | index u64 | confStateLen u32 |
//	         confState (raftpb.ConfState protobuf) | crc32c(header so far) u32
//	chunks:  len u32 (1..maxChunkSize) | crc32c(data) u32 | data
//	trailer: 0 u32 | crc32c(all payload bytes) u32 | payload length u64
//
// The payload is whatever the state machine's serializer writes. Chunking
// lets a reader verify and hand data on without holding the whole snapshot
// in memory (etcd's snap package needs raftpb.Snapshot.Data as one []byte),
// and the trailer proves the file was written to the end, so a truncated
// file is never mistaken for a short but valid one.

const (
	snapMagic       = "ZKDSNAP1"
	snapPrefix      = "snap-"
	snapSuffix      = ".snap"
	snapTmpSuffix   = ".tmp"
	brokenSuffix    = ".broken"
	writeChunkSize  = 256 << 10
	maxChunkSize    = 4 << 20 // bound for readers: a corrupt length must not allocate much
	maxConfStateLen = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorruptSnapshot marks a snapshot file that fails its format or CRC checks.
var ErrCorruptSnapshot = errors.New("storage: corrupt snapshot file")

// SnapshotMeta identifies a snapshot: the last log entry it covers and the
// membership at that entry.
type SnapshotMeta struct {
	Index     uint64
	Term      uint64
	ConfState *raftpb.ConfState
}

// SnapshotFileName is the name of the snapshot file for meta inside the
// snapshot directory.
func SnapshotFileName(meta SnapshotMeta) string { return snapName(meta.Term, meta.Index) }

func snapName(term, index uint64) string {
	return fmt.Sprintf("%s%016x-%016x%s", snapPrefix, term, index, snapSuffix)
}

// parseSnapName accepts exactly the names snapName produces, so stray files
// (".broken", ".tmp", editor backups) are never taken for snapshots.
func parseSnapName(name string) (term, index uint64, ok bool) {
	if len(name) != len(snapPrefix)+16+1+16+len(snapSuffix) ||
		!strings.HasPrefix(name, snapPrefix) || !strings.HasSuffix(name, snapSuffix) {
		return 0, 0, false
	}
	body := name[len(snapPrefix) : len(name)-len(snapSuffix)]
	if body[16] != '-' {
		return 0, 0, false
	}
	t, err1 := strconv.ParseUint(body[:16], 16, 64)
	i, err2 := strconv.ParseUint(body[17:], 16, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return t, i, true
}

type snapFile struct {
	name        string
	term, index uint64
}

// listSnapshots returns the snapshot files in dir, oldest first.
func listSnapshots(dir string) ([]snapFile, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []snapFile
	for _, de := range des {
		if de.IsDir() {
			continue
		}
		if t, i, ok := parseSnapName(de.Name()); ok {
			out = append(out, snapFile{name: de.Name(), term: t, index: i})
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].index != out[b].index {
			return out[a].index < out[b].index
		}
		return out[a].term < out[b].term
	})
	return out, nil
}

func encodeHeader(meta SnapshotMeta) ([]byte, error) {
	cs, err := proto.Marshal(confStateOrEmpty(meta.ConfState))
	if err != nil {
		return nil, fmt.Errorf("storage: encoding snapshot conf state: %w", err)
	}
	if len(cs) > maxConfStateLen {
		return nil, fmt.Errorf("storage: snapshot conf state is %d bytes, over the %d limit", len(cs), maxConfStateLen)
	}
	b := make([]byte, 0, len(snapMagic)+8+8+4+len(cs)+4)
	b = append(b, snapMagic...)
	b = binary.BigEndian.AppendUint64(b, meta.Term)
	b = binary.BigEndian.AppendUint64(b, meta.Index)
	b = binary.BigEndian.AppendUint32(b, uint32(len(cs)))
	b = append(b, cs...)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return b, nil
}

func confStateOrEmpty(cs *raftpb.ConfState) *raftpb.ConfState {
	if cs == nil {
		return &raftpb.ConfState{}
	}
	return cs
}

// readHeader reads and checks the header; errors wrap ErrCorruptSnapshot.
func readHeader(r io.Reader) (SnapshotMeta, error) {
	var fixed [len(snapMagic) + 8 + 8 + 4]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return SnapshotMeta{}, fmt.Errorf("%w: header: %v", ErrCorruptSnapshot, err)
	}
	if string(fixed[:len(snapMagic)]) != snapMagic {
		return SnapshotMeta{}, fmt.Errorf("%w: bad magic %q", ErrCorruptSnapshot, fixed[:len(snapMagic)])
	}
	p := fixed[len(snapMagic):]
	term := binary.BigEndian.Uint64(p[0:8])
	index := binary.BigEndian.Uint64(p[8:16])
	csLen := binary.BigEndian.Uint32(p[16:20])
	if csLen > maxConfStateLen {
		return SnapshotMeta{}, fmt.Errorf("%w: conf state length %d over the %d limit", ErrCorruptSnapshot, csLen, maxConfStateLen)
	}
	rest := make([]byte, int(csLen)+4)
	if _, err := io.ReadFull(r, rest); err != nil {
		return SnapshotMeta{}, fmt.Errorf("%w: header: %v", ErrCorruptSnapshot, err)
	}
	crc := crc32.Update(crc32.Checksum(fixed[:], castagnoli), castagnoli, rest[:csLen])
	if got := binary.BigEndian.Uint32(rest[csLen:]); got != crc {
		return SnapshotMeta{}, fmt.Errorf("%w: header crc %08x, computed %08x", ErrCorruptSnapshot, got, crc)
	}
	cs := &raftpb.ConfState{}
	if err := proto.Unmarshal(rest[:csLen], cs); err != nil {
		return SnapshotMeta{}, fmt.Errorf("%w: conf state: %v", ErrCorruptSnapshot, err)
	}
	return SnapshotMeta{Index: index, Term: term, ConfState: cs}, nil
}

// chunkWriter frames the serializer's output into CRC-checked chunks.
type chunkWriter struct {
	w   io.Writer
	buf []byte
	crc uint32
	n   uint64
	err error
}

func newChunkWriter(w io.Writer) *chunkWriter {
	return &chunkWriter{w: w, buf: make([]byte, 0, writeChunkSize)}
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	written := 0
	for len(p) > 0 {
		k := min(cap(c.buf)-len(c.buf), len(p))
		c.buf = append(c.buf, p[:k]...)
		p = p[k:]
		written += k
		if len(c.buf) == cap(c.buf) {
			if err := c.flushChunk(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

func (c *chunkWriter) flushChunk() error {
	if len(c.buf) == 0 {
		return nil
	}
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[0:4], uint32(len(c.buf)))
	binary.BigEndian.PutUint32(hdr[4:8], crc32.Checksum(c.buf, castagnoli))
	if _, err := c.w.Write(hdr[:]); err != nil {
		c.err = err
		return err
	}
	if _, err := c.w.Write(c.buf); err != nil {
		c.err = err
		return err
	}
	c.crc = crc32.Update(c.crc, castagnoli, c.buf)
	c.n += uint64(len(c.buf))
	c.buf = c.buf[:0]
	return nil
}

// finish writes the last partial chunk and the trailer.
func (c *chunkWriter) finish() error {
	if err := c.flushChunk(); err != nil {
		return err
	}
	var tr [16]byte
	binary.BigEndian.PutUint32(tr[4:8], c.crc)
	binary.BigEndian.PutUint64(tr[8:16], c.n)
	_, err := c.w.Write(tr[:])
	return err
}

// chunkReader returns the payload of a snapshot stream, verifying each chunk
// before handing out any of its bytes, and the trailer at the end.
type chunkReader struct {
	r    *bufio.Reader
	name string
	buf  []byte
	off  int
	crc  uint32
	n    uint64
	done bool
	err  error
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for c.off == len(c.buf) {
		if c.err != nil {
			return 0, c.err
		}
		if c.done {
			return 0, io.EOF
		}
		c.err = c.next()
	}
	k := copy(p, c.buf[c.off:])
	c.off += k
	return k, nil
}

func (c *chunkReader) corrupt(format string, args ...any) error {
	return fmt.Errorf("%w %s: %s", ErrCorruptSnapshot, c.name, fmt.Sprintf(format, args...))
}

func (c *chunkReader) next() error {
	// Drop the consumed chunk first so a failure below leaves nothing to hand out.
	c.buf, c.off = c.buf[:0], 0
	var hdr [8]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return c.corrupt("truncated after %d payload bytes (no trailer): %v", c.n, err)
	}
	size := binary.BigEndian.Uint32(hdr[0:4])
	sum := binary.BigEndian.Uint32(hdr[4:8])
	if size == 0 {
		var total [8]byte
		if _, err := io.ReadFull(c.r, total[:]); err != nil {
			return c.corrupt("truncated trailer: %v", err)
		}
		if sum != c.crc {
			return c.corrupt("payload crc %08x, computed %08x", sum, c.crc)
		}
		if n := binary.BigEndian.Uint64(total[:]); n != c.n {
			return c.corrupt("trailer says %d payload bytes, read %d", n, c.n)
		}
		if _, err := c.r.ReadByte(); err != io.EOF {
			return c.corrupt("data after the trailer")
		}
		c.done = true
		return nil
	}
	if size > maxChunkSize {
		return c.corrupt("chunk length %d over the %d limit", size, maxChunkSize)
	}
	if cap(c.buf) < int(size) {
		c.buf = make([]byte, size)
	}
	c.buf = c.buf[:size]
	if _, err := io.ReadFull(c.r, c.buf); err != nil {
		c.buf = c.buf[:0]
		return c.corrupt("truncated chunk after %d payload bytes: %v", c.n, err)
	}
	if got := crc32.Checksum(c.buf, castagnoli); got != sum {
		c.buf = c.buf[:0]
		return c.corrupt("chunk at payload offset %d: crc %08x, computed %08x", c.n, sum, got)
	}
	c.crc = crc32.Update(c.crc, castagnoli, c.buf)
	c.n += uint64(size)
	return nil
}

// snapReader is an open snapshot file positioned at its payload.
type snapReader struct {
	*chunkReader
	f *os.File
}

func (s *snapReader) Close() error { return s.f.Close() }

// openSnapFile opens path and checks its header against the name.
func openSnapFile(path string) (*snapReader, SnapshotMeta, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, SnapshotMeta{}, err
	}
	br := bufio.NewReaderSize(f, 256<<10)
	meta, err := readHeader(br)
	if err != nil {
		f.Close()
		return nil, SnapshotMeta{}, fmt.Errorf("%s: %w", path, err)
	}
	if t, i, ok := parseSnapName(filepath.Base(path)); ok && (t != meta.Term || i != meta.Index) {
		f.Close()
		return nil, SnapshotMeta{}, fmt.Errorf("%w %s: header says term %d index %d, name disagrees",
			ErrCorruptSnapshot, path, meta.Term, meta.Index)
	}
	return &snapReader{chunkReader: &chunkReader{r: br, name: path}, f: f}, meta, nil
}

// verifySnapFile reads the whole file, checking every CRC, without keeping
// the payload.
func verifySnapFile(path string) (SnapshotMeta, error) {
	r, meta, err := openSnapFile(path)
	if err != nil {
		return SnapshotMeta{}, err
	}
	defer r.Close()
	if _, err := io.Copy(io.Discard, r); err != nil {
		return SnapshotMeta{}, err
	}
	return meta, nil
}

// OpenNewestSnapshot opens the newest snapshot file in snapDir, checking
// only its header; nil and no error if there is none. It does not consult
// the WAL, so the file may be one that Open will refuse (not recorded, or
// corrupt further in: its reader then fails): it is for starting a restore
// speculatively while Open reads the WAL, to be thrown away unless Open
// chooses the same snapshot.
func OpenNewestSnapshot(snapDir string) (io.ReadCloser, *SnapshotMeta, error) {
	files, err := listSnapshots(snapDir)
	if err != nil || len(files) == 0 {
		return nil, nil, err
	}
	r, meta, err := openSnapFile(filepath.Join(snapDir, files[len(files)-1].name))
	if err != nil {
		return nil, nil, err
	}
	return r, &meta, nil
}

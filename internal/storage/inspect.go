package storage

// Read-only access for the offline tools (zkd wal dump, zkd snapshot
// inspect and verify). Nothing here takes the directory lock, repairs,
// truncates, renames or writes: a tool may point at the data directory of a
// running server without disturbing it. The price is that the tail of a
// live log can be mid-write while it is read; ReadWAL reports that as a
// torn end, exactly as the server would see it after a crash at that
// moment.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.etcd.io/etcd/client/pkg/v3/fileutil"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// WALRecordType is the kind of a record in a WAL segment (etcd's wal record
// types).
type WALRecordType int64

// WAL record types.
const (
	WALMetadata WALRecordType = WALRecordType(wal.MetadataType)
	WALEntry    WALRecordType = WALRecordType(wal.EntryType)
	WALState    WALRecordType = WALRecordType(wal.StateType)
	WALCRC      WALRecordType = WALRecordType(wal.CrcType)
	WALSnapshot WALRecordType = WALRecordType(wal.SnapshotType)
)

func (t WALRecordType) String() string {
	switch t {
	case WALMetadata:
		return "metadata"
	case WALEntry:
		return "entry"
	case WALState:
		return "hardstate"
	case WALCRC:
		return "crc"
	case WALSnapshot:
		return "snapshot"
	}
	return fmt.Sprintf("unknown(%d)", int64(t))
}

// WALRecord is one record of a WAL segment as ReadWAL found it.
type WALRecord struct {
	Segment string // the segment's file name
	Offset  int64  // byte offset of the record's frame in the segment
	Size    int64  // bytes of the frame: length field, record, padding
	Type    WALRecordType

	Entry    *raftpb.Entry     // WALEntry
	State    *raftpb.HardState // WALState
	Snapshot *SnapshotMeta     // WALSnapshot: a snapshot recorded as taken
	Metadata []byte            // WALMetadata
	CRC      uint32            // WALCRC: the checksum chained from the previous segment
}

// WALEnd says how a WAL read by ReadWAL ends.
type WALEnd struct {
	// Segments is the number of segment files read.
	Segments int
	// Torn is set when the last segment ends in an incomplete record (a
	// crash, or a live server, mid-append). The server truncates it at its
	// next start; nothing after TornOffset was ever acknowledged.
	Torn        bool
	TornSegment string
	TornOffset  int64
	TornErr     error
}

// WALError is damage that ReadWAL found at a place in a segment. It is the
// kind of damage that makes the server refuse to start.
type WALError struct {
	Path   string // the segment file
	Offset int64  // byte offset of the bad record's frame
	Err    error
}

func (e *WALError) Error() string {
	return fmt.Sprintf("%s at byte offset %d: %v", e.Path, e.Offset, e.Err)
}

func (e *WALError) Unwrap() error { return e.Err }

// ReadWAL reads every segment in walDir in order, calling fn with each
// record, and checks the checksum chain across segments. Files are opened
// read-only and no lock is taken. It stops at the first damaged record with
// a *WALError; a torn record at the very end of the last segment, with no
// complete records after it, is not damage (see WALEnd.Torn). An error
// returned by fn stops the read and is returned as is.
func ReadWAL(walDir string, fn func(*WALRecord) error) (WALEnd, error) {
	var end WALEnd
	segs, err := sortedWALFiles(walDir)
	if err != nil {
		return end, fmt.Errorf("storage: reading WAL directory %s: %w", walDir, err)
	}
	if len(segs) == 0 {
		return end, fmt.Errorf("storage: no WAL segments (*.wal) in %s", walDir)
	}
	var prevCRC uint32
	for i, sg := range segs {
		path := filepath.Join(walDir, sg.name)
		if i > 0 && sg.seq != segs[i-1].seq+1 {
			return end, &WALError{Path: path, Err: fmt.Errorf("segment sequence %d follows %d: a segment is missing", sg.seq, segs[i-1].seq)}
		}
		last := i == len(segs)-1
		crc, err := readSegment(path, sg.name, last, i > 0, prevCRC, &end, fn)
		if err != nil {
			return end, err
		}
		end.Segments++
		prevCRC = crc
	}
	return end, nil
}

// readSegment decodes one segment with its own decoder, so that offsets are
// per file and a torn record is recognised only in the last segment.
func readSegment(path, name string, last, chained bool, prevCRC uint32, end *WALEnd, fn func(*WALRecord) error) (uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("storage: opening WAL segment: %w", err)
	}
	defer f.Close()
	dec := wal.NewDecoder(fileutil.NewFileReader(f))
	for {
		off := dec.LastOffset()
		rec := &walpb.Record{}
		err := dec.Decode(rec)
		if errors.Is(err, io.EOF) {
			return dec.LastCRC(), nil
		}
		if err != nil {
			if last && errors.Is(err, io.ErrUnexpectedEOF) {
				if cerr := tornOrCorrupt(path, off); cerr != nil {
					return 0, cerr
				}
				end.Torn, end.TornSegment, end.TornOffset, end.TornErr = true, name, off, err
				return dec.LastCRC(), nil
			}
			return 0, &WALError{Path: path, Offset: off, Err: err}
		}
		out := &WALRecord{Segment: name, Offset: off, Size: dec.LastOffset() - off, Type: WALRecordType(rec.GetType())}
		switch out.Type {
		case WALCRC:
			// etcd's ReadAll skips the check when the previous crc is 0
			// (the first segment of a log).
			if chained && prevCRC != 0 && rec.GetCrc() != prevCRC {
				return 0, &WALError{Path: path, Offset: off,
					Err: fmt.Errorf("checksum chain broken: segment starts from crc %08x, the previous segment ended at %08x", rec.GetCrc(), prevCRC)}
			}
			dec.UpdateCRC(rec.GetCrc())
			out.CRC = rec.GetCrc()
		case WALEntry:
			out.Entry = &raftpb.Entry{}
			err = proto.Unmarshal(rec.GetData(), out.Entry)
		case WALState:
			out.State = &raftpb.HardState{}
			err = proto.Unmarshal(rec.GetData(), out.State)
		case WALSnapshot:
			ws := &walpb.Snapshot{}
			if err = proto.Unmarshal(rec.GetData(), ws); err == nil {
				out.Snapshot = &SnapshotMeta{Index: ws.GetIndex(), Term: ws.GetTerm(), ConfState: ws.GetConfState()}
			}
		case WALMetadata:
			out.Metadata = rec.GetData()
		default:
			err = fmt.Errorf("unknown record type %d", rec.GetType())
		}
		if err != nil {
			return 0, &WALError{Path: path, Offset: off, Err: fmt.Errorf("%s record: %w", out.Type, err)}
		}
		if err := fn(out); err != nil {
			return 0, err
		}
	}
}

// SnapshotFileState says whether a file in the snapshot directory is one the
// server may load.
type SnapshotFileState int

// Snapshot file states.
const (
	// SnapshotCurrent is a finished snapshot file (snap-TERM-INDEX.snap).
	SnapshotCurrent SnapshotFileState = iota
	// SnapshotBroken was renamed aside (*.broken) by a server that found it
	// corrupt; it is never loaded again.
	SnapshotBroken
	// SnapshotUnfinished (*.tmp) was being written when a server stopped;
	// the next start deletes it.
	SnapshotUnfinished
)

func (s SnapshotFileState) String() string {
	switch s {
	case SnapshotBroken:
		return "broken"
	case SnapshotUnfinished:
		return "unfinished"
	}
	return "current"
}

// SnapshotFile is a file found by ListSnapshotFiles.
type SnapshotFile struct {
	Path        string
	Term, Index uint64
	State       SnapshotFileState
}

// ListSnapshotFiles lists the snapshot files in dir, oldest first, including
// broken and unfinished ones (see State). It reads only the directory.
func ListSnapshotFiles(dir string) ([]SnapshotFile, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []SnapshotFile
	for _, de := range des {
		if de.IsDir() {
			continue
		}
		name, state := de.Name(), SnapshotCurrent
		switch {
		case strings.HasSuffix(name, brokenSuffix):
			name, state = strings.TrimSuffix(name, brokenSuffix), SnapshotBroken
		case strings.HasSuffix(name, snapTmpSuffix):
			// A received snapshot's temporary name has a random part
			// between the final name and the suffix.
			name, state = strings.TrimSuffix(name, snapTmpSuffix), SnapshotUnfinished
			if i := strings.Index(name, snapSuffix+"."); i >= 0 {
				name = name[:i+len(snapSuffix)]
			}
		}
		if t, i, ok := parseSnapName(name); ok {
			out = append(out, SnapshotFile{Path: filepath.Join(dir, de.Name()), Term: t, Index: i, State: state})
		}
	}
	// ReadDir sorts by name, and the fixed-width hex name sorts by term
	// first; order by index like listSnapshots does.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && snapFileLess(out[j], out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

func snapFileLess(a, b SnapshotFile) bool {
	if a.Index != b.Index {
		return a.Index < b.Index
	}
	if a.Term != b.Term {
		return a.Term < b.Term
	}
	return a.State < b.State
}

// SnapshotError is damage found in a snapshot file, with the byte offset of
// the header or chunk frame that failed.
type SnapshotError struct {
	Path   string
	Offset int64
	Err    error
}

func (e *SnapshotError) Error() string {
	return fmt.Sprintf("%s at byte offset %d: %v", e.Path, e.Offset, e.Err)
}

func (e *SnapshotError) Unwrap() error { return e.Err }

// SnapshotReader reads the payload of one snapshot file, checking each
// chunk's CRC before handing out its bytes and the trailer at the end, so a
// reader that reaches io.EOF has read a whole, intact file. Errors are
// *SnapshotError values that wrap ErrCorruptSnapshot (or the I/O error).
type SnapshotReader struct {
	path string
	meta SnapshotMeta
	f    *os.File
	cnt  *CountingReader
	br   *bufio.Reader
	cr   *chunkReader

	frameOff int64 // file offset of the chunk frame read most recently
	err      error
}

// OpenSnapshotFile opens a snapshot file read-only and checks its header
// (and that the header agrees with the file name, when the name is one
// zkd writes).
func OpenSnapshotFile(path string) (*SnapshotReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	cnt := &CountingReader{R: f}
	br := bufio.NewReaderSize(cnt, 256<<10)
	meta, err := readHeader(br)
	if err != nil {
		f.Close()
		return nil, &SnapshotError{Path: path, Err: err}
	}
	name := filepath.Base(path)
	name = strings.TrimSuffix(strings.TrimSuffix(name, brokenSuffix), snapTmpSuffix)
	if t, i, ok := parseSnapName(name); ok && (t != meta.Term || i != meta.Index) {
		f.Close()
		return nil, &SnapshotError{Path: path, Err: fmt.Errorf("%w: header says term %d index %d, the file name says term %d index %d",
			ErrCorruptSnapshot, meta.Term, meta.Index, t, i)}
	}
	r := &SnapshotReader{path: path, meta: meta, f: f, cnt: cnt, br: br, cr: &chunkReader{r: br, name: "payload"}}
	r.frameOff = r.consumed()
	return r, nil
}

// consumed is the file offset of the next byte the chunk decoder will read.
func (r *SnapshotReader) consumed() int64 { return r.cnt.N - int64(r.br.Buffered()) }

// Meta is the snapshot's header: the last log entry it covers and the
// membership then.
func (r *SnapshotReader) Meta() SnapshotMeta { return r.meta }

// PayloadBytes is how many verified payload bytes have been read so far.
func (r *SnapshotReader) PayloadBytes() uint64 { return r.cr.n - uint64(len(r.cr.buf)-r.cr.off) }

// ChunkOffset is the file offset of the chunk frame the last bytes came from.
func (r *SnapshotReader) ChunkOffset() int64 { return r.frameOff }

// Read implements io.Reader.
func (r *SnapshotReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.cr.off == len(r.cr.buf) {
		// The chunk decoder is about to read the next frame from here.
		r.frameOff = r.consumed()
	}
	n, err := r.cr.Read(p)
	if err != nil && err != io.EOF {
		r.err = &SnapshotError{Path: r.path, Offset: r.frameOff, Err: err}
		return n, r.err
	}
	return n, err
}

// Close closes the file.
func (r *SnapshotReader) Close() error { return r.f.Close() }

// CountingReader counts the bytes read through it.
type CountingReader struct {
	R io.Reader
	N int64
}

func (c *CountingReader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N += int64(n)
	return n, err
}

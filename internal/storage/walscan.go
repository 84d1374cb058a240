package storage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// errScanUnsure stops scanSnapshotRecords at anything it does not judge
// itself: the caller then asks etcd's reader, which decides (a torn tail,
// or damage to report).
var errScanUnsure = errors.New("storage: WAL scan needs etcd's reader")

// validSnapshotRecords returns the snapshots the WAL records as taken, as
// wal.ValidSnapshotEntries does: every record's checksum chain is checked,
// and snapshots newer than the last HardState's commit are left out.
//
// etcd's reader unmarshals every record, which made it a third of a
// restart's CPU with a few hundred thousand entries in the log. The scan
// here checks the same checksums but decodes only snapshot and HardState
// records; on anything short of a clean end it defers to etcd's reader.
func validSnapshotRecords(lg *zap.Logger, walDir string) ([]*walpb.Snapshot, error) {
	snaps, err := scanSnapshotRecords(walDir)
	if err == nil {
		return snaps, nil
	}
	return wal.ValidSnapshotEntries(lg, walDir)
}

// scanSnapshotRecords is the fast path of validSnapshotRecords. It fails
// with errScanUnsure (or an I/O error) unless every segment decodes
// cleanly up to its end or its zeroed, preallocated tail.
func scanSnapshotRecords(walDir string) ([]*walpb.Snapshot, error) {
	segs, err := sortedWALFiles(walDir)
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		return nil, errScanUnsure
	}
	sc := walScanner{table: crc32.MakeTable(crc32.Castagnoli)}
	for _, sg := range segs {
		if err := sc.segment(filepath.Join(walDir, sg.name)); err != nil {
			return nil, err
		}
	}
	var state raftpb.HardState
	if sc.state != nil {
		if err := proto.Unmarshal(sc.state, &state); err != nil {
			return nil, errScanUnsure
		}
	}
	n := 0
	for _, s := range sc.snaps {
		if s.GetIndex() <= state.GetCommit() {
			sc.snaps[n] = s
			n++
		}
	}
	return sc.snaps[:n:n], nil
}

type walScanner struct {
	table *crc32.Table
	crc   uint32 // the running checksum, as etcd's decoder keeps it
	buf   []byte
	state []byte // the newest HardState record's data
	snaps []*walpb.Snapshot
}

// segment scans one segment file.
func (sc *walScanner) segment(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	var off int64
	var lenField [8]byte
	for {
		if _, err := io.ReadFull(br, lenField[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil // the end of the segment, at a frame boundary
			}
			return errScanUnsure
		}
		l := int64(binary.LittleEndian.Uint64(lenField[:]))
		if l == 0 {
			return nil // preallocated space: the segment's records end here
		}
		recBytes := int64(uint64(l) &^ (uint64(0xff) << 56))
		var padBytes int64
		if l < 0 {
			padBytes = int64((uint64(l) >> 56) & 0x7)
		}
		off += 8
		if recBytes+padBytes > fi.Size()-off {
			return errScanUnsure
		}
		if int64(cap(sc.buf)) < recBytes+padBytes {
			sc.buf = make([]byte, recBytes+padBytes)
		}
		b := sc.buf[:recBytes+padBytes]
		if _, err := io.ReadFull(br, b); err != nil {
			return errScanUnsure
		}
		off += recBytes + padBytes
		if err := sc.record(b[:recBytes]); err != nil {
			return err
		}
	}
}

// record checks one walpb.Record (type = 1, crc = 2, data = 3) against the
// checksum chain and keeps what validSnapshotRecords needs.
func (sc *walScanner) record(b []byte) error {
	var typ int64
	var crc uint32
	var data []byte
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errScanUnsure
		}
		b = b[n:]
		switch {
		case num == 1 && wt == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return errScanUnsure
			}
			typ, b = int64(v), b[n:]
		case num == 2 && wt == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return errScanUnsure
			}
			crc, b = uint32(v), b[n:]
		case num == 3 && wt == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errScanUnsure
			}
			data, b = v, b[n:]
		default:
			return errScanUnsure
		}
	}
	if typ == wal.CrcType {
		// A segment starts with the checksum the previous one ended with.
		if sc.crc != 0 && crc != sc.crc {
			return errScanUnsure
		}
		sc.crc = crc
		return nil
	}
	sc.crc = crc32.Update(sc.crc, sc.table, data)
	if crc != sc.crc {
		return errScanUnsure
	}
	switch typ {
	case wal.SnapshotType:
		s := &walpb.Snapshot{}
		if err := proto.Unmarshal(data, s); err != nil {
			return errScanUnsure
		}
		sc.snaps = append(sc.snaps, s)
	case wal.StateType:
		sc.state = append(sc.state[:0], data...)
	}
	return nil
}

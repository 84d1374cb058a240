package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"

	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	"google.golang.org/protobuf/proto"
)

// tornOrCorrupt decides whether the unreadable record at off in the last
// segment is really a torn write. etcd's reader calls a record torn when
// the bytes it claims reach into zeros, which a damaged length field, or a
// flipped byte in a record spanning a zeroed sector piece, in the middle of
// the last segment also produces; repairing then would silently drop
// acknowledged writes behind the damage. A write torn by a crash is the
// last thing in the file, so no complete records can follow it: if two
// consecutive records whose rolling checksums chain are found after the bad
// one, the log went on past it and the damage is corruption. It returns nil
// for a genuine torn tail.
func tornOrCorrupt(path string, off int64) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("storage: reading %s to check its torn end: %w", path, err)
	}
	for at := off + 8; at+8 <= int64(len(b)); at += 8 {
		first, next, ok := walFrame(b, at)
		if !ok {
			continue
		}
		second, _, ok := walFrame(b, next)
		if ok && second.GetCrc() == crc32.Update(first.GetCrc(), castagnoli, second.GetData()) {
			return &WALError{Path: path, Offset: off, Err: fmt.Errorf(
				"the record here is damaged, yet complete records follow it at byte offset %d, so this is not a write torn by a crash", at)}
		}
	}
	return nil
}

// walFrame decodes the etcd WAL frame at off: a little-endian length word
// (the top byte may flag padding), the record, then padding to 8 bytes.
func walFrame(b []byte, off int64) (*walpb.Record, int64, bool) {
	if off < 0 || off+8 > int64(len(b)) {
		return nil, 0, false
	}
	word := binary.LittleEndian.Uint64(b[off:])
	n := int64(word &^ (0xff << 56))
	var pad int64
	if word&(0x80<<56) != 0 {
		pad = int64((word >> 56) & 0x7)
	}
	start := off + 8
	if n <= 0 || start+n+pad > int64(len(b)) {
		return nil, 0, false
	}
	rec := &walpb.Record{}
	if proto.Unmarshal(b[start:start+n], rec) != nil || rec.GetType() < 1 || rec.GetType() > 5 {
		return nil, 0, false
	}
	return rec, start + n + pad, true
}

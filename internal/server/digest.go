package server

import (
	"sync"

	"github.com/zkd-io/zkd/internal/fourlw"
)

// Like ZooKeeper's DataTree, a server keeps the tree digest of every 128th
// zxid, the newest 1024 of them, for the hash command: two servers whose
// logs agree show the same digest at the same zxid.
const (
	digestInterval = 128
	digestLimit    = 1024
)

// digestLog is a ring of recent (zxid, digest) pairs.
type digestLog struct {
	mu   sync.Mutex
	ring []fourlw.ZxidDigest
	next int
}

// record is called after each transaction is applied.
func (d *digestLog) record(zxid int64, digest uint64) {
	if zxid%digestInterval != 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	zd := fourlw.ZxidDigest{Zxid: zxid, Digest: int64(digest)}
	if len(d.ring) < digestLimit {
		d.ring = append(d.ring, zd)
		return
	}
	d.ring[d.next] = zd
	d.next = (d.next + 1) % digestLimit
}

// entries returns the log, oldest first.
func (d *digestLog) entries() []fourlw.ZxidDigest {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]fourlw.ZxidDigest, 0, len(d.ring))
	out = append(out, d.ring[d.next:]...)
	return append(out, d.ring[:d.next]...)
}

// DigestLog implements fourlw.Digester (the hash command).
func (s *Server) DigestLog() []fourlw.ZxidDigest { return s.digests.entries() }

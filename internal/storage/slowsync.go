package storage

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DefaultSlowSyncThreshold is how long a sync may take before it is logged
// as slow, ZooKeeper's fsync.warningthresholdms default.
const DefaultSlowSyncThreshold = time.Second

// slowSyncLogInterval bounds slow-sync warnings to one per interval: with a
// low threshold on a struggling disk every sync would log. The next
// warning says how many were left out; Stats.SlowSyncs counts them all.
const slowSyncLogInterval = time.Second

// SetSlowSyncThreshold sets how long a sync may take before it is logged as
// a warning naming the file and the duration, and counted in
// Stats.SlowSyncs (ZooKeeper's fsync.warningthresholdms and
// fsync_threshold_exceed_count). A negative d turns the warning off. Open
// sets DefaultSlowSyncThreshold. Safe from any goroutine.
func (s *Storage) SetSlowSyncThreshold(d time.Duration) {
	s.slowSyncNs.Store(int64(d))
}

// noteSync checks one sync against the threshold. what names the kind of
// sync for the log ("WAL append", "snapshot file", ...), file the path (or
// a function giving it, called only when the sync was slow: finding the
// WAL's current segment reads its directory).
func (s *Storage) noteSync(what string, file func() string, took time.Duration) {
	threshold := s.slowSyncNs.Load()
	if threshold < 0 || int64(took) <= threshold {
		return
	}
	s.slowSyncs.Add(1)
	now := time.Now().UnixNano()
	last := s.lastSlowLog.Load()
	if last != 0 && now-last < int64(slowSyncLogInterval) || !s.lastSlowLog.CompareAndSwap(last, now) {
		s.slowLogsSkipped.Add(1)
		return
	}
	attrs := []any{"file", file(), "took", took, "threshold", time.Duration(threshold), "sync", what}
	if n := s.slowLogsSkipped.Swap(0); n > 0 {
		attrs = append(attrs, "not_logged_since_last", n)
	}
	// One fixed message, so that alerts and greps can match it; a slow
	// WAL sync delays every write acknowledged with it.
	s.log.Warn("slow fsync", attrs...)
}

// walTail is the WAL segment appends go to: the newest *.wal file (etcd
// names segments seq-index in hex, so the names sort in order).
func walTail(dir string) string {
	des, err := os.ReadDir(dir)
	if err != nil {
		return dir
	}
	var names []string
	for _, de := range des {
		if strings.HasSuffix(de.Name(), ".wal") {
			names = append(names, de.Name())
		}
	}
	if len(names) == 0 {
		return dir
	}
	slices.Sort(names)
	return filepath.Join(dir, names[len(names)-1])
}

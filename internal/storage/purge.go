package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.etcd.io/etcd/client/pkg/v3/fileutil"
)

// Purge keeps the retainCount newest snapshots recorded in the WAL, deletes
// older snapshot files, and deletes the WAL segments that lie wholly behind
// the oldest kept snapshot. Keeping the WAL back to the oldest kept snapshot
// (not the newest) is what lets Open fall back to an older snapshot when the
// newest is corrupt. Call it from the goroutine that calls Save.
func (s *Storage) Purge(retainCount int) error {
	if retainCount < 1 {
		return fmt.Errorf("storage: purge must keep at least one snapshot, got retain count %d", retainCount)
	}
	files, err := listSnapshots(s.snapDir)
	if err != nil {
		return fmt.Errorf("storage: purge: reading %s: %w", s.snapDir, err)
	}
	// A snapshot not yet recorded in the WAL may be mid-flight on another
	// goroutine; it is not a snapshot Open would use, so it neither counts
	// towards the kept ones nor gets deleted.
	eligible := files[:0:0]
	for _, f := range files {
		if f.index <= s.recordedIndex {
			eligible = append(eligible, f)
		}
	}
	if len(eligible) == 0 {
		return nil
	}
	drop := eligible[:max(0, len(eligible)-retainCount)]
	oldestKept := eligible[len(drop)]
	var errs []error
	for _, f := range drop {
		p := filepath.Join(s.snapDir, f.name)
		if err := os.Remove(p); err != nil {
			errs = append(errs, err)
			continue
		}
		s.log.Info("purged snapshot", "path", p)
	}
	if len(drop) > 0 {
		if err := syncDir(s.snapDir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.purgeWAL(oldestKept.index); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("storage: purge: %w", err)
	}
	return nil
}

// purgeWAL deletes segments that Open at snapshot index will not read.
// Open reads from the last segment whose first index is <= index;
// wal.ReleaseLockTo keeps one segment more when a segment starts exactly at
// index, and only segments whose lock was released are deleted.
func (s *Storage) purgeWAL(index uint64) error {
	if err := s.w.ReleaseLockTo(index); err != nil {
		return err
	}
	segs, err := sortedWALFiles(s.walDir)
	if err != nil {
		return err
	}
	first := len(segs)
	for i, sg := range segs {
		if sg.index >= index {
			first = i
			break
		}
	}
	removed := false
	for _, sg := range segs[:max(0, first-1)] {
		p := filepath.Join(s.walDir, sg.name)
		l, err := fileutil.TryLockFile(p, os.O_WRONLY, fileutil.PrivateFileMode)
		if err != nil {
			// Still locked by our WAL (or unreadable): keep it.
			continue
		}
		err = os.Remove(p)
		l.Close()
		if err != nil {
			return err
		}
		removed = true
		s.log.Info("purged WAL segment", "path", p)
	}
	if removed {
		return syncDir(s.walDir)
	}
	return nil
}

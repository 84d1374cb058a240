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
	if err := s.removeStaleSnapshots(); err != nil {
		return fmt.Errorf("storage: purge: %w", err)
	}
	files, err := listSnapshots(s.snapDir)
	if err != nil {
		return fmt.Errorf("storage: purge: reading %s: %w", s.snapDir, err)
	}
	// Only snapshots recorded in the WAL count: they are the ones Open would
	// use. A newer unrecorded one may be on its way to being recorded (see
	// removeStaleSnapshots) and is left alone.
	eligible := files[:0:0]
	for _, f := range files {
		if s.recorded[[2]uint64{f.term, f.index}] {
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

// removeStaleSnapshots deletes snapshot files that the WAL does not record
// and that are not newer than the newest snapshot it does record. Nothing
// will ever load them: they are snapshots received from a leader that raft
// then found out of date (this server had caught up from the log
// meanwhile), or ones whose writer stopped before recording them and that a
// later snapshot overtook. A newer unrecorded file is kept, because it may
// be on its way to being recorded: written by this server and waiting for
// the raft loop, or received and waiting for raft to accept it.
func (s *Storage) removeStaleSnapshots() error {
	files, err := listSnapshots(s.snapDir)
	if err != nil {
		return fmt.Errorf("reading %s: %w", s.snapDir, err)
	}
	removed := false
	for _, f := range files {
		if f.index > s.recordedIndex || s.recorded[[2]uint64{f.term, f.index}] {
			continue
		}
		p := filepath.Join(s.snapDir, f.name)
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing unrecorded snapshot %s: %w", p, err)
		}
		removed = true
		s.log.Info("removed a snapshot file the WAL does not record and a newer snapshot replaces", "path", p)
	}
	if removed {
		return syncDir(s.snapDir)
	}
	return nil
}

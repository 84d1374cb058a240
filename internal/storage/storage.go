// Package storage owns zkd's Raft data on disk: the write-ahead log of
// entries and HardState (etcd's wal package), the state machine snapshot
// files (zkd's own streamed, CRC-framed format, see snapfile.go), the lock
// that keeps two processes off one data directory, and retention.
//
// It must never interpret entry or snapshot payloads, and never drop an
// error: every failed write or sync is returned so that internal/raftnode,
// its only user, stops the server instead of acknowledging lost writes.
//
// The syncs of WAL appends, WAL snapshot records and snapshot files are
// timed; one slower than the threshold (ZooKeeper's
// fsync.warningthresholdms, see SetSlowSyncThreshold) is logged with the
// file it synced and counted in Stats.SlowSyncs.
//
// The next WAL segment is written full of zeros before the WAL cuts to it,
// and so is the rest of the segment it writes when it opens, ahead of its
// writes, so that appends land in written blocks and their syncs write no
// file system metadata (zerofill.go, zerotail.go).
//
// Snapshot files are written and read as streams, and reach the disk a
// piece at a time as they are written, past the page cache where the file
// system allows (directwriter.go), so that a large one never queues the
// disk ahead of the WAL nor costs a copy into the cache. The
// raftpb.Snapshot handed to raft carries only metadata: a leader ships the
// raw file to a lagging peer (OpenRawSnapshot), and the peer checks every
// CRC of the stream before it keeps it (SaveSnapshotFile).
package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/fileutil"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
)

// ErrLocked is returned by Open when another process holds the data directory.
var ErrLocked = errors.New("storage: data directory is locked")

const lockName = "LOCK"

// walMetadata is written at the head of every WAL segment; a WAL written by
// something else is refused rather than misread.
var walMetadata = []byte("zkd-wal-v1")

// Recovered is what Open found on disk.
type Recovered struct {
	// New is true when there was no WAL and Open created an empty one.
	New bool
	// Snapshot is the newest valid snapshot recorded in the WAL, nil if none.
	// Its payload is read with Storage.OpenSnapshot.
	Snapshot *SnapshotMeta
	// HardState is the last persisted term, vote and commit index.
	HardState *raftpb.HardState
	// Entries are the WAL entries after Snapshot. Entries above
	// HardState.Commit may not be committed and must not be applied.
	Entries []*raftpb.Entry
}

// Stats are cheap counters for metrics.
type Stats struct {
	// WALSyncs counts WAL appends that raft required to be durable
	// (Ready.MustSync), each one fdatasync. Entries batched in one Save share
	// it: this is the group-commit measure.
	WALSyncs uint64
	// Fsyncs counts every sync storage issued: WALSyncs plus snapshot files,
	// their directory, and WAL snapshot records.
	Fsyncs uint64
	// LastWALSync is how long the latest synced Save took (write + fdatasync).
	LastWALSync time.Duration
	// WALSyncTotal and WALSyncMax sum and bound the durations of all synced
	// Saves (ZooKeeper's fsynctime summary).
	WALSyncTotal, WALSyncMax time.Duration
	// Snapshots counts snapshot files written.
	Snapshots uint64
	// SlowSyncs counts syncs slower than the slow-sync threshold
	// (ZooKeeper's fsync_threshold_exceed_count); see
	// SetSlowSyncThreshold.
	SlowSyncs uint64
}

// Storage is an open data directory. Save, RecordSnapshot and Purge touch
// the WAL and must be called from one goroutine (raftnode's raft loop);
// WriteSnapshot may run concurrently on another goroutine.
type Storage struct {
	walDir, snapDir string
	log             *slog.Logger
	zl              *zap.Logger
	lock            *fileutil.LockedFile
	w               *wal.WAL
	zero            *zeroFiller // nil until the WAL is open
	noZeroFill      bool        // WithoutZeroFill

	prevHS        *raftpb.HardState  // mirrors the WAL's last saved state to know when it syncs
	recordedIndex uint64             // newest snapshot recorded in the WAL
	recorded      map[[2]uint64]bool // {term, index} of every snapshot the WAL records

	walSyncs   atomic.Uint64
	fsyncs     atomic.Uint64
	lastWALNs  atomic.Int64
	totalWALNs atomic.Int64
	maxWALNs   atomic.Int64 // written by the one Save caller only
	snapshots  atomic.Uint64

	slowSyncNs      atomic.Int64 // see SetSlowSyncThreshold
	slowSyncs       atomic.Uint64
	lastSlowLog     atomic.Int64 // unix ns of the last slow-sync warning
	slowLogsSkipped atomic.Uint64
}

// Option adjusts how Open sets up the storage.
type Option func(*Storage)

// WithoutZeroFill keeps the WAL's segments as etcd preallocates them: no
// zeros are written over the next segment (zerofill.go), whatever the file
// system. It saves that second write of the log, and costs the metadata
// write at each sync that the zeros avoid on ext4 and XFS.
func WithoutZeroFill() Option { return func(s *Storage) { s.noZeroFill = true } }

// Open locks and loads the data directories, creating them when missing.
// walDir holds only WAL segments (etcd's wal replaces the directory when
// creating a log); snapDir holds snapshots and the LOCK file. They must differ.
//
// It loads the newest snapshot file that the WAL records and that passes its
// CRC checks (a corrupt one is renamed *.broken and an older one is used),
// then reads the WAL after it. A torn write at the end of the last WAL
// segment (a crash mid-append) is repaired by truncation, as etcd does; any
// other WAL corruption is refused with an error naming the directory.
func Open(walDir, snapDir string, logger *slog.Logger, opts ...Option) (*Storage, *Recovered, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if walDir == "" || snapDir == "" {
		return nil, nil, fmt.Errorf("storage: WAL directory %q and snapshot directory %q must both be set", walDir, snapDir)
	}
	walDir, snapDir = filepath.Clean(walDir), filepath.Clean(snapDir)
	if walDir == snapDir {
		return nil, nil, fmt.Errorf("storage: WAL directory and snapshot directory are both %s; they must differ because the WAL directory holds only WAL segments", walDir)
	}
	if err := os.MkdirAll(snapDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("storage: cannot create snapshot directory %s: %w", snapDir, err)
	}
	if err := fileutil.IsDirWriteable(snapDir); err != nil {
		return nil, nil, fmt.Errorf("storage: snapshot directory %s is not writable: %w", snapDir, err)
	}
	lockPath := filepath.Join(snapDir, lockName)
	lock, err := fileutil.TryLockFile(lockPath, os.O_WRONLY|os.O_CREATE, fileutil.PrivateFileMode)
	if err != nil {
		if errors.Is(err, fileutil.ErrLocked) {
			return nil, nil, fmt.Errorf("%w: %s is in use by another zkd process (it holds %s); stop that process or point this one at another data directory",
				ErrLocked, snapDir, lockPath)
		}
		return nil, nil, fmt.Errorf("storage: cannot lock %s: %w", lockPath, err)
	}
	s := &Storage{
		walDir:   walDir,
		snapDir:  snapDir,
		log:      logger.With("component", "storage"),
		zl:       newZapLogger(logger.Handler()),
		lock:     lock,
		prevHS:   &raftpb.HardState{},
		recorded: map[[2]uint64]bool{},
	}
	s.slowSyncNs.Store(int64(DefaultSlowSyncThreshold))
	for _, o := range opts {
		o(s)
	}
	rec, err := s.load()
	if err != nil {
		lock.Close()
		return nil, nil, err
	}
	return s, rec, nil
}

func (s *Storage) load() (*Recovered, error) {
	if err := s.removeTempSnapshots(); err != nil {
		return nil, err
	}
	var rec *Recovered
	var err error
	if !wal.Exist(s.walDir) {
		rec, err = s.create()
	} else {
		rec, err = s.recover()
	}
	if err == nil {
		if helps, fs := zeroFillHelps(s.walDir); s.noZeroFill {
			s.log.Debug("not zero-filling WAL segments: turned off (zkd.walZeroFill=false)", "dir", s.walDir, "fs", fs, "would_help", helps)
		} else if helps || zeroFillAlways {
			s.zero = startZeroFiller(s.walDir, s.log, zeroTailAfter)
			s.log.Debug("zero-filling WAL segments ahead of the log", "dir", s.walDir, "fs", fs)
		} else {
			s.log.Debug("not zero-filling WAL segments: the file system leaves no unwritten extents", "dir", s.walDir, "fs", fs)
		}
	}
	return rec, err
}

// removeTempSnapshots deletes snapshot files whose writer (or receiver)
// stopped before the rename that would have made them visible.
func (s *Storage) removeTempSnapshots() error {
	des, err := os.ReadDir(s.snapDir)
	if err != nil {
		return fmt.Errorf("storage: cannot read snapshot directory %s: %w", s.snapDir, err)
	}
	for _, de := range des {
		if name := de.Name(); strings.HasPrefix(name, snapPrefix) && strings.HasSuffix(name, snapTmpSuffix) {
			p := filepath.Join(s.snapDir, name)
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("storage: cannot remove unfinished snapshot %s: %w", p, err)
			}
			s.log.Info("removed unfinished snapshot file", "path", p)
		}
	}
	return nil
}

func (s *Storage) create() (*Recovered, error) {
	snaps, err := listSnapshots(s.snapDir)
	if err != nil {
		return nil, fmt.Errorf("storage: cannot read snapshot directory %s: %w", s.snapDir, err)
	}
	if len(snaps) > 0 {
		return nil, fmt.Errorf("storage: %s holds snapshots (newest %s) but %s holds no WAL; refusing to start with the log missing: restore the WAL directory, or move the snapshots away to start empty",
			s.snapDir, snaps[len(snaps)-1].name, s.walDir)
	}
	des, err := os.ReadDir(s.walDir)
	switch {
	case err == nil && len(des) > 0:
		// wal.Create replaces the directory; never let it delete files we did not write.
		return nil, fmt.Errorf("storage: WAL directory %s holds no WAL segment but is not empty (e.g. %q); move those files away or choose another directory",
			s.walDir, des[0].Name())
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("storage: cannot use WAL directory %s: %w", s.walDir, err)
	}
	if err := os.MkdirAll(filepath.Dir(s.walDir), 0o700); err != nil {
		return nil, fmt.Errorf("storage: cannot create WAL directory %s: %w", s.walDir, err)
	}
	w, err := wal.Create(s.zl, s.walDir, walMetadata)
	if err != nil {
		return nil, fmt.Errorf("storage: cannot create WAL in %s: %w", s.walDir, err)
	}
	s.w = w
	s.log.Info("created new WAL", "dir", s.walDir)
	return &Recovered{New: true, HardState: &raftpb.HardState{}}, nil
}

func (s *Storage) recover() (*Recovered, error) {
	walSnaps, err := validSnapshotRecords(s.zl, s.walDir)
	if err != nil {
		return nil, s.corruptWAL(err)
	}
	for _, ws := range walSnaps {
		s.recorded[[2]uint64{ws.GetTerm(), ws.GetIndex()}] = true
		s.recordedIndex = max(s.recordedIndex, ws.GetIndex())
	}
	if err := s.removeStaleSnapshots(); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	chosen, err := s.newestValidSnapshot(s.recorded)
	if err != nil {
		return nil, err
	}
	start := &walpb.Snapshot{Index: new(uint64(0)), Term: new(uint64(0))}
	if chosen != nil {
		start = &walpb.Snapshot{Index: new(chosen.Index), Term: new(chosen.Term)}
	}
	w, md, hs, ents, err := s.openWAL(start)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(md, walMetadata) {
		w.Close()
		return nil, fmt.Errorf("storage: the WAL in %s was not written by zkd (metadata %q); choose another directory", s.walDir, md)
	}
	s.w = w
	attrs := []any{"dir", s.walDir, "entries", len(ents), "term", hs.GetTerm(), "commit", hs.GetCommit()}
	if chosen != nil {
		attrs = append(attrs, "snapshot_index", chosen.Index, "snapshot_term", chosen.Term)
	}
	s.log.Info("recovered WAL", attrs...)
	return &Recovered{Snapshot: chosen, HardState: hs, Entries: ents}, nil
}

// newestValidSnapshot returns the newest snapshot file that the WAL records
// and whose contents check out. Files the WAL does not record were written
// by a process that crashed before recording them; the WAL still holds the
// entries they cover, so they are skipped.
func (s *Storage) newestValidSnapshot(recorded map[[2]uint64]bool) (*SnapshotMeta, error) {
	files, err := listSnapshots(s.snapDir)
	if err != nil {
		return nil, fmt.Errorf("storage: cannot read snapshot directory %s: %w", s.snapDir, err)
	}
	for i := len(files) - 1; i >= 0; i-- {
		f := files[i]
		path := filepath.Join(s.snapDir, f.name)
		if !recorded[[2]uint64{f.term, f.index}] {
			s.log.Info("ignoring snapshot file not recorded in the WAL", "path", path)
			continue
		}
		meta, err := verifySnapFile(path)
		if err != nil {
			s.log.Error("snapshot file is corrupt; renaming it and falling back to an older snapshot", "path", path, "err", err)
			if rerr := os.Rename(path, path+brokenSuffix); rerr != nil {
				return nil, fmt.Errorf("storage: snapshot %s is corrupt (%v) and cannot be renamed out of the way: %w", path, err, rerr)
			}
			continue
		}
		return &meta, nil
	}
	return nil, nil
}

// openWAL opens the WAL after start and reads it, repairing a torn tail once.
func (s *Storage) openWAL(start *walpb.Snapshot) (*wal.WAL, []byte, *raftpb.HardState, []*raftpb.Entry, error) {
	repaired := false
	for {
		w, err := wal.Open(s.zl, s.walDir, start)
		if err != nil {
			if errors.Is(err, fileutil.ErrLocked) {
				return nil, nil, nil, nil, fmt.Errorf("%w: the WAL in %s is in use by another zkd process; stop that process or point this one at another data directory", ErrLocked, s.walDir)
			}
			return nil, nil, nil, nil, fmt.Errorf("storage: cannot open the WAL in %s after snapshot index %d (if every snapshot was corrupt, the WAL no longer reaches back far enough): %w",
				s.walDir, start.GetIndex(), err)
		}
		md, hs, ents, err := w.ReadAll()
		if err == nil {
			return w, md, hs, ents, nil
		}
		if cerr := w.Close(); cerr != nil {
			s.log.Warn("closing WAL after a failed read", "dir", s.walDir, "err", cerr)
		}
		if repaired || !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil, nil, nil, s.corruptWAL(err)
		}
		// A record cut short at the end of the last segment was never
		// fsynced, so raft never acted on it: dropping it loses nothing.
		// But first make sure it is the end: damage mid-segment can look
		// the same to etcd's reader.
		if _, terr := ReadWAL(s.walDir, func(*WALRecord) error { return nil }); terr != nil {
			return nil, nil, nil, nil, s.corruptWAL(terr)
		}
		s.log.Warn("WAL ends in a torn write (crash during an append); truncating after the last complete record", "dir", s.walDir, "err", err)
		if !wal.Repair(s.zl, s.walDir) {
			return nil, nil, nil, nil, fmt.Errorf("storage: repairing the torn end of the WAL in %s failed (see the log): %w", s.walDir, err)
		}
		s.log.Warn("WAL repaired; the original last segment was kept with a .broken suffix", "dir", s.walDir)
		repaired = true
	}
}

func (s *Storage) corruptWAL(err error) error {
	// etcd names the segment only for some damage (a CRC mismatch of a
	// well-formed record); a flipped byte elsewhere gives a bare decoding
	// error. zkd's own reader says which file and where.
	where := ""
	var we *WALError
	if _, rerr := ReadWAL(s.walDir, func(*WALRecord) error { return nil }); errors.As(rerr, &we) {
		where = fmt.Sprintf(" (first bad record: %s)", we)
	}
	return fmt.Errorf("storage: the WAL in %s is corrupt, and not just by a torn write at its end, so zkd refuses to start: %w%s; "+
		"restore this server's data directories from a backup, or move them away and let the server rejoin the ensemble from its peers",
		s.walDir, err, where)
}

// Save appends entries and the HardState to the WAL in one write; it syncs
// when raft requires it (new entries, term or vote), so every entry of a
// Ready shares one fdatasync.
func (s *Storage) Save(hs *raftpb.HardState, ents []*raftpb.Entry) error {
	if raft.IsEmptyHardState(hs) && len(ents) == 0 {
		return nil
	}
	mustSync := raft.MustSync(hs, s.prevHS, len(ents))
	start := time.Now()
	if err := s.writeWAL(mustSync, func() error { return s.w.Save(hs, ents) }); err != nil {
		return fmt.Errorf("storage: WAL append in %s: %w", s.walDir, err)
	}
	if !raft.IsEmptyHardState(hs) {
		s.prevHS = hs
	}
	if s.zero != nil && len(ents) > 0 {
		n := 0
		for _, e := range ents {
			n += len(e.Data) + 32 // the record's framing and the entry's fields, roughly
		}
		s.zero.grew(int64(n))
	}
	if mustSync {
		took := int64(time.Since(start))
		s.lastWALNs.Store(took)
		s.totalWALNs.Add(took)
		if took > s.maxWALNs.Load() {
			s.maxWALNs.Store(took)
		}
		s.walSyncs.Add(1)
		s.fsyncs.Add(1)
		s.noteSync("WAL append", func() string { return walTail(s.walDir) }, time.Duration(took))
	}
	return nil
}

// writeWAL runs write, which writes to the WAL, holding the zero filler's
// lock: the filler writes zeros ahead of the WAL in the segment it is
// writing and in the one it may cut to (zerofill.go, zerotail.go). synced
// says the write was fsynced, for the failpoints build (noteSynced).
func (s *Storage) writeWAL(synced bool, write func() error) error {
	if s.zero != nil {
		s.zero.mu.Lock()
		defer s.zero.mu.Unlock()
	}
	if err := write(); err != nil {
		return err
	}
	noteSynced(s.walDir, synced)
	return nil
}

// WriteSnapshot streams a snapshot file: write receives a writer whose bytes
// are framed in CRC-checked chunks into a temporary file, which is written
// past the page cache where it can be, a piece at a time (see
// directWriter), fsynced, renamed into place, and the directory fsynced.
// The snapshot is not used at startup until RecordSnapshot records it in
// the WAL.
func (s *Storage) WriteSnapshot(meta SnapshotMeta, write func(io.Writer) error) (err error) {
	hdr, err := encodeHeader(meta)
	if err != nil {
		return err
	}
	final := filepath.Join(s.snapDir, snapName(meta.Term, meta.Index))
	tmp := final + snapTmpSuffix
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, fileutil.PrivateFileMode)
	if err != nil {
		return fmt.Errorf("storage: creating snapshot %s: %w", tmp, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	dw := newDirectWriter(f)
	if _, err = dw.Write(hdr); err != nil {
		return fmt.Errorf("storage: writing snapshot %s: %w", tmp, err)
	}
	cw := newChunkWriter(dw)
	if err = write(cw); err != nil {
		return fmt.Errorf("storage: writing snapshot %s: %w", tmp, err)
	}
	if err = cw.finish(); err != nil {
		return fmt.Errorf("storage: writing snapshot %s: %w", tmp, err)
	}
	if err = dw.finish(); err != nil {
		return fmt.Errorf("storage: writing snapshot %s: %w", tmp, err)
	}
	if err = s.installSnapFile(f, tmp, final); err != nil {
		return err
	}
	s.snapshots.Add(1)
	s.log.Info("wrote snapshot", "path", final, "index", meta.Index, "term", meta.Term, "payload_bytes", cw.n)
	return nil
}

// installSnapFile makes a fully written temporary snapshot file durable
// under its final name: fsync, close, rename, fsync the directory. f is
// closed whatever happens; on error the caller removes tmp.
func (s *Storage) installSnapFile(f *os.File, tmp, final string) error {
	start := time.Now()
	if err := fileutil.Fsync(f); err != nil {
		f.Close()
		return fmt.Errorf("storage: syncing snapshot %s: %w", tmp, err)
	}
	s.noteSync("snapshot file", func() string { return tmp }, time.Since(start))
	s.fsyncs.Add(1)
	if err := f.Close(); err != nil {
		return fmt.Errorf("storage: closing snapshot %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("storage: renaming snapshot %s: %w", tmp, err)
	}
	if err := syncDir(s.snapDir); err != nil {
		return fmt.Errorf("storage: syncing snapshot directory %s: %w", s.snapDir, err)
	}
	s.fsyncs.Add(1)
	return nil
}

// RecordSnapshot records a written snapshot in the WAL (and syncs), so that
// startup reads the WAL from after it and Purge may drop what is behind it.
func (s *Storage) RecordSnapshot(meta SnapshotMeta) error {
	ws := &walpb.Snapshot{Index: new(meta.Index), Term: new(meta.Term), ConfState: confStateOrEmpty(meta.ConfState)}
	start := time.Now()
	if err := s.writeWAL(true, func() error { return s.w.SaveSnapshot(ws) }); err != nil {
		return fmt.Errorf("storage: recording snapshot %d in the WAL in %s: %w", meta.Index, s.walDir, err)
	}
	s.noteSync("WAL snapshot record", func() string { return walTail(s.walDir) }, time.Since(start))
	s.fsyncs.Add(1)
	s.recorded[[2]uint64{meta.Term, meta.Index}] = true
	s.recordedIndex = max(s.recordedIndex, meta.Index)
	return nil
}

// OpenSnapshot streams the payload of a snapshot Open returned. Each chunk
// is CRC-checked before its bytes are returned; Read fails with an error
// wrapping ErrCorruptSnapshot on a mismatch.
func (s *Storage) OpenSnapshot(meta SnapshotMeta) (io.ReadCloser, error) {
	path := filepath.Join(s.snapDir, snapName(meta.Term, meta.Index))
	r, got, err := openSnapFile(path)
	if err != nil {
		return nil, err
	}
	if got.Index != meta.Index || got.Term != meta.Term {
		r.Close()
		return nil, fmt.Errorf("%w %s: header says term %d index %d, want term %d index %d",
			ErrCorruptSnapshot, path, got.Term, got.Index, meta.Term, meta.Index)
	}
	return r, nil
}

// Stats returns the counters; safe from any goroutine.
func (s *Storage) Stats() Stats {
	return Stats{
		WALSyncs:     s.walSyncs.Load(),
		Fsyncs:       s.fsyncs.Load(),
		LastWALSync:  time.Duration(s.lastWALNs.Load()),
		WALSyncTotal: time.Duration(s.totalWALNs.Load()),
		WALSyncMax:   time.Duration(s.maxWALNs.Load()),
		Snapshots:    s.snapshots.Load(),
		SlowSyncs:    s.slowSyncs.Load(),
	}
}

// Close syncs and closes the WAL and releases the directory lock.
func (s *Storage) Close() error {
	var errs []error
	if s.zero != nil {
		s.zero.stop()
		s.zero = nil
	}
	if s.w != nil {
		if err := s.w.Close(); err != nil {
			errs = append(errs, fmt.Errorf("storage: closing WAL in %s: %w", s.walDir, err))
		}
		s.w = nil
	}
	if s.lock != nil {
		if err := s.lock.Close(); err != nil {
			errs = append(errs, fmt.Errorf("storage: releasing lock in %s: %w", s.snapDir, err))
		}
		s.lock = nil
	}
	return errors.Join(errs...)
}

func syncDir(dir string) error {
	d, err := fileutil.OpenDir(dir)
	if err != nil {
		return err
	}
	if err := fileutil.Fsync(d); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// sortedWALFiles lists WAL segments by sequence number with their first index.
func sortedWALFiles(dir string) ([]walFile, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []walFile
	for _, de := range des {
		var seq, index uint64
		name := de.Name()
		if !strings.HasSuffix(name, ".wal") {
			continue
		}
		if _, err := fmt.Sscanf(name, "%016x-%016x.wal", &seq, &index); err != nil {
			continue
		}
		out = append(out, walFile{name: name, seq: seq, index: index})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].seq < out[b].seq })
	return out, nil
}

type walFile struct {
	name       string
	seq, index uint64
}

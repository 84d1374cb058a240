package storage

import (
	"math"
	"testing"
	"time"
)

// tailSegment returns the path of the segment the WAL is writing.
func tailSegment(t *testing.T, walDir string) string {
	t.Helper()
	segs := walSegments(t, walDir)
	return segs[len(segs)-1]
}

// checkTailFilled fills the tail and checks that at most the margin ahead
// of the WAL (and the piece that rounds it up) is left in unwritten
// extents, where before the fill much more was: the control, which also
// shows that etcd preallocated the tail, at creation and at every open.
func checkTailFilled(t *testing.T, s *Storage, walDir string) {
	t.Helper()
	tail := tailSegment(t, walDir)
	before, ok, err := unwrittenBytes(tail)
	if err != nil {
		t.Fatal(err)
	}
	tails := s.zero.tails.Load()
	if err := s.zero.fillTail(); err != nil {
		t.Fatalf("fillTail: %v", err)
	}
	if got := s.zero.tails.Load(); got != tails+1 {
		t.Fatalf("tail segments filled: %d, want %d", got, tails+1)
	}
	after, _, err := unwrittenBytes(tail)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d bytes in unwritten extents before the fill, %d after", tail, before, after)
	if !ok {
		t.Logf("the file system of %s does not report unwritten extents; only the log's contents are checked", walDir)
		return
	}
	if limit := s.zero.margin + s.zero.piece; before <= 2*limit || after > limit {
		t.Errorf("%s: %d bytes in unwritten extents before the fill and %d after; want more than %d before and at most %d after",
			tail, before, after, 2*limit, limit)
	}
	if err := s.zero.fillTail(); err != nil || s.zero.tails.Load() != tails+1 {
		t.Fatalf("a second fillTail: err %v, filled %d; want nothing done", err, s.zero.tails.Load())
	}
}

// The filler writes zeros over the segment the WAL is writing, ahead of
// it, in a new WAL and again after a reopen (which preallocates the rest of
// the tail anew); the log reads back whole, across a cut to the next
// segment.
func TestZeroFilledTail(t *testing.T) {
	segmentSize(t, 8<<20)
	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	s.zero.every = math.MaxInt64 // no fills but the test's own
	want := mkEnts(1, 20, 1, 16<<10)
	saveEach(t, s, want)
	checkTailFilled(t, s, walDir)
	more := mkEnts(21, 40, 1, 16<<10)
	saveEach(t, s, more)
	want = append(want, more...)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, rec := mustOpen(t, walDir, snapDir)
	s.zero.every = math.MaxInt64
	checkEnts(t, rec.Entries, want)
	checkTailFilled(t, s, walDir)
	want = append(want, saveUntilCut(t, s, walDir, uint64(len(want)+1), 16<<10)...)
	reopenAndCheck(t, s, walDir, snapDir, want)
}

// The filler checks the WAL's offset before every piece: when the WAL
// writes past the place where the filler paused, the filler skips ahead
// instead of writing zeros over the new records. Appends that need no sync
// (a commit index alone) stay in etcd's buffer meanwhile; the margin keeps
// the zeros clear of them too.
func TestZeroTailStaysAheadOfTheLog(t *testing.T) {
	segmentSize(t, 8<<20)
	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	s.zero.every = math.MaxInt64
	paused, resume := pauseAfterFirstPiece(s.zero)
	want := mkEnts(1, 4, 1, 16<<10)
	saveEach(t, s, want)
	done := make(chan error, 1)
	go func() { done <- s.zero.fillTail() }()
	<-paused                          // one piece written, a margin ahead of the WAL
	more := mkEnts(5, 300, 1, 16<<10) // ~4.8 MB: well past the filler's place
	saveEach(t, s, more)
	want = append(want, more...)
	for c := uint64(1); c <= 50; c++ {
		if err := s.Save(hs(1, c), nil); err != nil { // not synced: buffered
			t.Fatal(err)
		}
	}
	close(resume)
	if err := <-done; err != nil {
		t.Fatalf("fillTail: %v", err)
	}
	if s.zero.tails.Load() != 1 {
		t.Fatalf("tail segments filled: %d, want 1", s.zero.tails.Load())
	}
	reopenAndCheck(t, s, walDir, snapDir, want)
}

// A server fills its tail by itself, zeroTailAfter after the start.
func TestZeroTailAtStart(t *testing.T) {
	segmentSize(t, 8<<20)
	old := zeroTailAfter
	zeroTailAfter = 0
	t.Cleanup(func() { zeroTailAfter = old })
	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	deadline := time.Now().Add(10 * time.Second)
	for s.zero.tails.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the tail was not filled within 10s of the start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	n, ok, err := unwrittenBytes(tailSegment(t, walDir))
	if err != nil {
		t.Fatal(err)
	}
	if limit := s.zero.margin + s.zero.piece; ok && n > limit {
		t.Errorf("%d bytes in unwritten extents after the fill, want at most %d", n, limit)
	}
	want := mkEnts(1, 10, 1, 1<<10)
	saveEach(t, s, want)
	reopenAndCheck(t, s, walDir, snapDir, want)
}

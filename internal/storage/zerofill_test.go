package storage

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

// waitingSegment returns the path of the segment etcd's pipeline holds
// ready, waiting up to five seconds for it to be created.
func waitingSegment(t *testing.T, walDir string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var found []string
		for _, n := range pipelineNames {
			if _, err := os.Stat(filepath.Join(walDir, n)); err == nil {
				found = append(found, filepath.Join(walDir, n))
			}
		}
		if len(found) == 1 {
			return found[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting segment in %s: found %v, want one of %v", walDir, found, pipelineNames)
		}
		time.Sleep(time.Millisecond)
	}
}

// reopenAndCheck closes s, opens its directories again and checks that the
// WAL holds want.
func reopenAndCheck(t *testing.T, s *Storage, walDir, snapDir string, want []*raftpb.Entry) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, rec := mustOpen(t, walDir, snapDir)
	defer s.Close()
	checkEnts(t, rec.Entries, want)
}

// saveUntilCut saves entries from next on, one Save each, until the WAL
// cuts to a new segment, and returns the entries saved.
func saveUntilCut(t *testing.T, s *Storage, walDir string, next uint64, size int) []*raftpb.Entry {
	t.Helper()
	segs := len(walSegments(t, walDir))
	var saved []*raftpb.Entry
	for len(walSegments(t, walDir)) == segs {
		e := mkEnts(next, next, 1, size)
		saveEach(t, s, e)
		saved = append(saved, e...)
		next++
	}
	return saved
}

// The WAL cuts to segments the filler wrote zeros over, so appends land in
// written blocks; the first segment, which etcd preallocated, is the
// control. The log reads back whole.
func TestZeroFilledSegments(t *testing.T) {
	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	s.zero.every = math.MaxInt64 // no fills but the test's own
	// The control: what etcd preallocated has unwritten extents, where the
	// file system reports them.
	report := true
	for _, p := range []string{walSegments(t, walDir)[0], waitingSegment(t, walDir)} {
		n, ok, err := unwrittenBytes(p)
		if err != nil {
			t.Fatal(err)
		}
		if !ok || n == 0 {
			t.Logf("the file system of %s does not report unwritten extents in %s (supported: %v); only the log's contents are checked", walDir, p, ok)
			report = false
		}
	}
	var want []*raftpb.Entry
	const size = 16 << 10
	for cut := 0; cut < 3; cut++ {
		waiting := waitingSegment(t, walDir)
		if err := s.zero.fillWaiting(); err != nil {
			t.Fatalf("fillWaiting: %v", err)
		}
		if got := s.zero.filled.Load(); got != uint64(cut+1) {
			t.Fatalf("segments filled: %d, want %d (waiting: %s)", got, cut+1, waiting)
		}
		if err := s.zero.fillWaiting(); err != nil || s.zero.filled.Load() != uint64(cut+1) {
			t.Fatalf("a second fillWaiting before the cut: err %v, filled %d; want nothing done", err, s.zero.filled.Load())
		}
		want = append(want, saveUntilCut(t, s, walDir, uint64(len(want)+1), size)...)
		segs := walSegments(t, walDir)
		tail := segs[len(segs)-1]
		if n, _, err := unwrittenBytes(tail); err != nil {
			t.Fatal(err)
		} else if report && n != 0 {
			t.Errorf("segment %s, cut to after the filler wrote it: %d bytes in unwritten extents, want 0", tail, n)
		}
		if err := s.zero.fillTail(); err != nil || s.zero.tails.Load() != 0 {
			t.Fatalf("fillTail on a tail filled while it waited: err %v, tails filled %d; want nothing done", err, s.zero.tails.Load())
		}
	}
	reopenAndCheck(t, s, walDir, snapDir, want)
}

// pauseAfterFirstPiece makes the filler stop after its first piece, and
// close paused, until resume is closed.
func pauseAfterFirstPiece(f *zeroFiller) (paused, resume chan struct{}) {
	paused, resume = make(chan struct{}), make(chan struct{})
	first := true
	f.between = func() {
		if first {
			first = false
			close(paused)
			<-resume
		}
	}
	return paused, resume
}

// A cut that comes while the filler is mid-segment ends its fill: the WAL
// writes the segment, and no zeros land on what it wrote.
func TestZeroFillStopsAtTheCut(t *testing.T) {
	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	s.zero.every = math.MaxInt64 // no fills but the test's own
	s.zero.piece = 4 << 10
	paused, resume := pauseAfterFirstPiece(s.zero)
	waitingSegment(t, walDir)
	done := make(chan error, 1)
	go func() { done <- s.zero.fillWaiting() }()
	<-paused // one piece written
	want := saveUntilCut(t, s, walDir, 1, 16<<10)
	more := mkEnts(uint64(len(want)+1), uint64(len(want)+16), 1, 16<<10)
	saveEach(t, s, more) // well past the filler's place in the segment
	want = append(want, more...)
	close(resume)
	if err := <-done; err != nil {
		t.Fatalf("fillWaiting: %v", err)
	}
	reopenAndCheck(t, s, walDir, snapDir, want)
}

// The filler, woken after every append, races the WAL's cuts over many
// small segments, filling each waiting segment and finishing as the tail
// what a cut interrupted; whatever it wrote, the log reads back whole.
func TestZeroFillRacingCutsKeepsTheLog(t *testing.T) {
	segmentSize(t, 128<<10)
	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	s.zero.every = 1
	s.zero.piece = 512 // many pieces per segment, so that cuts come mid-fill
	// Every Save here syncs, which empties etcd's buffer, so the tail's
	// zeros may start close to the WAL's offset (the real margin is a
	// whole segment here).
	s.zero.margin = 4 << 10
	rng := rand.New(rand.NewPCG(1, 2))
	var want []*raftpb.Entry
	deadline := time.Now().Add(3 * time.Second)
	for i := uint64(1); i <= 3000 && time.Now().Before(deadline); i++ {
		e := mkEnts(i, i, 1, 64+rng.IntN(12<<10))
		saveEach(t, s, e)
		want = append(want, e...)
	}
	filled := s.zero.filled.Load()
	segs := len(walSegments(t, walDir))
	t.Logf("%d entries, %d segments, %d filled while waiting, %d as the tail", len(want), segs, filled, s.zero.tails.Load())
	if segs < 10 || filled == 0 {
		t.Fatalf("%d segments and %d filled: the race was not run", segs, filled)
	}
	reopenAndCheck(t, s, walDir, snapDir, want)
}

// TestZeroFillTurnedOff: with WithoutZeroFill the filler never starts, even
// where the tests force it on everywhere else, and the log works as usual.
func TestZeroFillTurnedOff(t *testing.T) {
	walDir, snapDir := dirs(t)
	s, _, err := Open(walDir, snapDir, testLogger(t), WithoutZeroFill())
	if err != nil {
		t.Fatal(err)
	}
	if s.zero != nil {
		t.Fatal("the zero filler started although it was turned off")
	}
	ents := mkEnts(1, 50, 1, 100)
	saveEach(t, s, ents)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, rec := mustOpen(t, walDir, snapDir)
	defer s.Close()
	checkEnts(t, rec.Entries, ents)
	if s.zero == nil {
		t.Fatal("reopened without the option, the storage did not start the zero filler")
	}
}

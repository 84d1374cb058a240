package raftnode

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// windowConfig turns off the periodic snapshots (SnapCount and SnapBytes
// out of reach) unless snapCount is set, and keeps a window of 50 entries.
func windowConfig(snapCount uint64) func(*Config) {
	return func(cfg *Config) {
		cfg.SnapCount, cfg.SnapBytes, cfg.SnapCatchUpEntries = 1<<40, 1<<40, 50
		if snapCount > 0 {
			cfg.SnapCount = snapCount
		}
	}
}

// writeMany proposes count entries through via at once and waits until
// every node of ids has applied them all.
func (c *cluster) writeMany(via uint64, prefix string, count int, ids []uint64) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, count)
	ps := payloads(prefix, count)
	for _, p := range ps {
		wg.Add(1)
		c.nodes[via].ProposeAsync([]byte(p), func(err error) {
			if err != nil {
				errs <- fmt.Errorf("proposing %q: %w", p, err)
			}
			wg.Done()
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		c.t.Fatalf("%d proposals via %d not done within 20s", count, via)
	}
	close(errs)
	for err := range errs {
		c.t.Fatal(err)
	}
	last := ps[count-1]
	eventually(c.t, 10*time.Second, fmt.Sprintf("%q applied on %v", last, ids), func() bool { return c.allHave(ids, last) })
}

// logStart is the first index node id's in-memory raft log still holds.
func (c *cluster) logStart(id uint64) uint64 {
	first, err := c.nodes[id].ms.FirstIndex()
	if err != nil {
		c.t.Fatal(err)
	}
	return first
}

// windowed waits until node id holds fewer than SnapCatchUpEntries +
// trimEvery applied entries in memory.
func (c *cluster) windowed(id uint64) {
	c.t.Helper()
	n := c.nodes[id]
	eventually(c.t, 5*time.Second, fmt.Sprintf("node %d's in-memory log trimmed to its window", id), func() bool {
		return n.applied.Load() < c.logStart(id)+n.cfg.SnapCatchUpEntries+trimEvery
	})
}

// Every member of a healthy ensemble keeps a window of the log in memory,
// not everything since its last snapshot (here there is none).
func TestEnsembleKeepsAWindowOfTheLog(t *testing.T) {
	c := newCluster(t, three, nil, windowConfig(0))
	lead := c.leader(three, 0)
	c.writeMany(lead, "w", 1500, three)
	for _, id := range three {
		c.windowed(id)
		if got := c.nodes[id].Stats().Snapshots; got != 0 {
			t.Fatalf("node %d wrote %d snapshots, want none: the window, not a snapshot, must bound the log", id, got)
		}
	}
}

// A leader keeps the entries a stopped follower has not acknowledged,
// while the other follower drops them. When that follower leads and the
// stopped one comes back needing them, it takes a fresh snapshot (it has
// none that reaches its log) and sends it.
func TestNewLeaderSnapshotsForAPeerPastItsWindow(t *testing.T) {
	// A window of one byte keeps no entry at all: the leader must still
	// keep what a peer lacks.
	for _, windowBytes := range []uint64{0, 1} {
		t.Run(fmt.Sprintf("WindowBytes=%d", windowBytes), func(t *testing.T) {
			c := newCluster(t, three, nil, func(cfg *Config) {
				windowConfig(0)(cfg)
				cfg.WindowBytes = windowBytes
			})
			lead := c.leader(three, 0)
			down := others(three, lead)[0]
			heir := others(three, lead, down)[0]
			c.write(lead, "before", three)
			downAt, err := c.nodes[down].ms.LastIndex() // at least what it acknowledged
			if err != nil {
				t.Fatal(err)
			}
			c.stop(down)
			c.writeMany(lead, "missed", 1500, []uint64{lead, heir})
			c.windowed(heir)
			if got := c.logStart(heir); got <= downAt+1 {
				t.Fatalf("follower %d's log starts at %d: want it trimmed past %d, where the stopped follower stands", heir, got, downAt+1)
			}
			if got := c.logStart(lead); got > downAt+1 {
				t.Fatalf("leader's log starts at %d: want it to keep what the stopped follower lacks, from index %d at the latest", got, downAt+1)
			}

			oldTerm := c.nodes[lead].Status().Term
			c.stop(lead)
			c.start(down)
			pair := []uint64{heir, down}
			if got := c.leader(pair, oldTerm); got != heir {
				t.Fatalf("leader after the old one stopped: got %d, want %d (the only one with the whole log)", got, heir)
			}
			c.write(heir, "after", pair)
			c.converge(pair)
			if c.sms[down].restoredAt == 0 {
				t.Fatal("the returning follower caught up without a snapshot; the test did not exercise the window")
			}
			if got := c.nodes[heir].Stats().Snapshots; got < 1 {
				t.Fatalf("snapshots written by the new leader: got %d, want >= 1", got)
			}
			got, missed := c.sms[down].data(), payloads("missed", 1500)
			for _, want := range []string{"before", missed[0], missed[1499], "after"} {
				if !slices.Contains(got, want) {
					t.Fatalf("returning follower lacks %q", want)
				}
			}
		})
	}
}

// The window never passes a snapshot being written, so the snapshot joins
// the in-memory log once written and can be sent to peers.
func TestWindowWaitsForASnapshotBeingWritten(t *testing.T) {
	c := newCluster(t, three, nil, windowConfig(600))
	lead := c.leader(three, 0)
	f := others(three, lead)[0]
	block := make(chan struct{})
	unblocked := false
	defer func() {
		if !unblocked {
			close(block)
		}
	}()
	sm := c.sms[f]
	sm.mu.Lock()
	sm.snapBlock = block
	sm.mu.Unlock()
	n := c.nodes[f]
	c.writeMany(lead, "a", 700, three) // past SnapCount: f's snapshot is due
	eventually(t, 5*time.Second, "a snapshot started on the follower", n.snapping.Load)
	at := n.snapIndex.Load()
	c.writeMany(lead, "b", 1500, three)
	if got := c.logStart(f); got > at+1 {
		t.Fatalf("follower's log starts at %d while its snapshot at %d is being written: want <= %d", got, at, at+1)
	}
	close(block)
	unblocked = true
	waitSnapshots(t, n, 1)
	snap, err := n.ms.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.GetMetadata().GetIndex(); got < at {
		t.Fatalf("in-memory log's snapshot after writing one at %d: got %d", at, got)
	}
	c.writeMany(lead, "c", 100, three)
	c.windowed(f)
}

// The byte bound's tests write entries of largeSize to a window of
// largeBudget bytes, which holds far fewer than its SnapCatchUpEntries.
const largeSize, largeBudget = 4 << 10, 64 << 10

func largeWindow(snapCount uint64) func(*Config) {
	return func(cfg *Config) {
		windowConfig(snapCount)(cfg)
		cfg.SnapCatchUpEntries, cfg.WindowBytes = 1000, largeBudget
	}
}

// writeLarge writes 300 entries of largeSize through via, one at a time,
// each applied on ids.
func (c *cluster) writeLarge(via uint64, ids []uint64) {
	c.t.Helper()
	pad := strings.Repeat("x", largeSize)
	for i := range 300 {
		c.write(via, fmt.Sprintf("%04d-%s", i, pad), ids)
	}
}

// heldBytes is the entry data node id's in-memory log holds up to index hi.
func (c *cluster) heldBytes(id, hi uint64) int {
	ents, err := c.nodes[id].ms.Entries(c.logStart(id), hi+1, math.MaxUint64)
	if err != nil {
		c.t.Fatal(err)
	}
	held := 0
	for _, e := range ents {
		held += len(e.GetData())
	}
	return held
}

// With large entries the window holds WindowBytes of data, not
// SnapCatchUpEntries entries.
func TestWindowBoundedByBytes(t *testing.T) {
	c := newCluster(t, three, nil, largeWindow(0))
	lead := c.leader(three, 0)
	c.writeLarge(lead, three)
	for _, id := range three {
		var held int
		eventually(t, 5*time.Second, fmt.Sprintf("node %d's window within %d bytes and its slack", id, largeBudget), func() bool {
			held = c.heldBytes(id, c.nodes[id].applied.Load())
			// largeBudget/largeSize entries kept, and up to a quarter
			// more gathered before a trim.
			return held <= largeBudget+(largeBudget/largeSize/4+1)*(largeSize+5)
		})
		if held == 0 {
			t.Fatalf("node %d holds no applied entries: the window must keep what fits in WindowBytes", id)
		}
	}
}

// A leader held back by a stopped follower keeps what that follower lacks
// until it snapshots; behind the snapshot it then keeps no more than
// WindowBytes of data, however many SnapCatchUpEntries allows. The
// follower comes back to a snapshot.
func TestSnapshotCompactsLeaderToWindowBytes(t *testing.T) {
	c := newCluster(t, three, nil, largeWindow(200))
	lead := c.leader(three, 0)
	down := others(three, lead)[0]
	up := others(three, lead, down)[0]
	c.write(lead, "before", three)
	c.stop(down)
	c.writeLarge(lead, []uint64{lead, up})
	n := c.nodes[lead]
	waitSnapshots(t, n, 1)
	var held int
	eventually(t, 5*time.Second, fmt.Sprintf("leader's log behind its snapshot within %d bytes", largeBudget), func() bool {
		snap, err := n.ms.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		at := snap.GetMetadata().GetIndex()
		if at < c.logStart(lead) {
			return false
		}
		held = c.heldBytes(lead, at)
		return held <= largeBudget
	})
	if held == 0 {
		t.Fatal("leader keeps no entry behind its snapshot: want what fits in WindowBytes")
	}
	c.start(down)
	c.write(lead, "after", three)
	c.converge(three)
	if c.sms[down].restoredAt == 0 {
		t.Fatal("the returning follower caught up without a snapshot; the leader kept more than its window")
	}
}

package raftnode

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

// A standalone member keeps no applied entries in memory beyond trimEvery,
// even when the log is trimmed past a snapshot still being written, and a
// restart still finds every entry.
func TestLoneMemberTrimsAppliedLog(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.SnapCount = 400
	sm := newListSM()
	block := make(chan struct{})
	sm.snapBlock = block // the first snapshot's serializer waits for it
	n := mustStart(t, cfg, sm)
	unblocked := false
	defer func() {
		if !unblocked {
			close(block)
		}
	}()
	i := 0
	write := func() {
		proposeWait(t, n, sm, fmt.Sprintf("t-%05d", i))
		i++
	}
	for !n.snapping.Load() {
		if i == 1000 {
			t.Fatal("no snapshot started within 1000 writes with SnapCount 400")
		}
		write()
	}
	snapAt := n.applied.Load() // the snapshot in progress covers at most this
	for first, _ := n.ms.FirstIndex(); first <= snapAt+1; first, _ = n.ms.FirstIndex() {
		if i == 3000 {
			t.Fatalf("in-memory log starts at %d after %d writes, want it trimmed past the snapshot at <= %d", first, i, snapAt)
		}
		write()
	}
	close(block)
	unblocked = true
	waitSnapshots(t, n, 1)
	write() // the node is still running after finishing a snapshot behind its log
	applied := n.applied.Load()
	first, err := n.ms.FirstIndex()
	if err != nil {
		t.Fatal(err)
	}
	if first+trimEvery <= applied {
		t.Fatalf("in-memory log starts at %d with %d applied: want fewer than %d applied entries kept", first, applied, trimEvery)
	}
	before := sm.snapshotOf()
	n.Stop()

	sm2 := newListSM()
	n = mustStart(t, cfg, sm2)
	defer n.Stop()
	eventually(t, 5*time.Second, "replay of the WAL", func() bool { return n.applied.Load() >= applied })
	after := sm2.snapshotOf()
	if len(after) < len(before) || !slices.EqualFunc(after[:len(before)], before, recEqual) {
		t.Fatalf("state after restart: %d entries, want the %d from before, equal", len(after), len(before))
	}
}

func TestAloneOnlyWithoutPeersOrLearners(t *testing.T) {
	n := &Node{cfg: Config{ID: 1}}
	for _, c := range []struct {
		cs   *raftpb.ConfState
		want bool
	}{
		{&raftpb.ConfState{Voters: []uint64{1}}, true},
		{&raftpb.ConfState{}, false},
		{&raftpb.ConfState{Voters: []uint64{2}}, false},
		{&raftpb.ConfState{Voters: []uint64{1, 2, 3}}, false},
		{&raftpb.ConfState{Voters: []uint64{1}, Learners: []uint64{4}}, false},
		{&raftpb.ConfState{Voters: []uint64{1}, VotersOutgoing: []uint64{1, 2}}, false},
		{&raftpb.ConfState{Voters: []uint64{1}, LearnersNext: []uint64{2}}, false},
	} {
		n.confState = c.cs
		if got := n.alone(); got != c.want {
			t.Errorf("alone with %v: got %v, want %v", c.cs, got, c.want)
		}
	}
}

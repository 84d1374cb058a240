package raftnode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/zkd-io/zkd/internal/storage"
)

var three = []uint64{1, 2, 3}

func TestEnsembleElectsOneLeader(t *testing.T) {
	base := runtime.NumGoroutine()
	c := newCluster(t, three, nil, nil)
	lead := c.leader(three, 0)
	follower := others(three, lead)[0]

	for _, id := range three {
		st := c.nodes[id].Status()
		want := "follower"
		if id == lead {
			want = "leader"
		}
		if st.Role != want {
			t.Errorf("node %d role: got %q, want %q", id, st.Role, want)
		}
		voters, learners := c.nodes[id].Members()
		if !slices.Equal(voters, three) || len(learners) != 0 {
			t.Errorf("node %d Members: got %v, %v, want %v, []", id, voters, learners, three)
		}
	}
	// A follower forwards proposals to the leader.
	c.write(lead, "via-leader", three)
	c.write(follower, "via-follower", three)
	c.converge(three)

	if p := c.nodes[follower].Progress(); p != nil {
		t.Errorf("Progress on a follower: got %+v, want nil", p)
	}
	eventually(t, 5*time.Second, "leader sees both followers synced", func() bool {
		p := c.nodes[lead].Progress()
		if len(p) != 2 {
			return false
		}
		for i, id := range others(three, lead) {
			if p[i].ID != id || p[i].Learner || !p[i].Active || !p[i].Synced || p[i].Match < c.nodes[lead].AppliedIndex() {
				return false
			}
		}
		return true
	})
	c.stopAll()
	checkNoLeak(t, base)
}

func TestEnsembleMinorityLeaderCannotCommit(t *testing.T) {
	c := newCluster(t, three, nil, nil)
	old := c.leader(three, 0)
	oldTerm := c.nodes[old].Status().Term
	majority := others(three, old)
	c.write(old, "before", three)

	c.net.partition([]uint64{old}, majority)
	// The old leader still believes it leads and accepts the proposal,
	// but can never commit it.
	_ = c.propose(old, "lost")
	lead := c.leader(majority, oldTerm)
	c.write(lead, "kept", majority)
	eventually(t, 5*time.Second, "the cut-off leader steps down (CheckQuorum)", func() bool {
		return c.nodes[old].Status().Role != "leader"
	})
	for _, id := range three {
		if slices.Contains(c.sms[id].data(), "lost") {
			t.Fatalf("node %d applied a write proposed to a leader cut off from the majority", id)
		}
	}
	if slices.Contains(c.sms[old].data(), "kept") {
		t.Fatalf("node %d applied a write while partitioned away from the leader", old)
	}

	c.net.heal()
	c.write(lead, "after", three)
	c.converge(three)
	got := c.sms[old].data()
	if slices.Contains(got, "lost") || !slices.Contains(got, "kept") {
		t.Fatalf("old leader's state after healing: got %v, want \"kept\" and not \"lost\"", got)
	}
}

func TestEnsembleFollowerCatchesUpFromLog(t *testing.T) {
	for _, wipe := range []bool{false, true} {
		t.Run(fmt.Sprintf("wiped=%v", wipe), func(t *testing.T) {
			c := newCluster(t, three, nil, nil)
			lead := c.leader(three, 0)
			down := others(three, lead)[0]
			up := others(three, down)
			c.write(lead, "before", three)
			c.stop(down)
			if wipe {
				// The leader still believes the follower holds what it
				// acknowledged (see lostlog.go).
				c.wipe(down)
			}
			for _, p := range payloads("missed", 30) {
				if err := c.propose(lead, p); err != nil {
					t.Fatal(err)
				}
			}
			c.write(lead, "last", up)
			c.start(down)
			c.converge(three)
			if got := c.sms[down].restoredAt; got != 0 {
				t.Fatalf("restarted follower restored a snapshot at %d, want a catch-up from the log alone", got)
			}
			if got := c.net.snapshotsAccepted(down); got != 0 {
				t.Fatalf("snapshots sent to the restarted follower: got %d, want 0", got)
			}
			if got := c.sms[down].data(); !slices.Contains(got, "before") || !slices.Contains(got, "last") {
				t.Fatalf("follower's data: got %v, want it to hold \"before\" and \"last\"", got)
			}
			// Once the new leader has the follower's real progress, the old
			// one has no reason for a second hand-off.
			if got := c.nodes[lead].lost.handoffCount.Load(); wipe && got < 1 || !wipe && got != 0 {
				t.Fatalf("leadership hand-offs for a lost log: got %d, want %s", got, map[bool]string{false: "0", true: ">= 1"}[wipe])
			}
		})
	}
}

// failRawOpen makes OpenRawSnapshot fail as if the file had been purged.
type failRawOpen struct {
	persister
	left *atomic.Int64
}

func (f *failRawOpen) OpenRawSnapshot(meta storage.SnapshotMeta) (_ io.ReadCloser, _ int64, err error) {
	if f.left.Add(-1) >= 0 {
		return nil, 0, fmt.Errorf("injected: %w", os.ErrNotExist)
	}
	return f.persister.OpenRawSnapshot(meta)
}

func TestEnsembleSnapshotCatchUp(t *testing.T) {
	tests := []struct {
		name         string
		wipe         bool  // the follower comes back with an empty disk
		truncate     int64 // snapshot streams cut short
		failOpens    int64 // leader finds its snapshot file gone
		wantFailures int64
	}{
		{name: "restarted follower"},
		{name: "wiped follower", wipe: true},
		{name: "first transfer cut short", truncate: 1, wantFailures: 1},
		{name: "snapshot file gone at first send", failOpens: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opens atomic.Int64
			opens.Store(tt.failOpens)
			c := newClusterWrapped(t, three, nil, func(cfg *Config) {
				cfg.SnapCount, cfg.SnapCatchUpEntries = 20, 5
			}, func(p persister) persister { return &failRawOpen{persister: p, left: &opens} })
			c.net.truncateSnaps.Store(tt.truncate)
			lead := c.leader(three, 0)
			down := others(three, lead)[0]
			c.write(lead, "before", three)
			c.stop(down)
			if tt.wipe {
				c.wipe(down)
			}
			for i := range 70 {
				c.write(lead, fmt.Sprintf("missed-%03d", i), []uint64{lead})
			}
			waitSnapshots(t, c.nodes[lead], 3)
			c.start(down)
			c.write(lead, "after", three)
			c.converge(three)
			if c.sms[down].restoredAt == 0 {
				t.Fatal("the lagging follower caught up without restoring a snapshot; the test did not exercise snapshots")
			}
			if got := c.net.snapshotsAccepted(down); got < 1 {
				t.Fatalf("snapshots accepted by the follower: got %d, want >= 1", got)
			}
			if got := c.net.snapsFailed.Load(); got != tt.wantFailures {
				t.Fatalf("failed snapshot transfers: got %d, want %d", got, tt.wantFailures)
			}
			if tt.failOpens > 0 && opens.Load() >= 0 {
				t.Fatalf("the leader never tried to open its snapshot file (left %d)", opens.Load())
			}
			// A node may still be writing a snapshot of its own that fell
			// due during the catch-up; its temp file is not a leftover.
			eventually(t, 5*time.Second, "snapshots in progress finished", func() bool {
				for _, id := range three {
					if c.nodes[id].snapping.Load() {
						return false
					}
				}
				return true
			})
			if m, _ := filepath.Glob(filepath.Join(c.root, "*", "snap", "*.tmp")); len(m) > 0 {
				t.Fatalf("got temp files %v, want none", m)
			}

			// The received snapshot is recorded in the follower's WAL:
			// a restart starts from it.
			received := c.sms[down].restoredAt
			c.stop(down)
			c.start(down)
			if got := c.sms[down].restoredAt; got < received {
				t.Fatalf("restart restored from index %d, want >= %d (the snapshot received from the leader)", got, received)
			}
			c.write(lead, "restarted", three)
			c.converge(three)
		})
	}
}

func TestEnsembleObserver(t *testing.T) {
	all := []uint64{1, 2, 3, 4}
	c := newCluster(t, three, []uint64{4}, nil)
	lead := c.leader(all, 0)
	if lead == 4 {
		t.Fatal("the observer became leader")
	}
	if got := c.nodes[4].Status().Role; got != "observer" {
		t.Fatalf("learner's role: got %q, want \"observer\"", got)
	}
	for _, id := range all {
		voters, learners := c.nodes[id].Members()
		if !slices.Equal(voters, three) || !slices.Equal(learners, []uint64{4}) {
			t.Fatalf("node %d Members: got %v, %v, want %v, [4]", id, voters, learners, three)
		}
	}
	c.write(lead, "a", all)
	c.write(4, "from-observer", all) // forwarded to the leader
	eventually(t, 5*time.Second, "leader sees the observer as a synced learner", func() bool {
		p := c.nodes[lead].Progress()
		i := slices.IndexFunc(p, func(p PeerProgress) bool { return p.ID == 4 })
		return i >= 0 && p[i].Learner && p[i].Synced && p[i].Active
	})

	// An observer does not count towards the quorum: writes go on without it.
	c.stop(4)
	c.write(lead, "b", three)
	c.start(4)
	c.converge(all)

	// Two voters down: the leader and the observer are no quorum.
	downs := others(three, lead)
	for _, id := range downs {
		c.stop(id)
	}
	_ = c.propose(lead, "no-quorum")
	time.Sleep(500 * time.Millisecond) // 25 heartbeats, several election timeouts
	for _, id := range []uint64{lead, 4} {
		if slices.Contains(c.sms[id].data(), "no-quorum") {
			t.Fatalf("node %d applied a write with two of three voters down", id)
		}
	}
	for _, id := range downs {
		c.start(id)
	}
	c.write(c.leader(all, 0), "c", all)
	c.converge(all)
}

func TestReceiveSnapshotRefusesBadInput(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	sm := newListSM()
	n := mustStart(t, cfg, sm)
	defer n.Stop()
	snap := &raftpb.Message{
		Type: raftpb.MsgSnap.Enum(), From: new(uint64(2)), To: new(uint64(1)), Term: new(uint64(9)),
		Snapshot: &raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{
			Index: new(uint64(100)), Term: new(uint64(9)), ConfState: &raftpb.ConfState{Voters: []uint64{1}},
		}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"MsgSnap through Step", func() error { return n.Step(ctx, snap) }, "must come through ReceiveSnapshot"},
		{"not a MsgSnap", func() error {
			return n.ReceiveSnapshot(ctx, &raftpb.Message{Type: raftpb.MsgApp.Enum()}, strings.NewReader(""), 0)
		}, "want MsgSnap"},
		{"garbage stream", func() error {
			return n.ReceiveSnapshot(ctx, snap, bytes.NewReader(make([]byte, 100)), 100)
		}, "bad magic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if m, _ := filepath.Glob(filepath.Join(cfg.SnapDir, "snap-*")); len(m) > 0 {
		t.Fatalf("got files %v after refused snapshots, want none", m)
	}
	// The node is unharmed.
	proposeWait(t, n, sm, "still-works")
	n.Stop()
	if err := n.ReceiveSnapshot(ctx, snap, strings.NewReader(""), 0); !errors.Is(err, ErrStopped) {
		t.Fatalf("ReceiveSnapshot after Stop: got %v, want ErrStopped", err)
	}
}

func TestSnapBytesTriggersSnapshot(t *testing.T) {
	n, sm := startSizeTriggered(t)
	defer n.Stop()
	proposeKiB(t, n, sm, 0, 9) // 9 KiB: under half of the threshold
	stillSnapshots(t, n, 0, "after 9 KiB of entries with SnapBytes 20 KiB")
	proposeKiB(t, n, sm, 9, 21)
	waitSnapshots(t, n, 1)
	// The count restarts from the snapshot.
	proposeKiB(t, n, sm, 21, 22)
	stillSnapshots(t, n, 1, "right after the first")

	def, err := (&Config{ID: 1, WALDir: "w", SnapDir: "s"}).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if def.SnapBytes != 64<<20 {
		t.Fatalf("default SnapBytes: got %d, want %d", def.SnapBytes, 64<<20)
	}
}

// TestForwardedProposalNeverBlocksStep: a peer's proposal reaching a node
// that knows no leader must not block Step, which runs on the peer's
// stream: the votes queued behind it are what would elect a leader.
func TestForwardedProposalNeverBlocksStep(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Peers = []uint64{1, 2, 3} // the others never start: no leader
	n := mustStart(t, cfg, newListSM())
	prop := &raftpb.Message{Type: raftpb.MsgProp.Enum(), From: new(uint64(2)), To: new(uint64(1)),
		Entries: []*raftpb.Entry{{Data: []byte("forwarded")}}}
	done := make(chan error, 1)
	go func() { done <- n.Step(context.Background(), prop) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Step of a forwarded proposal: got %v, want it queued", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Step of a forwarded proposal blocked while the node has no leader")
	}
	// The node still takes other messages.
	hb := &raftpb.Message{Type: raftpb.MsgHeartbeat.Enum(), From: new(uint64(2)), To: new(uint64(1)), Term: new(uint64(1))}
	if err := n.Step(context.Background(), hb); err != nil {
		t.Fatalf("Step of a heartbeat after the proposal: %v", err)
	}
}

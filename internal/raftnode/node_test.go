package raftnode

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/zkd-io/zkd/internal/storage"
)

func TestConfigValidation(t *testing.T) {
	dir := t.TempDir()
	base := testConfig(t, dir)
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"zero id", func(c *Config) { c.ID = 0 }, "ID must not be 0"},
		{"no wal dir", func(c *Config) { c.WALDir = "" }, "must both be set"},
		{"election <= heartbeat", func(c *Config) { c.ElectionTicks, c.HeartbeatTicks = 2, 2 }, "ElectionTicks 2 must be greater than HeartbeatTicks 2"},
		{"negative tick", func(c *Config) { c.TickInterval = -1 }, "must not be negative"},
		{"id not a member", func(c *Config) { c.Peers = []uint64{2, 3} }, "ID 1 is in neither"},
		{"no voters", func(c *Config) { c.Peers, c.Learners = nil, []uint64{1} }, "at least one voter"},
		{"duplicate member", func(c *Config) { c.Peers, c.Learners = []uint64{1, 2}, []uint64{2} }, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			cfg.WALDir = base.WALDir + "-" + strings.ReplaceAll(tt.name, " ", "-")
			cfg.SnapDir = base.SnapDir + "-" + strings.ReplaceAll(tt.name, " ", "-")
			tt.mutate(&cfg)
			n, err := Start(cfg, newListSM())
			if err == nil {
				n.Stop()
				t.Fatalf("got nil error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSoleVoterLeadsWhenStartReturns(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	// An election by timeout would take at least 10s with these settings.
	cfg.TickInterval, cfg.ElectionTicks = time.Second, 10
	sm := newListSM()
	begin := time.Now()
	n := mustStart(t, cfg, sm)
	defer n.Stop()
	if st := n.Status(); !st.IsLeader || st.Leader != 1 || st.Term < 2 || st.Role != "leader" {
		t.Fatalf("status after Start: got %+v, want leader 1 at term >= 2 with role \"leader\"", st)
	}
	proposeWait(t, n, sm, "first")
	if took := time.Since(begin); took > 3*time.Second {
		t.Fatalf("start plus first write took %v, want well under the 10s election timeout", took)
	}
}

func TestProposeAppliedInOrder(t *testing.T) {
	sm := newListSM()
	n := mustStart(t, testConfig(t, t.TempDir()), sm)
	defer n.Stop()

	seq := payloads("seq", 100)
	ctx := context.Background()
	for _, p := range seq[:len(seq)-1] {
		if err := n.Propose(ctx, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	proposeWait(t, n, sm, seq[len(seq)-1])
	if got := sm.data(); !slices.Equal(got, seq) {
		t.Fatalf("applied order: got %v, want %v", got, seq)
	}

	// Concurrent proposers: every entry applied once, each proposer's in order.
	const workers, per = 4, 50
	proposeConcurrently(t, n, sm, workers, per)
	got := sm.data()[len(seq):]
	if len(got) != workers*per {
		t.Fatalf("got %d concurrent entries applied, want %d", len(got), workers*per)
	}
	for w := range workers {
		var mine []string
		for _, g := range got {
			if strings.HasPrefix(g, fmt.Sprintf("w%d-", w)) {
				mine = append(mine, g)
			}
		}
		if want := payloads(fmt.Sprintf("w%d", w), per); !slices.Equal(mine, want) {
			t.Fatalf("worker %d: got %v, want %v", w, mine, want)
		}
	}
	// Applied indexes are strictly increasing and every index is seen.
	ents := sm.snapshotOf()
	for i := 1; i < len(ents); i++ {
		if ents[i].Index != ents[i-1].Index+1 {
			t.Fatalf("applied index %d after %d, want consecutive normal entries", ents[i].Index, ents[i-1].Index)
		}
	}
	if n.AppliedIndex() != ents[len(ents)-1].Index {
		t.Fatalf("AppliedIndex: got %d, want %d", n.AppliedIndex(), ents[len(ents)-1].Index)
	}
}

func TestRestartReplaysCommittedEntries(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	sm1 := newListSM()
	n := mustStart(t, cfg, sm1)
	for _, p := range payloads("a", 50) {
		proposeWait(t, n, sm1, p)
	}
	before := sm1.snapshotOf()
	n.Stop()

	sm2 := newListSM()
	n = mustStart(t, cfg, sm2)
	defer n.Stop()
	after := sm2.snapshotOf() // Start returned: the replay must be complete
	if len(after) < len(before) {
		t.Fatalf("after restart got %d applied entries, want at least the %d applied before", len(after), len(before))
	}
	for i, r := range before {
		if a := after[i]; a.Index != r.Index || a.Term != r.Term || string(a.Data) != string(r.Data) {
			t.Fatalf("replayed entry %d: got %+v, want %+v", i, a, r)
		}
	}
	// Anything more can only be the new leader's empty entry.
	for _, a := range after[len(before):] {
		if len(a.Data) != 0 || a.Term <= before[len(before)-1].Term {
			t.Fatalf("unexpected entry after replay: %+v", a)
		}
	}
	empties := 0
	for _, r := range before {
		if len(r.Data) == 0 {
			empties++
		}
	}
	if empties == 0 {
		t.Fatalf("got no empty leader entries applied, want the state machine to see them")
	}
	if sm2.restoredAt != 0 {
		t.Fatalf("restored from snapshot %d, want no snapshot with the default SnapCount", sm2.restoredAt)
	}
}

// Entries in the WAL above the HardState's commit index may still be
// overwritten by a new leader, so Start must not apply them.
func TestRestartDoesNotApplyUncommitted(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.Peers = []uint64{1, 2, 3} // no transport: this node never gets a quorum
	n := mustStart(t, cfg, newListSM())
	if n.Status().IsLeader {
		t.Fatal("a member of a 3-voter group without peers became leader")
	}
	n.Stop()

	st, rec, err := storage.Open(cfg.WALDir, cfg.SnapDir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	last := rec.Entries[len(rec.Entries)-1].GetIndex() // the bootstrap entries
	var ents []*raftpb.Entry
	for i := uint64(1); i <= 3; i++ {
		ents = append(ents, &raftpb.Entry{Term: new(uint64(2)), Index: new(last + i), Type: raftpb.EntryNormal.Enum(), Data: fmt.Appendf(nil, "e%d", i)})
	}
	hs := &raftpb.HardState{Term: new(uint64(2)), Vote: new(uint64(2)), Commit: new(last + 2)}
	if err := st.Save(hs, ents); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	sm := newListSM()
	n = mustStart(t, cfg, sm)
	defer n.Stop()
	want := []string{"e1", "e2"}
	if got := sm.data(); !slices.Equal(got, want) {
		t.Fatalf("applied after restart: got %v, want %v", got, want)
	}
	time.Sleep(100 * time.Millisecond) // ten ticks: nothing may commit e3
	if got := sm.data(); !slices.Equal(got, want) {
		t.Fatalf("applied later: got %v, want %v", got, want)
	}
	if got := n.AppliedIndex(); got != last+2 {
		t.Fatalf("AppliedIndex: got %d, want %d", got, last+2)
	}
}

func TestReadIndexAndWaitApplied(t *testing.T) {
	sm := newListSM()
	n := mustStart(t, testConfig(t, t.TempDir()), sm)
	defer n.Stop()
	for _, p := range payloads("r", 10) {
		proposeWait(t, n, sm, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	idx, err := n.ReadIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lastWrite := sm.snapshotOf()[len(sm.snapshotOf())-1].Index
	if idx < lastWrite {
		t.Fatalf("ReadIndex: got %d, want >= %d (the last acknowledged write)", idx, lastWrite)
	}
	if err := n.WaitApplied(ctx, idx); err != nil {
		t.Fatal(err)
	}

	// A waiter for a future index wakes when that index is applied.
	target := n.AppliedIndex() + 5
	done := make(chan error, 1)
	go func() { done <- n.WaitApplied(ctx, target) }()
	select {
	case err := <-done:
		t.Fatalf("WaitApplied(%d) returned %v before the index was applied", target, err)
	case <-time.After(20 * time.Millisecond):
	}
	for _, p := range payloads("more", 5) {
		if err := n.Propose(ctx, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("WaitApplied: got %v, want nil", err)
		}
	case <-ctx.Done():
		t.Fatal("WaitApplied did not return after the index was applied")
	}

	short, cancel2 := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel2()
	if err := n.WaitApplied(short, n.AppliedIndex()+1000); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitApplied far ahead: got %v, want DeadlineExceeded", err)
	}
}

func TestStopLeavesNoGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	cfg := testConfig(t, t.TempDir())
	cfg.SnapCount = 5
	sm := newListSM()
	n := mustStart(t, cfg, sm)
	for _, p := range payloads("g", 20) {
		proposeWait(t, n, sm, p)
	}
	n.Stop()
	n.Stop() // idempotent
	ctx := context.Background()
	if err := n.Propose(ctx, []byte("late")); !errors.Is(err, ErrStopped) {
		t.Fatalf("Propose after Stop: got %v, want ErrStopped", err)
	}
	if _, err := n.ReadIndex(ctx); !errors.Is(err, ErrStopped) {
		t.Fatalf("ReadIndex after Stop: got %v, want ErrStopped", err)
	}
	if err := n.WaitApplied(ctx, n.AppliedIndex()+1); !errors.Is(err, ErrStopped) {
		t.Fatalf("WaitApplied after Stop: got %v, want ErrStopped", err)
	}
	checkNoLeak(t, base)
}

func TestSecondStartOnSameDirFails(t *testing.T) {
	base := runtime.NumGoroutine()
	cfg := testConfig(t, t.TempDir())
	sm := newListSM()
	n := mustStart(t, cfg, sm)
	n2, err := Start(cfg, newListSM())
	if err == nil {
		n2.Stop()
		t.Fatal("second Start on the same directories: got nil error, want ErrLocked")
	}
	if !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("got %v, want storage.ErrLocked", err)
	}
	proposeWait(t, n, sm, "still works")
	n.Stop()
	checkNoLeak(t, base)
}

func TestMultiVoterWithoutPeersStartsAsFollower(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Peers, cfg.Learners = []uint64{3, 1, 2}, []uint64{4}
	n := mustStart(t, cfg, newListSM())
	defer n.Stop()
	n.confMu.Lock()
	cs := n.confState
	n.confMu.Unlock()
	if got := cs.GetVoters(); !slices.Equal(sortedCopy(got), []uint64{1, 2, 3}) {
		t.Fatalf("voters: got %v, want [1 2 3]", got)
	}
	if got := cs.GetLearners(); !slices.Equal(got, []uint64{4}) {
		t.Fatalf("learners: got %v, want [4]", got)
	}
	if n.Status().IsLeader {
		t.Fatal("got leader without a quorum")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := n.Propose(ctx, []byte("x")); err == nil {
		t.Fatal("Propose without a leader: got nil, want a context error")
	}
}

func sortedCopy(s []uint64) []uint64 {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// failingStore fails Save once armed, as a full or broken disk would.
type failingStore struct {
	persister
	armed atomic.Bool
}

var errDiskGone = errors.New("injected: disk gone")

func (f *failingStore) Save(hs *raftpb.HardState, ents []*raftpb.Entry) error {
	if f.armed.Load() && len(ents) > 0 {
		return errDiskGone
	}
	return f.persister.Save(hs, ents)
}

func TestPersistenceErrorIsFatal(t *testing.T) {
	base := runtime.NumGoroutine()
	var fs *failingStore
	sm := newListSM()
	n, err := start(testConfig(t, t.TempDir()), sm, func(p persister) persister {
		fs = &failingStore{persister: p}
		return fs
	})
	if err != nil {
		t.Fatal(err)
	}
	proposeWait(t, n, sm, "before")
	fs.armed.Store(true)
	ch := sm.register("lost")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = n.Propose(ctx, []byte("lost")) // may be accepted before the failing Save
	select {
	case err := <-n.Err():
		if !errors.Is(err, errDiskGone) {
			t.Fatalf("Err(): got %v, want the injected error", err)
		}
	case <-ctx.Done():
		t.Fatal("no error on Err() after a failed WAL write")
	}
	if err := n.Propose(ctx, []byte("after")); !errors.Is(err, errDiskGone) {
		t.Fatalf("Propose after the failure: got %v, want the persistence error", err)
	}
	if _, err := n.ReadIndex(ctx); !errors.Is(err, errDiskGone) {
		t.Fatalf("ReadIndex after the failure: got %v, want the persistence error", err)
	}
	select {
	case <-ch:
		t.Fatal("an entry whose WAL write failed was applied")
	case <-time.After(50 * time.Millisecond):
	}
	n.Stop()
	checkNoLeak(t, base)
}

func TestSnapshotCaptureErrorIsFatal(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SnapCount = 3
	sm := newListSM()
	sm.snapErr = errors.New("injected: cannot capture")
	n := mustStart(t, cfg, sm)
	defer n.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, p := range payloads("s", 5) {
		if err := n.Propose(ctx, []byte(p)); err != nil {
			break
		}
	}
	select {
	case err := <-n.Err():
		if !strings.Contains(err.Error(), "cannot capture") {
			t.Fatalf("Err(): got %v, want the capture error", err)
		}
	case <-ctx.Done():
		t.Fatal("no error on Err() after a failed snapshot capture")
	}
}

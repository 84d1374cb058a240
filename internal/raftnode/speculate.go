package raftnode

import (
	"bytes"
	"fmt"

	"github.com/zkd-io/zkd/internal/storage"
)

// A restart spends most of its time on two independent jobs: reading the
// WAL (storage.Open) and rebuilding the state machine from a snapshot.
// Which snapshot is the WAL's to say, since only snapshots it records are
// trusted, but it is nearly always the newest file. So the restore starts
// on that file at once, on another core, while Open reads the WAL, and is
// kept only if Open chooses the same snapshot. Otherwise the state machine
// is restored again from what Open chose, or put back to its state before
// the speculation if Open chose none.

type speculation struct {
	done    chan struct{}
	meta    *storage.SnapshotMeta // the snapshot whose restore was started; nil: none
	err     error                 // the restore's error
	initial []byte                // the state machine before, serialized
}

// speculate starts restoring the newest snapshot file in snapDir into sm.
// It starts nothing if there is no such file, or if sm's initial state
// cannot be captured.
func speculate(snapDir string, sm StateMachine) *speculation {
	sp := &speculation{done: make(chan struct{})}
	r, meta, err := storage.OpenNewestSnapshot(snapDir)
	if err != nil || meta == nil {
		close(sp.done)
		return sp
	}
	ser, err := sm.Snapshot()
	var b bytes.Buffer
	if err == nil {
		err = ser(&b)
	}
	if err != nil {
		r.Close()
		close(sp.done)
		return sp
	}
	sp.initial, sp.meta = b.Bytes(), meta
	go func() {
		defer close(sp.done)
		defer r.Close()
		sp.err = sm.Restore(r)
	}()
	return sp
}

// settle waits for the speculative restore and reports whether sm now
// holds snap, the snapshot Open chose (nil: none). If it does not, sm is
// either restored from the initial state (when snap is nil) or left for
// the caller to restore snap into, which replaces the whole state.
func (sp *speculation) settle(sm StateMachine, snap *storage.SnapshotMeta) (bool, error) {
	<-sp.done
	switch {
	case sp.meta == nil:
		return false, nil
	case snap != nil:
		return sp.err == nil && sp.meta.Index == snap.Index && sp.meta.Term == snap.Term, nil
	}
	if err := sm.Restore(bytes.NewReader(sp.initial)); err != nil {
		return false, fmt.Errorf("raftnode: undoing the restore of snapshot %d, which the WAL does not record: %w", sp.meta.Index, err)
	}
	return false, nil
}

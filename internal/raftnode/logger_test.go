package raftnode

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// levelCounter counts the records whose message contains substr, by level.
type levelCounter struct {
	substr string
	mu     sync.Mutex
	counts map[slog.Level]int
}

func (h *levelCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *levelCounter) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *levelCounter) WithGroup(string) slog.Handler            { return h }
func (h *levelCounter) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.substr) {
		h.mu.Lock()
		h.counts[r.Level]++
		h.mu.Unlock()
	}
	return nil
}

func (h *levelCounter) count(l slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[l]
}

// TestRoutineRaftInfoLoggedAtDebug drives concurrent writes through a real
// node, which makes raft report append responses for entries already
// stable (see routineInfo) many times over, and checks that zkd logs those
// reports at debug level only. It also checks that they happened: if a raft
// release words the message differently or stops sending it, this fails
// rather than passing for want of the message.
func TestRoutineRaftInfoLoggedAtDebug(t *testing.T) {
	h := &levelCounter{substr: "missing from unstable log", counts: map[slog.Level]int{}}
	cfg := testConfig(t, t.TempDir())
	cfg.Logger = slog.New(h)
	sm := newListSM()
	n := mustStart(t, cfg, sm)
	defer n.Stop()

	const workers, per = 16, 50
	proposeConcurrently(t, n, sm, workers, per)
	if got := h.count(slog.LevelInfo); got != 0 {
		t.Errorf("%d reports of entries missing from the unstable log at info level, want none", got)
	}
	if h.count(slog.LevelDebug) == 0 {
		t.Errorf("no report of entries missing from the unstable log at debug level after %d concurrent writes: "+
			"has raft changed the message? routineInfo must name its format", workers*per)
	}
}

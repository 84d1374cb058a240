package server

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkd-io/zkd/internal/config"
	"github.com/zkd-io/zkd/internal/raftnode"
)

// logRecorder is a slog.Handler keeping every record, for tests of what
// is logged.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

// lines renders the records as "LEVEL msg k=v ..." with durations as
// given, for comparison with a golden list.
func (h *logRecorder) lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.recs {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		out = append(out, b.String())
	}
	return out
}

func TestRoleTrackerLogsEachChangeWithTimings(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	follower := func(leader, term uint64) raftnode.Status {
		return raftnode.Status{ID: 2, Leader: leader, Term: term, Role: "follower"}
	}
	polls := []struct {
		ms int
		st raftnode.Status
	}{
		{100, raftnode.Status{ID: 2, Term: 1, Role: "candidate"}}, // looking at start
		{150, raftnode.Status{ID: 2, Term: 1, Role: "candidate"}}, // unchanged: no line
		{400, follower(1, 1)},  // first leader: since_start
		{900, follower(1, 1)},  // unchanged
		{1000, follower(0, 1)}, // leader lost
		{1050, raftnode.Status{ID: 2, Term: 2, Role: "candidate"}},                         // still looking, new term: no line
		{1250, raftnode.Status{ID: 2, Leader: 2, Term: 3, IsLeader: true, Role: "leader"}}, // elected: 250 ms
		{1300, follower(3, 4)}, // leader changed between polls
		{1400, raftnode.Status{ID: 2, Leader: 3, Term: 4, Role: "observer"}},
	}
	h := &logRecorder{}
	r := roleTracker{log: slog.New(h), started: t0}
	for _, p := range polls {
		r.observe(p.st, at(p.ms))
	}
	want := []string{
		"INFO looking term=1",
		"INFO following leader=1 term=1 previous=looking previous_for=300ms since_start=400ms",
		"WARN looking term=1 previous=following previous_for=600ms previous_leader=1",
		"INFO leading leader=2 term=3 previous=looking previous_for=250ms election_took=250ms",
		"INFO following leader=3 term=4 previous=leading previous_for=50ms previous_leader=2 election_took=50ms",
		"INFO observing leader=3 term=4 previous=following previous_for=100ms previous_leader=3 election_took=100ms",
	}
	got := h.lines()
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: got %q, want %q", i, got[i], want[i])
		}
	}
}

// TestStandaloneLogsLeadingOnce: a standalone server logs its one role
// change at start.
func TestStandaloneLogsLeadingOnce(t *testing.T) {
	h := &logRecorder{}
	o := config.Default()
	o.DataDir = t.TempDir()
	o.ClientPortAddress = "127.0.0.1"
	o.AdminEnableServer = false
	o.AdminServerAddress = "127.0.0.1"
	o.MetricsHTTPPort = 0
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	o.ClientPort = 0
	s := New(o, slog.New(h))
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var leading []string
		for _, l := range h.lines() {
			if strings.HasPrefix(l, "INFO leading ") {
				leading = append(leading, l)
			}
		}
		if len(leading) == 1 && strings.Contains(leading[0], "since_start=") {
			break
		}
		if len(leading) > 1 || time.Now().After(deadline) {
			t.Fatalf("leading lines: got %q, want one with since_start", leading)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

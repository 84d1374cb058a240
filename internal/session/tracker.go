// Package session owns session liveness: which sessions have shown life
// recently and which have expired. It is the leader's expiry tracker; it is
// not replicated (the session table itself is part of the replicated state
// in internal/fsm). A new leader starts every session with a full timeout.
package session

import (
	"sort"
	"sync"
	"time"
)

type entry struct {
	timeout  time.Duration
	deadline time.Time
	closing  bool
}

// Tracker tracks deadlines. It is safe for concurrent use.
type Tracker struct {
	mu       sync.Mutex
	sessions map[int64]*entry
	touched  map[int64]struct{} // touched since the last TakeTouched
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker {
	return &Tracker{sessions: map[int64]*entry{}, touched: map[int64]struct{}{}}
}

// Add starts tracking a session with a full timeout from now.
func (t *Tracker) Add(id int64, timeout time.Duration, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sessions[id] = &entry{timeout: timeout, deadline: now.Add(timeout)}
}

// Remove stops tracking a session.
func (t *Tracker) Remove(id int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.sessions, id)
	delete(t.touched, id)
}

// Touch extends a session's deadline; false if it is unknown or closing.
func (t *Tracker) Touch(id int64, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.sessions[id]
	if e == nil || e.closing {
		return false
	}
	e.deadline = now.Add(e.timeout)
	t.touched[id] = struct{}{}
	return true
}

// TakeTouched returns the sessions touched since the previous call, ordered
// by id, and forgets them. A server that is not the leader reports them to
// the leader, which owns expiry.
func (t *Tracker) TakeTouched() []int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.touched) == 0 {
		return nil
	}
	out := make([]int64, 0, len(t.touched))
	for id := range t.touched {
		out = append(out, id)
	}
	clear(t.touched)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// ResetAll gives every session a full timeout from now and clears closing
// marks: a new leader does not know which sessions showed life to its
// predecessor, nor whether closes proposed before the change committed.
func (t *Tracker) ResetAll(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range t.sessions {
		e.deadline = now.Add(e.timeout)
		e.closing = false
	}
}

// Expire marks every session past its deadline as closing and returns them,
// ordered by id. A closing session is returned once; Retry makes it
// eligible again if closing it failed.
func (t *Tracker) Expire(now time.Time) []int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []int64
	for id, e := range t.sessions {
		if !e.closing && now.After(e.deadline) {
			e.closing = true
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Retry clears the closing mark of a session whose close did not commit.
func (t *Tracker) Retry(id int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.sessions[id]; e != nil {
		e.closing = false
	}
}

// IDs returns the tracked sessions, ordered by id.
func (t *Tracker) IDs() []int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]int64, 0, len(t.sessions))
	for id := range t.sessions {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Len is the number of tracked sessions.
func (t *Tracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sessions)
}

// MarkClosing marks a session as closing (its owner asked to close it), so
// it is no longer touched or expired twice.
func (t *Tracker) MarkClosing(id int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.sessions[id]; e != nil {
		e.closing = true
	}
}

// Deadlines returns every tracked session's current deadline.
func (t *Tracker) Deadlines() map[int64]time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[int64]time.Time, len(t.sessions))
	for id, e := range t.sessions {
		out[id] = e.deadline
	}
	return out
}

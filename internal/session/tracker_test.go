package session

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestTrackerExpiry(t *testing.T) {
	tr := NewTracker()
	t0 := time.Unix(1000, 0)
	tr.Add(1, time.Second, t0)
	tr.Add(2, 3*time.Second, t0)
	if got := tr.Expire(t0.Add(500 * time.Millisecond)); got != nil {
		t.Fatalf("nothing due yet: got %v", got)
	}
	tr.Touch(1, t0.Add(900*time.Millisecond))
	if got := tr.Expire(t0.Add(1500 * time.Millisecond)); got != nil {
		t.Fatalf("touched session expired early: %v", got)
	}
	if got := tr.Expire(t0.Add(3500 * time.Millisecond)); !reflect.DeepEqual(got, []int64{1, 2}) {
		t.Fatalf("got %v, want [1 2]", got)
	}
	if got := tr.Expire(t0.Add(4 * time.Second)); got != nil {
		t.Fatalf("a closing session was returned twice: %v", got)
	}
	if tr.Touch(1, t0.Add(4*time.Second)) {
		t.Fatal("a closing session must not come back to life")
	}
	tr.Retry(2)
	if got := tr.Expire(t0.Add(5 * time.Second)); !reflect.DeepEqual(got, []int64{2}) {
		t.Fatalf("after Retry: got %v", got)
	}
	tr.Remove(1)
	tr.Remove(2)
	if tr.Len() != 0 {
		t.Fatalf("Len after Remove: %d", tr.Len())
	}
}

func TestTakeTouchedReportsEachSessionOnce(t *testing.T) {
	tr := NewTracker()
	now := time.Unix(1000, 0)
	for _, id := range []int64{3, 1, 2} {
		tr.Add(id, time.Second, now)
	}
	tr.Touch(3, now)
	tr.Touch(1, now)
	tr.Touch(3, now)
	tr.Touch(9, now) // unknown: not reported
	if got, want := tr.TakeTouched(), []int64{1, 3}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got := tr.TakeTouched(); got != nil {
		t.Fatalf("second call: got %v, want nothing", got)
	}
}

func TestResetAllGivesAFullTimeout(t *testing.T) {
	tr := NewTracker()
	start := time.Unix(1000, 0)
	tr.Add(1, time.Second, start)
	tr.Add(2, time.Second, start)
	if got := tr.Expire(start.Add(2 * time.Second)); len(got) != 2 {
		t.Fatalf("expired: got %v, want both", got)
	}
	later := start.Add(5 * time.Second)
	tr.ResetAll(later)
	if got := tr.Expire(later.Add(500 * time.Millisecond)); len(got) != 0 {
		t.Fatalf("within the new timeout: got %v expired, want none", got)
	}
	if got := tr.Expire(later.Add(1500 * time.Millisecond)); len(got) != 2 {
		t.Fatalf("after the new timeout: got %v, want both", got)
	}
}

package recipe

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestElection(t *testing.T) {
	addr := startServer(t)
	ctx := bg(t)
	a := NewElection(connect(t, addr), "/elect", []byte("a"), open)
	b := NewElection(connect(t, addr), "/elect", []byte("b"), open)
	if _, err := a.Leader(ctx); !errors.Is(err, ErrNoLeader) {
		t.Fatalf("Leader with no candidates: got %v, want ErrNoLeader", err)
	}
	actx, err := a.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bled := make(chan context.Context, 1)
	go func() {
		bctx, err := b.Campaign(ctx)
		if err != nil {
			t.Error(err)
		}
		bled <- bctx
	}()
	if closedWithin(bled, 100*time.Millisecond) {
		t.Fatal("two leaders at once")
	}
	if data, err := b.Leader(ctx); err != nil || string(data) != "a" {
		t.Fatalf("Leader: got %q %v, want a", data, err)
	}
	if _, err := a.Campaign(ctx); !errors.Is(err, ErrHeld) {
		t.Errorf("second campaign: got %v, want ErrHeld", err)
	}
	if err := a.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if actx.Err() == nil {
		t.Error("leadership context still live after Resign")
	}
	var bctx context.Context
	select {
	case bctx = <-bled:
	case <-time.After(5 * time.Second):
		t.Fatal("b did not take over after a resigned")
	}
	if data, _ := a.Leader(ctx); string(data) != "b" {
		t.Errorf("Leader after the handover: got %q, want b", data)
	}
	b.Resign(ctx)
	if bctx != nil && bctx.Err() == nil {
		t.Error("b's leadership context still live after Resign")
	}
}

func TestElectionLostOnDisconnect(t *testing.T) {
	addr := startServer(t)
	ctx := bg(t)
	d := &cutter{}
	a := NewElection(connect(t, addr, clientDialer(d)), "/elect", []byte("a"), open)
	b := NewElection(connect(t, addr), "/elect", []byte("b"), open)
	actx, err := a.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bled := make(chan context.Context, 1)
	go func() {
		bctx, _ := b.Campaign(ctx)
		bled <- bctx
	}()
	time.Sleep(50 * time.Millisecond)
	d.cut(false) // a reconnects at once, with the same session
	if !closedWithin(actx.Done(), 5*time.Second) {
		t.Fatal("leadership not ended when the connection dropped")
	}
	// a gave up its node after reconnecting, so b leads without waiting
	// for a's session to expire.
	select {
	case bctx := <-bled:
		if bctx == nil || bctx.Err() != nil {
			t.Fatal("b's campaign failed")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("b did not take over")
	}
	b.Resign(ctx)
	a.Resign(ctx)
}

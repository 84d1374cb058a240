package main

import (
	"context"
	"testing"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/internal/servertest"
	"github.com/zkd-io/zkd/proto"
)

func TestCounterUnderLock(t *testing.T) {
	for _, tc := range []struct {
		name                string
		workers, increments int
		start               string // counter's value before the run; "" = no node
	}{
		{"fresh counter", 4, 25, ""},
		{"existing counter", 3, 20, "1000"},
		{"one worker", 1, 10, "7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := servertest.Start(t).Addr().String()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := client.Connect(ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			const counter = "/app/counter"
			if tc.start != "" {
				if err := ensureCounter(ctx, c, counter); err != nil {
					t.Fatal(err)
				}
				if _, err := c.Set(ctx, counter, []byte(tc.start), -1); err != nil {
					t.Fatal(err)
				}
			}
			o := options{server: addr, workers: tc.workers, increments: tc.increments,
				counter: counter, lock: "/app/lock", hold: time.Millisecond, session: 4 * time.Second}
			before, after, err := run(ctx, o)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if want := before + int64(tc.workers*tc.increments); after != want {
				t.Errorf("counter after %d workers × %d increments from %d: got %d, want %d",
					tc.workers, tc.increments, before, after, want)
			}
			_, st, err := c.Get(ctx, counter)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := st.Version, int32(tc.workers*tc.increments); tc.start == "" && got != want {
				t.Errorf("counter's data version: got %d, want %d (one set per increment)", got, want)
			}
			// Every contender node is gone once the workers are done.
			if kids, err := c.Children(ctx, o.lock); err != nil || len(kids) != 0 {
				t.Errorf("lock contenders left behind: got %q %v, want none", kids, err)
			}
		})
	}
}

// TestWithoutLockUpdatesAreLost is the control: the same read-modify-write
// without the lock loses updates, so the exact totals above are the
// lock's doing.
func TestWithoutLockUpdatesAreLost(t *testing.T) {
	addr := servertest.Start(t).Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	o := options{server: addr, workers: 4, increments: 10, counter: "/app/counter",
		hold: 5 * time.Millisecond, noLock: true, session: 4 * time.Second}
	before, after, err := run(ctx, o)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	n := int64(o.workers * o.increments)
	if after-before >= n || after-before < int64(o.increments) {
		t.Errorf("counter without the lock: went up by %d, want fewer than %d (updates lost) and at least %d", after-before, n, o.increments)
	}
}

func TestBadCounter(t *testing.T) {
	addr := servertest.Start(t).Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Create(ctx, "/n", []byte("seven"), proto.OpenACLUnsafe, client.ModePersistent); err != nil {
		t.Fatal(err)
	}
	o := options{server: addr, workers: 2, increments: 1, counter: "/n", lock: "/l", session: 4 * time.Second}
	if _, _, err := run(ctx, o); err == nil {
		t.Error("run on a counter holding \"seven\": got no error, want one")
	}
	if data, _, _ := c.Get(ctx, "/n"); string(data) != "seven" {
		t.Errorf("counter after the failed run: got %q, want it untouched", data)
	}
}

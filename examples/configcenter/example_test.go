package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/internal/servertest"
	"github.com/zkd-io/zkd/proto"
)

// watcher records what follow applied and rejected.
type watcher struct {
	mu       sync.Mutex
	loaded   []Config
	rejected int
}

func (w *watcher) apply(c Config) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.loaded = append(w.loaded, c)
}

func (w *watcher) reject(int32, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rejected++
}

// state returns the current "n" value, the number of reloads and of
// rejections.
func (w *watcher) state() (n string, reloads, rejected int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.loaded) > 0 {
		n = w.loaded[len(w.loaded)-1].Values["n"]
	}
	return n, len(w.loaded), w.rejected
}

// waitN waits until the service runs with n=want.
func (w *watcher) waitN(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _, _ := w.state()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("service configuration: got n=%q after 5s, want n=%q", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func connect(t *testing.T, addr string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, addr, client.WithSessionTimeout(4*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestFollowSeesEveryFinalValue(t *testing.T) {
	addr := servertest.Start(t).Addr().String()
	admin := connect(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const path = "/config/app"
	set := func(data string) {
		t.Helper()
		if _, err := admin.Set(ctx, path, []byte(data), -1); err != nil {
			t.Fatal(err)
		}
	}

	w := &watcher{}
	fctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- follow(fctx, connect(t, addr), path, w.apply, w.reject) }()

	// The node does not exist yet: the service waits for it.
	time.Sleep(50 * time.Millisecond)
	if _, err := admin.Create(ctx, "/config", nil, proto.OpenACLUnsafe, client.ModePersistent); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Create(ctx, path, []byte("n=0\n# comment\nname = app"), proto.OpenACLUnsafe, client.ModePersistent); err != nil {
		t.Fatal(err)
	}
	w.waitN(t, "0")

	// One change at a time: every version is loaded, exactly once.
	const steps = 20
	for i := 1; i <= steps; i++ {
		set(fmt.Sprintf("n=%d\nname=app", i))
		w.waitN(t, strconv.Itoa(i))
	}
	if _, reloads, _ := w.state(); reloads != steps+1 {
		t.Errorf("reloads after %d single changes: got %d, want %d", steps, reloads, steps+1)
	}

	// A burst: the service may coalesce changes but must end on the last.
	const burst = 50
	_, before, _ := w.state()
	for i := steps + 1; i <= steps+burst; i++ {
		set(fmt.Sprintf("n=%d", i))
	}
	w.waitN(t, strconv.Itoa(steps+burst))
	if _, after, _ := w.state(); after-before < 1 || after-before > burst {
		t.Errorf("reloads for a burst of %d changes: got %d, want 1 to %d", burst, after-before, burst)
	}

	// A bad configuration is rejected; the last good one stays.
	set("n=999\nthis is not a setting")
	deadline := time.Now().Add(5 * time.Second)
	for _, _, rejected := w.state(); rejected == 0; _, _, rejected = w.state() {
		if time.Now().After(deadline) {
			t.Fatal("bad configuration not rejected within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n, _, _ := w.state(); n != strconv.Itoa(steps+burst) {
		t.Errorf("after a bad configuration: got n=%s, want the last good n=%d", n, steps+burst)
	}

	// Deleted and created again: data version 0 again, still a new version.
	if err := admin.Delete(ctx, path, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Create(ctx, path, []byte("n=recreated"), proto.OpenACLUnsafe, client.ModePersistent); err != nil {
		t.Fatal(err)
	}
	w.waitN(t, "recreated")

	// Versions were applied in order: zxids strictly increase.
	w.mu.Lock()
	for i := 1; i < len(w.loaded); i++ {
		if w.loaded[i].Zxid <= w.loaded[i-1].Zxid {
			t.Errorf("reload %d: zxid %#x after %#x, want increasing", i, w.loaded[i].Zxid, w.loaded[i-1].Zxid)
		}
	}
	w.mu.Unlock()

	stop()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("follow after cancel: got %v, want context.Canceled", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("follow did not return within 3s of its context ending")
	}
}

func TestFollowEndsWithSession(t *testing.T) {
	addr := servertest.Start(t).Addr().String()
	c := connect(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- follow(ctx, c, "/missing", func(Config) {}, func(int32, error) {}) }()
	time.Sleep(50 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, errSessionOver) {
			t.Errorf("follow after the session closed: got %v, want errSessionOver", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not return within 5s of the session closing")
	}
}

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // Config.String, or "error"
	}{
		{"", ""},
		{"a=1\n b = 2 \n\n# c=3\n", "a=1 b=2"},
		{"a=", "a="},
		{"a=x=y", "a=x=y"},
		{"novalue", "error"},
		{"=1", "error"},
		{"a=1\na=2", "error"},
	} {
		values, err := parseConfig([]byte(tc.in))
		got := Config{Values: values}.String()
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("parseConfig(%q): got %q (err %v), want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestRun(t *testing.T) {
	addr := servertest.Start(t).Addr().String()
	admin := connect(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := admin.Create(ctx, "/app", []byte("workers=4"), proto.OpenACLUnsafe, client.ModePersistent); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(rctx, options{server: addr, path: "/app", session: 4 * time.Second}, &out) }()
	waitOutput(t, &out, "reload 1: version 0: workers=4")
	if _, err := admin.Set(ctx, "/app", []byte("workers=8"), -1); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, &out, "reload 2: version 1: workers=8")
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("run: got %v, want context.Canceled", err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitOutput(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output: got %q, want a line %q", out.String(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

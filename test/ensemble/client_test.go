package ensemble_test

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

const (
	sessionTimeout = 10 * time.Second
	// writePause spaces the steady writer's creates: fine enough to measure
	// a write gap, slow enough to keep the trees small.
	writePause = 10 * time.Millisecond
	// maxWrites bounds one steady writer.
	maxWrites = 200_000
)

var openACL = zk.WorldACL(zk.PermAll)

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// hostRing is a go-zookeeper HostProvider that tries the servers in turn
// and pauses 20ms after a round without success, where go-zookeeper's own
// pauses 1s, so a measured write gap is the servers' and not the client's
// back-off. It never reports a finished round (which would also fail the
// queued requests with ErrNoServer) until quit: that is the only place
// go-zookeeper's connect loop notices Close.
type hostRing struct {
	mu      sync.Mutex
	servers []string
	next    int
	tried   int
	quit    atomic.Bool
}

func (h *hostRing) Init(servers []string) error {
	if len(servers) == 0 {
		return errors.New("hostRing: no servers")
	}
	h.servers = servers
	return nil
}

func (h *hostRing) Len() int { return len(h.servers) }

func (h *hostRing) Next() (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.quit.Load() {
		return h.servers[0], true
	}
	if h.tried >= len(h.servers) {
		h.tried = 0
		time.Sleep(20 * time.Millisecond)
	}
	s := h.servers[h.next]
	h.next = (h.next + 1) % len(h.servers)
	h.tried++
	return s, false
}

func (h *hostRing) Connected() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tried = 0
}

// client is a go-zookeeper session over the given servers.
type client struct {
	*zk.Conn
	hosts *hostRing
}

// dial connects to the servers and waits (15s at most) for a session. The
// client is closed when the test ends.
func dial(t testing.TB, addrs ...string) *client {
	t.Helper()
	c := &client{hosts: &hostRing{}}
	conn, _, err := zk.Connect(addrs, sessionTimeout, zk.WithHostProvider(c.hosts),
		zk.WithLogInfo(false), zk.WithLogger(quietLogger{}))
	if err != nil {
		t.Fatalf("connect %v: %v", addrs, err)
	}
	c.Conn = conn
	t.Cleanup(c.Close)
	deadline := time.Now().Add(15 * time.Second)
	for c.State() != zk.StateHasSession {
		if time.Now().After(deadline) {
			t.Fatalf("connect %v: no session within 15s (state %v)", addrs, c.State())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c
}

// Close ends the session if a server answers within 1s, and stops the
// client's goroutines. It may be called more than once.
func (c *client) Close() {
	c.hosts.quit.Store(true)
	c.Conn.Close()
}

var errNoAnswer = errors.New("no answer in time")

// createWithin creates path (data = path) and waits at most d for the
// answer. On errNoAnswer the request is still pending; it ends with the
// client at the latest.
func createWithin(c *client, path string, d time.Duration) error {
	res := make(chan error, 1)
	go func() {
		_, err := c.Create(path, []byte(path), 0, openACL)
		res <- err
	}()
	select {
	case err := <-res:
		return err
	case <-time.After(d):
		return errNoAnswer
	}
}

// ensureNode creates path unless it exists, within 15s.
func ensureNode(t testing.TB, c *client, path string) {
	t.Helper()
	if err := createWithin(c, path, 15*time.Second); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		t.Fatalf("create %s: %v", path, err)
	}
}

// createMany creates parent/n<from>..n<to-1> with 8 requests in flight and
// returns the paths; any failure ends the test, since the ensemble is
// healthy meanwhile.
func createMany(t testing.TB, c *client, parent string, from, to int) []string {
	t.Helper()
	paths := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		paths = append(paths, fmt.Sprintf("%s/n%06d", parent, i))
	}
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		mu    sync.Mutex
		first error
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1)) - 1
				if k >= len(paths) {
					return
				}
				if err := createWithin(c, paths[k], 15*time.Second); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("create %s: %w", paths[k], err)
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
	return paths
}

// deleteTree deletes parent and its children (one level), 8 at a time.
func deleteTree(t testing.TB, c *client, parent string) {
	t.Helper()
	kids, _, err := c.Children(parent)
	if err != nil {
		t.Fatalf("children of %s: %v", parent, err)
	}
	var (
		wg   sync.WaitGroup
		next atomic.Int64
		bad  atomic.Value
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1)) - 1
				if k >= len(kids) {
					return
				}
				p := parent + "/" + kids[k]
				if err := c.Delete(p, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
					bad.Store(fmt.Errorf("delete %s: %w", p, err))
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := bad.Load().(error); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(parent, -1); err != nil {
		t.Fatalf("delete %s: %v", parent, err)
	}
}

// ack is one acknowledged create of the steady writer.
type ack struct {
	path string
	at   time.Time
}

// writer creates parent/w0000000, w0000001, ... one at a time, pausing
// writePause between them, and records every acknowledged one. A failed
// create (say, connection loss while the leader dies) is not retried under
// the same name, so its outcome never matters: only acknowledged creates
// are checked afterwards.
type writer struct {
	c      *client
	parent string

	mu      sync.Mutex
	acks    []ack
	fails   int
	lastErr error

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// startWriter starts a steady writer on its own client; it is halted when
// the test ends at the latest.
func startWriter(t testing.TB, parent string, addrs ...string) *writer {
	t.Helper()
	w := &writer{c: dial(t, addrs...), parent: parent, stop: make(chan struct{}), done: make(chan struct{})}
	ensureNode(t, w.c, parent)
	go w.loop()
	t.Cleanup(func() { w.halt(t) })
	return w
}

func (w *writer) loop() {
	defer close(w.done)
	for i := 0; i < maxWrites; i++ {
		select {
		case <-w.stop:
			return
		default:
		}
		p := fmt.Sprintf("%s/w%07d", w.parent, i)
		_, err := w.c.Create(p, []byte(p), 0, openACL)
		now := time.Now()
		w.mu.Lock()
		if err == nil {
			w.acks = append(w.acks, ack{p, now})
		} else {
			w.fails++
			w.lastErr = err
		}
		w.mu.Unlock()
		pause := writePause
		if err != nil {
			pause = 20 * time.Millisecond // no busy loop while no server answers
		}
		select {
		case <-w.stop:
			return
		case <-time.After(pause):
		}
	}
}

// halt stops the writer and closes its client. A create blocked on a dead
// ensemble is ended by closing the client.
func (w *writer) halt(t testing.TB) {
	t.Helper()
	w.stopOnce.Do(func() { close(w.stop) })
	select {
	case <-w.done:
	case <-time.After(15 * time.Second):
		w.c.Close()
		select {
		case <-w.done:
		case <-time.After(10 * time.Second):
			t.Errorf("writer on %s still blocked 10s after closing its client", w.parent)
		}
	}
	w.c.Close()
}

// acked returns the acknowledged paths in order.
func (w *writer) acked() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, len(w.acks))
	for k, a := range w.acks {
		out[k] = a.path
	}
	return out
}

// ackTimes snapshots the ack times (in order).
func (w *writer) ackTimes() []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]time.Time, len(w.acks))
	for k, a := range w.acks {
		out[k] = a.at
	}
	return out
}

// waitAcks waits until n creates were acknowledged after since (limit at
// most) and returns the first of them. It fails the test otherwise.
func (w *writer) waitAcks(t testing.TB, n int, since time.Time, limit time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		times := w.ackTimes()
		k := sort.Search(len(times), func(k int) bool { return times[k].After(since) })
		if len(times)-k >= n {
			return times[k]
		}
		if time.Now().After(deadline) {
			w.mu.Lock()
			fails, lastErr := w.fails, w.lastErr
			w.mu.Unlock()
			t.Fatalf("writer on %s: %d of %d acknowledged creates within %v (%d failed, last error %v)", w.parent, len(times)-k, n, limit, fails, lastErr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gapAcross is the time from the last ack at or before at to the first ack
// after it: how long writes stood still around an event. The first ack
// after at must exist (waitAcks).
func (w *writer) gapAcross(at time.Time) time.Duration {
	times := w.ackTimes()
	k := sort.Search(len(times), func(k int) bool { return times[k].After(at) })
	if k == 0 || k == len(times) {
		return -1
	}
	return times[k].Sub(times[k-1])
}

// maxGapSince is the longest time between consecutive acks from the last
// ack at or before from to the latest ack.
func (w *writer) maxGapSince(from time.Time) time.Duration {
	times := w.ackTimes()
	k := sort.Search(len(times), func(k int) bool { return times[k].After(from) })
	if k > 0 {
		k--
	}
	var worst time.Duration
	for ; k+1 < len(times); k++ {
		worst = max(worst, times[k+1].Sub(times[k]))
	}
	return worst
}

func (w *writer) stats() (acks, fails int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acks), w.fails
}

package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/zkd-io/zkd/client"
)

// notifyTimeout bounds the wait for every watcher to hear of one setData.
const notifyTimeout = 30 * time.Second

var errNotifyTimeout = errors.New("watchers not notified within " + notifyTimeout.String())

// watchLoad measures watch fan-out: Watchers sessions each keep a data
// watch (exists) on every key; each operation sets one key and waits until
// every watcher has been notified and has set its watch again. Every
// notification is one sample, timed from the operation's start (the
// setData's send) to the notification's arrival at the watcher. Each slot
// triggers only its own keys, in turn, so a key's next setData never
// overtakes the re-arming of its watches.
type watchLoad struct {
	keyed
	conns  []*client.Conn // the watchers' sessions
	nodes  []chan note    // per key: one note per watcher per setData
	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// note is a watcher's report: when its notification arrived, or why it
// could not watch again.
type note struct {
	at  time.Time
	err error
}

func (w *watchLoad) kinds() []kind  { return []kind{{"notify", 0}} }
func (w *watchLoad) sessions() bool { return true }

func (w *watchLoad) leftovers() []string { return append(w.keys, w.parent()) }

func (w *watchLoad) setup(ctx context.Context, r *runner) error {
	if err := w.setupKeys(ctx); err != nil {
		return err
	}
	m := r.cfg.Watchers
	w.conns = make([]*client.Conn, m)
	err := parallel(ctx, m, 16, func(ctx context.Context, _, i int) error {
		c, err := r.connect(ctx)
		w.conns[i] = c
		return err
	})
	if err != nil {
		return fmt.Errorf("watcher session: %w", err)
	}
	w.nodes = make([]chan note, len(w.keys))
	for i := range w.nodes {
		w.nodes[i] = make(chan note, m)
	}
	var wctx context.Context
	wctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	// Set every watch before the clock starts.
	return parallel(ctx, m*len(w.keys), len(w.conns)*setupWidth, func(ctx context.Context, _, i int) error {
		c, key := w.conns[i%m], i/m
		_, ch, err := c.ExistsW(ctx, w.keys[key])
		if err != nil {
			return err
		}
		w.wg.Add(1)
		go w.watch(wctx, c, key, ch)
		return nil
	})
}

// watch follows one watcher's watch on one key: on each event it notes the
// time, sets the watch again, and reports.
func (w *watchLoad) watch(ctx context.Context, c *client.Conn, key int, ch <-chan client.Event) {
	defer w.wg.Done()
	for {
		var ev client.Event
		select {
		case ev = <-ch:
		case <-ctx.Done():
			return
		}
		at := time.Now()
		if ev.Type == client.EventNone { // the session ended
			return
		}
		var err error
		_, ch, err = c.ExistsW(ctx, w.keys[key])
		select {
		case w.nodes[key] <- note{at, err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

func (w *watchLoad) op(ctx context.Context, s *slot, start time.Time) (int, error) {
	slots := len(w.r.slots)
	perSlot := (len(w.keys) - s.id + slots - 1) / slots // keys id, id+slots, ... below len
	key := s.id + int(s.seq%int64(perSlot))*slots
	if _, err := s.conn.Set(ctx, w.keys[key], w.r.value, -1); err != nil {
		return 0, err
	}
	s.addWrites(1)
	timeout := time.NewTimer(notifyTimeout)
	defer timeout.Stop()
	for range w.r.cfg.Watchers {
		select {
		case n := <-w.nodes[key]:
			if n.err != nil {
				return recorded, n.err
			}
			s.sample(0, n.at.Sub(start), n.at)
		case <-timeout.C:
			return recorded, errNotifyTimeout
		case <-ctx.Done():
			return recorded, ctx.Err()
		}
	}
	return recorded, nil
}

func (w *watchLoad) teardown() {
	if w.cancel != nil {
		w.cancel()
	}
	for _, c := range w.conns {
		if c != nil {
			c.Close()
		}
	}
	w.wg.Wait()
}

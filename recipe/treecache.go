package recipe

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// CachedNode is a node of a TreeCache.
type CachedNode struct {
	Data []byte
	Stat proto.Stat
}

// TreeEventType says what changed in a TreeCache.
type TreeEventType int

// Tree event types.
const (
	NodeAdded TreeEventType = iota + 1
	NodeUpdated
	NodeRemoved
)

// TreeEvent is one change applied to a TreeCache.
type TreeEvent struct {
	Type TreeEventType
	Path string
	Node CachedNode // the new node; the last known one for NodeRemoved
}

// TreeCache keeps a local copy of the subtree under root (root included),
// updated by a persistent recursive watch, and fully re-read after every
// reconnection (events that happened while disconnected are not replayed
// by servers for persistent watches).
//
// Guarantee: the cache converges to the server's subtree: every change is
// eventually reflected, in order per node; reads are local and may lag the
// server. It is safe for concurrent use.
type TreeCache struct {
	c        *client.Conn
	root     string
	onChange func(TreeEvent)

	mu    sync.RWMutex
	nodes map[string]CachedNode

	cancel context.CancelFunc
	done   chan struct{}
}

// NewTreeCache returns a cache of the subtree at root. onChange, if not
// nil, is called from the cache's goroutine for every change it applies,
// after the initial load; it must not block for long.
func NewTreeCache(c *client.Conn, root string, onChange func(TreeEvent)) *TreeCache {
	return &TreeCache{c: c, root: root, onChange: onChange, nodes: map[string]CachedNode{}}
}

// Start sets the watch, loads the subtree and starts following changes.
// It returns once the initial load is done.
func (tc *TreeCache) Start(ctx context.Context) error {
	events, err := tc.c.AddWatch(ctx, tc.root, client.AddWatchPersistentRecursive)
	if err != nil {
		return err
	}
	// The watch is set before the load, so no change can fall between.
	if err := tc.reload(ctx, false); err != nil {
		rctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		tc.c.RemoveWatch(rctx, events, true)
		cancel()
		return err
	}
	rctx, cancel := context.WithCancel(context.Background())
	tc.cancel, tc.done = cancel, make(chan struct{})
	go tc.follow(rctx, events)
	return nil
}

// Close stops following changes and removes the watch. The cache keeps
// its last contents.
func (tc *TreeCache) Close() {
	if tc.cancel == nil {
		return
	}
	tc.cancel()
	<-tc.done
}

// follow applies events until Close or the end of the session.
func (tc *TreeCache) follow(ctx context.Context, events <-chan client.Event) {
	defer close(tc.done)
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		tc.c.RemoveWatch(rctx, events, true)
		cancel()
		for range events { // the removal closes the channel
		}
	}()
	_, changed := tc.c.StateChanged()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok || ev.Type == client.EventNone {
				return // session over or watch removed
			}
			if ev.Type == client.EventPersistentWatchRemoved {
				return
			}
			tc.apply(ctx, ev)
		case <-changed:
			var st client.State
			st, changed = tc.c.StateChanged()
			switch {
			case st.Final():
				return
			case st.Connected():
				tc.reload(ctx, true) // errors: the next reconnection retries
			}
		}
	}
}

// apply updates one node after an event by reading it again, which makes
// the update idempotent whatever the events' interleaving with reloads.
func (tc *TreeCache) apply(ctx context.Context, ev client.Event) {
	switch ev.Type {
	case client.EventNodeCreated, client.EventNodeDataChanged:
		data, st, err := tc.c.Get(ctx, ev.Path)
		if errors.Is(err, proto.ErrNoNode) {
			tc.remove(ev.Path)
			return
		}
		if err == nil {
			tc.put(ev.Path, CachedNode{Data: data, Stat: *st})
		}
	case client.EventNodeDeleted:
		tc.remove(ev.Path)
	}
}

func (tc *TreeCache) put(p string, n CachedNode) {
	tc.mu.Lock()
	old, existed := tc.nodes[p]
	tc.nodes[p] = n
	tc.mu.Unlock()
	switch {
	case !existed:
		tc.notify(TreeEvent{Type: NodeAdded, Path: p, Node: n})
	case old.Stat.Mzxid != n.Stat.Mzxid || old.Stat.Cversion != n.Stat.Cversion || old.Stat.Aversion != n.Stat.Aversion:
		tc.notify(TreeEvent{Type: NodeUpdated, Path: p, Node: n})
	}
}

// remove drops p and everything under it.
func (tc *TreeCache) remove(p string) {
	tc.mu.Lock()
	var gone []TreeEvent
	for q, n := range tc.nodes {
		if q == p || strings.HasPrefix(q, p+"/") || p == "/" {
			gone = append(gone, TreeEvent{Type: NodeRemoved, Path: q, Node: n})
			delete(tc.nodes, q)
		}
	}
	tc.mu.Unlock()
	sort.Slice(gone, func(i, j int) bool { return gone[i].Path > gone[j].Path }) // deepest first
	for _, ev := range gone {
		tc.notify(ev)
	}
}

func (tc *TreeCache) notify(ev TreeEvent) {
	if tc.onChange != nil && tc.done != nil {
		tc.onChange(ev)
	}
}

// reload reads the whole subtree and replaces the cache with it,
// reporting the differences when notify is set.
func (tc *TreeCache) reload(ctx context.Context, notify bool) error {
	fresh := map[string]CachedNode{}
	queue := []string{tc.root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		data, st, err := tc.c.Get(ctx, p)
		if errors.Is(err, proto.ErrNoNode) {
			continue
		}
		if err != nil {
			return err
		}
		fresh[p] = CachedNode{Data: data, Stat: *st}
		if st.NumChildren == 0 {
			continue
		}
		kids, err := tc.c.Children(ctx, p)
		if errors.Is(err, proto.ErrNoNode) {
			continue
		}
		if err != nil {
			return err
		}
		for _, k := range kids {
			queue = append(queue, join(p, k))
		}
	}
	if !notify {
		tc.mu.Lock()
		tc.nodes = fresh
		tc.mu.Unlock()
		return nil
	}
	tc.mu.RLock()
	var removed []string
	for p := range tc.nodes {
		if _, ok := fresh[p]; !ok {
			removed = append(removed, p)
		}
	}
	tc.mu.RUnlock()
	for _, p := range removed {
		tc.remove(p)
	}
	for p, n := range fresh {
		tc.put(p, n)
	}
	return nil
}

// Get returns the cached node at path.
func (tc *TreeCache) Get(path string) (CachedNode, bool) {
	tc.mu.RLock()
	defer tc.mu.RUnlock()
	n, ok := tc.nodes[path]
	return n, ok
}

// Children returns the cached children names of path, sorted.
func (tc *TreeCache) Children(path string) []string {
	tc.mu.RLock()
	defer tc.mu.RUnlock()
	var out []string
	for p := range tc.nodes {
		if p != path && parentOf(p) == path {
			out = append(out, p[strings.LastIndexByte(p, '/')+1:])
		}
	}
	sort.Strings(out)
	return out
}

// Len returns the number of cached nodes.
func (tc *TreeCache) Len() int {
	tc.mu.RLock()
	defer tc.mu.RUnlock()
	return len(tc.nodes)
}

func parentOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// Package watch owns this server's watch registry: one-shot data, exist and
// child watches, and persistent and persistent-recursive watches, per
// connection. Watches are not replicated; each server fires the watches of
// its own clients when it applies the entry that triggers them.
//
// The registry never blocks: Notify on a watcher must not block either (a
// connection queues the event or drops a slow client).
package watch

import (
	"sort"
	"sync"

	"github.com/zkd-io/zkd/proto"
)

// Watcher receives events. Implementations must not block.
type Watcher interface {
	Notify(ev proto.WatcherEvent)
}

// Kind is the table a watch lives in.
type Kind uint8

// The kinds of watch a client can hold.
const (
	Data       Kind = 1 << iota // getData / exists (one-shot)
	Child                       // getChildren (one-shot)
	Persistent                  // addWatch PERSISTENT
	Recursive                   // addWatch PERSISTENT_RECURSIVE
)

// Registry holds every watch of this server's clients.
type Registry struct {
	mu       sync.Mutex
	byPath   map[string]map[Watcher]Kind
	byWatch  map[Watcher]map[string]Kind
	nRecurse int // number of recursive watches, to skip the ancestor walk when there are none
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{byPath: map[string]map[Watcher]Kind{}, byWatch: map[Watcher]map[string]Kind{}}
}

// Add registers a watch of kind k on path for w.
func (r *Registry) Add(path string, w Watcher, k Kind) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.add(path, w, k)
}

func (r *Registry) add(path string, w Watcher, k Kind) {
	m := r.byPath[path]
	if m == nil {
		m = map[Watcher]Kind{}
		r.byPath[path] = m
	}
	old := m[w]
	if k&Recursive != 0 && old&Recursive == 0 {
		r.nRecurse++
	}
	m[w] = old | k
	pw := r.byWatch[w]
	if pw == nil {
		pw = map[string]Kind{}
		r.byWatch[w] = pw
	}
	pw[path] = m[w]
}

// remove clears kinds k of w on path and reports whether any was set.
func (r *Registry) remove(path string, w Watcher, k Kind) bool {
	m := r.byPath[path]
	old, ok := m[w]
	if !ok || old&k == 0 {
		return false
	}
	if old&k&Recursive != 0 {
		r.nRecurse--
	}
	left := old &^ k
	if left == 0 {
		delete(m, w)
		if len(m) == 0 {
			delete(r.byPath, path)
		}
		delete(r.byWatch[w], path)
		if len(r.byWatch[w]) == 0 {
			delete(r.byWatch, w)
		}
	} else {
		m[w] = left
		r.byWatch[w][path] = left
	}
	return true
}

// Trigger fires the watches an event on path sets off, following ZooKeeper's
// WatchManager: one-shot watches are consumed, persistent ones stay, and a
// watcher receives at most one event per trigger.
func (r *Registry) Trigger(typ int32, path string) {
	r.mu.Lock()
	if len(r.byPath[path]) == 0 && (r.nRecurse == 0 || typ == proto.EventNodeChildrenChanged) {
		r.mu.Unlock() // the common case on the apply path: nobody is watching
		return
	}
	var fire []Watcher
	var oneShot Kind
	switch typ {
	case proto.EventNodeCreated, proto.EventNodeDataChanged:
		oneShot = Data
	case proto.EventNodeDeleted:
		oneShot = Data | Child
	case proto.EventNodeChildrenChanged:
		oneShot = Child
	}
	for w, k := range r.byPath[path] {
		if k&(oneShot|Persistent|Recursive) == 0 {
			continue
		}
		if k&Recursive != 0 && k&(oneShot|Persistent) == 0 && typ == proto.EventNodeChildrenChanged {
			continue // recursive watches never see child events
		}
		fire = append(fire, w) // map keys: each watcher once
		if k&oneShot != 0 {
			r.remove(path, w, k&oneShot)
		}
	}
	if r.nRecurse > 0 && typ != proto.EventNodeChildrenChanged {
		// A watcher gets one event per trigger, however many of its
		// watches match.
		seen := make(map[Watcher]bool, len(fire))
		for _, w := range fire {
			seen[w] = true
		}
		for p := parentOf(path); p != ""; p = parentOf(p) {
			for w, k := range r.byPath[p] {
				if k&Recursive != 0 && !seen[w] {
					seen[w] = true
					fire = append(fire, w)
				}
			}
		}
	}
	r.mu.Unlock()
	ev := proto.WatcherEvent{Type: typ, State: proto.StateSyncConnected, Path: path}
	for _, w := range fire {
		w.Notify(ev)
	}
}

func parentOf(p string) string {
	if p == "/" || p == "" {
		return ""
	}
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			if i == 0 {
				return "/"
			}
			return p[:i]
		}
	}
	return ""
}

// Has reports whether w holds a watch of a kind in k on path.
func (r *Registry) Has(path string, w Watcher, k Kind) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byPath[path][w]&k != 0
}

// Remove clears the kinds in k that w holds on path, and reports whether
// there was any.
func (r *Registry) Remove(path string, w Watcher, k Kind) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.remove(path, w, k)
}

// RemoveAll drops every watch of w (its connection closed).
func (r *Registry) RemoveAll(w Watcher) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for p, k := range r.byWatch[w] {
		r.remove(p, w, k)
	}
}

// Connections returns the number of watchers holding any watch.
func (r *Registry) Connections() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byWatch)
}

// PathsOf returns the paths w watches, sorted (for wchc-style reports).
func (r *Registry) PathsOf(w Watcher) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.byWatch[w]))
	for p := range r.byWatch[w] {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Summary is what wchs and mntr report about the registry.
type Summary struct {
	Watches         int // every (watcher, path, kind) watch
	DataWatches     int // data and exist watches only, as ZooKeeper's wchs counts them
	DataPaths       int // paths with a data watch
	DataConnections int // watchers holding a data watch
}

// Summary counts the registry's watches.
func (r *Registry) Summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s Summary
	conns := map[Watcher]bool{}
	for _, m := range r.byPath {
		hasData := false
		for w, k := range m {
			for b := Data; b <= Recursive; b <<= 1 {
				if k&b != 0 {
					s.Watches++
				}
			}
			if k&Data != 0 {
				s.DataWatches++
				hasData = true
				conns[w] = true
			}
		}
		if hasData {
			s.DataPaths++
		}
	}
	s.DataConnections = len(conns)
	return s
}

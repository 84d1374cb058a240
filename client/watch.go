package client

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/zkd-io/zkd/proto"
)

// watchKind is where a client watcher is filed, as in ZooKeeper's
// ZKWatchManager: exists on a missing node files an exist watch, exists on
// an existing node and getData file a data watch.
type watchKind uint8

const (
	kindData watchKind = iota
	kindExist
	kindChild
	kindPersistent
	kindRecursive
	numKinds
)

// watcher is one channel handed to the caller.
type watcher struct {
	kind watchKind
	path string     // client path
	ch   chan Event // one-shot: capacity 1, one event then closed
	box  *mailbox   // persistent and recursive watches
}

func (w *watcher) events() <-chan Event {
	if w.box != nil {
		return w.box.ch
	}
	return w.ch
}

// deliver sends a non-final event to a persistent watcher, or the one
// event of a one-shot watcher (closing it).
func (w *watcher) deliver(ev Event) {
	if w.box != nil {
		w.box.put(ev)
		return
	}
	w.ch <- ev // capacity 1 and sent once: never blocks
	close(w.ch)
}

// end sends the last event and closes the channel.
func (w *watcher) end(ev Event) {
	if w.box != nil {
		w.box.put(ev)
		w.box.close()
		return
	}
	w.ch <- ev
	close(w.ch)
}

// watchManager holds the session's client-side watchers by kind and path.
// Its methods are called by the reader goroutine (events, registrations on
// replies) and by callers; deliveries never block.
type watchManager struct {
	mu     sync.Mutex
	byKind [numKinds]map[string][]*watcher
	byChan map[<-chan Event]*watcher
	// ended is set once the session is over: watchers registered later
	// end at once with this event.
	ended *Event
	// notify, if set, is told of each event that reached a watcher, once.
	notify func(Event)
}

func (m *watchManager) init() {
	for i := range m.byKind {
		m.byKind[i] = map[string][]*watcher{}
	}
	m.byChan = map[<-chan Event]*watcher{}
}

// addLocked files w, or ends it at once if the session is over.
func (m *watchManager) addLocked(w *watcher) {
	if m.ended != nil {
		ev := *m.ended
		ev.Path = w.path
		w.end(ev)
		return
	}
	m.byKind[w.kind][w.path] = append(m.byKind[w.kind][w.path], w)
	m.byChan[w.events()] = w
}

// register files the watcher of a read once its reply code is known:
// exists files a data watch on an existing node and an exist watch on a
// missing one; getData and getChildren watch only nodes they could read.
// A request its caller abandoned files nothing (checked under the lock, so
// that discard cannot miss a registration). It reports whether the watch
// was set.
func (m *watchManager) register(w *watcher, code proto.ErrCode, abandoned *atomic.Bool) bool {
	switch {
	case w.kind == kindExist && code == proto.ErrOK:
		w.kind = kindData
	case w.kind == kindExist && code == proto.ErrNoNode:
	case code != proto.ErrOK:
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if abandoned.Load() {
		return false
	}
	m.addLocked(w)
	return true
}

// discard silently drops a watcher whose caller gave up before getting its
// channel, so that a persistent watch nobody reads does not grow forever.
func (m *watchManager) discard(w *watcher) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ws := m.byKind[w.kind][w.path]
	i := slices.Index(ws, w)
	if i < 0 {
		return
	}
	ws = slices.Delete(ws, i, i+1)
	if len(ws) == 0 {
		delete(m.byKind[w.kind], w.path)
	} else {
		m.byKind[w.kind][w.path] = ws
	}
	delete(m.byChan, w.events())
	if w.box != nil {
		w.box.close()
	} else {
		close(w.ch)
	}
}

func (m *watchManager) take(k watchKind, path string, out []*watcher) []*watcher {
	ws := m.byKind[k][path]
	if len(ws) == 0 {
		return out
	}
	delete(m.byKind[k], path)
	for _, w := range ws {
		delete(m.byChan, w.events())
	}
	return append(out, ws...)
}

// fire delivers a server event (path already chroot-stripped) to the
// watchers it triggers, following ZooKeeper's ZKWatchManager.materialize:
// one-shot watchers are removed; persistent watchers on the path and
// recursive watchers on the path or an ancestor stay (recursive watchers
// never see NodeChildrenChanged).
func (m *watchManager) fire(ev Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var hits []*watcher
	switch ev.Type {
	case EventNodeCreated, EventNodeDataChanged:
		hits = m.take(kindData, ev.Path, hits)
		hits = m.take(kindExist, ev.Path, hits)
	case EventNodeDeleted:
		hits = m.take(kindData, ev.Path, hits)
		hits = m.take(kindExist, ev.Path, hits)
		hits = m.take(kindChild, ev.Path, hits)
	case EventNodeChildrenChanged:
		hits = m.take(kindChild, ev.Path, hits)
	}
	for _, w := range hits {
		w.deliver(ev)
	}
	reached := len(hits) > 0
	for _, w := range m.byKind[kindPersistent][ev.Path] {
		w.deliver(ev)
		reached = true
	}
	if ev.Type != EventNodeChildrenChanged && len(m.byKind[kindRecursive]) > 0 {
		for p := ev.Path; ; p = parent(p) {
			for _, w := range m.byKind[kindRecursive][p] {
				w.deliver(ev)
				reached = true
			}
			if p == "/" {
				break
			}
		}
	}
	if reached && m.notify != nil {
		m.notify(ev)
	}
}

// parent returns the parent of a valid absolute path ("/" for "/a").
func parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// endAll ends every watcher with a session event (expired, auth failed,
// closed) and makes later registrations end at once.
func (m *watchManager) endAll(st State, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ended != nil {
		return
	}
	m.ended = &Event{Type: EventNone, State: st, Err: err}
	for k := range m.byKind {
		for p, ws := range m.byKind[k] {
			for _, w := range ws {
				w.end(Event{Type: EventNone, State: st, Path: p, Err: err})
			}
		}
		m.byKind[k] = map[string][]*watcher{}
	}
	m.byChan = map[<-chan Event]*watcher{}
}

// kindsOf returns the watcher kinds a WatcherType selects on the client,
// as ZooKeeper's client does (Data covers data and exist watches; Any
// covers everything).
func kindsOf(t WatcherType) []watchKind {
	switch t {
	case WatcherChildren:
		return []watchKind{kindChild}
	case WatcherData:
		return []watchKind{kindData, kindExist}
	case WatcherAny:
		return []watchKind{kindChild, kindData, kindExist, kindPersistent, kindRecursive}
	case WatcherPersistent:
		return []watchKind{kindPersistent}
	case WatcherPersistentRecursive:
		return []watchKind{kindRecursive}
	}
	return nil
}

// removedType is the event a watcher gets when it is removed.
func removedType(k watchKind) EventType {
	switch k {
	case kindChild:
		return EventChildWatchRemoved
	case kindPersistent, kindRecursive:
		return EventPersistentWatchRemoved
	}
	return EventDataWatchRemoved
}

// removal is the client half of removeWatches/checkWatches, applied when
// the request completes (as ZooKeeper's WatchDeregistration): one watcher
// (only) or every watcher of the selected kinds on path.
type removal struct {
	path  string // client path
	kinds []watchKind
	only  *watcher
	local bool // remove locally even if the server failed
}

// unregister applies r given the request's outcome and returns the code the
// caller sees: the server's code, or ErrOK when a local removal succeeded
// despite it, or ErrNoWatcher when nothing matched.
func (m *watchManager) unregister(r *removal, code proto.ErrCode) proto.ErrCode {
	if code != proto.ErrOK && !r.local {
		return code
	}
	state := StateSyncConnected
	if code == proto.ErrConnectionLoss || code == proto.ErrSessionExpired {
		state = StateDisconnected
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var removed []*watcher
	if r.only != nil {
		ws := m.byKind[r.only.kind][r.path]
		for i, w := range ws {
			if w == r.only {
				ws = append(ws[:i:i], ws[i+1:]...)
				removed = append(removed, w)
				break
			}
		}
		if len(ws) == 0 {
			delete(m.byKind[r.only.kind], r.path)
		} else {
			m.byKind[r.only.kind][r.path] = ws
		}
		delete(m.byChan, r.only.events())
	} else {
		for _, k := range r.kinds {
			removed = m.take(k, r.path, removed)
		}
	}
	if len(removed) == 0 {
		return proto.ErrNoWatcher
	}
	var seen [numKinds]bool
	for _, w := range removed {
		t := removedType(w.kind)
		w.end(Event{Type: t, State: state, Path: r.path})
		seen[w.kind] = true
	}
	if m.notify != nil {
		// One report per removed kind, as ZooKeeper's default watcher gets.
		for _, ks := range [][]watchKind{{kindPersistent, kindRecursive}, {kindData, kindExist}, {kindChild}} {
			for _, k := range ks {
				if seen[k] {
					m.notify(Event{Type: removedType(k), State: state, Path: r.path})
					break
				}
			}
		}
	}
	return proto.ErrOK
}

// lookup finds the watcher behind a channel returned to the caller, and
// whether another watcher shares its server-side watch (so the server's
// watch must stay).
func (m *watchManager) lookup(ch <-chan Event) (w *watcher, shared bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w = m.byChan[ch]
	if w == nil {
		return nil, false
	}
	n := len(m.byKind[w.kind][w.path])
	if w.kind == kindData || w.kind == kindExist {
		// The server keeps one data watch for both.
		n = len(m.byKind[kindData][w.path]) + len(m.byKind[kindExist][w.path])
	}
	return w, n > 1
}

// lists returns the watched server paths for SetWatches, by kind.
func (m *watchManager) lists(serverPath func(string) string) [numKinds][]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out [numKinds][]string
	for k := range m.byKind {
		for p := range m.byKind[k] {
			out[k] = append(out[k], serverPath(p))
		}
	}
	return out
}

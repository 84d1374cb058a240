package watch

import (
	"reflect"
	"sync"
	"testing"

	"github.com/zkd-io/zkd/proto"
)

type rec struct {
	mu  sync.Mutex
	evs []proto.WatcherEvent
}

func (r *rec) Notify(ev proto.WatcherEvent) { r.mu.Lock(); r.evs = append(r.evs, ev); r.mu.Unlock() }

func (r *rec) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.evs {
		out = append(out, proto.EventTypeName(e.Type)+" "+e.Path)
	}
	r.evs = nil
	return out
}

func TestOneShotWatches(t *testing.T) {
	r := New()
	w := &rec{}
	r.Add("/a", w, Data)
	r.Add("/a", w, Child)
	r.Trigger(proto.EventNodeDataChanged, "/a")
	r.Trigger(proto.EventNodeDataChanged, "/a") // consumed: no second event
	r.Trigger(proto.EventNodeChildrenChanged, "/a")
	r.Trigger(proto.EventNodeChildrenChanged, "/a")
	if got, want := w.take(), []string{"NodeDataChanged /a", "NodeChildrenChanged /a"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// A delete fires data and child watches, but only one event per watcher.
	r.Add("/a", w, Data)
	r.Add("/a", w, Child)
	r.Trigger(proto.EventNodeDeleted, "/a")
	if got := w.take(); !reflect.DeepEqual(got, []string{"NodeDeleted /a"}) {
		t.Fatalf("delete: got %v", got)
	}
	if n := r.Summary().Watches; n != 0 {
		t.Fatalf("watches left after firing: %d", n)
	}
}

func TestPersistentAndRecursive(t *testing.T) {
	r := New()
	p, rc := &rec{}, &rec{}
	r.Add("/a", p, Persistent)
	r.Add("/a", rc, Recursive)
	for _, ev := range []struct {
		typ  int32
		path string
	}{
		{proto.EventNodeCreated, "/a"},
		{proto.EventNodeChildrenChanged, "/a"},
		{proto.EventNodeCreated, "/a/b/c"},
		{proto.EventNodeDataChanged, "/a"},
		{proto.EventNodeDeleted, "/a"},
		{proto.EventNodeCreated, "/ab"}, // a sibling with a common prefix is not below /a
	} {
		r.Trigger(ev.typ, ev.path)
	}
	if got, want := p.take(), []string{"NodeCreated /a", "NodeChildrenChanged /a", "NodeDataChanged /a", "NodeDeleted /a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("persistent: got %v, want %v", got, want)
	}
	if got, want := rc.take(), []string{"NodeCreated /a", "NodeCreated /a/b/c", "NodeDataChanged /a", "NodeDeleted /a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("recursive: got %v, want %v", got, want)
	}
	if !r.Remove("/a", rc, Recursive) || r.Remove("/a", rc, Recursive) {
		t.Error("Remove must report removal once")
	}
	r.Trigger(proto.EventNodeCreated, "/a/x")
	if got := rc.take(); got != nil {
		t.Errorf("removed recursive watch fired: %v", got)
	}
}

func TestRemoveAllAndSummary(t *testing.T) {
	r := New()
	a, b := &rec{}, &rec{}
	r.Add("/x", a, Data)
	r.Add("/y", a, Child)
	r.Add("/x", b, Data|Persistent)
	s := r.Summary()
	if s.Watches != 4 || s.DataWatches != 2 || s.DataPaths != 1 || s.DataConnections != 2 {
		t.Fatalf("summary: got %+v", s)
	}
	if got := r.PathsOf(a); !reflect.DeepEqual(got, []string{"/x", "/y"}) {
		t.Fatalf("PathsOf: got %v", got)
	}
	r.RemoveAll(a)
	if r.Has("/x", a, Data) || r.Connections() != 1 {
		t.Fatalf("RemoveAll left watches: connections %d", r.Connections())
	}
}

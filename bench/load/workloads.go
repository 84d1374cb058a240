package load

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// setupWidth is how many setup or cleanup requests are in flight per
// session.
const setupWidth = 8

func newWorkload(r *runner) workload {
	switch r.cfg.Workload {
	case Create:
		return &createLoad{r: r}
	case Delete:
		return &deleteLoad{keyed: keyed{r: r, dir: "d"}}
	case Watch:
		return &watchLoad{keyed: keyed{r: r, dir: "w"}}
	case Session:
		return &churnLoad{r: r}
	case Ephemeral:
		return &churnLoad{r: r, ephemeral: true}
	}
	return &kvLoad{keyed: keyed{r: r, dir: "k"}}
}

// keyed is the part of a workload that works on a fixed set of Keys
// znodes, prefix/<dir>/<i>, created with the run's value during setup.
type keyed struct {
	r    *runner
	dir  string
	keys []string
}

func (k *keyed) setupKeys(ctx context.Context) error {
	r := k.r
	parent := r.cfg.Prefix + "/" + k.dir
	if _, err := r.admin.Create(ctx, parent, nil, proto.OpenACLUnsafe, client.ModePersistent); err != nil {
		return err
	}
	k.keys = make([]string, r.cfg.Keys)
	for i := range k.keys {
		k.keys[i] = parent + "/" + strconv.Itoa(i)
	}
	return r.createAll(ctx, k.keys)
}

func (k *keyed) parent() string { return k.r.cfg.Prefix + "/" + k.dir }

// kvLoad runs set, get, exists, mixed and multi on the keys, picked
// uniformly at random.
type kvLoad struct{ keyed }

func (w *kvLoad) kinds() []kind {
	switch w.r.cfg.Workload {
	case Mixed:
		return []kind{{"read", 0}, {"write", 1}}
	case Set, Multi:
		return []kind{{w.r.cfg.Workload, 1}}
	}
	return []kind{{w.r.cfg.Workload, 0}}
}

func (w *kvLoad) sessions() bool                             { return true }
func (w *kvLoad) setup(ctx context.Context, r *runner) error { return w.setupKeys(ctx) }
func (w *kvLoad) teardown()                                  {}
func (w *kvLoad) leftovers() []string                        { return append(w.keys, w.parent()) }

func (w *kvLoad) op(ctx context.Context, s *slot, _ time.Time) (int, error) {
	key := w.keys[s.rng.IntN(len(w.keys))]
	switch w.r.cfg.Workload {
	case Set:
		_, err := s.conn.Set(ctx, key, w.r.value, -1)
		return 0, err
	case Get:
		_, _, err := s.conn.Get(ctx, key)
		return 0, err
	case Exists:
		_, err := s.conn.Exists(ctx, key)
		return 0, err
	case Mixed:
		if s.rng.Float64() < w.r.cfg.ReadRatio {
			_, _, err := s.conn.Get(ctx, key)
			return 0, err
		}
		_, err := s.conn.Set(ctx, key, w.r.value, -1)
		return 1, err
	case Multi:
		first := s.rng.IntN(len(w.keys))
		ops := make([]client.Op, w.r.cfg.MultiOps)
		for i := range ops {
			ops[i] = client.SetDataOp(w.keys[(first+i)%len(w.keys)], w.r.value, -1)
		}
		_, err := s.conn.Multi(ctx, ops...)
		return 0, err
	}
	return 0, fmt.Errorf("kv workload cannot run %q", w.r.cfg.Workload)
}

// createLoad creates a new persistent znode per operation,
// prefix/c/<slot>-<seq>, all under one parent as ZooKeeper's smoke tests
// do. The names are known from the slots' counters, so cleanup needs no
// listing of a parent that may hold more children than one reply can carry.
type createLoad struct{ r *runner }

func (w *createLoad) kinds() []kind  { return []kind{{Create, 1}} }
func (w *createLoad) sessions() bool { return true }
func (w *createLoad) teardown()      {}

func (w *createLoad) setup(ctx context.Context, r *runner) error {
	_, err := r.admin.Create(ctx, w.parent(), nil, proto.OpenACLUnsafe, client.ModePersistent)
	return err
}

func (w *createLoad) parent() string { return w.r.cfg.Prefix + "/c" }

func (w *createLoad) path(slot int, seq int64) string {
	b := make([]byte, 0, len(w.r.cfg.Prefix)+24)
	b = append(b, w.r.cfg.Prefix...)
	b = append(b, "/c/"...)
	b = strconv.AppendInt(b, int64(slot), 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, seq, 10)
	return string(b)
}

func (w *createLoad) op(ctx context.Context, s *slot, _ time.Time) (int, error) {
	_, err := s.conn.Create(ctx, w.path(s.id, s.seq), w.r.value, proto.OpenACLUnsafe, client.ModePersistent)
	return 0, err
}

func (w *createLoad) leftovers() []string {
	var out []string
	for _, s := range w.r.slots {
		for q := int64(0); q < s.seq; q++ {
			out = append(out, w.path(s.id, q))
		}
	}
	return append(out, w.parent())
}

// deleteLoad deletes the keys, each once, in order; the run ends early when
// none are left.
type deleteLoad struct {
	keyed
	next   atomic.Int64
	mu     sync.Mutex
	failed []string
}

func (w *deleteLoad) kinds() []kind                              { return []kind{{Delete, 1}} }
func (w *deleteLoad) sessions() bool                             { return true }
func (w *deleteLoad) setup(ctx context.Context, r *runner) error { return w.setupKeys(ctx) }
func (w *deleteLoad) teardown()                                  {}

func (w *deleteLoad) op(ctx context.Context, s *slot, _ time.Time) (int, error) {
	i := w.next.Add(1) - 1
	if i >= int64(len(w.keys)) {
		return 0, errExhausted
	}
	err := s.conn.Delete(ctx, w.keys[i], -1)
	if err != nil {
		w.mu.Lock()
		w.failed = append(w.failed, w.keys[i])
		w.mu.Unlock()
	}
	return 0, err
}

func (w *deleteLoad) leftovers() []string {
	from := min(int(w.next.Load()), len(w.keys))
	out := append(append([]string(nil), w.failed...), w.keys[from:]...)
	return append(out, w.parent())
}

// churnLoad opens a session and closes it per operation (session), with an
// ephemeral znode created in between (ephemeral): the life of a service
// instance registering itself and leaving. Closing the session deletes the
// ephemeral, so nothing is left but the parent.
type churnLoad struct {
	r         *runner
	ephemeral bool
}

func (w *churnLoad) kinds() []kind {
	if w.ephemeral {
		return []kind{{Ephemeral, 3}} // createSession, create, closeSession
	}
	return []kind{{Session, 2}}
}

func (w *churnLoad) sessions() bool { return false }
func (w *churnLoad) teardown()      {}

func (w *churnLoad) setup(ctx context.Context, r *runner) error {
	if !w.ephemeral {
		return nil
	}
	_, err := r.admin.Create(ctx, r.cfg.Prefix+"/e", nil, proto.OpenACLUnsafe, client.ModePersistent)
	return err
}

func (w *churnLoad) leftovers() []string {
	if w.ephemeral {
		return []string{w.r.cfg.Prefix + "/e"}
	}
	return nil
}

func (w *churnLoad) op(ctx context.Context, s *slot, _ time.Time) (int, error) {
	c, err := w.r.connect(ctx)
	if err != nil {
		return 0, err
	}
	if w.ephemeral {
		path := w.r.cfg.Prefix + "/e/" + strconv.Itoa(s.id) + "-" + strconv.FormatInt(s.seq, 10)
		_, err = c.Create(ctx, path, w.r.value, proto.OpenACLUnsafe, client.ModeEphemeral)
	}
	c.Close() // waits for the server to close the session
	return 0, err
}

// createAll creates paths with the run's value, in parallel over the
// sessions (or the admin session when there are none).
func (r *runner) createAll(ctx context.Context, paths []string) error {
	conns := r.sessionsOrAdmin()
	return parallel(ctx, len(paths), len(conns)*setupWidth, func(ctx context.Context, w, i int) error {
		_, err := conns[w%len(conns)].Create(ctx, paths[i], r.value, proto.OpenACLUnsafe, client.ModePersistent)
		return err
	})
}

// deleteAll deletes paths in parallel, skipping missing ones; the caller
// deletes parents after their children.
func (r *runner) deleteAll(ctx context.Context, paths []string) error {
	conns := r.sessionsOrAdmin()
	return parallel(ctx, len(paths), len(conns)*setupWidth, func(ctx context.Context, w, i int) error {
		err := conns[w%len(conns)].Delete(ctx, paths[i], -1)
		if errors.Is(err, proto.ErrNoNode) {
			return nil
		}
		return err
	})
}

func (r *runner) sessionsOrAdmin() []*client.Conn {
	for _, c := range r.conns {
		if c == nil || c.State().Final() {
			return []*client.Conn{r.admin}
		}
	}
	if len(r.conns) == 0 {
		return []*client.Conn{r.admin}
	}
	return r.conns
}

// cleanup deletes the run's znodes and the prefix, unless Keep. Leaves go
// first in parallel, then the parents one by one; if the prefix still has
// children (an operation the run lost track of), the tree is walked.
func (r *runner) cleanup(ctx context.Context) error {
	if r.cfg.Keep {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	var leaves, parents []string
	if r.wl != nil {
		for _, p := range r.wl.leftovers() {
			if depth(p) > depth(r.cfg.Prefix)+1 {
				leaves = append(leaves, p)
			} else {
				parents = append(parents, p)
			}
		}
	}
	if err := r.deleteAll(ctx, leaves); err != nil {
		return err
	}
	for _, p := range append(parents, r.cfg.Prefix) {
		err := r.admin.Delete(ctx, p, -1)
		if errors.Is(err, proto.ErrNotEmpty) {
			return r.deleteTree(ctx, r.cfg.Prefix, 0)
		}
		if err != nil && !errors.Is(err, proto.ErrNoNode) {
			return err
		}
	}
	return nil
}

// deleteTree deletes path and everything under it, depth bounded.
func (r *runner) deleteTree(ctx context.Context, path string, level int) error {
	if level > 8 {
		return fmt.Errorf("%s: deeper than the run creates; left in place", path)
	}
	kids, err := r.admin.Children(ctx, path)
	if errors.Is(err, proto.ErrNoNode) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, k := range kids {
		if err := r.deleteTree(ctx, path+"/"+k, level+1); err != nil {
			return err
		}
	}
	err = r.admin.Delete(ctx, path, -1)
	if errors.Is(err, proto.ErrNoNode) {
		return nil
	}
	return err
}

func depth(p string) int {
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			n++
		}
	}
	return n
}

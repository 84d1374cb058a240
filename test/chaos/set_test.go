package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// forWorkers runs fn(0) … fn(n-1) at once and waits for them.
func forWorkers(n int, fn func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { fn(i) })
	}
	wg.Wait()
}

// step does one operation of a worker on c as logical process proc (its
// n-th step) and returns the outcome; ok also when it did nothing.
type step func(ctx context.Context, c *client.Conn, proc, n int) outcome

// runWorkers runs n workers of the workload h records, each on its own
// session (opened again after faults), until ctx ends or each took maxOps
// steps. newWorker builds worker i's step, with whatever state the worker
// keeps, from its random stream. Each step gets opTimeout; after an unknown
// outcome the worker goes on as a new logical process, since the
// operation may still be pending and no process may have two in flight.
// Between steps a worker pauses gap plus up to jitter (in milliseconds).
func (e *wenv) runWorkers(ctx context.Context, h *history, n int, gap, jitter time.Duration, newWorker func(i int, rnd *rand.Rand) step) {
	forWorkers(n, func(i int) {
		rnd := e.rand()
		do := newWorker(i, rnd)
		s := &session{env: e, connect: e.connect, timeout: sessionTimeout}
		defer s.close()
		proc := h.newProc()
		for k := 0; k < e.maxOps && ctx.Err() == nil; k++ {
			c, err := s.get(ctx)
			if err != nil {
				return
			}
			octx, cancel := opCtx(ctx)
			res := do(octx, c, proc, k)
			cancel()
			if res == unknown {
				proc = h.newProc()
			}
			if !pause(ctx, gap+time.Duration(rnd.IntN(int(jitter/time.Millisecond)))*time.Millisecond) {
				return
			}
		}
	})
}

// ---- set: unique creates; every acknowledged element must be read back.

const (
	setRoot    = "/chaos/set"
	setWorkers = 2
)

type setWorkload struct{ base }

func newSet(env *wenv, start time.Time) *setWorkload {
	return &setWorkload{newBase(env, "set", start)}
}

func (w *setWorkload) setup(ctx context.Context, c *client.Conn) error {
	_, err := c.Create(ctx, setRoot, nil, proto.OpenACLUnsafe, client.ModePersistent)
	return err
}

func (w *setWorkload) run(ctx context.Context) {
	w.env.runWorkers(ctx, w.h, setWorkers, 0, 20*time.Millisecond, func(int, *rand.Rand) step {
		return func(ctx context.Context, c *client.Conn, proc, n int) outcome {
			name := fmt.Sprintf("e-%d-%d", proc, n)
			o := w.h.invoke(proc, "add", name, nil)
			_, err := c.Create(ctx, setRoot+"/"+name, []byte(name), proto.OpenACLUnsafe, client.ModePersistent)
			return w.h.complete(o, err, nil)
		}
	})
}

func (w *setWorkload) check(ctx context.Context, r *run, finals []*client.Conn) {
	for i, c := range finals {
		names, err := syncChildren(ctx, c, setRoot)
		if err != nil {
			r.errorf("set: final read through server.%d: %v", i+1, err)
			continue
		}
		ops := w.h.snapshot()
		for _, p := range checkSet(ops, names) {
			r.noteLost(p)
			r.errorf("set: server.%d: %s", i+1, p)
		}
	}
}

// checkSet compares the final elements with the adds: every acknowledged
// add must be there, and nothing that was not (possibly) added.
func checkSet(ops []op, final []string) []string {
	have := map[string]bool{}
	for _, n := range final {
		have[n] = true
	}
	byName := map[string]op{}
	var lost []int
	for _, o := range ops {
		if o.F != "add" {
			continue
		}
		byName[o.Key] = o
		if o.Outcome == ok && !have[o.Key] {
			lost = append(lost, o.ID)
		}
	}
	var problems []string
	if len(lost) > 0 {
		problems = append(problems, fmt.Sprintf("%d acknowledged adds missing from the final read of %d elements:\n%s", len(lost), len(final), excerpt(ops, lost, 10)))
	}
	var bad []string
	var badOps []int
	for _, n := range final {
		o, found := byName[n]
		switch {
		case !found:
			bad = append(bad, n)
		case o.Outcome == fail:
			badOps = append(badOps, o.ID)
		}
	}
	if len(bad) > 0 {
		problems = append(problems, fmt.Sprintf("elements never added in the final read: %v", head(bad, 10)))
	}
	if len(badOps) > 0 {
		problems = append(problems, fmt.Sprintf("elements whose add failed are in the final read:\n%s", excerpt(ops, badOps, 10)))
	}
	return problems
}

// syncChildren syncs the server with the leader and lists path's children.
func syncChildren(ctx context.Context, c *client.Conn, path string) ([]string, error) {
	octx, cancel := opCtx(ctx)
	defer cancel()
	if err := c.Sync(octx, path); err != nil {
		return nil, err
	}
	return c.Children(octx, path)
}

func head(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("... and %d more", len(s)-n))
	}
	return s
}

// ---- unique-ids: sequential creates; no duplicate, increasing per parent.

const (
	idsRoot    = "/chaos/ids"
	idsParents = 2
	idsWorkers = 3
)

type idsWorkload struct{ base }

func newUniqueIDs(env *wenv, start time.Time) *idsWorkload {
	return &idsWorkload{newBase(env, "unique-ids", start)}
}

func idsParent(k int) string { return fmt.Sprintf("%s/p%d", idsRoot, k) }

func (w *idsWorkload) setup(ctx context.Context, c *client.Conn) error {
	if _, err := c.Create(ctx, idsRoot, nil, proto.OpenACLUnsafe, client.ModePersistent); err != nil {
		return err
	}
	for k := 0; k < idsParents; k++ {
		if _, err := c.Create(ctx, idsParent(k), nil, proto.OpenACLUnsafe, client.ModePersistent); err != nil {
			return err
		}
	}
	return nil
}

func (w *idsWorkload) run(ctx context.Context) {
	w.env.runWorkers(ctx, w.h, idsWorkers, 0, 20*time.Millisecond, func(_ int, rnd *rand.Rand) step {
		return func(ctx context.Context, c *client.Conn, proc, n int) outcome {
			parent := idsParent(rnd.IntN(idsParents))
			tag := fmt.Sprintf("t%d-%d", proc, n)
			o := w.h.invoke(proc, "create", parent, tag)
			path, err := c.Create(ctx, parent+"/id-", []byte(tag), proto.OpenACLUnsafe, client.ModePersistentSequential)
			var out any
			if err == nil {
				out = path
			}
			return w.h.complete(o, err, out)
		}
	})
}

// seqOf parses the 10-digit sequence suffix of a sequential znode.
func seqOf(path string) (int64, bool) {
	if len(path) < 10 {
		return 0, false
	}
	n, err := strconv.ParseInt(path[len(path)-10:], 10, 64)
	return n, err == nil
}

func (w *idsWorkload) check(ctx context.Context, r *run, finals []*client.Conn) {
	ops := w.h.snapshot()
	for _, p := range checkIDs(ops) {
		r.errorf("unique-ids: %s", p)
	}
	// Final reads: every server lists every acknowledged id; the first
	// also reads every child's data, which must be the tag of an add
	// that (possibly) created it, each tag once.
	for i, c := range finals {
		final := map[string]string{} // path -> tag ("" when not read)
		for k := 0; k < idsParents; k++ {
			kids, err := syncChildren(ctx, c, idsParent(k))
			if err != nil {
				r.errorf("unique-ids: final read of %s through server.%d: %v", idsParent(k), i+1, err)
				return
			}
			for _, kid := range kids {
				final[idsParent(k)+"/"+kid] = ""
			}
		}
		if i == 0 {
			if err := readData(ctx, c, final); err != nil {
				r.errorf("unique-ids: final data read through server.1: %v", err)
				return
			}
		}
		for _, p := range checkIDsFinal(ops, final, i == 0) {
			r.noteLost(p)
			r.errorf("unique-ids: server.%d: %s", i+1, p)
		}
	}
}

// readData fills in the data of every path, 16 reads in flight.
func readData(ctx context.Context, c *client.Conn, paths map[string]string) error {
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	list := make([]string, 0, len(paths))
	for p := range paths {
		list = append(list, p)
	}
	for _, p := range list {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			octx, cancel := opCtx(ctx)
			data, _, err := c.Get(octx, p)
			cancel()
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = fmt.Errorf("%s: %w", p, err)
			}
			paths[p] = string(data)
		}()
	}
	wg.Wait()
	return first
}

// checkIDs checks the acknowledged creates: no path handed out twice, and
// per parent a create that began after another returned got a higher
// sequence number.
func checkIDs(ops []op) []string {
	var problems []string
	byPath := map[string]op{}
	byParent := map[string][]op{}
	for _, o := range ops {
		if o.F != "create" || o.Outcome != ok {
			continue
		}
		path, _ := o.Out.(string)
		if prev, dup := byPath[path]; dup {
			problems = append(problems, fmt.Sprintf("%s handed out twice:\n%s", path, excerpt(ops, []int{prev.ID, o.ID}, 2)))
		}
		byPath[path] = o
		byParent[o.Key] = append(byParent[o.Key], o)
	}
	for parent, list := range byParent {
		byCall := append([]op(nil), list...)
		sort.Slice(byCall, func(a, b int) bool { return byCall[a].Call < byCall[b].Call })
		byRet := append([]op(nil), list...)
		sort.Slice(byRet, func(a, b int) bool { return byRet[a].Return < byRet[b].Return })
		var best op // the highest sequence among the creates returned so far
		var bestSeq int64 = -1
		k := 0
		for _, b := range byCall {
			for k < len(byRet) && byRet[k].Return < b.Call {
				if s, _ := seqOf(byRet[k].Out.(string)); s > bestSeq {
					bestSeq, best = s, byRet[k]
				}
				k++
			}
			if s, _ := seqOf(b.Out.(string)); bestSeq >= s {
				problems = append(problems, fmt.Sprintf("under %s a create that began after another returned got a lower or equal sequence number:\n%s",
					parent, excerpt(ops, []int{best.ID, b.ID}, 2)))
				break
			}
		}
	}
	return problems
}

// checkIDsFinal checks a server's final children (with their data when
// withData) against the creates.
func checkIDsFinal(ops []op, final map[string]string, withData bool) []string {
	var problems []string
	var lost []int
	tags := map[string]op{}
	for _, o := range ops {
		if o.F != "create" {
			continue
		}
		tags[o.In.(string)] = o
		if o.Outcome == ok {
			if _, found := final[o.Out.(string)]; !found {
				lost = append(lost, o.ID)
			}
		}
	}
	if len(lost) > 0 {
		problems = append(problems, fmt.Sprintf("%d acknowledged creates missing from the final read:\n%s", len(lost), excerpt(ops, lost, 10)))
	}
	if !withData {
		return problems
	}
	seen := map[string]string{}
	var bad []string
	for _, o := range ops {
		if o.F == "create" && o.Outcome == ok {
			if tag, found := final[o.Out.(string)]; found && tag != o.In.(string) {
				bad = append(bad, fmt.Sprintf("%s holds %q, but create #%d which was told it created it wrote %q", o.Out, tag, o.ID, o.In))
			}
		}
	}
	for path, tag := range final {
		o, found := tags[tag]
		switch {
		case !found:
			bad = append(bad, fmt.Sprintf("%s holds %q, no create's tag", path, tag))
		case o.Outcome == fail:
			bad = append(bad, fmt.Sprintf("%s holds %q of failed create #%d", path, tag, o.ID))
		case o.Outcome == ok && o.Out.(string) != path:
			bad = append(bad, fmt.Sprintf("%s holds %q of create #%d, which was told %s", path, tag, o.ID, o.Out))
		case !strings.HasPrefix(path, o.Key+"/"):
			bad = append(bad, fmt.Sprintf("%s holds %q of create #%d under %s", path, tag, o.ID, o.Key))
		}
		if other, dup := seen[tag]; dup {
			bad = append(bad, fmt.Sprintf("tag %q created twice: %s and %s", tag, other, path))
		}
		seen[tag] = path
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		problems = append(problems, fmt.Sprintf("final children that no create explains: %v", head(bad, 10)))
	}
	return problems
}

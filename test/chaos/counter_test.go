package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// ---- counter: each add is a multi of n creates; the count is the number
// of children. Reads (sync then getChildren) must never see part of a
// multi and must count between what was acknowledged before they began
// and what was attempted before they returned.

const (
	counterRoot    = "/chaos/counter"
	counterAdders  = 2
	counterReaders = 1
)

type counterOut struct {
	Count   int      `json:"count"`
	Partial []string `json:"partial,omitempty"` // groups seen with only some of their creates
}

type counterWorkload struct{ base }

func newCounter(env *wenv, start time.Time) *counterWorkload {
	return &counterWorkload{newBase(env, "counter", start)}
}

func (w *counterWorkload) setup(ctx context.Context, c *client.Conn) error {
	_, err := c.Create(ctx, counterRoot, nil, proto.OpenACLUnsafe, client.ModePersistent)
	return err
}

// counterName is the i-th child of add group tag of n creates.
func counterName(tag string, n, i int) string { return fmt.Sprintf("%s_%d_%d", tag, n, i) }

// parseCounterName splits a child name into its group tag and size.
func parseCounterName(name string) (tag string, n int, ok bool) {
	parts := strings.Split(name, "_")
	if len(parts) != 3 {
		return "", 0, false
	}
	n, err := strconv.Atoi(parts[1])
	return parts[0], n, err == nil && n > 0
}

// countChildren counts children and lists the groups seen partially.
func countChildren(names []string) counterOut {
	seen := map[string]int{}
	size := map[string]int{}
	for _, name := range names {
		tag, n, valid := parseCounterName(name)
		if !valid {
			tag, n = name, -1
		}
		seen[tag]++
		size[tag] = n
	}
	out := counterOut{Count: len(names)}
	for tag, k := range seen {
		if k != size[tag] {
			out.Partial = append(out.Partial, fmt.Sprintf("%s (%d of %d)", tag, k, size[tag]))
		}
	}
	sort.Strings(out.Partial)
	return out
}

func (w *counterWorkload) run(ctx context.Context) {
	w.env.runWorkers(ctx, w.h, counterAdders+counterReaders, 5*time.Millisecond, 20*time.Millisecond, func(i int, rnd *rand.Rand) step {
		if i < counterReaders {
			return func(ctx context.Context, c *client.Conn, proc, _ int) outcome {
				o := w.h.invoke(proc, "read", "", nil)
				names, err := syncChildren(ctx, c, counterRoot)
				var out any
				if err == nil {
					out = countChildren(names)
				}
				return w.h.complete(o, err, out)
			}
		}
		return func(ctx context.Context, c *client.Conn, proc, k int) outcome {
			n := 1 + rnd.IntN(4)
			tag := fmt.Sprintf("c%d-%d", proc, k)
			ops := make([]client.Op, n)
			for i := range ops {
				ops[i] = client.CreateOp(counterRoot+"/"+counterName(tag, n, i), nil, proto.OpenACLUnsafe, client.ModePersistent)
			}
			o := w.h.invoke(proc, "add", tag, n)
			_, err := c.Multi(ctx, ops...)
			return w.h.complete(o, err, nil)
		}
	})
}

func (w *counterWorkload) check(ctx context.Context, r *run, finals []*client.Conn) {
	ops := w.h.snapshot()
	for _, p := range checkCounterReads(ops) {
		r.errorf("counter: %s", p)
	}
	for i, c := range finals {
		names, err := syncChildren(ctx, c, counterRoot)
		if err != nil {
			r.errorf("counter: final read through server.%d: %v", i+1, err)
			continue
		}
		for _, p := range checkCounterFinal(ops, names) {
			r.errorf("counter: server.%d: %s", i+1, p)
		}
	}
}

// checkCounterReads checks every successful read: no partial multi, and
// the count between the adds acknowledged before the read began and the
// adds (ok or unknown) begun before it returned.
func checkCounterReads(ops []op) []string {
	var problems []string
	var adds []op
	for _, o := range ops {
		if o.F == "add" {
			adds = append(adds, o)
		}
	}
	for _, rd := range ops {
		if rd.F != "read" || rd.Outcome != ok {
			continue
		}
		out := rd.Out.(counterOut)
		if len(out.Partial) > 0 {
			problems = append(problems, fmt.Sprintf("read #%d saw only part of multis %v", rd.ID, out.Partial))
		}
		lo, hi := 0, 0
		var loOps, hiOps []int
		for _, a := range adds {
			n := a.In.(int)
			if a.Outcome == ok && a.Return < rd.Call {
				lo += n
				loOps = append(loOps, a.ID)
			}
			if a.Outcome != fail && a.Call < rd.Return {
				hi += n
				hiOps = append(hiOps, a.ID)
			}
		}
		if out.Count < lo {
			problems = append(problems, fmt.Sprintf("read #%d counted %d, but adds of %d had been acknowledged before it began (a lost or stale write):\n%s",
				rd.ID, out.Count, lo, excerpt(ops, append(loOps[max(0, len(loOps)-3):], rd.ID), 4)))
		}
		if out.Count > hi {
			problems = append(problems, fmt.Sprintf("read #%d counted %d, more than the %d of every add begun before it returned:\n%s",
				rd.ID, out.Count, hi, excerpt(ops, append(hiOps[max(0, len(hiOps)-3):], rd.ID), 4)))
		}
	}
	return problems
}

// checkCounterFinal checks a final read: every acknowledged add complete,
// no failed add, every unknown one all or nothing.
func checkCounterFinal(ops []op, names []string) []string {
	groups := map[string]int{}
	for _, name := range names {
		tag, _, _ := parseCounterName(name)
		groups[tag]++
	}
	var problems []string
	var lost, failed []int
	ackedSum, unknownSum := 0, 0
	known := map[string]bool{}
	for _, o := range ops {
		if o.F != "add" {
			continue
		}
		n := o.In.(int)
		known[o.Key] = true
		got := groups[o.Key]
		switch o.Outcome {
		case ok:
			ackedSum += n
			if got != n {
				lost = append(lost, o.ID)
			}
		case fail:
			if got != 0 {
				failed = append(failed, o.ID)
			}
		default:
			unknownSum += n
			if got != 0 && got != n {
				lost = append(lost, o.ID)
			}
		}
	}
	if len(lost) > 0 {
		problems = append(problems, fmt.Sprintf("adds missing or partial in the final read:\n%s", excerpt(ops, lost, 10)))
	}
	if len(failed) > 0 {
		problems = append(problems, fmt.Sprintf("failed adds present in the final read:\n%s", excerpt(ops, failed, 10)))
	}
	var strangers []string
	for tag := range groups {
		if !known[tag] {
			strangers = append(strangers, tag)
		}
	}
	sort.Strings(strangers)
	if len(strangers) > 0 {
		problems = append(problems, fmt.Sprintf("children of no add: %v", head(strangers, 10)))
	}
	if c := len(names); c < ackedSum || c > ackedSum+unknownSum {
		problems = append(problems, fmt.Sprintf("final count %d, want between the acknowledged %d and %d (with the unknown adds)", c, ackedSum, ackedSum+unknownSum))
	}
	return problems
}

// ---- queue: producers enqueue with sequential creates; consumers dequeue
// the lowest child with multi(check head version, setData head, delete
// child), so dequeues are serialized by the head znode's version.

const (
	queueRoot      = "/chaos/queue"
	queueHead      = "/chaos/queue-head"
	queueProducers = 1
	queueConsumers = 2
)

type deqIn struct {
	Item    string `json:"item"`
	HeadVer int32  `json:"headVer"`
	Value   string `json:"value"`
}

type queueWorkload struct{ base }

func newQueue(env *wenv, start time.Time) *queueWorkload {
	return &queueWorkload{newBase(env, "queue", start)}
}

func (w *queueWorkload) setup(ctx context.Context, c *client.Conn) error {
	if _, err := c.Create(ctx, queueRoot, nil, proto.OpenACLUnsafe, client.ModePersistent); err != nil {
		return err
	}
	_, err := c.Create(ctx, queueHead, nil, proto.OpenACLUnsafe, client.ModePersistent)
	return err
}

func (w *queueWorkload) run(ctx context.Context) {
	w.env.runWorkers(ctx, w.h, queueProducers+queueConsumers, 10*time.Millisecond, 20*time.Millisecond, func(i int, _ *rand.Rand) step {
		if i >= queueProducers {
			return func(ctx context.Context, c *client.Conn, proc, _ int) outcome { return w.dequeue(ctx, c, proc) }
		}
		return func(ctx context.Context, c *client.Conn, proc, k int) outcome {
			val := fmt.Sprintf("v%d-%d", proc, k)
			o := w.h.invoke(proc, "enqueue", "", val)
			path, err := c.Create(ctx, queueRoot+"/item-", []byte(val), proto.OpenACLUnsafe, client.ModePersistentSequential)
			var out any
			if err == nil {
				out = path
			}
			return w.h.complete(o, err, out)
		}
	})
}

// dequeue takes the lowest child; ok is returned (without an op) when the
// queue is empty or the preparation reads fail.
func (w *queueWorkload) dequeue(ctx context.Context, c *client.Conn, proc int) outcome {
	_, hst, err := c.Get(ctx, queueHead)
	if err != nil {
		return ok
	}
	kids, err := c.Children(ctx, queueRoot)
	if err != nil || len(kids) == 0 {
		return ok
	}
	sort.Strings(kids) // item-<10 digits>: lexical order is sequence order
	item := kids[0]
	data, _, err := c.Get(ctx, queueRoot+"/"+item)
	if err != nil {
		return ok
	}
	in := deqIn{Item: item, HeadVer: hst.Version, Value: string(data)}
	o := w.h.invoke(proc, "dequeue", item, in)
	_, err = c.Multi(ctx,
		client.CheckOp(queueHead, hst.Version),
		client.SetDataOp(queueHead, []byte(item), hst.Version),
		client.DeleteOp(queueRoot+"/"+item, 0))
	return w.h.complete(o, err, nil)
}

func (w *queueWorkload) check(ctx context.Context, r *run, finals []*client.Conn) {
	ops := w.h.snapshot()
	for i, c := range finals {
		kids, err := syncChildren(ctx, c, queueRoot)
		if err != nil {
			r.errorf("queue: final read through server.%d: %v", i+1, err)
			continue
		}
		remaining := map[string]string{}
		for _, k := range kids {
			remaining[queueRoot+"/"+k] = ""
		}
		octx, cancel := opCtx(ctx)
		_, hst, err := c.Get(octx, queueHead)
		cancel()
		if err == nil {
			err = readData(ctx, c, remaining)
		}
		if err != nil {
			r.errorf("queue: final read through server.%d: %v", i+1, err)
			continue
		}
		for _, p := range checkQueue(ops, remaining, hst.Version) {
			r.errorf("queue: server.%d: %s", i+1, p)
		}
	}
}

// checkQueue is a total-queue check with FIFO order: given the values
// still queued at the end (path -> value) and the head's final version.
func checkQueue(ops []op, remaining map[string]string, headVer int32) []string {
	var problems []string
	enq := map[string]op{} // value -> enqueue
	deqBy := map[string]op{}
	deqUnknown := map[string]bool{}
	var deqOK []op
	for _, o := range ops {
		switch {
		case o.F == "enqueue":
			enq[o.In.(string)] = o
		case o.F == "dequeue" && o.Outcome == ok:
			deqOK = append(deqOK, o)
		case o.F == "dequeue" && o.Outcome == unknown:
			deqUnknown[o.In.(deqIn).Value] = true
		}
	}
	for _, d := range deqOK {
		in := d.In.(deqIn)
		e, found := enq[in.Value]
		switch {
		case !found || e.Outcome == fail:
			problems = append(problems, fmt.Sprintf("dequeued %q, which was never (possibly) enqueued:\n%s", in.Value, excerpt(ops, []int{d.ID}, 1)))
		case e.Outcome == ok && e.Out.(string) != queueRoot+"/"+in.Item:
			problems = append(problems, fmt.Sprintf("dequeued %q as %s, but it was enqueued as %s:\n%s", in.Value, in.Item, e.Out, excerpt(ops, []int{e.ID, d.ID}, 2)))
		}
		if prev, dup := deqBy[in.Value]; dup {
			problems = append(problems, fmt.Sprintf("%q dequeued twice:\n%s", in.Value, excerpt(ops, []int{prev.ID, d.ID}, 2)))
		}
		deqBy[in.Value] = d
	}
	// FIFO: dequeues in head-version order take increasing items.
	sort.Slice(deqOK, func(a, b int) bool { return deqOK[a].In.(deqIn).HeadVer < deqOK[b].In.(deqIn).HeadVer })
	for k := 1; k < len(deqOK); k++ {
		a, b := deqOK[k-1].In.(deqIn), deqOK[k].In.(deqIn)
		if a.HeadVer == b.HeadVer {
			problems = append(problems, fmt.Sprintf("two dequeues succeeded on head version %d:\n%s", a.HeadVer, excerpt(ops, []int{deqOK[k-1].ID, deqOK[k].ID}, 2)))
		} else if a.Item >= b.Item {
			problems = append(problems, fmt.Sprintf("dequeues out of order: %s after %s:\n%s", b.Item, a.Item, excerpt(ops, []int{deqOK[k-1].ID, deqOK[k].ID}, 2)))
		}
	}
	left := map[string]string{} // value -> path
	for path, v := range remaining {
		left[v] = path
		e, found := enq[v]
		if !found || e.Outcome == fail {
			problems = append(problems, fmt.Sprintf("%s holds %q, never (possibly) enqueued", path, v))
		}
		if d, gone := deqBy[v]; gone {
			problems = append(problems, fmt.Sprintf("%s still holds %q, which was dequeued:\n%s", path, v, excerpt(ops, []int{d.ID}, 1)))
		}
	}
	var lost []int
	for v, e := range enq {
		if e.Outcome != ok {
			continue
		}
		_, dequeued := deqBy[v]
		_, queued := left[v]
		if !dequeued && !queued && !deqUnknown[v] {
			lost = append(lost, e.ID)
		}
	}
	if len(lost) > 0 {
		sort.Ints(lost)
		problems = append(problems, fmt.Sprintf("%d acknowledged enqueues neither dequeued nor still queued:\n%s", len(lost), excerpt(ops, lost, 10)))
	}
	if lo, hi := int32(len(deqOK)), int32(len(deqOK)+len(deqUnknown)); headVer < lo || headVer > hi {
		problems = append(problems, fmt.Sprintf("head version %d, want between the %d acknowledged dequeues and %d (with the unknown ones)", headVer, lo, hi))
	}
	return problems
}

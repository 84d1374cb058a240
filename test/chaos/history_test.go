package chaos

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// outcome is how an operation ended.
type outcome string

const (
	// ok: the server acknowledged the operation.
	ok outcome = "ok"
	// fail: the server answered with an error that means nothing was
	// applied (NoNode, BadVersion, NodeExists...).
	fail outcome = "fail"
	// unknown: no answer (connection loss, timeout, session expiry, the
	// run ending): the operation may have been applied at any time after
	// its invocation, or never.
	unknown outcome = "unknown"
)

// definite lists the error codes after which the server applied nothing.
// Everything else (connection loss, timeouts, session expiry or moving,
// local errors) is unknown.
var definite = map[proto.ErrCode]bool{
	proto.ErrNoNode:                  true,
	proto.ErrBadVersion:              true,
	proto.ErrNodeExists:              true,
	proto.ErrNotEmpty:                true,
	proto.ErrNoChildrenForEphemerals: true,
	proto.ErrBadArguments:            true,
	proto.ErrInvalidACL:              true,
	proto.ErrNoAuth:                  true,
}

// classify maps a client error to an outcome.
func classify(err error) outcome {
	if err == nil {
		return ok
	}
	var ce *client.Error
	if errors.As(err, &ce) && ce.Err == nil && definite[ce.Code] {
		return fail
	}
	return unknown
}

// op is one operation of a history. In and Out are the workload's own
// records (plain structs, so the history can be written as JSON).
type op struct {
	ID      int     `json:"id"`
	Proc    int     `json:"proc"` // logical process; a new one after every unknown outcome
	F       string  `json:"f"`
	Key     string  `json:"key,omitempty"`
	In      any     `json:"in,omitempty"`
	Call    int64   `json:"call"`   // nanoseconds since the run started
	Return  int64   `json:"return"` // -1 while pending
	Outcome outcome `json:"outcome"`
	Out     any     `json:"out,omitempty"`
	Err     string  `json:"err,omitempty"`
}

// pending reports whether the operation never completed.
func (o *op) pending() bool { return o.Return < 0 }

func (o *op) String() string {
	ret := "pending"
	if !o.pending() {
		ret = fmt.Sprintf("%.3fs", float64(o.Return)/1e9)
	}
	s := fmt.Sprintf("#%d p%d %s %s", o.ID, o.Proc, o.F, o.Key)
	if o.In != nil {
		s += fmt.Sprintf(" %+v", o.In)
	}
	s += fmt.Sprintf(" [%.3fs..%s] %s", float64(o.Call)/1e9, ret, o.Outcome)
	if o.Out != nil {
		s += fmt.Sprintf(" %+v", o.Out)
	}
	if o.Err != "" {
		s += " (" + o.Err + ")"
	}
	return s
}

// history records the operations of one workload. It is safe for
// concurrent use.
type history struct {
	name  string
	start time.Time

	mu    sync.Mutex
	ops   []*op
	procs int
}

func newHistory(name string, start time.Time) *history {
	return &history{name: name, start: start}
}

// newProc hands out a fresh logical process id.
func (h *history) newProc() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.procs++
	return h.procs - 1
}

// now is the history's clock: monotonic nanoseconds since the run began.
func (h *history) now() int64 { return int64(time.Since(h.start)) }

// invoke records the start of an operation.
func (h *history) invoke(proc int, f, key string, in any) *op {
	h.mu.Lock()
	defer h.mu.Unlock()
	o := &op{ID: len(h.ops), Proc: proc, F: f, Key: key, In: in, Return: -1, Outcome: unknown}
	o.Call = h.now()
	h.ops = append(h.ops, o)
	return o
}

// complete records the end of an operation and returns its outcome.
func (h *history) complete(o *op, err error, out any) outcome {
	ret := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	o.Return = ret
	o.Outcome = classify(err)
	o.Out = out
	if err != nil {
		o.Err = err.Error()
	}
	return o.Outcome
}

// completeAs records the end of an operation whose outcome the workload
// decides itself (a read answering NoNode is a successful read of an
// absent node), keeping the error text.
func (h *history) completeAs(o *op, res outcome, out any, errText string) outcome {
	ret := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	o.Return, o.Outcome, o.Out, o.Err = ret, res, out, errText
	return res
}

// snapshot copies the operations recorded so far.
func (h *history) snapshot() []op {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]op, len(h.ops))
	for i, o := range h.ops {
		out[i] = *o
	}
	return out
}

// okAfter counts the operations that completed ok after the given time.
func (h *history) okAfter(t int64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, o := range h.ops {
		if o.Outcome == ok && o.Return >= t {
			n++
		}
	}
	return n
}

// summary counts the outcomes per function, for the run log.
func summary(ops []op) string {
	type counts struct{ ok, fail, unknown int }
	by := map[string]*counts{}
	for _, o := range ops {
		c := by[o.F]
		if c == nil {
			c = &counts{}
			by[o.F] = c
		}
		switch o.Outcome {
		case ok:
			c.ok++
		case fail:
			c.fail++
		default:
			c.unknown++
		}
	}
	var fs []string
	for f := range by {
		fs = append(fs, f)
	}
	sort.Strings(fs)
	var parts []string
	for _, f := range fs {
		c := by[f]
		parts = append(parts, fmt.Sprintf("%s %d ok/%d fail/%d unknown", f, c.ok, c.fail, c.unknown))
	}
	return strings.Join(parts, ", ")
}

// writeHistory writes the operations as JSON lines, one op per line, in
// invocation order.
func writeHistory(path string, ops []op) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for i := range ops {
		if err := enc.Encode(&ops[i]); err != nil {
			f.Close()
			return fmt.Errorf("%s: op %d: %w", path, ops[i].ID, err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// excerpt renders the ops with the given ids (and at most limit of them)
// for a failure message.
func excerpt(ops []op, ids []int, limit int) string {
	want := map[int]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var lines []string
	for i := range ops {
		if want[ops[i].ID] {
			if len(lines) == limit {
				lines = append(lines, fmt.Sprintf("... and %d more", len(want)-limit))
				break
			}
			lines = append(lines, "\t"+ops[i].String())
		}
	}
	return strings.Join(lines, "\n")
}

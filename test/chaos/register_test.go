package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// The register workload: clients create, read (sync then getData, which
// zkd makes linearizable: sync is a Raft ReadIndex), write (setData with
// version -1) and compare-and-set (setData with an expected version)
// independent keys. Each key's history must be linearizable against a
// sequential register that may not exist yet. Keys are used in
// generations (a few keys at a time, the next few after opsPerGen
// operations) so that each key's history stays small enough for
// porcupine.
const (
	registerRoot     = "/chaos/register"
	registerWorkers  = 4
	registerKeysGen  = 3
	registerOpsGen   = 240
	porcupineTimeout = 20 * time.Second
)

type regIn struct {
	Val string `json:"val,omitempty"`
	Ver int32  `json:"ver"` // cas: the expected version
}

type regOut struct {
	Exists bool   `json:"exists"`
	Ver    int32  `json:"ver"`
	Val    string `json:"val,omitempty"`
}

type register struct {
	base
	total atomic.Int64

	mu      sync.Mutex
	failing map[string]porcupine.LinearizationInfo // key -> info of a failed check
}

func newRegister(env *wenv, start time.Time) *register {
	return &register{base: newBase(env, "register", start)}
}

func (w *register) setup(ctx context.Context, c *client.Conn) error {
	_, err := c.Create(ctx, registerRoot, nil, proto.OpenACLUnsafe, client.ModePersistent)
	return err
}

func (w *register) run(ctx context.Context) {
	w.env.runWorkers(ctx, w.h, registerWorkers, 0, 10*time.Millisecond, w.worker)
}

func registerKey(k int64) string { return fmt.Sprintf("%s/k%04d", registerRoot, k) }

// worker returns one worker's step: a create of a key it has not seen
// created, else a read, write or compare-and-set of a key of the current
// generation.
func (w *register) worker(_ int, rnd *rand.Rand) step {
	created := map[string]bool{}
	seen := map[string]int32{}
	return func(ctx context.Context, c *client.Conn, proc, n int) outcome {
		gen := w.total.Add(1) / registerOpsGen
		key := registerKey(gen*registerKeysGen + rnd.Int64N(registerKeysGen))
		val := fmt.Sprintf("%d-%d", proc, n)
		switch p := rnd.IntN(10); {
		case !created[key]:
			o := w.h.invoke(proc, "create", key, regIn{Val: val})
			_, err := c.Create(ctx, key, []byte(val), proto.OpenACLUnsafe, client.ModePersistent)
			res := w.h.complete(o, err, regOut{Exists: true, Val: val})
			created[key] = res == ok || errors.Is(err, proto.ErrNodeExists)
			return res
		case p < 4:
			return w.read(ctx, c, proc, key, seen)
		case p < 6:
			o := w.h.invoke(proc, "write", key, regIn{Val: val, Ver: -1})
			st, err := c.Set(ctx, key, []byte(val), -1)
			res := w.h.complete(o, err, statOut(st, val))
			if res == ok {
				seen[key] = st.Version
			}
			return res
		default:
			ver := seen[key]
			if rnd.IntN(5) == 0 {
				// Sometimes a stale or future version; never -1, which
				// setData takes as "any version".
				ver = max(ver+int32(rnd.IntN(3))-1, 0)
			}
			o := w.h.invoke(proc, "cas", key, regIn{Val: val, Ver: ver})
			st, err := c.Set(ctx, key, []byte(val), ver)
			res := w.h.complete(o, err, statOut(st, val))
			if res == ok {
				seen[key] = st.Version
			}
			return res
		}
	}
}

func statOut(st *proto.Stat, val string) any {
	if st == nil {
		return nil
	}
	return regOut{Exists: true, Ver: st.Version, Val: val}
}

// read is sync then getData; NoNode is a successful read of an absent key.
func (w *register) read(ctx context.Context, c *client.Conn, proc int, key string, seen map[string]int32) outcome {
	o := w.h.invoke(proc, "read", key, nil)
	err := c.Sync(ctx, key)
	var data []byte
	var st *proto.Stat
	if err == nil {
		data, st, err = c.Get(ctx, key)
	}
	switch {
	case err == nil:
		seen[key] = st.Version
		return w.h.complete(o, nil, regOut{Exists: true, Ver: st.Version, Val: string(data)})
	case errors.Is(err, proto.ErrNoNode):
		return w.h.completeAs(o, ok, regOut{Exists: false}, err.Error())
	}
	return w.h.complete(o, err, nil)
}

func (w *register) check(ctx context.Context, r *run, finals []*client.Conn) {
	// Final reads of every key through every server.
	keys := map[string]bool{}
	for _, o := range w.h.snapshot() {
		keys[o.Key] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for i, c := range finals {
		proc := w.h.newProc()
		for _, key := range sorted {
			octx, cancel := opCtx(ctx)
			if w.read(octx, c, proc, key, map[string]int32{}) != ok {
				r.errorf("register: final read of %s through server.%d failed", key, i+1)
			}
			cancel()
		}
	}
	ops := w.h.snapshot()
	res := checkRegister(ops, porcupineTimeout)
	w.mu.Lock()
	w.failing = res.infos
	w.mu.Unlock()
	for _, key := range res.illegal {
		r.errorf("register: the history of %s is not linearizable; around where no linearization could go on:\n%s",
			key, excerpt(ops, res.around[key], 40))
	}
	for _, key := range res.timedOut {
		r.errorf("register: porcupine could not decide within %v whether the history of %s is linearizable", porcupineTimeout, key)
	}
	if len(res.illegal)+len(res.timedOut) == 0 {
		r.logf("register: %d keys, every history linearizable", len(sorted))
	}
}

func (w *register) artifacts(dir string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for key, info := range w.failing {
		name := "register" + strings.ReplaceAll(strings.TrimPrefix(key, registerRoot), "/", "-") + ".html"
		errs = append(errs, porcupine.VisualizePath(registerModel, info, filepath.Join(dir, name)))
	}
	return errors.Join(errs...)
}

// regInput and regOutput are what porcupine sees of an op.
type regInput struct {
	F   string
	Val string
	Ver int32
}

type regOutput struct {
	Outcome outcome
	Code    proto.ErrCode
	regOut
}

type regState struct {
	Exists bool
	Ver    int32
	Val    string
}

// registerModel is a znode holding a value: absent until created, every
// setData adds one to its version.
var registerModel = porcupine.Model{
	Init: func() any { return regState{} },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(regState), input.(regInput), output.(regOutput)
		switch in.F {
		case "read":
			if !out.Exists {
				return !s.Exists, s
			}
			return s == regState{Exists: true, Ver: out.Ver, Val: out.Val}, s
		case "create":
			next := regState{Exists: true, Val: in.Val}
			switch out.Outcome {
			case ok:
				return !s.Exists, next
			case fail:
				return s.Exists && out.Code == proto.ErrNodeExists, s
			}
			if s.Exists {
				return true, s
			}
			return true, next
		case "write", "cas":
			applies := s.Exists && (in.F == "write" || s.Ver == in.Ver)
			next := regState{Exists: true, Ver: s.Ver + 1, Val: in.Val}
			switch out.Outcome {
			case ok:
				return applies && out.Ver == next.Ver, next
			case fail:
				switch out.Code {
				case proto.ErrNoNode:
					return !s.Exists, s
				case proto.ErrBadVersion:
					return s.Exists && in.F == "cas" && s.Ver != in.Ver, s
				}
				return false, s
			}
			if applies {
				return true, next
			}
			return true, s
		}
		return false, s
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(regInput), output.(regOutput)
		arg := ""
		switch in.F {
		case "create", "write":
			arg = fmt.Sprintf("(%q)", in.Val)
		case "cas":
			arg = fmt.Sprintf("(v%d→%q)", in.Ver, in.Val)
		}
		res := string(out.Outcome)
		switch {
		case out.Outcome == fail:
			res = out.Code.Error()
		case out.Outcome == ok && in.F == "read" && !out.Exists:
			res = "NoNode"
		case out.Outcome == ok && in.F == "read":
			res = fmt.Sprintf("v%d %q", out.Ver, out.Val)
		case out.Outcome == ok && in.F != "create":
			res = fmt.Sprintf("ok v%d", out.Ver)
		}
		return in.F + arg + " → " + res
	},
	DescribeState: func(state any) string {
		s := state.(regState)
		if !s.Exists {
			return "absent"
		}
		return fmt.Sprintf("v%d %q", s.Ver, s.Val)
	},
	DescribeOperationMetadata: func(info any) string { return fmt.Sprintf("op #%v", info) },
}

// registerResult is the verdict of checkRegister.
type registerResult struct {
	illegal, timedOut []string
	around            map[string][]int // illegal key -> op ids to show
	infos             map[string]porcupine.LinearizationInfo
}

// registerOps turns one key's ops into porcupine operations. Reads that
// did not return tell nothing and are left out; ops with an unknown
// outcome stay pending until after everything else returned, so they may
// take effect at any point after their invocation, or never.
func registerOps(ops []op) []porcupine.Operation {
	var end int64
	for _, o := range ops {
		end = max(end, o.Return, o.Call)
	}
	var out []porcupine.Operation
	for _, o := range ops {
		if o.F == "read" && o.Outcome != ok {
			continue
		}
		in := regInput{F: o.F}
		if ri, isIn := o.In.(regIn); isIn {
			in.Val, in.Ver = ri.Val, ri.Ver
		}
		res := regOutput{Outcome: o.Outcome}
		if ro, isOut := o.Out.(regOut); isOut && o.Outcome == ok {
			res.regOut = ro
		}
		if o.Outcome == fail {
			res.Code = errCode(o.Err)
		}
		ret := o.Return
		if o.Outcome == unknown {
			ret = end + 1
		}
		out = append(out, porcupine.Operation{ClientId: o.Proc, Input: in, Call: o.Call, Output: res, Return: ret, Metadata: o.ID})
	}
	return out
}

// errCode recovers the error code from an op's error text.
func errCode(text string) proto.ErrCode {
	for _, c := range []proto.ErrCode{proto.ErrNoNode, proto.ErrBadVersion, proto.ErrNodeExists, proto.ErrNotEmpty} {
		if strings.HasSuffix(text, ": "+c.Error()) || text == c.Error() {
			return c
		}
	}
	return proto.ErrSystemError
}

// checkRegister checks every key's history on its own.
func checkRegister(ops []op, timeout time.Duration) registerResult {
	byKey := map[string][]op{}
	for _, o := range ops {
		byKey[o.Key] = append(byKey[o.Key], o)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	res := registerResult{around: map[string][]int{}, infos: map[string]porcupine.LinearizationInfo{}}
	for _, key := range keys {
		pops := registerOps(byKey[key])
		verdict, info := porcupine.CheckOperationsVerbose(registerModel, pops, timeout)
		switch verdict {
		case porcupine.Ok:
			continue
		case porcupine.Illegal:
			res.illegal = append(res.illegal, key)
			res.around[key] = stuckAt(pops, info)
		default:
			res.timedOut = append(res.timedOut, key)
		}
		res.infos[key] = info
	}
	return res
}

// stuckAt picks the ops to show for an illegal history: the last few of
// the longest partial linearization and every op that had been invoked
// by the time the first op left out of it returned.
func stuckAt(pops []porcupine.Operation, info porcupine.LinearizationInfo) []int {
	var longest []porcupine.Operation
	for _, part := range info.PartialLinearizationsOperations() {
		for _, lin := range part {
			if len(lin) > len(longest) {
				longest = lin
			}
		}
	}
	in := map[int]bool{}
	for _, o := range longest {
		in[o.Metadata.(int)] = true
	}
	sorted := append([]porcupine.Operation(nil), pops...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].Return < sorted[b].Return })
	var first *porcupine.Operation
	for k := range sorted {
		if !in[sorted[k].Metadata.(int)] {
			first = &sorted[k]
			break
		}
	}
	var out []int
	for k := max(0, len(longest)-5); k < len(longest); k++ {
		out = append(out, longest[k].Metadata.(int))
	}
	if first != nil {
		for _, o := range pops {
			if !in[o.Metadata.(int)] && o.Call <= first.Return {
				out = append(out, o.Metadata.(int))
			}
		}
	}
	return out
}

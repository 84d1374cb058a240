package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// The watch workload: one writer per key bumps its version with versioned
// setData. Watch events carry no zxid (ZooKeeper sends -1), so the checks
// count.
//
// Persistent watchers hold one persistent recursive watch on the keys'
// parent and read every key (one multiRead, an atomic view) in a loop. On
// one connection, with pre the versions read before the watch was added
// and base those read just after, a read returning version v of a key must
// have been preceded by at least v-base events for that key (none missed,
// none late: an event reaches the client before any reply sent after its
// change), and the events received before the read was sent can be at
// most v-pre (none twice, none spurious). A reconnection may lose events
// (ZooKeeper does not replay persistent watches), so after one the
// watcher removes its watch and starts over.
//
// One-shot watchers arm a getData watch at version v and probe with plain
// reads: a probe that returns a newer version must find the event already
// delivered, across reconnections too (SetWatches fires it at once).
const (
	watchRoot     = "/chaos/watch"
	watchKeys     = 2
	watchWatchers = 2
)

func watchKey(k int) string { return fmt.Sprintf("%s/k%d", watchRoot, k) }

// observeIn and observeOut are a persistent watcher's read.
type observeIn struct {
	Epoch int     `json:"epoch"`
	Pre   []int32 `json:"pre"`
	Base  []int32 `json:"base"`
}

type observeOut struct {
	Vers      []int32 `json:"vers"`
	EventsPre []int   `json:"eventsPre"`  // events per key received before the read was sent
	EventsEnd []int   `json:"eventsPost"` // ... and once it had returned
	Bad       string  `json:"bad,omitempty"`
}

// probeIn and probeOut are a one-shot watcher's probe.
type probeIn struct {
	Armed int32 `json:"armed"` // the version read when the watch was set
}

type probeOut struct {
	Ver   int32  `json:"ver"`
	Fired bool   `json:"fired"`
	Event string `json:"event,omitempty"`
	// Where the probe ran: the session and the server it was connected
	// to when the read returned, for diagnosing a failure.
	Session string `json:"session,omitempty"`
	Server  string `json:"server,omitempty"`
}

type watchWorkload struct{ base }

func newWatch(env *wenv, start time.Time) *watchWorkload {
	return &watchWorkload{newBase(env, "watch", start)}
}

func (w *watchWorkload) setup(ctx context.Context, c *client.Conn) error {
	if _, err := c.Create(ctx, watchRoot, nil, proto.OpenACLUnsafe, client.ModePersistent); err != nil {
		return err
	}
	for k := 0; k < watchKeys; k++ {
		if _, err := c.Create(ctx, watchKey(k), []byte("0"), proto.OpenACLUnsafe, client.ModePersistent); err != nil {
			return err
		}
	}
	return nil
}

func (w *watchWorkload) run(ctx context.Context) {
	done := make(chan struct{}, 1+watchWatchers+watchKeys)
	go func() {
		w.env.runWorkers(ctx, w.h, watchKeys, 10*time.Millisecond, 30*time.Millisecond, w.writer)
		done <- struct{}{}
	}()
	for k := 0; k < watchKeys; k++ {
		go func() { w.oneShot(ctx, k); done <- struct{}{} }()
	}
	for k := 0; k < watchWatchers; k++ {
		go func() { w.persistent(ctx); done <- struct{}{} }()
	}
	for k := 0; k < cap(done); k++ {
		<-done
	}
}

// writer returns the step of key k's writer: a conditional setData on the
// version it last saw, after reading it when it does not know it.
func (w *watchWorkload) writer(k int, _ *rand.Rand) step {
	key := watchKey(k)
	ver := int32(-2) // unknown: read it first
	return func(ctx context.Context, c *client.Conn, proc, _ int) outcome {
		if ver == -2 {
			if _, st, err := c.Get(ctx, key); err == nil {
				ver = st.Version
			}
			return ok
		}
		o := w.h.invoke(proc, "write", key, ver)
		st, err := c.Set(ctx, key, fmt.Appendf(nil, "%d", ver+1), ver)
		res := w.h.complete(o, err, nil)
		if res == ok {
			ver = st.Version
		} else {
			ver = -2
		}
		return res
	}
}

// versions reads every key in one multiRead.
func versions(ctx context.Context, c *client.Conn) ([]int32, error) {
	ops := make([]client.Op, watchKeys)
	for k := range ops {
		ops[k] = client.GetDataOp(watchKey(k))
	}
	res, err := c.MultiRead(ctx, ops...)
	if err != nil {
		return nil, err
	}
	out := make([]int32, watchKeys)
	for k, r := range res {
		if r.Err != nil || r.Stat == nil {
			return nil, fmt.Errorf("multiRead of %s: %v", watchKey(k), r.Err)
		}
		out[k] = r.Stat.Version
	}
	return out, nil
}

// persistent runs epochs of a persistent recursive watcher.
func (w *watchWorkload) persistent(ctx context.Context) {
	s := &session{env: w.env, connect: w.env.connect, timeout: sessionTimeout}
	defer s.close()
	proc := w.h.newProc()
	for epoch := 0; epoch < w.env.maxOps && ctx.Err() == nil; epoch++ {
		c, err := s.get(ctx)
		if err != nil {
			return
		}
		proc = w.persistentEpoch(ctx, c, proc, epoch)
		if !pause(ctx, 50*time.Millisecond) {
			return
		}
	}
}

// persistentEpoch watches on one connection until it changes or ctx ends,
// and returns the process id to go on with.
func (w *watchWorkload) persistentEpoch(ctx context.Context, c *client.Conn, proc, epoch int) int {
	state, changed := c.StateChanged()
	if !state.Connected() {
		select {
		case <-changed:
		case <-ctx.Done():
		}
		return proc
	}
	octx, cancel := opCtx(ctx)
	defer cancel()
	pre, err := versions(octx, c)
	if err != nil {
		return proc
	}
	ch, err := c.AddWatch(octx, watchRoot, client.AddWatchPersistentRecursive)
	if err != nil {
		return proc
	}
	defer func() {
		rctx, rcancel := opCtx(context.Background())
		_ = c.RemoveWatch(rctx, ch, false)
		rcancel()
	}()
	base, err := versions(octx, c)
	if err != nil {
		return proc
	}
	counts := make([]int, watchKeys)
	bad := ""
	drain := func() bool {
		for {
			select {
			case ev, open := <-ch:
				if !open || ev.Type == client.EventNone {
					return false // the session ended
				}
				k := -1
				for i := 0; i < watchKeys; i++ {
					if ev.Path == watchKey(i) {
						k = i
					}
				}
				if k < 0 || ev.Type != client.EventNodeDataChanged {
					bad = fmt.Sprintf("unexpected event %v", ev)
					continue
				}
				counts[k]++
			default:
				return true
			}
		}
	}
	for n := 0; n < w.env.maxOps && ctx.Err() == nil; n++ {
		if !drain() {
			return proc
		}
		evPre := append([]int(nil), counts...)
		o := w.h.invoke(proc, "observe", "", observeIn{Epoch: epoch, Pre: pre, Base: base})
		rctx, rcancel := opCtx(ctx)
		vers, err := versions(rctx, c)
		rcancel()
		alive := drain()
		select {
		case <-changed:
			// Reconnected meanwhile: this read proves nothing.
			w.h.completeAs(o, unknown, nil, "connection changed")
			return w.h.newProc()
		default:
		}
		if err != nil {
			w.h.complete(o, err, nil)
			return w.h.newProc()
		}
		w.h.complete(o, nil, observeOut{Vers: vers, EventsPre: evPre, EventsEnd: append([]int(nil), counts...), Bad: bad})
		bad = ""
		if !alive || !pause(ctx, time.Duration(20+n%20)*time.Millisecond) {
			return proc
		}
	}
	return proc
}

// oneShot arms a data watch on key k and probes it.
func (w *watchWorkload) oneShot(ctx context.Context, k int) {
	s := &session{env: w.env, connect: w.env.connect, timeout: sessionTimeout}
	defer s.close()
	proc := w.h.newProc()
	key := watchKey(k)
	var ch <-chan client.Event
	var armed int32
	for n := 0; n < 10*w.env.maxOps && ctx.Err() == nil; n++ {
		c, err := s.get(ctx)
		if err != nil {
			return
		}
		octx, cancel := opCtx(ctx)
		if ch == nil {
			o := w.h.invoke(proc, "arm", key, nil)
			_, st, wch, err := c.GetW(octx, key)
			out := probeOut{Session: fmt.Sprintf("0x%x", uint64(c.SessionID())), Server: c.Server()}
			if err == nil {
				ch, armed = wch, st.Version
				out.Ver = st.Version
			}
			if w.h.complete(o, err, out) == unknown {
				proc = w.h.newProc()
			}
		} else {
			o := w.h.invoke(proc, "probe", key, probeIn{Armed: armed})
			_, st, err := c.Get(octx, key)
			out := probeOut{}
			select {
			case ev := <-ch:
				out.Fired, out.Event = true, ev.Type.String()
				if ev.Type == client.EventNone {
					out.Event += " " + ev.State.String()
				}
				ch = nil
			default:
			}
			if err == nil {
				out.Ver = st.Version
			}
			out.Session, out.Server = fmt.Sprintf("0x%x", uint64(c.SessionID())), c.Server()
			if w.h.complete(o, err, out) == unknown {
				proc = w.h.newProc()
			}
		}
		cancel()
		if !pause(ctx, 20*time.Millisecond) {
			return
		}
	}
}

func (w *watchWorkload) check(ctx context.Context, r *run, finals []*client.Conn) {
	ops := w.h.snapshot()
	for _, p := range checkWatch(ops) {
		r.errorf("watch: %s", p)
	}
	// Every server agrees on the keys' final versions, and they are at
	// least what the writers were last told.
	var want []int32
	for i, c := range finals {
		octx, cancel := opCtx(ctx)
		err := c.Sync(octx, watchRoot)
		var vers []int32
		if err == nil {
			vers, err = versions(octx, c)
		}
		cancel()
		if err != nil {
			r.errorf("watch: final read through server.%d: %v", i+1, err)
			continue
		}
		if want == nil {
			want = vers
			for _, p := range checkWatchFinal(ops, vers) {
				r.errorf("watch: %s", p)
			}
		} else if fmt.Sprint(vers) != fmt.Sprint(want) {
			r.errorf("watch: server.%d reads versions %v, server.1 %v", i+1, vers, want)
		}
	}
}

// checkWatch checks the persistent watchers' counts and the one-shot
// watchers' probes.
func checkWatch(ops []op) []string {
	var problems []string
	add := func(format string, args ...any) {
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	armedBy := map[int]int{} // proc -> id of its last arm
	for _, o := range ops {
		if o.F == "arm" {
			armedBy[o.Proc] = o.ID
		}
		if o.Outcome != ok {
			continue
		}
		switch o.F {
		case "observe":
			in, out := o.In.(observeIn), o.Out.(observeOut)
			if out.Bad != "" {
				add("persistent watcher got %s:\n%s", out.Bad, excerpt(ops, []int{o.ID}, 1))
			}
			for k := range out.Vers {
				if missing := int(out.Vers[k]-in.Base[k]) - out.EventsEnd[k]; missing > 0 {
					add("read version %d of %s with only %d events since version %d was read after adding the watch: %d changes not notified before the new data was read:\n%s",
						out.Vers[k], watchKey(k), out.EventsEnd[k], in.Base[k], missing, excerpt(ops, []int{o.ID}, 1))
				}
				if extra := out.EventsPre[k] - int(out.Vers[k]-in.Pre[k]); extra > 0 {
					add("%d events for %s before a read of version %d, but only %d changes since version %d (read before adding the watch): %d events duplicated or spurious:\n%s",
						out.EventsPre[k], watchKey(k), out.Vers[k], out.Vers[k]-in.Pre[k], in.Pre[k], extra, excerpt(ops, []int{o.ID}, 1))
				}
			}
		case "probe":
			in, out := o.In.(probeIn), o.Out.(probeOut)
			if out.Ver > in.Armed && !out.Fired {
				ids := []int{o.ID}
				if a, found := armedBy[o.Proc]; found {
					ids = []int{a, o.ID}
				}
				add("read version %d of %s before the watch set at version %d fired:\n%s", out.Ver, o.Key, in.Armed, excerpt(ops, ids, 2))
			}
			if out.Fired && out.Event != client.EventNodeDataChanged.String() && !strings.HasPrefix(out.Event, client.EventNone.String()) {
				add("one-shot data watch fired with %s:\n%s", out.Event, excerpt(ops, []int{o.ID}, 1))
			}
		}
	}
	return problems
}

// checkWatchFinal checks the final versions against the writers'
// acknowledged and unknown writes.
func checkWatchFinal(ops []op, vers []int32) []string {
	var problems []string
	for k := range vers {
		key := watchKey(k)
		var acked, attempts int32
		for _, o := range ops {
			if o.F != "write" || o.Key != key || o.Outcome == fail {
				continue
			}
			attempts++
			if o.Outcome == ok {
				acked = max(acked, o.In.(int32)+1)
			}
		}
		if vers[k] < acked {
			problems = append(problems, fmt.Sprintf("%s is at version %d, but a write to version %d was acknowledged", key, vers[k], acked))
		}
		if vers[k] > attempts {
			problems = append(problems, fmt.Sprintf("%s is at version %d, more than the %d writes that were not refused", key, vers[k], attempts))
		}
	}
	return problems
}

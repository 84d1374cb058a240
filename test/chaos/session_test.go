package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// The session workload: short sessions create ephemerals, ping for a
// while, then end by Close or by going silent (their connections cut, so
// the leader must expire them). An end is confirmed when resuming the
// session is refused as expired. Observers, one pinned to each server,
// list the ephemerals with plain and with sync'd reads.
//
// Checks: per observer session an ephemeral, once gone, never reappears;
// no sync'd read that began after a session's end was confirmed shows its
// ephemerals; a sync'd read between an ephemeral's acknowledgement and a
// later successful ping (a setData of the session's first ephemeral) of
// its session shows it; and in the end every server lists no ephemeral
// at all.
const (
	sessionRoot     = "/chaos/session"
	sessionCreators = 2
	sessionNodes    = 2
	// sessionGone bounds the final wait for every ephemeral to vanish.
	sessionGone = 3*shortSession + 10*time.Second
)

type sessionWorkload struct{ base }

func newSessions(env *wenv, start time.Time) *sessionWorkload {
	return &sessionWorkload{newBase(env, "session", start)}
}

func (w *sessionWorkload) setup(ctx context.Context, c *client.Conn) error {
	_, err := c.Create(ctx, sessionRoot, nil, proto.OpenACLUnsafe, client.ModePersistent)
	return err
}

// cutter is a client Dialer whose connections the test can cut, after
// which it refuses to dial: a client that vanished.
type cutter struct {
	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

var errCut = errors.New("cut off by the test")

func (c *cutter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c.mu.Lock()
	cut := c.cut
	c.mu.Unlock()
	if cut {
		return nil, errCut
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		conn.Close()
		return nil, errCut
	}
	c.conns = append(c.conns, conn)
	return conn, nil
}

func (c *cutter) cutOff() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cut = true
	for _, conn := range c.conns {
		conn.Close()
	}
}

func (w *sessionWorkload) run(ctx context.Context) {
	var wg sync.WaitGroup
	for i, addr := range w.env.addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.observe(ctx, i, addr)
		}()
	}
	forWorkers(sessionCreators, func(int) { w.create(ctx) })
	wg.Wait()
}

// sessionKey names a session in node names and ops.
func sessionKey(id int64) string { return fmt.Sprintf("%x", uint64(id)) }

// sessionOf is the session key in an ephemeral's name s<key>-<i>.
func sessionOf(name string) string {
	k := strings.LastIndexByte(name, '-')
	if !strings.HasPrefix(name, "s") || k < 1 {
		return ""
	}
	return name[1:k]
}

func (w *sessionWorkload) create(ctx context.Context) {
	rnd := w.env.rand()
	proc := w.h.newProc()
	for n := 0; n < w.env.maxOps && ctx.Err() == nil; n++ {
		cut := &cutter{}
		c, err := w.env.dial(ctx, w.env.connect, shortSession, client.WithDialer(cut.dial))
		if err != nil {
			if !pause(ctx, 200*time.Millisecond) {
				return
			}
			continue
		}
		sid, pw := c.SessionID(), c.SessionPassword()
		sk := sessionKey(sid)
		for i := 0; i < sessionNodes; i++ {
			name := fmt.Sprintf("s%s-%d", sk, i)
			o := w.h.invoke(proc, "create", name, sk)
			octx, cancel := opCtx(ctx)
			_, err := c.Create(octx, sessionRoot+"/"+name, []byte(sk), proto.OpenACLUnsafe, client.ModeEphemeral)
			cancel()
			if w.h.complete(o, err, nil) == unknown {
				proc = w.h.newProc()
			}
		}
		until := time.Now().Add(randDuration(rnd, 500*time.Millisecond, 2*time.Second))
		for time.Now().Before(until) && ctx.Err() == nil && c.State() != client.StateExpired {
			// A write, so that its success shows the session was alive
			// when it was committed (a read could be served by a server
			// that has not applied the session's end yet).
			o := w.h.invoke(proc, "ping", sk, nil)
			octx, cancel := opCtx(ctx)
			_, err := c.Set(octx, fmt.Sprintf("%s/s%s-0", sessionRoot, sk), []byte("ping"), -1)
			cancel()
			if w.h.complete(o, err, nil) == unknown {
				proc = w.h.newProc()
			}
			pause(ctx, 200*time.Millisecond)
		}
		w.end(ctx, c, cut, sid, pw, proc, rnd.IntN(2) == 0)
		proc = w.h.newProc()
	}
}

// end closes or abandons the session and tries to confirm it is gone.
func (w *sessionWorkload) end(ctx context.Context, c *client.Conn, cut *cutter, sid int64, pw []byte, proc int, abandon bool) {
	sk := sessionKey(sid)
	if c.State() == client.StateExpired {
		o := w.h.invoke(proc, "expired", sk, nil)
		c.Close()
		w.h.completeAs(o, ok, nil, "")
		return
	}
	if ctx.Err() != nil {
		// The run is over: close without waiting to confirm.
		o := w.h.invoke(proc, "close", sk, nil)
		c.Close()
		w.h.completeAs(o, unknown, nil, "not confirmed: the run ended")
		return
	}
	f := "close"
	if abandon {
		f = "abandon"
	}
	o := w.h.invoke(proc, f, sk, nil)
	if abandon {
		cut.cutOff()
		for k := 0; k < 100 && c.State().Connected(); k++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
	c.Close()
	if abandon && !pause(ctx, shortSession+500*time.Millisecond) {
		w.h.completeAs(o, unknown, nil, "not confirmed: the run ended")
		return
	}
	ectx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for attempt := 0; attempt < 5 && ectx.Err() == nil; attempt++ {
		rc, err := w.env.dial(ectx, w.env.connect, shortSession, client.WithSession(sid, pw))
		switch {
		case errors.Is(err, proto.ErrSessionExpired):
			w.h.completeAs(o, ok, nil, "")
			return
		case err == nil:
			// Still alive (the close or the expiry has not happened
			// yet): close it for real, then ask again.
			rc.Close()
		default:
			pause(ectx, 500*time.Millisecond)
		}
	}
	w.h.completeAs(o, unknown, nil, "not confirmed")
}

type observation struct {
	Session string   `json:"session"` // the observer's own session
	Names   []string `json:"names,omitempty"`
}

// observe lists the ephemerals through one server, alternating plain
// reads with sync'd ones.
func (w *sessionWorkload) observe(ctx context.Context, i int, addr string) {
	s := &session{env: w.env, connect: addr, timeout: sessionTimeout}
	defer s.close()
	proc := w.h.newProc()
	for n := 0; n < 10*w.env.maxOps && ctx.Err() == nil; n++ {
		c, err := s.get(ctx)
		if err != nil {
			return
		}
		f := "read"
		if n%2 == 1 {
			f = "sync-read"
		}
		own := sessionKey(c.SessionID())
		o := w.h.invoke(proc, f, fmt.Sprintf("server.%d", i+1), own)
		octx, cancel := opCtx(ctx)
		var names []string
		if f == "sync-read" {
			err = c.Sync(octx, sessionRoot)
		}
		if err == nil {
			names, err = c.Children(octx, sessionRoot)
		}
		cancel()
		sort.Strings(names)
		if w.h.complete(o, err, observation{Session: own, Names: names}) == unknown {
			proc = w.h.newProc()
		}
		if !pause(ctx, 100*time.Millisecond) {
			return
		}
	}
}

func (w *sessionWorkload) check(ctx context.Context, r *run, finals []*client.Conn) {
	ops := w.h.snapshot()
	for _, p := range checkSessions(ops) {
		r.errorf("session: %s", p)
	}
	deadline := time.Now().Add(sessionGone)
	for i, c := range finals {
		for {
			names, err := syncChildren(ctx, c, sessionRoot)
			if err == nil && len(names) == 0 {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				r.errorf("session: server.%d still lists ephemerals %v (%v) %v after the run (sessions: %s)",
					i+1, head(names, 10), err, sessionGone, sessionEnds(ops, names))
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// sessionEnds says how the sessions of the named ephemerals ended.
func sessionEnds(ops []op, names []string) string {
	var parts []string
	for _, n := range head(names, 5) {
		sk := sessionOf(n)
		end := "no recorded end"
		for _, o := range ops {
			if o.Key == sk && (o.F == "close" || o.F == "abandon" || o.F == "expired") {
				end = o.String()
			}
		}
		parts = append(parts, sk+": "+end)
	}
	return strings.Join(parts, "; ")
}

// checkSessions checks the observations against the sessions' lives.
func checkSessions(ops []op) []string {
	var problems []string
	ended := map[string]op{} // session -> its confirmed end
	lastPing := map[string]int64{}
	for _, o := range ops {
		switch {
		case (o.F == "close" || o.F == "abandon" || o.F == "expired") && o.Outcome == ok:
			ended[o.Key] = o
		case o.F == "ping" && o.Outcome == ok:
			lastPing[o.Key] = max(lastPing[o.Key], o.Call)
		}
	}
	// Gone means gone, per observer session.
	type seenKey struct{ session, name string }
	state := map[seenKey]int{} // 1 present, 2 gone after present
	lastSeen := map[seenKey]int{}
	reads := 0
	for _, rd := range ops {
		if (rd.F != "read" && rd.F != "sync-read") || rd.Outcome != ok {
			continue
		}
		reads++
		obs := rd.Out.(observation)
		present := map[string]bool{}
		for _, n := range obs.Names {
			present[n] = true
			k := seenKey{obs.Session, n}
			if state[k] == 2 {
				problems = append(problems, fmt.Sprintf("%s reappeared for observer session %s after it was gone:\n%s",
					n, obs.Session, excerpt(ops, []int{lastSeen[k], rd.ID}, 2)))
			}
			state[k] = 1
			lastSeen[k] = rd.ID
		}
		for k, s := range state {
			if k.session == obs.Session && s == 1 && !present[k.name] {
				state[k] = 2
				lastSeen[k] = rd.ID
			}
		}
		if rd.F != "sync-read" {
			continue
		}
		for _, n := range obs.Names {
			if e, gone := ended[sessionOf(n)]; gone && rd.Call > e.Return {
				problems = append(problems, fmt.Sprintf("sync'd read began after the end of session %s was confirmed, yet lists its ephemeral %s:\n%s",
					sessionOf(n), n, excerpt(ops, []int{e.ID, rd.ID}, 2)))
			}
		}
	}
	for _, cr := range ops {
		if cr.F != "create" || cr.Outcome != ok {
			continue
		}
		alive := lastPing[cr.In.(string)]
		for _, rd := range ops {
			if rd.F != "sync-read" || rd.Outcome != ok || rd.Call <= cr.Return || rd.Return >= alive {
				continue
			}
			if !contains(rd.Out.(observation).Names, cr.Key) {
				problems = append(problems, fmt.Sprintf("sync'd read after the acknowledged create of %s, while its session still answered pings, does not list it:\n%s",
					cr.Key, excerpt(ops, []int{cr.ID, rd.ID}, 2)))
				break
			}
		}
	}
	if len(problems) > 20 {
		problems = append(problems[:20], fmt.Sprintf("... and %d more", len(problems)-20))
	}
	return problems
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

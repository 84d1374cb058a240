//go:build interop

package interop

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd-io/zkd/test/harness"
)

// gozkLock runs go-zookeeper's lock recipe (zk.NewLock) in 4 sessions
// spread over the 3 servers, and kills the leader while they contend. It
// checks that no two clients ever hold the lock at once, in this process
// and in the servers' view: the holder increments a counter znode with a
// versioned set, which fails with BadVersion if anyone else wrote it in the
// meantime.
func gozkLock(t *testing.T, e *harness.Ensemble) {
	const (
		clients = 4
		rounds  = 8
		killAt  = clients * rounds / 3 // acquisitions before the leader dies
		hold    = 20 * time.Millisecond
		budget  = 90 * time.Second
	)
	const root = "/gozk-lock"
	addrs := e.Addrs()
	conns := make([]*gozkClient, clients)
	for i := range conns {
		conns[i] = gozkConnect(t, fmt.Sprintf("locker %d", i), rotate(addrs, i), 15*time.Second)
	}
	must[string](t, "create root")(conns[0].Create(root, nil, 0, openACL))
	must[string](t, "create counter")(conns[0].Create(root+"/counter", []byte("0"), 0, openACL))

	var (
		holders   atomic.Int32
		acquired  atomic.Int32
		mu        sync.Mutex
		problems  []string // mutual exclusion violations: fail the test
		transient []string // errors the recipe saw during the failover: logged
	)
	report := func(list *[]string, format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		*list = append(*list, fmt.Sprintf(format, args...))
	}
	kill := make(chan struct{})
	stop := make(chan struct{}) // closed when the budget is spent
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs := 0
			for r := 0; r < rounds; {
				select {
				case <-stop:
					return
				default:
				}
				l := zk.NewLock(c.Conn, root+"/lock", openACL)
				if err := l.Lock(); err != nil {
					// Lost connection mid-recipe: the recipe may have left
					// its ephemeral lock node behind, which would block
					// everyone (this client included) until the session
					// ends. Remove this session's nodes and try again.
					report(&transient, "client %d round %d: Lock: %v", i, r, err)
					if errs++; errs > 20 {
						report(&problems, "client %d: Lock failed %d times, last: %v", i, errs, err)
						return
					}
					removeOwnLockNodes(c, root+"/lock", stop)
					continue
				}
				if n := holders.Add(1); n != 1 {
					report(&problems, "client %d round %d: %d holders at once", i, r, n)
				}
				if acquired.Add(1) == killAt {
					close(kill)
				}
				if err := incrementUnderLock(c, root+"/counter", stop); err != nil {
					report(&problems, "client %d round %d: counter: %v", i, r, err)
				}
				time.Sleep(hold)
				holders.Add(-1)
				for attempt := 0; ; attempt++ {
					err := l.Unlock()
					if err == nil || errors.Is(err, zk.ErrNoNode) {
						break // ErrNoNode: an earlier attempt deleted it
					}
					if attempt == 100 {
						report(&problems, "client %d round %d: Unlock: %v", i, r, err)
						return
					}
					report(&transient, "client %d round %d: Unlock: %v", i, r, err)
					sleepOrStop(100*time.Millisecond, stop)
				}
				r++
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	deadline := time.After(budget)
	killed := -1
	select {
	case <-kill:
		killed = e.Leader(t)
		t.Logf("%d acquisitions: killing the leader, server.%d", killAt, killed+1)
		e.Kill(killed)
	case <-done:
	case <-deadline:
	}
	select {
	case <-done:
	case <-deadline:
		close(stop)
		for _, c := range conns {
			c.Close() // unblocks recipes waiting on watches
		}
		<-done
		t.Errorf("the lockers did not finish %d rounds each within %v (%d acquisitions)", rounds, budget, acquired.Load())
	}
	mu.Lock()
	if len(transient) > 0 {
		t.Logf("errors the lock recipe recovered from during the failover:\n%s", strings.Join(transient, "\n"))
	}
	if len(problems) > 0 {
		t.Errorf("lock recipe across a leader kill:\n%s", strings.Join(problems, "\n"))
	}
	mu.Unlock()
	if killed < 0 {
		t.Errorf("the leader was never killed: only %d acquisitions, want %d first", acquired.Load(), killAt)
	} else {
		e.Restart(t, killed)
		e.WaitQuorum(t)
	}
	if t.Failed() {
		return
	}
	c := conns[0]
	c.sync(t, root)
	if data, _, err := c.Get(root + "/counter"); err != nil || string(data) != strconv.Itoa(clients*rounds) {
		t.Errorf("counter after %d locked increments: got %q %v, want %d", clients*rounds, data, err, clients*rounds)
	}
	if children, _, err := c.Children(root + "/lock"); err != nil || len(children) != 0 {
		t.Errorf("lock nodes left after every client unlocked: got %v %v, want none", children, err)
	}
}

// incrementUnderLock adds one to the counter with a versioned set. While
// the lock is held nobody else writes the counter, so BadVersion means the
// lock was not exclusive. A set whose outcome is unknown (the connection
// dropped) is resolved by reading the counter after a sync.
func incrementUnderLock(c *gozkClient, path string, stop <-chan struct{}) error {
	var data []byte
	var st *zk.Stat
	var err error
	for attempt := 0; attempt < 100; attempt++ {
		if data, st, err = c.Get(path); err == nil {
			break
		}
		sleepOrStop(100*time.Millisecond, stop)
	}
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	v, err := strconv.Atoi(string(data))
	if err != nil {
		return fmt.Errorf("counter holds %q: %w", data, err)
	}
	want := strconv.Itoa(v + 1)
	for attempt := 0; attempt < 100; attempt++ {
		_, err = c.Set(path, []byte(want), st.Version)
		if err == nil {
			return nil
		}
		if !errors.Is(err, zk.ErrConnectionClosed) && !errors.Is(err, zk.ErrNoServer) {
			return fmt.Errorf("set %s at version %d: %w", want, st.Version, err)
		}
		sleepOrStop(100*time.Millisecond, stop)
		if _, err := c.Sync(path); err != nil {
			continue
		}
		got, st2, err := c.Get(path)
		if err != nil {
			continue
		}
		if string(got) == want && st2.Version == st.Version+1 {
			return nil // the lost set had been applied
		}
		if st2.Version != st.Version {
			return fmt.Errorf("counter changed from version %d to %d (%q) while held", st.Version, st2.Version, got)
		}
	}
	return fmt.Errorf("set %s: %w", want, err)
}

// removeOwnLockNodes deletes the lock nodes this session owns, retrying
// while the connection is down.
func removeOwnLockNodes(c *gozkClient, dir string, stop <-chan struct{}) {
	for attempt := 0; attempt < 100; attempt++ {
		children, _, err := c.Children(dir)
		if err == nil {
			left := false
			for _, ch := range children {
				_, st, err := c.Exists(dir + "/" + ch)
				if err != nil {
					left = true
					continue
				}
				if st.EphemeralOwner == c.SessionID() {
					if err := c.Delete(dir+"/"+ch, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
						left = true
					}
				}
			}
			if !left {
				return
			}
		}
		if !sleepOrStop(100*time.Millisecond, stop) {
			return
		}
	}
}

// sleepOrStop sleeps for d; it returns false early when stop is closed.
func sleepOrStop(d time.Duration, stop <-chan struct{}) bool {
	select {
	case <-stop:
		return false
	case <-time.After(d):
		return true
	}
}

// gozkFailover kills the server a client is connected to, once a follower
// and once the leader: the client reconnects to another server within its
// session timeout and keeps its session, its ephemeral node, its
// authentication and its watches (re-registered with SetWatches).
func gozkFailover(t *testing.T, e *harness.Ensemble) {
	for _, victimRole := range []string{"follower", "leader"} {
		t.Run(victimRole, func(t *testing.T) {
			report(t, e.Kind, gozkClientName, "failover: the client's server ("+victimRole+") killed")
			leader := e.Leader(t)
			victim := leader
			if victimRole == "follower" {
				victim = e.Others(leader)[0]
			}
			addrs := e.Addrs()
			order := append([]string{addrs[victim]}, slices.DeleteFunc(slices.Clone(addrs), func(a string) bool { return a == addrs[victim] })...)
			c := gozkConnect(t, "client", order, 15*time.Second)
			if got := c.Server(); got != addrs[victim] {
				t.Fatalf("client connected to %s, want server.%d at %s", got, victim+1, addrs[victim])
			}
			other := gozkConnect(t, "observer", order[1:], 15*time.Second)
			root := "/gozk-failover-" + victimRole

			must[string](t, "create root")(c.Create(root, nil, 0, openACL))
			must[string](t, "create data")(c.Create(root+"/data", []byte("0"), 0, openACL))
			must[string](t, "create ephemeral")(c.Create(root+"/eph", nil, zk.FlagEphemeral, openACL))
			wantErr(t, "add_auth", c.AddAuth("digest", []byte("alice:secret")), nil)
			must[string](t, "create private")(c.Create(root+"/private", []byte("p"), 0, zk.DigestACL(zk.PermAll, "alice", "secret")))
			_, _, dataCh, err := c.GetW(root + "/data")
			if err != nil {
				t.Fatalf("getW: %v", err)
			}
			_, _, childCh, err := c.ChildrenW(root)
			if err != nil {
				t.Fatalf("childrenW: %v", err)
			}
			session := c.SessionID()

			start := time.Now()
			t.Logf("killing server.%d (%s), the one the client is connected to", victim+1, victimRole)
			e.Kill(victim)
			waitFor(t, "client reconnected to another server", func() bool {
				return c.sawState(zk.StateDisconnected) && c.State() == zk.StateHasSession && c.Server() != addrs[victim]
			})
			t.Logf("client reconnected to %s after %v", c.Server(), time.Since(start).Round(time.Millisecond))
			if got := c.SessionID(); got != session {
				t.Errorf("session after failover: got %#x, want the same %#x", got, session)
			}
			if c.sawState(zk.StateExpired) {
				t.Errorf("the session expired during the failover")
			}

			other.sync(t, root)
			if ok, st, err := other.Exists(root + "/eph"); !ok || err != nil || st.EphemeralOwner != session {
				t.Errorf("ephemeral after failover: got exists %v owner %#x %v, want owner %#x", ok, st.EphemeralOwner, err, session)
			}
			if data, _, err := c.Get(root + "/private"); err != nil || string(data) != "p" {
				t.Errorf("digest-protected read after failover (auth re-sent): got %q %v, want \"p\"", data, err)
			}
			must[*zk.Stat](t, "set data from the other client")(other.Set(root+"/data", []byte("1"), -1))
			wantEvent(t, "data watch re-registered after failover", dataCh, zk.EventNodeDataChanged, root+"/data")
			must[string](t, "create child from the other client")(other.Create(root+"/child", nil, 0, openACL))
			wantEvent(t, "child watch re-registered after failover", childCh, zk.EventNodeChildrenChanged, root)
			must[string](t, "write through the new server")(c.Create(root+"/after", nil, 0, openACL))

			e.Restart(t, victim)
			e.WaitQuorum(t)
			c.Close()
			other.sync(t, root)
			if ok, _, err := other.Exists(root + "/eph"); ok || err != nil {
				t.Errorf("ephemeral after its session closed: got exists %v %v, want false", ok, err)
			}
			for _, p := range []string{"/data", "/private", "/child", "/after", ""} {
				wantErr(t, "cleanup "+root+p, other.Delete(root+p, -1), nil)
			}
		})
	}
}

package crash

import (
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd-io/zkd/test/harness"
)

// TestSessionsSurviveRestart: sessions are durable. A client that comes back
// after a restart resumes its session (go-zookeeper reconnects with the same
// id and password) and keeps its ephemerals; a client that never comes back
// gets a full timeout from the restart and then loses its ephemerals.
func TestSessionsSurviveRestart(t *testing.T) {
	const timeout = 3 * time.Second
	for _, tc := range []struct {
		name  string
		crash bool
	}{
		{"clean restart", false},
		{"SIGKILL", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each waits out a session timeout
			srv := harness.Zkd(t, harness.WithTickTime(200*time.Millisecond), harness.WithSessionTimeouts(400*time.Millisecond, 10*time.Second))
			back := dial(t, srv.Addr, timeout)
			gone := dial(t, srv.Addr, timeout)
			for _, e := range []struct {
				c    *client
				path string
			}{{back, "/back"}, {gone, "/gone"}} {
				if _, err := e.c.Create(e.path, nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
					t.Fatalf("create %s: %v", e.path, err)
				}
			}
			backID, goneID := back.SessionID(), gone.SessionID()
			gone.blocked.Store(true) // its client never reaches the server again

			if tc.crash {
				srv.Kill()
			}
			srv.Restart(t)
			restarted := time.Now()

			// The returning client is served in the same session: the
			// request waits for its reconnect.
			if ok, st, err := back.Exists("/back"); err != nil || !ok || st.EphemeralOwner != backID {
				t.Fatalf("/back after the restart: exists %v, stat %+v, err %v; want it owned by 0x%x", ok, st, err, backID)
			}
			if back.SessionID() != backID || back.expired.Load() != 0 {
				t.Fatalf("returning client: session 0x%x (expired %d times), want 0x%x resumed", back.SessionID(), back.expired.Load(), backID)
			}

			// The other session still holds its ephemeral right after the
			// restart: its client might yet return.
			checker := dial(t, srv.Addr, timeout)
			ok, st, err := checker.Exists("/gone")
			if since := time.Since(restarted); since < timeout/2 && (err != nil || !ok || st.EphemeralOwner != goneID) {
				t.Errorf("%v after the restart /gone: exists %v, err %v; want it still owned by 0x%x (a session gets a full timeout after a restart)",
					since.Round(time.Millisecond), ok, err, goneID)
			}
			// ...and loses it once the timeout has passed.
			deadline := restarted.Add(timeout + 5*time.Second)
			for {
				ok, _, err := checker.Exists("/gone")
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("/gone still exists %v after the restart; its session (timeout %v) never expired", time.Since(restarted).Round(time.Millisecond), timeout)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if since := time.Since(restarted); since < timeout-500*time.Millisecond {
				t.Errorf("/gone was removed %v after the restart, before its %v session timeout", since.Round(time.Millisecond), timeout)
			}
			if ok, _, err := back.Exists("/back"); err != nil || !ok {
				t.Errorf("/back of the live session: exists %v, err %v after the other session expired", ok, err)
			}
		})
	}
}

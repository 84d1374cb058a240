package server

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd-io/zkd/internal/config"
	"github.com/zkd-io/zkd/internal/fsm"
	"github.com/zkd-io/zkd/internal/tree"
)

const adminAuth = "digest admin:secret"

// enableAdmin turns the admin server on at a free port with no rate limit.
func enableAdmin(o *config.Options) {
	o.AdminEnableServer = true
	o.AdminServerAddress = "127.0.0.1"
	o.AdminServerPort = 0
	o.MetricsHTTPPort = 0
	o.AdminRateLimit = 0
}

// treeState is every node's path, data, persisted Stat and ACL, and the
// digest and last zxid, read under the server's lock.
func treeState(s *Server) (dump string, digest uint64, zxid int64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var b strings.Builder
	s.fsm.Tree().Walk(func(n *tree.Node) bool {
		fmt.Fprintf(&b, "%s %q %+v %v\n", n.Path(), n.Data(), n.PersistedStat(), n.ACL())
		return true
	})
	for _, ss := range s.fsm.Sessions() {
		fmt.Fprintf(&b, "session 0x%x %d\n", ss.ID, ss.Timeout)
	}
	return b.String(), s.fsm.Digest(), s.fsm.LastZxid()
}

func downloadSnapshot(t *testing.T, s *Server) []byte {
	t.Helper()
	code, _, body := httpDo(t, "GET", adminURL(s, "/commands/snapshot"), nil, "Authorization", adminAuth)
	if code != 200 {
		t.Fatalf("snapshot: got %d, want 200: %s", code, body)
	}
	return body
}

// restoreVia posts body to s's restore command and returns the status and
// the decoded reply.
func restoreVia(t *testing.T, s *Server, body []byte, header ...string) (int, map[string]any) {
	t.Helper()
	code, _, reply := httpDo(t, "POST", adminURL(s, "/commands/restore"), body, header...)
	return code, jsonObject(t, reply)
}

func replyZxid(t *testing.T, m map[string]any) int64 {
	t.Helper()
	z, err := strconv.ParseInt(fmt.Sprint(m["last_zxid"]), 10, 64)
	if err != nil || m["error"] != nil {
		t.Fatalf("restore reply: got %v, want a last_zxid and error null", m)
	}
	return z
}

// waitFor polls cond every 10ms for at most d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAdminRestoreRoundTrip(t *testing.T) {
	s := startAdminServer(t, enableAdmin)
	c, _ := connect(t, s)
	open := zk.WorldACL(zk.PermAll)
	for _, p := range []string{"/a", "/a/b", "/a/gone-later"} {
		if _, err := c.Create(p, []byte("data of "+p), 0, open); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Create("/a/eph", nil, zk.FlagEphemeral, open); err != nil {
		t.Fatal(err)
	}
	// Only admin:secret and clients at 10.9.9.9 may now do anything on "/".
	if _, err := c.SetACL("/", append(zk.DigestACL(zk.PermAll, "admin", "secret"), zk.ACL{Perms: zk.PermAll, Scheme: "ip", ID: "10.9.9.9"}), -1); err != nil {
		t.Fatal(err)
	}
	snap := downloadSnapshot(t, s)
	want, wantDigest, _ := treeState(s)

	// Change the tree in every way a restore must undo, including a
	// session (with an ephemeral) that the snapshot never saw.
	if _, err := c.Set("/a", []byte("changed"), -1); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/a/b", "/a/gone-later"} {
		if err := c.Delete(p, -1); err != nil {
			t.Fatal(err)
		}
	}
	late, lateEvents := connect(t, s)
	if _, err := late.Create("/a/late", nil, zk.FlagEphemeral, open); err != nil {
		t.Fatal(err)
	}
	changed, changedDigest, before := treeState(s)
	if changedDigest == wantDigest {
		t.Fatal("the changes left the digest as it was")
	}

	corrupt := bytes.Clone(snap)
	corrupt[len(corrupt)-20] ^= 0xff
	refused := []struct {
		name    string
		body    []byte
		headers []string
		want    int
		reason  string
	}{
		{"no auth", snap, nil, 401, "Auth info is missing"},
		{"wrong password", snap, []string{"Authorization", "digest admin:wrong"}, 403, "Not authorized"},
		{"ip with a forged X-Forwarded-For", snap, []string{"Authorization", "ip", "X-Forwarded-For", "10.9.9.9"}, 403, "Not authorized"},
		{"forged Forwarded and X-Real-IP", snap, []string{"Authorization", "ip", "Forwarded", "for=10.9.9.9", "X-Real-IP", "10.9.9.9"}, 403, "Not authorized"},
		{"corrupt byte", corrupt, []string{"Authorization", adminAuth}, 400, "digest"},
		{"truncated", snap[:len(snap)/2], []string{"Authorization", adminAuth}, 400, "snapshot: reading"},
		{"not a snapshot", []byte("PK\x03\x04 a zip file"), []string{"Authorization", adminAuth}, 400, "not start with a zkd snapshot header"},
		{"empty body", nil, []string{"Authorization", adminAuth}, 400, "needs the snapshot as the request body"},
	}
	for _, tt := range refused {
		code, m := restoreVia(t, s, tt.body, tt.headers...)
		if code != tt.want || !strings.Contains(fmt.Sprint(m["error"]), tt.reason) {
			t.Errorf("%s: got %d %v, want %d and an error containing %q", tt.name, code, m["error"], tt.want, tt.reason)
		}
		if got, _, _ := treeState(s); got != changed {
			t.Fatalf("%s: a refused restore changed the state", tt.name)
		}
	}

	// go-zookeeper drops events while its small channel is full: empty it
	// so the expiry is not lost behind the reconnection's events.
	for len(lateEvents) > 0 {
		<-lateEvents
	}
	code, m := restoreVia(t, s, snap, "Authorization", adminAuth)
	if code != 200 {
		t.Fatalf("restore: got %d %v, want 200", code, m)
	}
	zxid := replyZxid(t, m)
	got, gotDigest, last := treeState(s)
	if got != want || gotDigest != wantDigest {
		t.Errorf("restored state (digest %#x):\n%s\nwant (digest %#x):\n%s", gotDigest, got, wantDigest, want)
	}
	if zxid != before+1 || last != zxid {
		t.Errorf("zxids: reply %#x, server %#x; want both the next after %#x", zxid, last, before)
	}
	// The expiry tracker follows the restored session table.
	if ids := s.tracker.IDs(); len(ids) != 1 || ids[0] != c.SessionID() {
		t.Errorf("tracked sessions after the restore: got %x, want only the snapshot's %x", ids, c.SessionID())
	}
	if mntr := fourLetter(t, s, "mntr"); !strings.Contains(mntr, fmt.Sprintf("zk_tree_digest\t%d\n", int64(wantDigest))) {
		t.Errorf("mntr lacks zk_tree_digest %d:\n%s", int64(wantDigest), mntr)
	}

	// Every client was disconnected. The session the snapshot knows
	// comes back; the later one learns that it expired.
	waitFor(t, 10*time.Second, "the restored session is usable again", func() bool {
		data, _, err := c.Get("/a")
		return err == nil && string(data) == "data of /a"
	})
	if _, _, err := c.Get("/a/eph"); err != nil {
		t.Errorf("the restored session's ephemeral: %v", err)
	}
	expired := false
	for deadline := time.After(10 * time.Second); !expired; {
		select {
		case ev := <-lateEvents:
			expired = ev.State == zk.StateExpired
		case <-deadline:
			t.Fatal("the session created after the snapshot was not expired within 10s")
		}
	}
	if got, _, _ := treeState(s); strings.Contains(got, "/a/late") {
		t.Errorf("/a/late, owned by a session the snapshot did not have, survived")
	}
	late.Close()

	// The restore is in the log: a restart replays it.
	opts := s.opts
	s.Close()
	again := New(opts, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := again.Start(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer again.Close()
	if _, digest, z := treeState(again); digest != wantDigest || z < zxid {
		t.Errorf("after a restart: digest %#x zxid %#x, want %#x and at least %#x", digest, z, wantDigest, zxid)
	}
}

func TestAdminRestoreRefusals(t *testing.T) {
	t.Run("disabled", func(t *testing.T) {
		s := startAdminServer(t, enableAdmin, func(o *config.Options) { o.AdminRestoreEnabled = false })
		snap := downloadSnapshot(t, s)
		code, m := restoreVia(t, s, snap, "Authorization", adminAuth)
		if code != http.StatusServiceUnavailable || !strings.Contains(fmt.Sprint(m["error"]), "admin.restore.enabled=false") {
			t.Errorf("got %d %v, want 503 naming admin.restore.enabled=false", code, m["error"])
		}
	})
	t.Run("rate limited", func(t *testing.T) {
		s := startAdminServer(t, enableAdmin, func(o *config.Options) { o.AdminRateLimit = time.Hour })
		snap := downloadSnapshot(t, s)
		if code, m := restoreVia(t, s, snap, "Authorization", adminAuth); code != 200 {
			t.Fatalf("first restore: got %d %v", code, m)
		}
		if code, _ := restoreVia(t, s, snap, "Authorization", adminAuth); code != http.StatusTooManyRequests {
			t.Errorf("second restore within the hour: got %d, want 429", code)
		}
	})
	t.Run("too large", func(t *testing.T) {
		s := startAdminServer(t, enableAdmin)
		_, digest, _ := treeState(s)
		limit := fmt.Sprint(fsm.MaxRestoreBytes)
		// Declared too large: refused before a byte of the body is read.
		req, err := http.NewRequest("POST", adminURL(s, "/commands/restore"), io.LimitReader(zeros{}, fsm.MaxRestoreBytes+1))
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = fsm.MaxRestoreBytes + 1
		req.Header.Set("Authorization", adminAuth)
		if resp, err := httpClient.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), limit) {
				t.Errorf("declared too large: got %d %s, want 413 naming %s", resp.StatusCode, b, limit)
			}
		} else if !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "broken pipe") {
			// The server may answer and close before the client has
			// sent the body; anything else is a failure.
			t.Errorf("declared too large: %v", err)
		}
		// Sent without a length: the server stops reading at the limit.
		req, err = http.NewRequest("POST", adminURL(s, "/commands/restore"), io.MultiReader(bytes.NewReader(downloadSnapshot(t, s)), io.LimitReader(zeros{}, fsm.MaxRestoreBytes)))
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = -1 // chunked
		req.Header.Set("Authorization", adminAuth)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), limit) {
			t.Errorf("chunked, too large: got %d %s, want 413 naming %s", resp.StatusCode, b, limit)
		}
		if _, d, _ := treeState(s); d != digest {
			t.Errorf("an oversized restore changed the state")
		}
	})
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestAdminRestoreEnsemble(t *testing.T) {
	e := startEnsemble(t, 3, 0, enableAdmin)
	leader := e.waitLeader()
	f := e.follower()
	c, _ := connect(t, e.servers[f])
	open := zk.WorldACL(zk.PermAll)
	// Big nodes make the snapshot, so the restore entry, larger than
	// raft's 1 MiB MaxSizePerMsg: it must travel alone in an append.
	big := bytes.Repeat([]byte("z"), 600<<10)
	for i := range 3 {
		if _, err := c.Create(fmt.Sprintf("/big%d", i), big, 0, open); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Create("/cfg", []byte("v1"), 0, open); err != nil {
		t.Fatal(err)
	}
	e.converge()
	snap := downloadSnapshot(t, e.servers[leader])
	if len(snap) <= 1<<20 {
		t.Fatalf("snapshot of %d bytes; the test needs one over 1 MiB", len(snap))
	}
	want, wantDigest, _ := treeState(e.servers[leader])

	if _, err := c.Set("/cfg", []byte("v2"), -1); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("/big1", -1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("/new", nil, 0, open); err != nil {
		t.Fatal(err)
	}
	e.converge()

	// Through a follower: the entry is forwarded to the leader.
	code, m := restoreVia(t, e.servers[f], snap, "Authorization", adminAuth)
	if code != 200 {
		t.Fatalf("restore through follower %d: got %d %v", f+1, code, m)
	}
	zxid := replyZxid(t, m)
	e.converge()
	for i, s := range e.servers {
		got, digest, last := treeState(s)
		if digest != wantDigest || got != want {
			t.Errorf("server %d: digest %#x, want %#x; state:\n%s\nwant:\n%s", i+1, digest, wantDigest, got, want)
		}
		if last < zxid {
			t.Errorf("server %d: last zxid %#x, before the restore's %#x", i+1, last, zxid)
		}
		if ids := s.tracker.IDs(); len(ids) != 1 || ids[0] != c.SessionID() {
			t.Errorf("server %d: tracked sessions %x, want only the snapshot's %x", i+1, ids, c.SessionID())
		}
	}
	waitFor(t, 10*time.Second, "the client reconnected and reads the restored data", func() bool {
		data, _, err := c.Get("/cfg")
		return err == nil && string(data) == "v1"
	})

	// A restarted member replays the restore from its log.
	e.stop(f)
	if err := e.start(f); err != nil {
		t.Fatal(err)
	}
	e.converge()
	if _, digest, _ := treeState(e.servers[f]); digest != wantDigest {
		t.Errorf("restarted server %d: digest %#x, want %#x", f+1, digest, wantDigest)
	}
}

// A client whose watch was set on state a restore replaced gets it fired on
// reconnection, though the restored node's mzxid is older than the zxid the
// client last saw: it cannot tell otherwise that what it read is gone.
func TestAdminRestoreFiresResentWatches(t *testing.T) {
	s := startAdminServer(t, enableAdmin)
	c, _ := connect(t, s)
	watcher, _ := connect(t, s) // its session is in the snapshot, so it resumes
	if _, err := c.Create("/w", []byte("v1"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	snap := downloadSnapshot(t, s)
	if _, err := c.Set("/w", []byte("v2"), -1); err != nil {
		t.Fatal(err)
	}
	data, _, ch, err := watcher.GetW("/w")
	if err != nil || string(data) != "v2" {
		t.Fatalf("getW /w: got %q, %v; want v2", data, err)
	}
	if code, reply := restoreVia(t, s, snap, "Authorization", adminAuth); code != 200 {
		t.Fatalf("restore: got %d %v, want 200", code, reply)
	}
	select {
	case ev := <-ch:
		if ev.Type != zk.EventNodeDataChanged || ev.Path != "/w" {
			t.Fatalf("after the restore: got %+v, want NodeDataChanged on /w", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watch set on replaced data never fired after the restore")
	}
	if data, _, err := watcher.Get("/w"); err != nil || string(data) != "v1" {
		t.Fatalf("get /w after the restore: got %q, %v; want v1", data, err)
	}
}

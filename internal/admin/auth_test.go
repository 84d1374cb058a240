package admin

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/zkd-io/zkd/internal/tree"
)

func adminDigest() string { return "digest:" + tree.DigestID("admin:secret") }

func TestSnapshotAuth(t *testing.T) {
	src := standaloneSource()
	src.allow = []string{adminDigest(), "ip:10.1.2.3"}
	h := newTestServer(src).AdminHandler()
	tests := []struct {
		name    string
		headers []string
		want    int
		err     string
	}{
		{"no header", nil, 401, authMissing},
		{"unknown scheme", []string{"Authorization", "Basic YWRtaW46c2VjcmV0"}, 401, notAuthenticated},
		{"digest without credentials", []string{"Authorization", "digest"}, 401, notAuthenticated},
		{"three parts", []string{"Authorization", "digest admin:se cret"}, 401, notAuthenticated},
		{"wrong password", []string{"Authorization", "digest admin:wrong"}, 403, notAuthorized},
		{"other user", []string{"Authorization", "digest bob:secret"}, 403, notAuthorized},
		{"right password", []string{"Authorization", "digest admin:secret"}, 200, ""},
		// ip proves the TCP peer only; a forged proxy header changes nothing.
		{"ip, forwarded-for ignored", []string{"Authorization", "ip", "RemoteAddr", "127.0.0.1:5000",
			"X-Forwarded-For", "10.1.2.3", "X-Real-IP", "10.1.2.3", "Forwarded", "for=10.1.2.3"}, 403, notAuthorized},
		{"ip from the allowed peer", []string{"Authorization", "ip", "RemoteAddr", "10.1.2.3:5000"}, 200, ""},
		{"ip from a mapped IPv6 peer", []string{"Authorization", "ip", "RemoteAddr", "[::ffff:10.1.2.3]:5000"}, 200, ""},
	}
	for _, tt := range tests {
		rec := do(h, "GET", "/commands/snapshot", nil, tt.headers...)
		if rec.Code != tt.want {
			t.Errorf("%s: got status %d, want %d; body %s", tt.name, rec.Code, tt.want, rec.Body)
			continue
		}
		if tt.want == 200 {
			if got := rec.Body.String(); got != string(src.snapData) {
				t.Errorf("%s: got body %q, want the snapshot", tt.name, got)
			}
			continue
		}
		m := decode(t, rec.Body.Bytes())
		if m["command"] != "snapshot" || m["error"] != tt.err {
			t.Errorf("%s: got %v, want command snapshot and error %q", tt.name, m, tt.err)
		}
	}
}

func TestSnapshotStream(t *testing.T) {
	src := standaloneSource()
	src.allow = []string{adminDigest()}
	tmp := t.TempDir()
	h := newTestServer(src, func(c *Config) { c.TempDir = tmp }).AdminHandler()
	rec := do(h, "GET", "/commands/snap", nil, "Authorization", "digest admin:secret")
	if rec.Code != 200 {
		t.Fatalf("got status %d, want 200; %s", rec.Code, rec.Body)
	}
	for k, want := range map[string]string{
		"last_zxid":      "0x100000003",
		"snapshot_size":  fmt.Sprint(len(src.snapData)),
		"Content-Length": fmt.Sprint(len(src.snapData)),
		"Content-Type":   "application/octet-stream",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("header %s: got %q, want %q", k, got, want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) != 0 {
		t.Errorf("temporary files left after the download: %v", left)
	}
	// ZooKeeper's streaming=false keeps the snapshot on the server; zkd cannot.
	rec = do(h, "GET", "/commands/snapshot?streaming=false", nil, "Authorization", "digest admin:secret")
	if rec.Code != http.StatusNotImplemented {
		t.Errorf("streaming=false: got %d, want 501", rec.Code)
	}
	if rec = do(h, "GET", "/commands/snapshot?streaming=TRUE", nil, "Authorization", "digest admin:secret"); rec.Code != 200 {
		t.Errorf("streaming=TRUE: got %d, want 200", rec.Code)
	}
}

func TestSnapshotDisabledAndRateLimited(t *testing.T) {
	src := standaloneSource()
	src.allow = []string{adminDigest()}
	auth := []string{"Authorization", "digest admin:secret"}

	off := newTestServer(src, func(c *Config) { c.SnapshotEnabled, c.RestoreEnabled = false, false }).AdminHandler()
	if rec := do(off, "GET", "/commands/snapshot", nil, auth...); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("disabled snapshot: got %d, want 503", rec.Code)
	}
	if rec := do(off, "POST", "/commands/restore", []byte("x"), auth...); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("disabled restore: got %d, want 503", rec.Code)
	}
	// Authentication comes first, as in ZooKeeper.
	if rec := do(off, "GET", "/commands/snapshot", nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("disabled snapshot without auth: got %d, want 401", rec.Code)
	}

	srv := newTestServer(src, func(c *Config) { c.RateLimit = time.Minute })
	now := time.Unix(1000, 0)
	srv.snapLimit.now = func() time.Time { return now }
	srv.restLimit.now = func() time.Time { return now }
	h := srv.AdminHandler()
	steps := []struct {
		advance time.Duration
		want    int
	}{{0, 200}, {0, 429}, {59 * time.Second, 429}, {time.Second, 200}, {time.Second, 429}}
	for i, st := range steps {
		now = now.Add(st.advance)
		if rec := do(h, "GET", "/commands/snapshot", nil, auth...); rec.Code != st.want {
			t.Errorf("snapshot step %d: got %d, want %d", i, rec.Code, st.want)
		}
	}
	// Refused requests (auth) do not use up the allowance of the limiter.
	now = now.Add(time.Hour)
	do(h, "GET", "/commands/snapshot", nil, "Authorization", "digest admin:wrong")
	if rec := do(h, "GET", "/commands/snapshot", nil, auth...); rec.Code != 200 {
		t.Errorf("snapshot after a refused one: got %d, want 200", rec.Code)
	}
	// Restore has its own limiter.
	if rec := do(h, "POST", "/commands/restore", []byte("data"), auth...); rec.Code != 200 {
		t.Errorf("first restore: got %d, want 200", rec.Code)
	}
	if rec := do(h, "POST", "/commands/restore", []byte("data"), auth...); rec.Code != http.StatusTooManyRequests {
		t.Errorf("second restore: got %d, want 429", rec.Code)
	}
}

func TestRestore(t *testing.T) {
	auth := []string{"Authorization", "digest admin:secret"}
	tests := []struct {
		name       string
		canRestore error
		restoreErr error
		body       []byte
		headers    []string
		want       int
	}{
		{"no auth", nil, nil, []byte("s"), nil, 401},
		{"wrong password", nil, nil, []byte("s"), []string{"Authorization", "digest admin:x"}, 403},
		{"empty body", nil, nil, nil, auth, 400},
		{"unsupported", fmt.Errorf("%w: standalone only", ErrNotSupported), nil, []byte("s"), auth, 501},
		{"bad snapshot", nil, errors.New("snapshot: bad magic"), []byte("s"), auth, 500},
		{"ok", nil, nil, []byte("snapshot data"), auth, 200},
	}
	for _, tt := range tests {
		src := standaloneSource()
		src.allow = []string{adminDigest()}
		src.canRestore, src.restoreErr = tt.canRestore, tt.restoreErr
		rec := do(newTestServer(src).AdminHandler(), "POST", "/commands/restore", tt.body, tt.headers...)
		if rec.Code != tt.want {
			t.Errorf("%s: got %d, want %d; %s", tt.name, rec.Code, tt.want, rec.Body)
			continue
		}
		m := decode(t, rec.Body.Bytes())
		if m["command"] != "restore" {
			t.Errorf("%s: got command %v, want restore", tt.name, m["command"])
		}
		if tt.want != 200 {
			if m["error"] == nil {
				t.Errorf("%s: got error null, want a reason", tt.name)
			}
			if tt.want != 500 && src.restored != nil {
				t.Errorf("%s: the snapshot was restored", tt.name)
			}
			continue
		}
		if string(src.restored) != "snapshot data" || m["last_zxid"] == nil {
			t.Errorf("%s: restored %q, reply %v", tt.name, src.restored, m)
		}
	}
}

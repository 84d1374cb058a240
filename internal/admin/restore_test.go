package admin

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRestoreErrorStatuses(t *testing.T) {
	auth := []string{"Authorization", "digest admin:secret"}
	tests := []struct {
		name       string
		canRestore error
		restoreErr error
		want       int
	}{
		{"bad snapshot", nil, fmt.Errorf("%w: snapshot: bad magic", ErrBadSnapshot), http.StatusBadRequest},
		{"too large", nil, fmt.Errorf("%w: over 63 MiB", ErrTooLarge), http.StatusRequestEntityTooLarge},
		{"no quorum", fmt.Errorf("%w: no leader", ErrUnavailable), nil, http.StatusServiceUnavailable},
		{"failed while applying", nil, fmt.Errorf("%w: lost with the leader", ErrUnavailable), http.StatusServiceUnavailable},
		{"other failure", nil, fmt.Errorf("disk on fire"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		src := standaloneSource()
		src.allow = []string{adminDigest()}
		src.canRestore, src.restoreErr = tt.canRestore, tt.restoreErr
		rec := do(newTestServer(src).AdminHandler(), "POST", "/commands/restore", []byte("snapshot"), auth...)
		if rec.Code != tt.want {
			t.Errorf("%s: got %d, want %d; %s", tt.name, rec.Code, tt.want, rec.Body)
			continue
		}
		want := tt.restoreErr
		if want == nil {
			want = tt.canRestore
		}
		if m := decode(t, rec.Body.Bytes()); !strings.Contains(fmt.Sprint(m["error"]), want.Error()) {
			t.Errorf("%s: got error %v, want it to contain %q", tt.name, m["error"], want)
		}
	}
}

func TestRestoreDeclaredTooLarge(t *testing.T) {
	src := standaloneSource()
	src.allow = []string{adminDigest()}
	srv := newTestServer(src, func(c *Config) { c.MaxRestoreBytes, c.RateLimit = 8, time.Hour })
	h := srv.AdminHandler()
	auth := []string{"Authorization", "digest admin:secret"}
	rec := do(h, "POST", "/commands/restore", []byte("123456789"), auth...)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("9 bytes over a limit of 8: got %d, want 413; %s", rec.Code, rec.Body)
	}
	if m := decode(t, rec.Body.Bytes()); !strings.Contains(fmt.Sprint(m["error"]), "at most 8") {
		t.Errorf("got error %v, want it to name the limit", m["error"])
	}
	if src.restored != nil {
		t.Errorf("an oversized snapshot reached the source")
	}
	// The refusal did not use up the rate limit.
	if rec := do(h, "POST", "/commands/restore", []byte("12345678"), auth...); rec.Code != 200 {
		t.Errorf("8 bytes after a refused upload: got %d, want 200; %s", rec.Code, rec.Body)
	}
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// entries lists a history newest first, as the terminal sees it.
func entries(h *history) []string {
	var out []string
	for i := 0; i < h.Len(); i++ {
		out = append(out, h.At(i))
	}
	return out
}

func TestHistoryInMemory(t *testing.T) {
	h, err := loadHistory("", 3)
	if err != nil {
		t.Fatalf("loadHistory(\"\"): %v", err)
	}
	for _, l := range []string{"ls /", "  ", "ls /", " get /a ", "addauth digest u:p", "stat /", "sync /"} {
		h.Add(l)
	}
	if got, want := entries(h), []string{"sync /", "stat /", "addauth digest u:p"}; !slices.Equal(got, want) {
		t.Errorf("entries: got %q, want %q", got, want)
	}
	for _, i := range []int{-1, 3} {
		if got := h.At(i); got != "" {
			t.Errorf("At(%d): got %q, want \"\"", i, got)
		}
	}
	if err := h.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestHistoryFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hist")
	h, err := loadHistory(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"a", "b", "addauth digest u:secret", "c", "d"} {
		h.Add(l)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("history file mode: got %v, want 0600", perm)
	}
	b, _ := os.ReadFile(path)
	if got, want := string(b), "a\nb\nc\nd\n"; got != want {
		t.Errorf("file after one session: got %q, want %q (addauth never written)", got, want)
	}
	// The next session reads the last 3 lines and cuts the file to them.
	h, err = loadHistory(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := entries(h), []string{"d", "c", "b"}; !slices.Equal(got, want) {
		t.Errorf("entries after reload: got %q, want %q", got, want)
	}
	h.Add("e")
	h.Close()
	b, _ = os.ReadFile(path)
	if got, want := string(b), "b\nc\nd\ne\n"; got != want {
		t.Errorf("file after the second session: got %q, want %q", got, want)
	}
}

// TestHistoryBigFile checks that a file far beyond the bounds is read from
// its tail only, and cut back.
func TestHistoryBigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hist")
	var b strings.Builder
	for i := 0; b.Len() < 2*historyReadBytes; i++ {
		fmt.Fprintf(&b, "get /node-%07d\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := loadHistory(path, historyMax)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	all := strings.Split(strings.TrimSpace(b.String()), "\n")
	if h.Len() != historyMax || h.At(0) != all[len(all)-1] || h.At(historyMax-1) != all[len(all)-historyMax] {
		t.Errorf("entries: got %d, newest %q, oldest %q; want %d, %q, %q", h.Len(), h.At(0), h.At(h.Len()-1), historyMax, all[len(all)-1], all[len(all)-historyMax])
	}
	got, _ := os.ReadFile(path)
	if n := strings.Count(string(got), "\n"); n != historyMax {
		t.Errorf("file cut to %d lines, want %d", n, historyMax)
	}
}

func TestHistoryUnwritable(t *testing.T) {
	h, err := loadHistory(filepath.Join(t.TempDir(), "missing", "hist"), 3)
	if err == nil {
		t.Errorf("loadHistory in a missing directory: got no error")
	}
	h.Add("ls /") // still works in memory
	if got := entries(h); !slices.Equal(got, []string{"ls /"}) {
		t.Errorf("entries: got %q, want [ls /]", got)
	}
	h.Close()
}

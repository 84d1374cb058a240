package main

import (
	"slices"
	"strings"
	"testing"
)

// tree is the znode tree the completion tests list children from.
var tree = map[string][]string{
	"/":          {"zookeeper", "app1", "app2", "apple", "my node", "αβγ", "αβδ", `q"x y`},
	"/zookeeper": {"quota", "config"},
	"/app1":      {"x"},
}

func children(parent string) []string { return tree[parent] }

func TestComplete(t *testing.T) {
	names := commandNames()
	const end = -1 // cursor at the end of the line
	tests := []struct {
		line  string
		pos   int
		want  string // the line after Tab, with | at the cursor
		cands []string
	}{
		// Command names, first word only.
		{"cr", end, "create |", nil},
		{"getAc", end, "getAcl |", nil},
		{"  dele", end, "  delete|", nil}, // delete, deleteall: common prefix
		{"getA", end, "getA|", []string{"getAcl", "getAllChildrenNumber"}},
		{"xyz", end, "xyz|", nil},
		{"cr /a", 2, "create| /a", nil}, // a space follows already
		{"", end, "|", names},
		// Paths.
		{"ls /zoo", end, "ls /zookeeper|", nil},
		{"ls /zookeeper/q", end, "ls /zookeeper/quota|", nil},
		{"ls /zookeeper/", end, "ls /zookeeper/|", []string{"config", "quota"}},
		{"get -s /app1/", end, "get -s /app1/x|", nil},
		{"ls /a", end, "ls /app|", nil},
		{"ls /app", end, "ls /app|", []string{"app1", "app2", "apple"}},
		{"ls /zoo -s", 7, "ls /zookeeper| -s", nil},
		{"ls /nope/x", end, "ls /nope/x|", nil},
		{"ls /α", end, "ls /αβ|", nil}, // never half a rune
		// Quoting: names with spaces, and an open quote kept.
		{"ls /my", end, `ls "/my node"|`, nil},
		{`ls "/my`, end, `ls "/my node"|`, nil},
		{`ls '/my`, end, `ls '/my node'|`, nil},
		{`ls /q`, end, `ls '/q"x y'|`, nil},
		{`get "/app1"`, end, `get "/app1"|`, nil}, // closed quote: complete
		// Not completed: data, flags, empty words, cursor out of range.
		{"create /a b", end, "create /a b|", nil},
		{"ls ", end, "ls |", nil},
		{"ls -", end, "ls -|", nil},
		{"ls /zoo", 99, "ls /zoo", nil},
	}
	for _, tc := range tests {
		pos := tc.pos
		if pos == end {
			pos = len(tc.line)
		}
		c := complete(tc.line, pos, names, children)
		got := c.line
		if c.pos >= 0 && c.pos <= len(c.line) && pos <= len(tc.line) {
			got = c.line[:c.pos] + "|" + c.line[c.pos:]
		}
		if got != tc.want || !slices.Equal(c.candidates, tc.cands) {
			t.Errorf("complete(%q, %d): got %q candidates %q, want %q candidates %q", tc.line, tc.pos, got, c.candidates, tc.want, tc.cands)
		}
	}
}

// TestCompletedLinesTokenize checks that a completed path survives the
// tokenizer as one argument, spaces and quotes included.
func TestCompletedLinesTokenize(t *testing.T) {
	for _, prefix := range []string{"ls /my", "ls /q", `ls "/my`} {
		c := complete(prefix, len(prefix), nil, children)
		toks := tokenize(c.line)
		if len(toks) != 2 || !slices.Contains([]string{"/my node", `/q"x y`}, toks[1]) {
			t.Errorf("tokenize(%q) after completing %q: got %q, want [ls <a child of />]", c.line, prefix, toks)
		}
	}
}

func TestFormatCandidates(t *testing.T) {
	many := make([]string, maxShown+5)
	for i := range many {
		many[i] = "n"
	}
	tests := []struct {
		cands []string
		width int
		want  string
	}{
		{[]string{"a", "bb", "ccc"}, 80, "a    bb   ccc\n"},
		{[]string{"a", "bb", "ccc"}, 10, "a    bb\nccc\n"},
		{[]string{"a", "bb"}, 0, "a\nbb\n"},
		{[]string{"αβ", "c"}, 8, "αβ  c\n"},
	}
	for _, tc := range tests {
		if got := formatCandidates(tc.cands, tc.width); got != tc.want {
			t.Errorf("formatCandidates(%q, %d): got %q, want %q", tc.cands, tc.width, got, tc.want)
		}
	}
	got := formatCandidates(many, 80)
	n := 0
	for _, f := range strings.Fields(got) {
		if f == "n" {
			n++
		}
	}
	if n != maxShown || !strings.HasSuffix(got, "\n... and 5 more\n") {
		t.Errorf("formatCandidates(%d names): got %d names shown and tail %q, want %d and \"... and 5 more\"", len(many), n, got[max(len(got)-20, 0):], maxShown)
	}
}

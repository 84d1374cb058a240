package main

import (
	"strings"
	"testing"
)

// FuzzCommandLine runs arbitrary lines through the tokenizer, every
// command's option parser and Tab completion: no input may panic, and
// tokens never hold more than the line.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{"ls /zoo", `get "/my`, "ls /α", "cr", "ls -s -w /a", `create -t 5 /x "a b" world:anyone:r`, "setAcl -R -v", "reconfig -file", "-", "--", `'`, `"x" '`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		toks := tokenize(line)
		n := 0
		for _, tok := range toks {
			n += len(tok)
		}
		if n > len(line) {
			t.Fatalf("tokens of %q hold %d bytes, more than the line", line, n)
		}
		for _, c := range commands {
			p, err := parseOptions(c.opts, toks)
			if err == nil && len(p.args) > len(toks) {
				t.Fatalf("%q: %d args from %d tokens", line, len(p.args), len(toks))
			}
		}
		// Completion keeps the text after the cursor and puts the cursor
		// right before it, whatever the line.
		for _, pos := range []int{0, len(line) / 2, len(line)} {
			c := complete(line, pos, commandNames(), children)
			if c.pos < 0 || c.pos > len(c.line) || c.line[c.pos:] != line[pos:] {
				t.Fatalf("complete(%q, %d): got %q with cursor %d, want the text after the cursor kept", line, pos, c.line, c.pos)
			}
		}
		parseACL(line, &strings.Builder{})
		_ = parseStatsTrack(line).String()
		clientConfig(line)
	})
}

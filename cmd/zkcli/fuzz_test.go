package main

import (
	"strings"
	"testing"
)

// FuzzCommandLine runs arbitrary lines through the tokenizer and every
// command's option parser: no input may panic, and tokens never hold more
// than the line.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{"ls -s -w /a", `create -t 5 /x "a b" world:anyone:r`, "setAcl -R -v", "reconfig -file", "-", "--", `'`, `"x" '`} {
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
		parseACL(line, &strings.Builder{})
		_ = parseStatsTrack(line).String()
		clientConfig(line)
	})
}

package main

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// completion is what Tab does to a line: the new line and cursor (a byte
// offset), and the candidates to show when the word could not be extended.
type completion struct {
	line       string
	pos        int
	candidates []string
}

// complete completes the word before the cursor at pos (a byte offset in
// line): a command name from names when it is the first word, a znode path
// when it starts with "/", nothing otherwise. For a path, children returns
// the sorted child names of a parent path (nil when unknown); complete
// itself does no I/O, so it is tested with a map.
//
// One match replaces the word (a command gets a space after it); several
// are extended to their longest common prefix, and when that adds nothing
// they are returned as candidates (child names for paths). A word with
// whitespace is quoted as the tokenizer expects; an open quote before the
// cursor is kept and closed on a single match.
func complete(line string, pos int, names []string, children func(parent string) []string) completion {
	unchanged := completion{line: line, pos: pos}
	if pos < 0 || pos > len(line) {
		return unchanged
	}
	start, quote, ok := currentWord(line[:pos])
	if !ok {
		return unchanged
	}
	text := line[start:pos]
	if quote != 0 {
		text = text[1:]
	}
	first := strings.TrimSpace(line[:start]) == ""
	var full, shown []string // matching words, and what to list for each
	switch {
	case first && quote == 0:
		for _, n := range names {
			if strings.HasPrefix(n, text) {
				full = append(full, n)
			}
		}
		sort.Strings(full)
		shown = full
	case !first && strings.HasPrefix(text, "/"):
		i := strings.LastIndexByte(text, '/')
		parent, base := text[:i], text[i+1:]
		if parent == "" {
			parent = "/"
		}
		kids := append([]string(nil), children(parent)...)
		sort.Strings(kids)
		for _, k := range kids {
			if strings.HasPrefix(k, base) {
				full = append(full, text[:i+1]+k)
				shown = append(shown, k)
			}
		}
	}
	var word, suffix string
	closed := false
	switch {
	case len(full) == 0:
		return unchanged
	case len(full) == 1:
		word, closed = full[0], true
		if first && (pos == len(line) || !isSpace(line[pos])) {
			suffix = " "
		}
	default:
		word = commonPrefix(full)
		if len(word) <= len(text) {
			unchanged.candidates = shown
			return unchanged
		}
	}
	if quote == 0 && needsQuotes(word) {
		quote = '"'
		if strings.ContainsRune(word, '"') {
			quote = '\''
		}
	}
	if quote != 0 {
		word = string(quote) + word
		if closed {
			word += string(quote)
		}
	}
	out := line[:start] + word + suffix
	return completion{line: out + line[pos:], pos: len(out)}
}

// currentWord finds the word the cursor is in, tokenizing as tokenize
// does: its start, and the quote that opens it if it is an unterminated
// quoted string. ok is false right after a closing quote: that word is
// complete.
func currentWord(prefix string) (start int, quote byte, ok bool) {
	i := 0
	for i < len(prefix) {
		if isSpace(prefix[i]) {
			i++
			continue
		}
		s := i
		if q := prefix[i]; q == '"' || q == '\'' {
			end := strings.IndexByte(prefix[i+1:], q)
			if end < 0 {
				return s, q, true
			}
			i += end + 2
			if i == len(prefix) {
				return s, q, false
			}
			continue
		}
		for i < len(prefix) && !isSpace(prefix[i]) {
			i++
		}
		if i == len(prefix) {
			return s, 0, true
		}
	}
	return len(prefix), 0, true
}

// needsQuotes reports whether a word would not survive tokenize unquoted.
func needsQuotes(w string) bool {
	if w != "" && (w[0] == '"' || w[0] == '\'') {
		return true
	}
	return strings.IndexFunc(w, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) }) >= 0
}

func commonPrefix(words []string) string {
	p := words[0]
	for _, w := range words[1:] {
		n := 0
		for n < len(p) && n < len(w) && p[n] == w[n] {
			n++
		}
		p = p[:n]
	}
	// Never end in half a UTF-8 sequence: the terminal edits runes.
	for !utf8.ValidString(p) {
		p = p[:len(p)-1]
	}
	return p
}

// maxShown bounds the candidates listed under the prompt: a node with a
// million children must not flood the terminal.
const maxShown = 200

// formatCandidates lays candidates out in columns that fit width, at most
// maxShown of them, then says how many were left out.
func formatCandidates(cands []string, width int) string {
	more := 0
	if len(cands) > maxShown {
		cands, more = cands[:maxShown], len(cands)-maxShown
	}
	colw := 0
	for _, c := range cands {
		colw = max(colw, len([]rune(c))+2)
	}
	cols := 1
	if width > 0 && colw > 0 {
		cols = max(width/colw, 1)
	}
	var b strings.Builder
	for i, c := range cands {
		b.WriteString(c)
		if (i+1)%cols == 0 || i == len(cands)-1 {
			b.WriteString("\n")
		} else {
			b.WriteString(strings.Repeat(" ", colw-len([]rune(c))))
		}
	}
	if more > 0 {
		b.WriteString("... and " + strconv.Itoa(more) + " more\n")
	}
	return b.String()
}

package config

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// property is one key/value pair of a properties file, trimmed as ZooKeeper
// trims them, with the line its logical line starts on.
type property struct {
	key, value string
	line       int
}

// errMalformedEscape mirrors Java's "Malformed \uxxxx encoding." failure.
var errMalformedEscape = errors.New(`malformed \uXXXX escape`)

// parseProperties reads data the way java.util.Properties.load does (see the
// package doc) and returns the pairs in file order. Warnings flag escapes
// that Java accepts but that usually mean a mistake (a Windows path whose
// backslashes Java silently drops).
func parseProperties(data []byte) ([]property, []string, *Error) {
	lines := physicalLines(data)
	var props []property
	var warnings []string
	for i := 0; i < len(lines); i++ {
		s := trimBlanks(lines[i])
		if s == "" || s[0] == '#' || s[0] == '!' {
			continue
		}
		start := i + 1
		var logical []byte
		for {
			if trailingBackslashes(s)%2 == 0 {
				logical = append(logical, s...)
				break
			}
			// Continuation: drop the backslash, then the next line's
			// leading blanks. A blank next line, or the end of the file,
			// ends the logical line.
			logical = append(logical, s[:len(s)-1]...)
			i++
			if i >= len(lines) {
				break
			}
			s = trimBlanks(lines[i])
			if s == "" {
				break
			}
			if len(logical) == 0 && (s[0] == '#' || s[0] == '!') {
				// Java 9+ treats this as a comment: nothing precedes it.
				s = ""
				break
			}
		}
		if len(logical) == 0 {
			continue
		}
		rawKey, rawValue := splitKeyValue(logical)
		key, kw, err := unescape(rawKey)
		if err != nil {
			return nil, nil, &Error{Line: start, Key: rawKey, Value: rawKey, Err: err,
				Allowed: `a valid \uXXXX escape (write \\ for a literal backslash)`}
		}
		key = javaTrim(key)
		value, vw, err := unescape(rawValue)
		if err != nil {
			return nil, nil, &Error{Line: start, Key: key, Value: rawValue, Err: err,
				Allowed: `a valid \uXXXX escape (write \\ for a literal backslash)`}
		}
		for _, c := range append(kw, vw...) {
			warnings = append(warnings, fmt.Sprintf(
				`warning: line %d: "\%c" becomes %q, as in Java; write \\ for a literal backslash`, start, c, c))
		}
		props = append(props, property{key: key, value: javaTrim(value), line: start})
	}
	return props, warnings, nil
}

// physicalLines splits on "\n", "\r\n" and "\r", the terminators Java knows.
func physicalLines(data []byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '\n':
			out = append(out, string(data[start:i]))
			start = i + 1
		case '\r':
			out = append(out, string(data[start:i]))
			if i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
			start = i + 1
		}
	}
	if start < len(data) {
		out = append(out, string(data[start:]))
	}
	return out
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

// trimBlanks drops the leading blanks Properties.load skips on every line.
func trimBlanks(s string) string {
	i := 0
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	return s[i:]
}

func trailingBackslashes(s string) int {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n
}

// splitKeyValue finds the key's end (the first unescaped '=', ':' or blank)
// and the value's start (after blanks and at most one '=' or ':').
func splitKeyValue(l []byte) (key, value string) {
	keyLen, valueStart := 0, len(l)
	hasSep, escaped := false, false
	for ; keyLen < len(l); keyLen++ {
		c := l[keyLen]
		if !escaped && (c == '=' || c == ':') {
			valueStart, hasSep = keyLen+1, true
			break
		}
		if !escaped && isBlank(c) {
			valueStart = keyLen + 1
			break
		}
		escaped = c == '\\' && !escaped
	}
	for ; valueStart < len(l); valueStart++ {
		c := l[valueStart]
		if isBlank(c) {
			continue
		}
		if !hasSep && (c == '=' || c == ':') {
			hasSep = true
			continue
		}
		break
	}
	return string(l[:keyLen]), string(l[valueStart:])
}

// unescape applies Java's loadConvert. It returns the characters whose
// escaping backslash was dropped although they had no need of one.
func unescape(s string) (string, []byte, error) {
	if strings.IndexByte(s, '\\') < 0 {
		return s, nil, nil
	}
	var b strings.Builder
	var dropped []byte
	var high rune // pending UTF-16 high surrogate from a \u escape
	flushHigh := func() {
		if high != 0 {
			b.WriteRune(utf8.RuneError)
			high = 0
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			flushHigh()
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			break // a lone trailing backslash cannot survive line joining; drop it
		}
		c = s[i]
		if c != 'u' {
			flushHigh()
			switch c {
			case 't':
				b.WriteByte('\t')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 'f':
				b.WriteByte('\f')
			default:
				if !strings.ContainsRune(`\ :=#!"'`, rune(c)) {
					dropped = append(dropped, c)
				}
				b.WriteByte(c)
			}
			continue
		}
		if i+5 > len(s) {
			return "", nil, errMalformedEscape
		}
		var r rune
		for _, h := range []byte(s[i+1 : i+5]) {
			d, ok := hexDigit(h)
			if !ok {
				return "", nil, errMalformedEscape
			}
			r = r<<4 | d
		}
		i += 4
		switch {
		case utf16.IsSurrogate(r) && r < 0xDC00:
			flushHigh()
			high = r
		case utf16.IsSurrogate(r) && high != 0:
			b.WriteRune(utf16.DecodeRune(high, r))
			high = 0
		default:
			flushHigh()
			b.WriteRune(r) // a lone low surrogate becomes U+FFFD
		}
	}
	flushHigh()
	return b.String(), dropped, nil
}

func hexDigit(c byte) (rune, bool) {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0'), true
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return rune(c-'A') + 10, true
	}
	return 0, false
}

// javaTrim is String.trim: it strips every character <= ' ' at both ends.
func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

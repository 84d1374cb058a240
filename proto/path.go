package proto

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// ErrInvalidPath is matched (errors.Is) by every error ValidatePath returns.
var ErrInvalidPath = errors.New("invalid path")

// pathError carries ZooKeeper's exact message for an invalid path.
type pathError struct{ msg string }

func (e *pathError) Error() string        { return e.msg }
func (e *pathError) Is(target error) bool { return target == ErrInvalidPath }

// ValidatePath applies the rules of ZooKeeper's PathUtils.validatePath and
// returns an error with ZooKeeper's message, or nil. A path must be
// non-empty, start with '/', not end with '/' (unless it is "/"), and have
// no empty, "." or ".." node names; it must not contain U+0000, U+0001-
// U+001F, U+007F-U+009F, U+D800-U+F8FF or U+FFF0-U+FFFF. Because Java
// checks UTF-16 units, any character outside the BMP (a surrogate pair) is
// invalid, and so is invalid UTF-8 (Java decodes it to U+FFFD). Positions in
// messages ("@N") count UTF-16 units, as Java does.
//
// With sequential set, path+"1" is checked instead, because the server
// appends a counter: "/a/" is a valid sequential prefix.
func ValidatePath(path string, sequential bool) error {
	if sequential {
		path += "1"
	}
	if len(path) == 0 {
		return &pathError{"Path length must be > 0"}
	}
	if path[0] != '/' {
		return &pathError{"Path must start with / character"}
	}
	if len(path) == 1 {
		return nil
	}
	if path[len(path)-1] == '/' {
		return &pathError{"Path must not end with / character"}
	}
	// prev2 and prev are the two characters before c; the path starts
	// with '/'. u is c's UTF-16 index, the position Java reports.
	prev2, prev := rune(0), rune('/')
	u := 1
	for b := 1; b < len(path); {
		c, size := utf8.DecodeRuneInString(path[b:])
		b += size
		// next is the character after c, or '/' at the end of the path: both
		// end a node name, which is all the "." rules need to know.
		next := byte('/')
		if b < len(path) {
			next = path[b]
		}
		reason := ""
		switch {
		case c == 0:
			reason = "null character not allowed @"
		case c == '/' && prev == '/':
			reason = "empty node name specified @"
		case c == '.' && prev == '.':
			if prev2 == '/' && next == '/' {
				reason = "relative paths not allowed @"
			}
		case c == '.':
			if prev == '/' && next == '/' {
				reason = "relative paths not allowed @"
			}
		case c <= 0x1f, c >= 0x7f && c <= 0x9f, c >= 0xd800 && c <= 0xf8ff, c >= 0xfff0:
			// c >= 0xfff0 includes U+FFFD from invalid UTF-8 and every
			// character above the BMP (a high surrogate in Java).
			reason = "invalid character @"
		}
		if reason != "" {
			return &pathError{"Invalid path string \"" + path + "\" caused by " + reason + strconv.Itoa(u)}
		}
		prev2, prev = prev, c
		if c > 0xffff {
			u += 2
		} else {
			u++
		}
	}
	return nil
}

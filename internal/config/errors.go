package config

import (
	"errors"
	"fmt"
	"strings"
)

// ExitConfig is the process exit status for a configuration that cannot be
// used (bad value, missing file), distinct from 1 for runtime failures.
const ExitConfig = 2

// Error reports a configuration value zkd cannot use. Load and Validate
// return only *Error values, so callers can print them as they are.
type Error struct {
	File    string // file holding the value (zoo.cfg, dynamic config or myid); "" from Validate
	Line    int    // 1-based line in File; 0 if unknown
	Key     string // zoo.cfg key as written, e.g. "tickTime", "server.3", "myid"
	Value   string // the offending value as written
	Allowed string // what would be accepted, phrased to follow "want"
	Err     error  // the specific problem or underlying I/O error; may be nil
}

// Error renders e.g.
//
//	zoo.cfg:3: tickTime: "abc" is not valid: want a positive integer (milliseconds)
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	if e.Value == "" && e.Err != nil {
		// Nothing was written (a missing key or file): the cause says more
		// than an empty quoted value would.
		b.WriteString(e.Err.Error())
	} else {
		fmt.Fprintf(&b, "%q is not valid", e.Value)
		if e.Err != nil {
			b.WriteString(": ")
			b.WriteString(e.Err.Error())
		}
	}
	if e.Allowed != "" {
		b.WriteString(": want ")
		b.WriteString(e.Allowed)
	}
	return b.String()
}

// Unwrap gives access to the underlying cause, e.g. fs.ErrNotExist.
func (e *Error) Unwrap() error { return e.Err }

// ExitCode maps an error from this package to a process exit status:
// 0 for nil, ExitConfig (2) for configuration errors, 1 for anything else.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ce *Error
	if errors.As(err, &ce) {
		return ExitConfig
	}
	return 1
}

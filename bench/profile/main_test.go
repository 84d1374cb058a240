package main

import (
	"bytes"
	"testing"
)

func TestParseFlags(t *testing.T) {
	f, err := parseFlags([]string{"-workload", "get", "-duration", "3s"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if f.out != "get.pprof" || f.top != 15 || f.child {
		t.Errorf("got out %q top %d child %v, want get.pprof, 15, false", f.out, f.top, f.child)
	}
	for _, bad := range [][]string{{"-workload", "nope"}, {"-duration", "0s"}, {"-sessions", "0"}, {"extra"}} {
		if _, err := parseFlags(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) succeeded, want an error", bad)
		}
	}
}

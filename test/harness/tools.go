package harness

import (
	"fmt"
	"os"
	"strconv"
	"testing"
)

// CI reports whether the tests run in continuous integration (env CI=true),
// where every external tool must be installed.
func CI() bool { return os.Getenv("CI") == "true" }

// MissingTool ends a test that cannot run because an external tool is not
// installed: in CI (CI=true) it fails the test, elsewhere it skips it. The
// message should say what to install, e.g. "apt-get install zookeeper".
func MissingTool(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("%s (CI=true, so a missing tool is a failure)", msg)
	}
	t.Skipf("%s (set CI=true to make this a failure)", msg)
}

// EnvInt reads a positive integer knob from the environment, or returns
// def when it is unset; a bad value fails the test.
func EnvInt(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

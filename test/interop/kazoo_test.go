//go:build interop

package interop

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkd-io/zkd/test/harness"
)

const kazooInstall = "apt-get install python3-kazoo python3-pytest"

// kazooPython returns a python3 that can import kazoo and pytest. PYTHON
// overrides; otherwise python3 from PATH, then Debian's /usr/bin/python3
// (a pyenv or virtualenv python3 first in PATH usually lacks python3-kazoo).
func kazooPython(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("PYTHON")}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, "/usr/bin/python3")
	var tried []string
	for _, py := range candidates {
		if py == "" {
			continue
		}
		tried = append(tried, py)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := exec.CommandContext(ctx, py, "-c", "import kazoo, pytest").Run()
		cancel()
		if err == nil {
			return py
		}
	}
	missingTool(t, "no python3 that imports kazoo and pytest (tried %s): %s", strings.Join(tried, ", "), kazooInstall)
	return ""
}

// pytestExitCodes names pytest's exit statuses for failure messages.
var pytestExitCodes = map[int]string{
	1: "some tests failed",
	2: "interrupted",
	3: "internal error",
	4: "usage error",
	5: "no tests were collected",
}

// TestKazoo runs the pytest suite in kazoo/ against each server kind. The
// servers tick every 500ms and allow 1s sessions so the expiry tests take
// seconds, not the default 4-40s. The table gets one row for the whole
// suite, naming the tests that failed.
func TestKazoo(t *testing.T) {
	for _, kind := range harness.Kinds {
		t.Run(kind, func(t *testing.T) {
			const scenario = "pytest suite (standalone)"
			report(t, kind, "kazoo", scenario)
			py := kazooPython(t)
			s := harness.Start(t, kind,
				harness.WithTickTime(500*time.Millisecond),
				harness.WithSessionTimeouts(time.Second, 30*time.Second))
			runPytest(t, py, s.Addr, func(cases []pytestCase) {
				var bad []string
				for _, c := range cases {
					if c.outcome == failed {
						bad = append(bad, c.scenario())
					}
				}
				if len(bad) > 0 {
					record(kind, "kazoo", scenario, failed, "failed: "+strings.Join(bad, "; "))
				}
			}, nil)
		})
	}
}

// runPytest runs the suite against addr and fails the test if it fails.
// Before that it hands the result of each pytest test to results (read
// from pytest's JUnit XML report), when pytest got as far as writing one.
// On failure, diagnose (if not nil) may add to the message from pytest's
// output.
func runPytest(t *testing.T, py, addr string, results func([]pytestCase), diagnose func(out string) string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	junit := filepath.Join(t.TempDir(), "kazoo.xml")
	// -p no:cacheprovider and PYTHONDONTWRITEBYTECODE keep pytest from
	// writing .pytest_cache and __pycache__ into the source tree.
	// INFO shows kazoo's connection history (connecting to, established,
	// dropped, expired) in a failed test's captured log.
	cmd := exec.CommandContext(ctx, py, "-m", "pytest", "-q", "-rfE", "--log-level=INFO",
		"-p", "no:cacheprovider", "--durations=5", "--junitxml="+junit, "kazoo")
	cmd.Env = append(os.Environ(), "ZK_HOSTS="+addr, "PYTHONDONTWRITEBYTECODE=1")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start).Round(time.Millisecond)
	if cases, perr := readJUnit(junit); perr == nil {
		results(cases)
	} else if err == nil {
		t.Errorf("pytest passed but its report is unreadable: %v", perr)
	}
	if ctx.Err() != nil {
		t.Fatalf("pytest did not finish within 5m; output:\n%s", out.String())
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		t.Logf("pytest against %s passed in %v: %s", addr, took, lastLine(out.String()))
	case errors.As(err, &exit):
		code := exit.ExitCode()
		more := ""
		if diagnose != nil {
			more = diagnose(out.String())
		}
		t.Fatalf("pytest against %s exited %d (%s) after %v:\n%s%s", addr, code, pytestExitCodes[code], took, out.String(), more)
	default:
		t.Fatalf("run pytest: %v\n%s", err, out.String())
	}
}

// pytestCase is one test of a pytest JUnit XML report.
type pytestCase struct {
	module, name string // "kazoo.test_recipes", "test_lock"
	outcome      outcome
	reason       string // pytest's message for a failure or skip
}

// scenario names the test for the table: "recipes: lock" for
// kazoo.test_recipes::test_lock.
func (c pytestCase) scenario() string {
	module := c.module[strings.LastIndexByte(c.module, '.')+1:]
	pretty := func(s string) string { return strings.ReplaceAll(strings.TrimPrefix(s, "test_"), "_", " ") }
	return pretty(module) + ": " + pretty(c.name)
}

// readJUnit reads the testcase elements of a pytest --junitxml report,
// wherever they are nested (pytest's root element changed over versions).
func readJUnit(path string) ([]pytestCase, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	type message struct {
		Message string `xml:"message,attr"`
	}
	var cases []pytestCase
	d := xml.NewDecoder(f)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "testcase" {
			continue
		}
		var tc struct {
			Class   string    `xml:"classname,attr"`
			Name    string    `xml:"name,attr"`
			Failure []message `xml:"failure"`
			Error   []message `xml:"error"`
			Skipped []message `xml:"skipped"`
		}
		if err := d.DecodeElement(&tc, &se); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		c := pytestCase{module: tc.Class, name: tc.Name, outcome: passed}
		switch {
		case len(tc.Failure) > 0:
			c.outcome, c.reason = failed, tc.Failure[0].Message
		case len(tc.Error) > 0:
			c.outcome, c.reason = failed, tc.Error[0].Message
		case len(tc.Skipped) > 0:
			c.outcome, c.reason = skipped, tc.Skipped[0].Message
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("%s: no test cases", path)
	}
	return cases, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// ensembleKazoo runs the whole pytest suite with the ensemble's connect
// string: every kazoo client picks a random server. Each pytest test is a
// row of the table.
func ensembleKazoo(t *testing.T, env *ensembleEnv) {
	runPytest(t, kazooPython(t), env.e.ConnectString(), func(cases []pytestCase) {
		for _, c := range cases {
			record(env.e.Kind, "kazoo", c.scenario(), c.outcome, c.reason)
		}
	}, func(out string) string { return sessionLogLines(env.e, out) })
}

var (
	sessionRef = regexp.MustCompile(`session (0x[0-9a-f]+)`)
	hexID      = regexp.MustCompile(`0x[0-9a-f]+`)
)

// sessionLogLines collects, from every server's log, the lines naming a
// session that the failed tests' output names ("session 0x..."): the
// shared ensemble's log tail is long past the failure by the time the
// suite ends.
func sessionLogLines(e *harness.Ensemble, out string) string {
	ids := map[string]bool{}
	for _, m := range sessionRef.FindAllStringSubmatch(out, 20) {
		ids[m[1]] = true
	}
	if len(ids) == 0 {
		return ""
	}
	var b strings.Builder
	for i, s := range e.Servers {
		data, err := os.ReadFile(s.LogPath)
		if err != nil {
			fmt.Fprintf(&b, "\nserver.%d log: %v", i+1, err)
			continue
		}
		fmt.Fprintf(&b, "\nserver.%d log lines naming the sessions above:", i+1)
		n := 0
		for line := range strings.Lines(string(data)) {
			if n < 200 && slices.ContainsFunc(hexID.FindAllString(line, -1), func(id string) bool { return ids[id] }) {
				b.WriteString("\n  " + strings.TrimRight(line, "\n"))
				n++
			}
		}
	}
	return b.String()
}

func TestReadJUnit(t *testing.T) {
	// The shape pytest 7 writes (a testsuites root); older pytest writes
	// a testsuite root, which readJUnit reads the same way.
	const report = `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="4">
<testcase classname="kazoo.test_recipes" name="test_lock" time="0.1" />
<testcase classname="kazoo.test_recipes" name="test_read_write_lock" time="0.1"><failure message="AssertionError: two writers">trace</failure></testcase>
<testcase classname="test_session" name="test_expire_silent_session" time="0.1"><error message="fixture broke">trace</error></testcase>
<testcase classname="kazoo.test_crud" name="test_sync" time="0.0"><skipped type="pytest.skip" message="not on 3.8">why</skipped></testcase>
</testsuite></testsuites>`
	path := filepath.Join(t.TempDir(), "report.xml")
	if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readJUnit(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		scenario string
		outcome  outcome
		reason   string
	}{
		{"recipes: lock", passed, ""},
		{"recipes: read write lock", failed, "AssertionError: two writers"},
		{"session: expire silent session", failed, "fixture broke"},
		{"crud: sync", skipped, "not on 3.8"},
	}
	if len(got) != len(want) {
		t.Fatalf("test cases: got %d (%+v), want %d", len(got), got, len(want))
	}
	for i, w := range want {
		if g := got[i]; g.scenario() != w.scenario || g.outcome != w.outcome || g.reason != w.reason {
			t.Errorf("case %d: got %q %v %q, want %q %v %q", i, g.scenario(), g.outcome, g.reason, w.scenario, w.outcome, w.reason)
		}
	}
	if err := os.WriteFile(path, []byte(`<testsuites></testsuites>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readJUnit(path); err == nil {
		t.Error("a report without test cases: got no error, want one")
	}
}

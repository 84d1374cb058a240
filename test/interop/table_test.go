//go:build interop

package interop

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/zkd-io/zkd/test/harness"
)

// The results table: every suite reports, per server kind, whether each
// client × scenario cell passed, and TestMain prints one markdown table
// (client | scenario | zkd | ZooKeeper) at the end of the run, and writes
// it to the file env ZKD_INTEROP_TABLE names. A cell is recorded either for
// a whole (sub)test with report, or for one check inside a client process
// (a kazoo test, a Curator check) with record.

// outcome of one cell.
type outcome int

const (
	notRun outcome = iota
	passed
	skipped
	failed
)

type cell struct {
	outcome outcome
	reason  string
}

type tableRow struct {
	client, scenario string
	cells            map[string]cell // by server kind
}

// resultTable collects the cells of one run.
type resultTable struct {
	mu   sync.Mutex
	rows []*tableRow
	// skipReasons holds, by test name, why missingTool skipped the test,
	// for the cell report records.
	skipReasons map[string]string
}

// results is the table of this run.
var results resultTable

// row returns the row (client, scenario), adding it at the end if new.
// The caller holds rt.mu.
func (rt *resultTable) row(client, scenario string) *tableRow {
	for _, r := range rt.rows {
		if r.client == client && r.scenario == scenario {
			return r
		}
	}
	r := &tableRow{client: client, scenario: scenario, cells: map[string]cell{}}
	rt.rows = append(rt.rows, r)
	return r
}

// set sets the cell (client, scenario) of server kind. Once a cell failed,
// later records of it (another -count round, the generic reason of
// report after a specific one) leave it as it is.
func (rt *resultTable) set(kind, client, scenario string, o outcome, reason string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	row := rt.row(client, scenario)
	if row.cells[kind].outcome == failed {
		return
	}
	row.cells[kind] = cell{outcome: o, reason: reason}
}

// record sets a cell of this run's table.
func record(kind, client, scenario string, o outcome, reason string) {
	results.set(kind, client, scenario, o, reason)
}

// report records the outcome of t as the cell (client, scenario) of kind
// when t ends: a failure (even one in a later cleanup, such as stopping a
// server), a skip with its reason, or a pass. Call it first thing in the
// (sub)test, so that its cleanup runs after every other; the row takes
// its place in the table then, before rows the test records itself.
func report(t *testing.T, kind, client, scenario string) {
	results.mu.Lock()
	results.row(client, scenario)
	results.mu.Unlock()
	t.Cleanup(func() {
		switch {
		case t.Failed():
			record(kind, client, scenario, failed, "see "+t.Name()+" in the test log")
		case t.Skipped():
			results.mu.Lock()
			reason := results.skipReasons[t.Name()]
			results.mu.Unlock()
			if reason == "" {
				reason = "see " + t.Name() + " in the test log"
			}
			record(kind, client, scenario, skipped, reason)
		default:
			record(kind, client, scenario, passed, "")
		}
	})
}

// missingTool is harness.MissingTool that also keeps the message for the
// table.
func missingTool(t *testing.T, format string, args ...any) {
	t.Helper()
	results.mu.Lock()
	if results.skipReasons == nil {
		results.skipReasons = map[string]string{}
	}
	results.skipReasons[t.Name()] = fmt.Sprintf(format, args...)
	results.mu.Unlock()
	harness.MissingTool(t, format, args...)
}

// write prints the table in markdown, then a count per kind; nothing when
// no cell was recorded (a run filtered down to the unit tests).
func (rt *resultTable) write(w io.Writer) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if len(rt.rows) == 0 {
		return nil
	}
	// Rows of one client together; clients, and rows within a client, in
	// the order they were first recorded.
	rows := slices.Clone(rt.rows)
	first := map[string]int{}
	for i, r := range rows {
		if _, ok := first[r.client]; !ok {
			first[r.client] = i
		}
	}
	slices.SortStableFunc(rows, func(a, b *tableRow) int { return first[a.client] - first[b.client] })
	counts := map[string]map[outcome]int{}
	var b strings.Builder
	b.WriteString("| client | scenario | zkd | ZooKeeper |\n|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", escapeCell(r.client), escapeCell(r.scenario),
			cellText(r.cells[harness.KindZkd]), cellText(r.cells[harness.KindZooKeeper]))
		for _, kind := range harness.Kinds {
			if counts[kind] == nil {
				counts[kind] = map[outcome]int{}
			}
			counts[kind][r.cells[kind].outcome]++
		}
	}
	b.WriteString("\n")
	for _, kind := range []string{harness.KindZkd, harness.KindZooKeeper} {
		c := counts[kind]
		fmt.Fprintf(&b, "%s: %d pass, %d fail, %d skip, %d not run\n", kind, c[passed], c[failed], c[skipped], c[notRun])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func cellText(c cell) string {
	switch c.outcome {
	case passed:
		return "pass"
	case failed:
		return "**FAIL**: " + escapeCell(c.reason)
	case skipped:
		return "skip: " + escapeCell(c.reason)
	}
	return "not run"
}

// maxReason bounds a reason in a cell; the test log has the whole story.
const maxReason = 160

// escapeCell keeps a cell on one line, short, and its pipes from ending
// it.
func escapeCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxReason {
		s = string(r[:maxReason-1]) + "…"
	}
	return strings.ReplaceAll(s, "|", `\|`)
}

// printTable writes this run's table to stdout and, if env
// ZKD_INTEROP_TABLE names a file, to that file. go test shows a passing
// package's output only with -v, so CI should print the file.
func printTable() error {
	var b strings.Builder
	results.write(&b)
	if b.Len() == 0 {
		return nil
	}
	fmt.Printf("\ninterop results (against 3-server ensembles unless the scenario says standalone):\n\n%s", b.String())
	if path := os.Getenv("ZKD_INTEROP_TABLE"); path != "" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			return fmt.Errorf("ZKD_INTEROP_TABLE: %w", err)
		}
	}
	return nil
}

func TestResultsTable(t *testing.T) {
	var rt resultTable
	zk, zkd := harness.KindZooKeeper, harness.KindZkd
	rt.set(zk, "kazoo", "lock", passed, "")
	rt.set(zk, "Curator", "barrier", passed, "")
	rt.set(zk, "kazoo", "queue | pipe", failed, "boom\nsecond line")
	rt.set(zkd, "kazoo", "lock", passed, "")
	rt.set(zkd, "Curator", "barrier", failed, "first reason")
	rt.set(zkd, "Curator", "barrier", failed, "see the log") // the first reason stays
	rt.set(zkd, "Curator", "barrier", passed, "")            // a failure stays
	rt.set(zkd, "kazoo", "queue | pipe", skipped, "no python")
	rt.set(zkd, "kazoo", "long", failed, strings.Repeat("x", 300))
	var b strings.Builder
	if err := rt.write(&b); err != nil {
		t.Fatal(err)
	}
	want := "| client | scenario | zkd | ZooKeeper |\n" +
		"|---|---|---|---|\n" +
		"| kazoo | lock | pass | pass |\n" +
		`| kazoo | queue \| pipe | skip: no python | **FAIL**: boom second line |` + "\n" +
		"| kazoo | long | **FAIL**: " + strings.Repeat("x", maxReason-1) + "… | not run |\n" +
		"| Curator | barrier | **FAIL**: first reason | pass |\n" +
		"\n" +
		"zkd: 1 pass, 2 fail, 1 skip, 0 not run\n" +
		"zookeeper: 2 pass, 1 fail, 0 skip, 1 not run\n"
	if got := b.String(); got != want {
		t.Errorf("table:\ngot:\n%s\nwant:\n%s", got, want)
	}
	var empty resultTable
	b.Reset()
	if empty.write(&b); b.Len() != 0 {
		t.Errorf("empty table: got %q, want nothing", b.String())
	}
}

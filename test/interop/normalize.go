package interop

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Marker is the line zkCli.sh prints for the local command "printwatches"
// (no argument). It costs no server round trip, so the script runs it
// before the first command and after every command, and the output between
// two markers is exactly one command's output.
const Marker = "printwatches is on"

// MarkerCommand is the zkCli.sh command that prints Marker.
const MarkerCommand = "printwatches"

// Script returns the zkCli.sh stdin for commands: a marker, each command
// followed by a marker, then quit.
func Script(commands []string) string {
	var b strings.Builder
	b.WriteString(MarkerCommand + "\n")
	for _, c := range commands {
		b.WriteString(c + "\n" + MarkerCommand + "\n")
	}
	b.WriteString("quit\n")
	return b.String()
}

// Transcript is a normalised zkCli.sh session: each command with its output,
// and the watch events in the order they arrived.
type Transcript struct {
	Steps  []Step
	Events []string
}

// Step is one command and the output lines it produced.
type Step struct {
	Command string
	Output  []string
}

// Lines renders the transcript for diffing: "> command" then its output,
// then "events:" and the events.
func (tr Transcript) Lines() []string {
	var out []string
	for _, s := range tr.Steps {
		out = append(out, "> "+s.Command)
		out = append(out, s.Output...)
	}
	out = append(out, "events:")
	out = append(out, tr.Events...)
	return out
}

func (tr Transcript) String() string { return strings.Join(tr.Lines(), "\n") + "\n" }

var (
	// Stat lines as zkCli.sh prints them (get -s, stat, ls -s, set -s...).
	timeLine  = regexp.MustCompile(`^(ctime|mtime) = .*$`)
	zxidLine  = regexp.MustCompile(`^(cZxid|mZxid|pZxid) = (0x[0-9a-fA-F]+)$`)
	ownerLine = regexp.MustCompile(`^ephemeralOwner = (0x[0-9a-fA-F]+)$`)
	// WatchedEvent.toString() of the 3.8 client.
	eventLine = regexp.MustCompile(`^WatchedEvent state:(\S+) type:(\S+) path:(.*)$`)
	// One of the two writes zkCli.sh's watcher makes per event
	// (ZooKeeperMain.printMessage: a line break, the text, a line break).
	watcherWrite = regexp.MustCompile(`\n(WATCHER::|WatchedEvent state:[^\n]*)\n`)
)

// noise reports lines that come from the JVM or logging, not from zkCli.sh.
func noise(line string) bool {
	for _, p := range []string{
		"SLF4J:",                // no slf4j binding on Debian's classpath
		"OpenJDK 64-Bit Server", // JVM warnings
		"Picked up JAVA_TOOL_OPTIONS",
		"Picked up _JAVA_OPTIONS",
		"WARNING: ", // JDK warnings about illegal access and the like
	} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// Normalize turns zkCli.sh's combined stdout+stderr for Script(commands) run
// against server address addr into a Transcript that is the same for any two
// correct servers. The rules (3 and 7 on the raw output, the others line by
// line):
//
//  1. Output is cut into one block per command at Marker lines; the block
//     before the first command (connection banner) and the one after the
//     last (quit) are dropped. A marker count that does not match the
//     commands (zkCli.sh died or hung) is an error.
//  2. Blank lines and JVM/logging noise (SLF4J:, JVM warnings) are
//     dropped: they are not server behaviour.
//  3. Watch events are moved out of the blocks into Events, in arrival
//     order, because zkCli.sh prints them from its event thread and they
//     can land before, after or inside the next command's output. Its
//     watcher makes two writes, "\nWATCHER::\n" and "\nWatchedEvent ...\n",
//     each whole, and they can fall between two writes of a command that
//     prints a line in pieces (ls prints "[", each child, then "]"). So
//     both are cut out of the raw output before it is split into lines,
//     leading line break included, which joins an interrupted line again.
//     Session state events without a path (type:None with state
//     SyncConnected or Closed) are dropped: their timing is the client's.
//     Any other state change (Disconnected, Expired) is kept, as it means
//     the server misbehaved.
//  4. ctime/mtime values become <TIME>.
//  5. cZxid/mZxid/pZxid values become Z1, Z2, ... numbered by first
//     appearance in the transcript, so equal zxids stay equal and distinct
//     ones stay distinct, while zkd's epoch<<32|counter zxids and
//     ZooKeeper's counters compare equal. Ordering between zxids is not
//     compared.
//  6. A non-zero ephemeralOwner becomes S1, S2, ... by first appearance
//     (0x0 stays); session ids are random.
//  7. addr (the server's host:port) becomes <SERVER> wherever it appears.
//  8. The identities whoami lists are sorted (ZooKeeper's order is a hash
//     set's).
//
// Everything else — sequence numbers, versions, data lengths, children,
// ACLs, digests, error messages — is compared as printed.
func Normalize(raw string, commands []string, addr string) (Transcript, error) {
	raw = "\n" + strings.ReplaceAll(raw, "\r\n", "\n")
	if addr != "" {
		raw = strings.ReplaceAll(raw, addr, "<SERVER>")
	}
	raw, events := cutEvents(raw)
	lines := strings.Split(raw, "\n")
	var blocks [][]string
	var cur []string
	started := false
	zxids := newNamer("Z")
	sessions := newNamer("S")
	for _, line := range lines {
		line = strings.TrimRight(line, " \t")
		if line == Marker {
			if started {
				blocks = append(blocks, cur)
			}
			started = true
			cur = nil
			continue
		}
		if line == "" || noise(line) {
			continue
		}
		if !started {
			continue // connection banner
		}
		switch {
		case timeLine.MatchString(line):
			line = timeLine.ReplaceAllString(line, "$1 = <TIME>")
		case zxidLine.MatchString(line):
			m := zxidLine.FindStringSubmatch(line)
			line = m[1] + " = " + zxids.name(m[2])
		case ownerLine.MatchString(line):
			m := ownerLine.FindStringSubmatch(line)
			if m[1] != "0x0" {
				line = "ephemeralOwner = " + sessions.name(m[1])
			}
		}
		cur = append(cur, line)
	}
	// cur now holds what followed the last marker: quit's output, dropped.
	if len(blocks) != len(commands) {
		return Transcript{}, fmt.Errorf("zkCli.sh output has %d command blocks, want %d (did it exit early or hang?)", len(blocks), len(commands))
	}
	tr := Transcript{Events: events}
	for i, c := range commands {
		tr.Steps = append(tr.Steps, Step{Command: c, Output: sortWhoAmI(c, blocks[i])})
	}
	return tr, nil
}

// cutEvents removes zkCli.sh's watcher output from raw (rule 3) and returns
// what is left and the events worth comparing, in arrival order.
func cutEvents(raw string) (string, []string) {
	var events []string
	raw = watcherWrite.ReplaceAllStringFunc(raw, func(w string) string {
		line := strings.TrimSpace(w)
		m := eventLine.FindStringSubmatch(line)
		if m == nil || m[2] == "None" && (m[1] == "SyncConnected" || m[1] == "Closed") {
			return ""
		}
		events = append(events, line)
		return ""
	})
	return raw, events
}

// sortWhoAmI sorts the identities whoami prints. ZooKeeper keeps a
// connection's identities in a hash set, so their order carries no meaning.
func sortWhoAmI(command string, out []string) []string {
	if strings.TrimSpace(command) != "whoami" || len(out) < 2 || out[0] != "Auth scheme: User" {
		return out
	}
	ids := append([]string(nil), out[1:]...)
	sort.Strings(ids)
	return append([]string{out[0]}, ids...)
}

// namer hands out stable symbolic names for opaque values.
type namer struct {
	prefix string
	names  map[string]string
}

func newNamer(prefix string) *namer { return &namer{prefix: prefix, names: map[string]string{}} }

func (n *namer) name(v string) string {
	key := strings.ToLower(v)
	if s, ok := n.names[key]; ok {
		return s
	}
	s := fmt.Sprintf("%s%d", n.prefix, len(n.names)+1)
	n.names[key] = s
	return s
}

// Diff returns a line diff of want and got ("-" only in want, "+" only in
// got, " " context), or "" when they are equal. It keeps up to three lines
// of context around each change.
func Diff(want, got []string) string {
	// Longest common subsequence table; transcripts are a few hundred lines.
	n, m := len(want), len(got)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if want[i] == got[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct {
		kind byte
		line string
	}
	var ops []op
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && want[i] == got[j]:
			ops = append(ops, op{' ', want[i]})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', want[i]})
			i++
		default:
			ops = append(ops, op{'+', got[j]})
			j++
		}
	}
	const context = 3
	keep := make([]bool, len(ops))
	changed := false
	for k, o := range ops {
		if o.kind == ' ' {
			continue
		}
		changed = true
		for c := max(0, k-context); c <= min(len(ops)-1, k+context); c++ {
			keep[c] = true
		}
	}
	if !changed {
		return ""
	}
	// A hunk whose context does not show its command gets a header naming
	// the last command line ("> ...") before it.
	var b strings.Builder
	lastCmd, shownCmd := "", ""
	for k, o := range ops {
		if strings.HasPrefix(o.line, "> ") && o.kind != '+' {
			lastCmd = o.line
		}
		if !keep[k] {
			continue
		}
		if k == 0 || !keep[k-1] {
			if k > 0 {
				b.WriteString("  ...\n")
			}
			if lastCmd != "" && lastCmd != o.line && lastCmd != shownCmd {
				fmt.Fprintf(&b, "@ in %s\n", lastCmd)
			}
		}
		if strings.HasPrefix(o.line, "> ") {
			shownCmd = o.line
		}
		fmt.Fprintf(&b, "%c %s\n", o.kind, o.line)
	}
	return b.String()
}

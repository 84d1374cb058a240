package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// History file bounds: entries kept, and bytes read at start (a file
// grown by other tools is read from its tail only).
const (
	historyMax       = 1000
	historyReadBytes = 1 << 20
)

// historyPath is where the line editor's history is kept: $ZKCLI_HISTFILE,
// or ~/.zkcli_history; ZKCLI_HISTFILE set to "" keeps none.
func historyPath() string {
	if p, ok := os.LookupEnv("ZKCLI_HISTFILE"); ok {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".zkcli_history")
}

// history is the line editor's history (up/down), a term.History: at most
// max entries, the newest last. Each line entered is appended to the file
// at once, so a killed shell loses nothing; the file is cut back to max
// lines when the next shell starts.
//
// It is separate from zkCli.sh's numbered "history" command, which lists
// this session's commands only.
type history struct {
	max     int
	entries []string // oldest first
	file    *os.File // nil: kept in memory only
	err     error    // the first write error; writing stops after it
}

// loadHistory reads the last max lines of path (none when path is "" or
// the file does not exist yet) and opens it for appending, creating it
// readable by its owner only: lines can hold data and ACLs.
func loadHistory(path string, max int) (*history, error) {
	h := &history{max: max}
	if path == "" {
		return h, nil
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return h, err
	}
	lines, whole, err := readTail(f, historyReadBytes)
	f.Close()
	if err != nil {
		return h, err
	}
	for _, l := range lines {
		h.remember(l)
	}
	if !whole || len(lines) > max {
		// Cut the file back to the lines kept. Another shell appending
		// meanwhile may lose a line: history is not worth a lock file.
		var b bytes.Buffer
		for _, l := range h.entries {
			b.WriteString(l + "\n")
		}
		if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
			return h, err
		}
	}
	// O_APPEND: lines of shells running side by side interleave whole.
	if h.file, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return h, err
	}
	return h, nil
}

// readTail returns the non-blank lines of the last limit bytes of f;
// whole is false when the file was longer (the first, partial line is
// dropped then).
func readTail(f *os.File, limit int64) (lines []string, whole bool, err error) {
	st, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	off := max(st.Size()-limit, 0)
	sc := bufio.NewScanner(io.NewSectionReader(f, off, st.Size()-off))
	sc.Buffer(make([]byte, 0, 64<<10), int(limit)+1)
	for first := true; sc.Scan(); first = false {
		if first && off > 0 {
			continue
		}
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	return lines, off == 0, sc.Err()
}

// remember adds a line in memory, skipping blanks and repeats of the last
// line, and drops the oldest beyond max.
func (h *history) remember(line string) bool {
	line = strings.TrimSpace(line)
	if line == "" || strings.ContainsAny(line, "\r\n") || len(h.entries) > 0 && h.entries[len(h.entries)-1] == line {
		return false
	}
	h.entries = append(h.entries, line)
	if len(h.entries) > h.max {
		h.entries = h.entries[len(h.entries)-h.max:]
	}
	return true
}

// Add is called by the terminal for each line entered.
func (h *history) Add(line string) {
	if !h.remember(line) || h.file == nil || h.err != nil || secret(line) {
		return
	}
	if _, err := h.file.WriteString(strings.TrimSpace(line) + "\n"); err != nil {
		h.err = err
	}
}

// secret reports lines kept out of the file: addauth carries credentials.
func secret(line string) bool {
	toks := tokenize(line)
	return len(toks) > 0 && toks[0] == "addauth"
}

// Len and At are term.History's: At(0) is the newest entry. An index out
// of range gives "" rather than a panic.
func (h *history) Len() int { return len(h.entries) }

func (h *history) At(i int) string {
	if i < 0 || i >= len(h.entries) {
		return ""
	}
	return h.entries[len(h.entries)-1-i]
}

// Close closes the file; it returns the first write error, if any.
func (h *history) Close() error {
	if h.file == nil {
		return h.err
	}
	err := h.file.Close()
	h.file = nil
	return errors.Join(h.err, err)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"
)

// completionTimeout bounds the children listing behind one Tab: a slow or
// lost server must not freeze the prompt.
const completionTimeout = time.Second

// editor reads the shell's lines with golang.org/x/term: editing keys,
// history (up/down) and Tab completion, over any io.ReadWriter (a terminal
// in raw mode, or a pipe in tests).
type editor struct {
	t     *term.Terminal
	hist  *history
	width int // columns, for laying out completion candidates
	// prepare runs before each line is read (raw mode, window size) and
	// returns what undoes it once the line is in; nil in tests.
	prepare func() (restore func())
}

func newEditor(rw io.ReadWriter, hist *history) *editor {
	t := term.NewTerminal(rw, "")
	t.History = hist
	return &editor{t: t, hist: hist, width: 80}
}

// editLoop runs commands read by ed until end of input (Ctrl-D on an
// empty line, or Ctrl-C, as x/term has them) or quit.
func (sh *shell) editLoop(ed *editor) {
	ed.t.AutoCompleteCallback = sh.completeKey(ed)
	warned := false
	for {
		prompt := sh.prompt()
		ed.t.SetPrompt(prompt)
		restore := func() {}
		if ed.prepare != nil {
			restore = ed.prepare()
		}
		line, err := ed.t.ReadLine()
		restore()
		if errors.Is(err, term.ErrPasteIndicator) {
			err = nil // a pasted line runs like a typed one
		}
		if err != nil {
			// End the prompt's line, and leave the terminal with no prompt
			// to redraw under what is printed on the way out.
			ed.t.SetPrompt("")
			io.WriteString(ed.t, prompt+"\n")
			return
		}
		if ed.hist.err != nil && !warned {
			fmt.Fprintf(sh.stderr, "Warning: history file: %v; history is no longer saved\n", ed.hist.err)
			warned = true
		}
		if sh.executeLine(line) {
			return
		}
	}
}

// completeKey is the terminal's AutoCompleteCallback: Tab completes the
// word before the cursor (see complete) and lists the candidates when it
// cannot extend it; other keys are the terminal's.
func (sh *shell) completeKey(ed *editor) func(string, int, rune) (string, int, bool) {
	return func(line string, pos int, key rune) (string, int, bool) {
		if key != '\t' {
			return "", 0, false
		}
		c := complete(line, pos, commandNames(), sh.listChildren)
		if len(c.candidates) > 0 {
			// The terminal clears the prompt line, prints this above it
			// and draws the prompt again.
			io.WriteString(ed.t, formatCandidates(c.candidates, ed.width))
		}
		return c.line, c.pos, true
	}
}

// listChildren lists a parent's children for completion, bounded in
// time; nothing when the session is not connected.
func (sh *shell) listChildren(parent string) []string {
	if sh.conn == nil || !sh.conn.State().Connected() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	defer cancel()
	kids, err := sh.conn.Children(ctx, parent)
	if err != nil {
		return nil
	}
	return kids
}

// commandNames lists every command, the shell's own included.
func commandNames() []string {
	names := make([]string, 0, len(commands)+len(localCommands))
	for n := range commands {
		names = append(names, n)
	}
	for n := range localCommands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ttyEditor makes the editor of a real terminal: raw mode only while a
// line is read (so Ctrl-C still interrupts a running command, and the
// terminal is never left raw by a crash in one), the window size read
// before each line, and the terminal restored when SIGTERM or SIGHUP
// ends the shell at the prompt. stop undoes the signal handling.
func ttyEditor(in, out *os.File, hist *history) (ed *editor, stop func()) {
	ed = newEditor(struct {
		io.Reader
		io.Writer
	}{in, out}, hist)
	fd := int(in.Fd())
	var mu sync.Mutex
	var raw *term.State // the state to restore while the terminal is raw
	ed.prepare = func() func() {
		// A terminal that reports no size keeps the 80x24 default.
		if w, h, err := term.GetSize(int(out.Fd())); err == nil && w > 0 && h > 0 {
			ed.t.SetSize(w, h)
			ed.width = w
		}
		st, err := term.MakeRaw(fd)
		if err != nil {
			return func() {}
		}
		mu.Lock()
		raw = st
		mu.Unlock()
		return func() {
			mu.Lock()
			defer mu.Unlock()
			term.Restore(fd, st)
			raw = nil
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case s := <-sigs:
			mu.Lock()
			if raw != nil {
				term.Restore(fd, raw)
			}
			n := 1
			if sig, ok := s.(syscall.Signal); ok {
				n = 128 + int(sig)
			}
			os.Exit(n)
		case <-done:
		}
	}()
	return ed, func() {
		signal.Stop(sigs)
		close(done)
		wg.Wait()
	}
}

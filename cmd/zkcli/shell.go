package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// cliError is a failed command: its message goes to stderr and the exit
// code becomes 1, as zkCli.sh's CliException. code names it in -json mode.
type cliError struct {
	msg  string
	code proto.ErrCode
}

func (e *cliError) Error() string { return e.msg }

// failf fails a command on its arguments (usage, bad values).
func failf(format string, a ...any) error {
	return &cliError{fmt.Sprintf(format, a...), proto.ErrBadArguments}
}

// failc fails a command with the ZooKeeper code that -json mode shows.
func failc(code proto.ErrCode, format string, a ...any) error {
	return &cliError{fmt.Sprintf(format, a...), code}
}

// lockedWriter serializes writes of stdout, stderr and the watch printer,
// which runs on the client's goroutines.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// shell is one zkCli session: the connection, the command history and the
// settings the local commands change.
type shell struct {
	// stdout and stderr are the shell's output. Commands print their text
	// on out and errw, which are stdout and stderr, or io.Discard in -json
	// mode, where res is printed on stdout instead.
	stdout, stderr io.Writer
	out, errw      io.Writer
	json           bool
	res            *result // the running command's result; nil between commands

	timeout  time.Duration // session timeout (-timeout)
	readOnly bool          // -r
	dialer   client.Dialer // tests only

	host         string
	conn         *client.Conn
	history      map[int]string
	count        int
	printWatches atomic.Bool
	exitCode     int
	drains       sync.WaitGroup // goroutines reading persistent watch channels
}

func newShell(out, errw io.Writer, timeout time.Duration, readOnly bool) *shell {
	var mu sync.Mutex
	sh := &shell{
		stdout:   lockedWriter{&mu, out},
		stderr:   lockedWriter{&mu, errw},
		timeout:  timeout,
		readOnly: readOnly,
		history:  map[int]string{},
	}
	sh.out, sh.errw = sh.stdout, sh.stderr
	sh.printWatches.Store(true)
	return sh
}

// setJSON switches to -json output; it must be called before connect.
func (sh *shell) setJSON() {
	sh.json = true
	sh.out, sh.errw = io.Discard, io.Discard
}

// warnw is where a command prints a message that does not fail it: stderr,
// or the result's warnings in -json mode.
func (sh *shell) warnw() io.Writer {
	switch {
	case !sh.json:
		return sh.errw
	case sh.res != nil:
		return warnWriter{sh.res}
	}
	return sh.stderr
}

// notice prints on w a failure zkCli.sh reports without failing the
// command (the exit code stays 0); in -json mode it is the result's error.
func (sh *shell) notice(w io.Writer, code proto.ErrCode, msg string) {
	fmt.Fprintln(w, msg)
	if sh.res != nil {
		sh.res.fail(code, msg)
	}
}

// connect replaces the session with a new one to host, without waiting for
// it: commands queue until it is established, as in zkCli.sh.
func (sh *shell) connect(host string) {
	if sh.conn != nil && !sh.conn.State().Final() {
		sh.conn.Close()
	}
	sh.host = host
	opts := []client.Option{
		client.WithSessionTimeout(sh.timeout),
		client.WithDefaultWatcher(sh.printEvent),
	}
	if sh.readOnly {
		opts = append(opts, client.WithReadOnly())
	}
	if sh.dialer != nil {
		opts = append(opts, client.WithDialer(sh.dialer))
	}
	c, err := client.New(host, opts...)
	if err != nil {
		// zkCli.sh dies on a connect string it cannot parse; a shell that
		// stays up and says why is more useful.
		fmt.Fprintln(sh.warnw(), err)
		sh.conn = nil
		return
	}
	sh.conn = c
}

// printEvent is the session's default watcher: zkCli.sh's MyWatcher.
func (sh *shell) printEvent(ev client.Event) {
	switch {
	case !sh.printWatches.Load():
	case sh.json:
		sh.printEventJSON(ev)
	default:
		fmt.Fprintf(sh.stdout, "\nWATCHER::\n\nWatchedEvent state:%s type:%s path:%s\n", ev.State, ev.Type, eventPath(ev))
	}
}

func eventPath(ev client.Event) string {
	if ev.Path == "" {
		return "null"
	}
	return ev.Path
}

// close ends the session and waits for the goroutines the shell started.
func (sh *shell) close() {
	if sh.conn != nil {
		sh.conn.Close()
	}
	sh.drains.Wait()
}

// alive is ZooKeeper.States.isAlive: anything but closed, expired or auth
// failed.
func (sh *shell) alive() bool { return sh.conn != nil && !sh.conn.State().Final() }

// prompt is zkCli.sh's prompt, shown on interactive terminals.
func (sh *shell) prompt() string {
	st := "CLOSED"
	if sh.conn != nil {
		switch sh.conn.State() {
		case client.StateSyncConnected:
			st = "CONNECTED"
		case client.StateConnectedReadOnly:
			st = "CONNECTEDREADONLY"
		case client.StateDisconnected:
			st = "CONNECTING"
		case client.StateAuthFailed:
			st = "AUTH_FAILED"
		}
	}
	return fmt.Sprintf("[zk: %s(%s) %d] ", sh.host, st, sh.count)
}

// repl reads commands until EOF or quit.
func (sh *shell) repl(in io.Reader, interactive bool) {
	br := bufio.NewReaderSize(in, 64<<10)
	for {
		if interactive {
			fmt.Fprint(sh.out, sh.prompt())
		}
		line, err := br.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line != "" || err == nil {
			if quit := sh.executeLine(line); quit {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// executeLine runs one line; it reports whether the shell must exit.
func (sh *shell) executeLine(line string) (quit bool) {
	if line == "" {
		return false
	}
	args := tokenize(line)
	sh.history[sh.count] = line
	defer func() { sh.count++ }()
	if len(args) == 0 {
		return false
	}
	return sh.process(args)
}

// process runs a command and records its exit code; in -json mode it
// prints the command's result.
func (sh *shell) process(args []string) (quit bool) {
	r := &result{Command: args[0]}
	sh.res = r
	quit, err := sh.dispatch(args)
	if err != nil {
		fmt.Fprintln(sh.errw, err)
		r.setError(err)
		sh.exitCode = 1
	} else {
		sh.exitCode = 0
	}
	// redo ran another command, which printed its own result.
	if sh.json && sh.res == r {
		sh.emit(r)
	}
	sh.res = nil
	return quit
}

// dispatch mirrors ZooKeeperMain.processZKCmd: the local commands first,
// then, for everything that needs the server, a live session.
func (sh *shell) dispatch(args []string) (quit bool, err error) {
	name := args[0]
	cmd, known := commands[name]
	if !known && !localCommands[name] {
		sh.usage()
		return false, failf("Command not found: Command not found %s", name)
	}
	switch name {
	case "quit":
		sh.close()
		return true, nil
	case "redo":
		if len(args) < 2 {
			break
		}
		i, perr := parseJavaInt(args[1])
		if perr != nil {
			return false, failf("Command index out of range")
		}
		if i < 0 || i >= sh.count {
			return false, failf("Command index out of range")
		}
		again := tokenize(sh.history[i])
		if len(again) > 0 && again[0] == "redo" {
			return false, failf("No redoing redos")
		}
		sh.history[sh.count] = sh.history[i]
		if len(again) > 0 {
			quit = sh.process(again)
		}
	case "history":
		sh.res.History = []historyJSON{}
		for i := max(sh.count-10, 0); i <= sh.count; i++ {
			fmt.Fprintf(sh.out, "%d - %s\n", i, sh.history[i])
			sh.res.History = append(sh.res.History, historyJSON{i, sh.history[i]})
		}
	case "printwatches":
		if len(args) == 1 {
			state := "off"
			if sh.printWatches.Load() {
				state = "on"
			}
			fmt.Fprintf(sh.out, "printwatches is %s\n", state)
			sh.res.PrintWatches = state
		} else {
			sh.printWatches.Store(args[1] == "on")
		}
	case "connect":
		host := sh.host
		if len(args) >= 2 {
			host = args[1]
		}
		sh.connect(host)
		sh.res.Server = host
	}
	if quit {
		return true, nil
	}
	// As in zkCli.sh, even the local commands end with this check; it only
	// fails the commands that need the server (the exit code stays 0).
	if !sh.alive() {
		fmt.Fprintln(sh.out, "Not connected")
		if known && sh.res != nil {
			sh.res.fail(proto.ErrConnectionLoss, "Not connected")
		}
		return false, nil
	}
	if !known {
		return false, nil
	}
	p, perr := parseOptions(cmd.opts, args)
	if perr != nil {
		return false, perr
	}
	if len(p.args) < cmd.minArgs {
		return false, failf("%s %s", name, cmd.usage)
	}
	if cmd.parse != nil {
		if err := cmd.parse(sh, p); err != nil {
			return false, err
		}
	}
	return false, cmd.run(sh, p)
}

// parseJavaInt is Integer.decode: decimal, 0x/# hex, 0 octal, signed.
func parseJavaInt(s string) (int, error) {
	neg := false
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	switch {
	case strings.HasPrefix(s, "0x"), strings.HasPrefix(s, "0X"):
		s, base = s[2:], 16
	case strings.HasPrefix(s, "#"):
		s, base = s[1:], 16
	case len(s) > 1 && s[0] == '0':
		s, base = s[1:], 8
	}
	v, err := strconv.ParseInt(s, base, 32)
	if neg {
		v = -v
	}
	return int(v), err
}

// usage prints zkCli.sh's command list.
func (sh *shell) usage() {
	var b strings.Builder
	b.WriteString("ZooKeeper -server host:port -client-configuration properties-file cmd args\n")
	lines := map[string]string{
		"connect": "host:port", "history": "", "redo": "cmdno", "printwatches": "on|off", "quit": "",
	}
	for name, c := range commands {
		lines[name] = c.usage
	}
	names := make([]string, 0, len(lines))
	for n := range lines {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b.WriteString("\t" + n + " " + lines[n] + "\n")
	}
	io.WriteString(sh.errw, b.String())
}

// localCommands are handled by the shell itself.
var localCommands = map[string]bool{"connect": true, "history": true, "redo": true, "printwatches": true, "quit": true}

// ctx bounds a command's requests. The client fails requests on a lost
// connection by itself; this only stops a command on a server that
// accepts requests and never answers them.
func (sh *shell) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*sh.timeout+30*time.Second)
}

// ttlDuration converts zkCli.sh's millisecond TTL.
func ttlDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

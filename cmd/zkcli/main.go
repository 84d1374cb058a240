// Command zkcli is a ZooKeeper shell compatible with zkCli.sh: the same
// commands, flags, output formats and error messages, interactively or as
// one-shot commands (zkcli -server host:port ls /). It works with zkd and
// with Apache ZooKeeper.
//
// This package owns the command-line surface only: it talks to servers
// through package client and must never speak the wire protocol itself.
//
// # Modes
//
// With a command after the flags, zkcli runs it and exits: 0 on success, 1
// when it failed. Without one it reads commands from stdin; the exit code
// is the last command's. When stdin and stdout are both terminals, lines
// are edited with golang.org/x/term:
//
//	Left/Right (Ctrl-B/Ctrl-F)        move by character
//	Alt-Left/Alt-Right                move by word
//	Home/End (Ctrl-A/Ctrl-E)          go to the start or end of the line
//	Backspace, Delete                 delete a character
//	Ctrl-W, Ctrl-U, Ctrl-K            delete a word, to the start, to the end
//	Ctrl-T                            swap two characters
//	Up/Down (Ctrl-P/Ctrl-N)           history, kept across sessions
//	Tab                               complete a command name or a znode path
//	Ctrl-L                            clear the screen
//	Ctrl-D (on an empty line), Ctrl-C quit
//
// Tab completes the first word from the command names, and a word starting
// with "/" from the children of its parent znode, listed on the live
// session (within one second; nothing when disconnected). When the word
// cannot be extended, the candidates are listed above the prompt. The
// history (up to 1000 lines) is appended to ~/.zkcli_history as lines are
// entered, or to $ZKCLI_HISTFILE (set it empty to keep none); addauth lines
// are never written to it. With piped stdin, lines are read as they are,
// without prompt or editing, exactly as zkCli.sh does.
//
// # JSON output
//
// With -json, each command prints one JSON object on one line of stdout
// instead of zkCli.sh's text, and nothing else is printed ("Connecting to",
// "Welcome" and the usage text are left out); exit codes are unchanged.
// Every object has "command" (the command's name); a field is present only
// when the command produces it:
//
//	path          the path the command acted on; for create, the node created
//	data          the node's data as a string, or null for null data;
//	dataBase64    instead of data when the bytes are not valid UTF-8
//	stat          ZooKeeper's Stat, with its field names: czxid, mzxid, ctime,
//	              mtime (ms since the epoch), version, cversion, aversion,
//	              ephemeralOwner, dataLength, numChildren, pzxid; present
//	              whenever the server returned one, with or without -s
//	children      ls: the child names, sorted
//	paths         ls -R: every path of the subtree; getEphemerals: the paths
//	acl           getAcl: [{"scheme","id","perms"}], perms as letters (cdrwa)
//	totalNumber   getAllChildrenNumber
//	mode          addWatch: PERSISTENT or PERSISTENT_RECURSIVE
//	clientInfo    whoami: [{"authScheme","user"}]
//	config        config, reconfig: the configuration text (with -c, the
//	              client connect string)
//	quota, usage  listquota: the limits and the counted usage, by key
//	              (count, bytes, countHardLimit, byteHardLimit)
//	history       history: [{"index","line"}]
//	printwatches  printwatches without argument: "on" or "off"
//	server        connect: the connect string
//	version       version
//	help          ls -?: the help text
//	warnings      messages that do not fail the command (deprecated forms,
//	              ACL entries skipped, nodes deleteall could not delete)
//	error         the failure, as the name of ZooKeeper's KeeperException.Code
//	              (NONODE, NODEEXISTS, BADVERSION, NOAUTH, CONNECTIONLOSS...);
//	              BADARGUMENTS for usage errors, bad options and invalid paths
//	message       with error: the text zkCli.sh prints for it
//
// For example:
//
//	{"command":"get","path":"/a","data":"hello","stat":{"czxid":4,...,"pzxid":4}}
//	{"command":"ls","path":"/","children":["a","zookeeper"],"stat":{...}}
//	{"command":"get","path":"/x","error":"NONODE","message":"Node does not exist: /x"}
//
// Some failures zkCli.sh reports with exit code 0 ("Not connected", "Sync
// has failed", a missing quota) carry error and message with exit code 0
// too. Watch events print as {"event":{"type","state","path"}} objects on
// their own lines; session state changes are not printed in -json mode.
package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"golang.org/x/term"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run parses zkCli.sh's flags (-server host:port, -timeout ms, -r for a
// read-only capable session, -waitforconnection) and zkcli's -json, then
// runs the command given after them, or a shell reading stdin. It returns
// the exit code: 0, or 1 when the (last) command failed.
func run(argv []string, in io.Reader, out, errw io.Writer) int {
	server, timeout := "localhost:2181", 30*time.Second
	readOnly, wait, jsonOut := false, false, false
	var cmd []string
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		needValue := func() (string, bool) {
			if i+1 >= len(argv) {
				fmt.Fprintf(errw, "Error: no argument found for option %s\n", a)
				return "", false
			}
			i++
			return argv[i], true
		}
		switch a {
		case "-server":
			v, ok := needValue()
			if !ok {
				return 1
			}
			server = v
			continue
		case "-timeout":
			v, ok := needValue()
			if !ok {
				return 1
			}
			ms, err := strconv.Atoi(v)
			if err != nil || ms <= 0 {
				fmt.Fprintf(errw, "Error: -timeout takes milliseconds, got %q\n", v)
				return 1
			}
			timeout = time.Duration(ms) * time.Millisecond
			continue
		case "-client-configuration":
			if _, ok := needValue(); !ok {
				return 1
			}
			fmt.Fprintln(errw, "Warning: -client-configuration is not supported; ignored")
			continue
		case "-r":
			readOnly = true
			continue
		case "-waitforconnection":
			wait = true
			continue
		case "-json":
			jsonOut = true
			continue
		}
		if len(a) > 0 && a[0] != '-' {
			cmd = argv[i:]
			break
		}
	}
	// Line editing needs a terminal on both sides: it echoes what it reads.
	var ed *editor
	if cmd == nil && isTerminal(in) && isTerminal(out) {
		hist, err := loadHistory(historyPath(), historyMax)
		if err != nil {
			fmt.Fprintf(errw, "Warning: history file: %v; history is not saved\n", err)
		}
		var stop func()
		ed, stop = ttyEditor(in.(*os.File), out.(*os.File), hist)
		defer stop()
		defer hist.Close()
		// Everything printed goes through the editor, which redraws the
		// prompt under a watch event arriving while a line is typed.
		if isTerminal(errw) {
			errw = ed.t
		}
		out = ed.t
	}
	sh := newShell(out, errw, timeout, readOnly)
	if jsonOut {
		sh.setJSON()
	}
	fmt.Fprintln(sh.out, "Connecting to "+server)
	sh.connect(server)
	defer sh.close()
	if wait && sh.conn != nil {
		ctx, cancel := sh.ctx()
		sh.conn.WaitConnected(ctx)
		cancel()
	}
	if cmd != nil {
		sh.process(cmd)
		return sh.exitCode
	}
	fmt.Fprintln(sh.out, "Welcome to ZooKeeper!")
	switch {
	case ed != nil:
		sh.editLoop(ed)
	case isTerminal(in):
		// Output redirected: a prompt, no editing.
		sh.repl(in, true)
	default:
		fmt.Fprintln(sh.out, "JLine support is disabled")
		sh.repl(in, false)
	}
	return sh.exitCode
}

// isTerminal reports whether f is a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

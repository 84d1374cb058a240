// Command zkcli is a ZooKeeper shell compatible with zkCli.sh: the same
// commands, flags, output formats and error messages, interactively or as
// one-shot commands (zkcli -server host:port ls /). It works with zkd and
// with Apache ZooKeeper.
//
// This package owns the command-line surface only: it talks to servers
// through package client and must never speak the wire protocol itself.
// Quota commands (setquota, listquota, delquota) are not implemented.
package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run parses zkCli.sh's flags (-server host:port, -timeout ms, -r for a
// read-only capable session, -waitforconnection), then runs the command
// given after them, or a shell reading stdin. It returns the exit code: 0,
// or 1 when the (last) command failed.
func run(argv []string, in io.Reader, out, errw io.Writer) int {
	server, timeout := "localhost:2181", 30*time.Second
	readOnly, wait := false, false
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
		}
		if len(a) > 0 && a[0] != '-' {
			cmd = argv[i:]
			break
		}
	}
	sh := newShell(out, errw, timeout, readOnly)
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
	interactive := isTerminal(in)
	if !interactive {
		fmt.Fprintln(sh.out, "JLine support is disabled")
	}
	sh.repl(in, interactive)
	return sh.exitCode
}

// isTerminal reports whether in is a character device (a terminal), where
// the shell shows a prompt.
func isTerminal(in io.Reader) bool {
	f, ok := in.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

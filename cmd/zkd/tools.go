package main

import "io"

// tools are the offline subcommands (zkd wal ..., zkd snapshot ...), keyed by
// their first word. Each returns the process exit code.
var tools = map[string]func(args []string, stdout, stderr io.Writer) int{}

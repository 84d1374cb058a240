//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "compare: Linux only (it reads /proc for server CPU and memory)")
	os.Exit(1)
}

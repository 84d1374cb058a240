//go:build !unix

package main

import "time"

// processCPU: without getrusage the server's CPU time is not reported.
func processCPU() (time.Duration, bool) { return 0, false }

//go:build unix

package harness

import (
	"errors"
	"syscall"
)

// processGone reports whether no process has this pid. The harness reaps
// its children, so a stopped server's pid is gone, not a zombie.
func processGone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

//go:build !linux

package harness

import "syscall"

// sysProcAttr has no parent-death signal outside Linux; cleanups stop servers.
func sysProcAttr() *syscall.SysProcAttr { return nil }

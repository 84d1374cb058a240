//go:build linux

package harness

import "syscall"

// sysProcAttr asks the kernel to SIGKILL the server if the test binary dies
// without running its cleanups (go test's timeout panic, kill -9), so no JVM
// is left holding a port.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

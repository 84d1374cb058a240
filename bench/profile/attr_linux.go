package main

import "syscall"

// childAttr makes the kernel kill the load generator if profile dies.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

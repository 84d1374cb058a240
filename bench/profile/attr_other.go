//go:build !linux

package main

import "syscall"

// childAttr: without Pdeathsig, the child ends with its own bounded run.
func childAttr() *syscall.SysProcAttr { return nil }

//go:build !linux

package harness

import "syscall"

// withGroups does nothing outside Linux, where ensembles cannot be
// partitioned (partitionGroups gives no groups there).
func withGroups(attr *syscall.SysProcAttr, _ []uint32) *syscall.SysProcAttr { return attr }

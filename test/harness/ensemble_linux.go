//go:build linux

package harness

import (
	"os"
	"syscall"
)

// withGroups adds supplementary groups to the process's credentials (only
// root may), keeping its user, group and existing groups, so iptables can
// match the sockets of one server process (see ensemble_partition.go).
func withGroups(attr *syscall.SysProcAttr, groups []uint32) *syscall.SysProcAttr {
	if len(groups) == 0 {
		return attr
	}
	if attr == nil {
		attr = &syscall.SysProcAttr{}
	}
	cred := &syscall.Credential{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())}
	if have, err := os.Getgroups(); err == nil {
		for _, g := range have {
			cred.Groups = append(cred.Groups, uint32(g))
		}
	}
	cred.Groups = append(cred.Groups, groups...)
	attr.Credential = cred
	return attr
}

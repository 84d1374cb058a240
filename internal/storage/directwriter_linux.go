package storage

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// setDirect turns O_DIRECT on or off for f. Linux allows both through
// F_SETFL; a file system without direct I/O refuses to turn it on.
func setDirect(f *os.File, on bool) error {
	fd := int(f.Fd())
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return err
	}
	if on {
		flags |= unix.O_DIRECT
	} else {
		flags &^= unix.O_DIRECT
	}
	_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, flags)
	return err
}

// directRefused says a direct write failed because of its alignment or the
// file system, not the disk: the same bytes may go through the page cache.
func directRefused(err error) bool {
	return errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP)
}

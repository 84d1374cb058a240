//go:build !linux

package storage

import (
	"errors"
	"os"
)

// setDirect: direct writes are used on Linux only; elsewhere snapshots go
// through the page cache.
func setDirect(f *os.File, on bool) error {
	if on {
		return errors.ErrUnsupported
	}
	return nil
}

func directRefused(err error) bool { return false }

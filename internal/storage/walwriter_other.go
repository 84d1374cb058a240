//go:build !linux

package storage

import (
	"errors"
	"os"
)

// errNoWriter says that zkd cannot find the WAL's descriptor: outside
// Linux there is no /proc/self/fd to look in.
var errNoWriter = errors.New("cannot find the descriptor that writes it outside Linux")

func walWriter(os.FileInfo) (int, error)        { return -1, errNoWriter }
func writerPos(int, os.FileInfo) (int64, error) { return 0, errNoWriter }

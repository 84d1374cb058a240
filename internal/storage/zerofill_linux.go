package storage

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// zeroFillHelps reports whether dir is on a file system where fallocate
// leaves unwritten extents that an append's sync must convert: ext2/3/4
// (one magic number) and XFS. Elsewhere (tmpfs, or copy-on-write file
// systems such as btrfs and ZFS, which allocate anew on every write)
// writing zeros ahead would double the log's writes for nothing.
func zeroFillHelps(dir string) (bool, string) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, "unknown"
	}
	switch uint64(st.Type) {
	case unix.EXT4_SUPER_MAGIC:
		return true, "ext4"
	case unix.XFS_SUPER_MAGIC:
		return true, "xfs"
	}
	return false, "0x" + strconv.FormatUint(uint64(st.Type), 16)
}

//go:build !linux

package storage

import "go.etcd.io/etcd/client/pkg/v3/fileutil"

// pace syncs the data written so far; without sync_file_range there is no
// cheaper way to bound how much the closing fsync has to write.
func (w *syncWriter) pace() error {
	if err := fileutil.Fdatasync(w.f); err != nil {
		return err
	}
	w.synced = w.written
	return nil
}

//go:build !failpoints || !linux

package storage

import (
	"os"
	"path/filepath"
	"testing"
)

// TestNoFailpointSideFile: a normal build never writes the side file.
func TestNoFailpointSideFile(t *testing.T) {
	root := t.TempDir()
	s, _ := mustOpen(t, filepath.Join(root, "wal"), filepath.Join(root, "snap"))
	defer s.Close()
	if err := s.Save(hs(1, 0), mkEnts(1, 3, 1, 10)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, FailpointSyncedFile)); !os.IsNotExist(err) {
		t.Fatalf("got %v from stat of the side file, want it not to exist", err)
	}
}

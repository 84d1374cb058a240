package storage

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// writeThrough writes data to a new file in dir through a directWriter, in
// pieces of step bytes, after prepare (if any) has had the writer; it
// returns the writer and the file's contents.
func writeThrough(t *testing.T, dir string, data []byte, step int, prepare func(*directWriter)) (*directWriter, []byte) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("f-%d-%d", len(data), step)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := newDirectWriter(f)
	if prepare != nil {
		prepare(w)
	}
	for p := data; len(p) > 0; {
		k := min(len(p), step)
		n, err := w.Write(p[:k])
		if err != nil || n != k {
			t.Fatalf("Write(%d bytes) = %d, %v", k, n, err)
		}
		p = p[k:]
	}
	if err := w.finish(); err != nil {
		t.Fatalf("finish: %v", err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return w, got
}

// TestDirectWriterWritesEverything: whatever the sizes of the file and of
// the writes, the file holds exactly what was written: whole pieces
// written directly (where the file system takes them), the rest through
// the page cache.
func TestDirectWriterWritesEverything(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, directAlign - 1, directAlign, syncEvery - 1, syncEvery, syncEvery + 1, 3*syncEvery + 777} {
		for _, step := range []int{1000, syncEvery, 3 * syncEvery} {
			data := payload(uint64(size), size)
			w, got := writeThrough(t, dir, data, step, nil)
			if !bytes.Equal(got, data) {
				t.Fatalf("%d bytes written %d at a time: the file holds %d bytes, not the same", size, step, len(got))
			}
			if w.direct {
				t.Fatalf("%d bytes: still writing directly after finish", size)
			}
			if whole := size / syncEvery; w.pieces != 0 && w.pieces != whole {
				t.Fatalf("%d bytes: %d pieces written directly, want %d (or none where the file system takes no direct writes)", size, w.pieces, whole)
			}
		}
	}
}

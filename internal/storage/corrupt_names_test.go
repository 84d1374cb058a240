package storage

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A flipped byte anywhere in the WAL's records that stops the server from
// starting must give an error that names the damaged segment, whatever
// kind of decoding error etcd reports (a CRC mismatch, an unparsable
// record, an unknown record type).
func TestCorruptWALErrorNamesTheSegment(t *testing.T) {
	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	saveEach(t, s, mkEnts(1, 20, 1, 40))
	for c := uint64(1); c <= 20; c++ { // commit-only states: small records
		if err := s.Save(hs(1, c), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	seg := walSegments(t, walDir)[0]
	orig, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	end := len(bytes.TrimRight(orig, "\x00"))
	refused := 0
	for pos := max(0, end-400); pos < end; pos += 3 {
		damaged := bytes.Clone(orig)
		damaged[pos] ^= 0x5a
		if err := os.WriteFile(seg, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		st, _, err := Open(walDir, snapDir, testLogger(t))
		if err == nil {
			st.Close() // repaired as a torn tail, or a byte nothing reads
		} else {
			refused++
			if !strings.Contains(err.Error(), filepath.Base(seg)) {
				t.Errorf("byte %d flipped: the error does not name %s: %v", pos, filepath.Base(seg), err)
			}
		}
		// Open may have repaired (rewritten) the segment: start again from
		// the original bytes, and no leftovers of a repair.
		matches, _ := filepath.Glob(filepath.Join(walDir, "*.broken"))
		for _, m := range matches {
			os.Remove(m)
		}
		if err := os.WriteFile(seg, orig, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if refused == 0 {
		t.Fatal("no flipped byte made the server refuse to start: the test checks nothing")
	}
	t.Logf("%d flips refused, each naming the segment", refused)
}

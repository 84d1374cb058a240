package storage

import (
	"bytes"
	"fmt"
	"testing"

	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
)

func snapList(snaps []*walpb.Snapshot) string {
	var b bytes.Buffer
	for _, s := range snaps {
		fmt.Fprintf(&b, "%d/%d ", s.GetTerm(), s.GetIndex())
	}
	return b.String()
}

// TestSnapshotScanMatchesEtcd: over several segments, with snapshot records
// both within the committed log and past the last HardState's commit, the
// scan finds what etcd's reader finds, without falling back to it.
func TestSnapshotScanMatchesEtcd(t *testing.T) {
	segmentSize(t, 64<<10)
	walDir, snapDir := dirs(t)
	s, _ := mustOpen(t, walDir, snapDir)
	for i := uint64(1); i <= 6; i++ {
		saveEach(t, s, mkEnts(100*(i-1)+1, 100*i, 1, 300))
		if err := s.RecordSnapshot(SnapshotMeta{Index: 100*i - 50, Term: 1}); err != nil {
			t.Fatal(err)
		}
	}
	// Recorded but past the commit of the last HardState: not valid.
	if err := s.Save(hs(1, 600), mkEnts(601, 610, 1, 300)); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordSnapshot(SnapshotMeta{Index: 605, Term: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(walSegments(t, walDir)); n < 3 {
		t.Fatalf("%d WAL segments, want several", n)
	}
	want, err := wal.ValidSnapshotEntries(nil, walDir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := scanSnapshotRecords(walDir)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	if snapList(got) != snapList(want) || len(want) != 7 {
		t.Fatalf("scan found %s, etcd %s (want 7: the empty start and six taken)", snapList(got), snapList(want))
	}
}

// TestSnapshotScanDefersOnDamage: a flipped bit fails the scan's checksum
// chain, and validSnapshotRecords then gives etcd's verdict.
func TestSnapshotScanDefersOnDamage(t *testing.T) {
	walDir, _, _ := walWithFlippedBit(t, 40)
	if _, err := scanSnapshotRecords(walDir); err != errScanUnsure {
		t.Fatalf("scan of a damaged WAL: got %v, want errScanUnsure", err)
	}
	_, want := wal.ValidSnapshotEntries(nil, walDir)
	if _, got := validSnapshotRecords(nil, walDir); got == nil || want == nil || got.Error() != want.Error() {
		t.Fatalf("got %v, want etcd's %v", got, want)
	}
}

package tree

import (
	"testing"

	"github.com/zkd-io/zkd/proto"
)

// walkDigest recomputes the digest from scratch, to check the incremental one.
func walkDigest(tr *Tree) uint64 {
	var d uint64
	tr.Walk(func(n *Node) bool { d += nodeDigest(n); return true })
	return d
}

func TestDigestIsIncrementalAndOrderIndependent(t *testing.T) {
	a, b := New(), New()
	// The same final state reached by different histories that leave
	// identical records (same zxids) must give the same digest.
	mustCreate(t, a, "/x", 0, 1)
	mustCreate(t, a, "/y", 0, 2)
	mustCreate(t, b, "/x", 0, 1)
	mustCreate(t, b, "/y", 0, 2)
	mustCreate(t, b, "/tmp", 0, 3)
	b.Delete(b.Get("/tmp"), 4)
	mustCreate(t, a, "/tmp", 0, 3)
	a.Delete(a.Get("/tmp"), 4)
	if a.Digest() != b.Digest() {
		t.Fatalf("equal trees: got digests %x and %x", a.Digest(), b.Digest())
	}
	if got, want := a.Digest(), walkDigest(a); got != want {
		t.Fatalf("incremental digest %x, recomputed %x", got, want)
	}
	if c := a.Clone(); c.Digest() != a.Digest() {
		t.Fatalf("clone digest %x, want %x", c.Digest(), a.Digest())
	}
}

func TestDigestSeesEveryVisibleChange(t *testing.T) {
	base := func() *Tree {
		tr := New()
		mustCreate(t, tr, "/x", 0, 1)
		return tr
	}
	ref := base().Digest()
	changes := map[string]func(tr *Tree){
		"data":    func(tr *Tree) { tr.SetData(tr.Get("/x"), []byte("e"), 1, 1001) },
		"version": func(tr *Tree) { tr.SetData(tr.Get("/x"), []byte("d"), 1, 1001) },
		"acl":     func(tr *Tree) { tr.SetACL(tr.Get("/x"), proto.ReadACLUnsafe) },
		"child":   func(tr *Tree) { mustCreate(t, tr, "/x/c", 0, 2) },
		"owner":   func(tr *Tree) { tr.Delete(tr.Get("/x"), 2); mustCreate(t, tr, "/x", 7, 1) },
	}
	for name, change := range changes {
		tr := base()
		change(tr)
		if tr.Digest() == ref {
			t.Errorf("%s: digest unchanged (%x)", name, ref)
		}
		if got, want := tr.Digest(), walkDigest(tr); got != want {
			t.Errorf("%s: incremental digest %x, recomputed %x", name, got, want)
		}
	}
}

func TestDigestRollback(t *testing.T) {
	tr := New()
	mustCreate(t, tr, "/x", 0, 1)
	want := tr.Digest()
	tr.Begin()
	mustCreate(t, tr, "/x/y", 0, 2)
	tr.SetData(tr.Get("/x"), []byte("zz"), 2, 5)
	tr.Rollback()
	if got := tr.Digest(); got != want {
		t.Fatalf("after rollback: got %x, want %x", got, want)
	}
}

func BenchmarkNodeDigest(b *testing.B) {
	tr := New()
	n := tr.Create(tr.Get("/"), "/some/longer/path/name", make([]byte, 1024), proto.OpenACLUnsafe, 0, 1, 1)
	b.ReportAllocs()
	for b.Loop() {
		nodeDigest(n)
	}
}

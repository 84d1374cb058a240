package tree

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/zkd-io/zkd/internal/allocguard"
	"github.com/zkd-io/zkd/proto"
)

func benchTree(tb testing.TB, n int) (*Tree, []string) {
	tr := New()
	tr.Create(tr.Get("/"), "/b", nil, proto.OpenACLUnsafe, 0, 1, 1)
	paths := make([]string, n)
	for i := range paths {
		paths[i] = "/b/n" + strconv.Itoa(i)
		// Create returns the new node; the parent's current record is a
		// new one after each create.
		tr.Create(tr.Get("/b"), paths[i], make([]byte, 100), proto.OpenACLUnsafe, 0, int64(i+2), 1)
	}
	return tr, paths
}

// The tree's cases on the request path: each is a benchmark and an
// allocation budget. Get's one allocation is the view it returns.
var allocCases = []allocguard.Case{
	{Name: "Get", Budget: 1, Prepare: prepareGet},
	{Name: "Create", Budget: 4, Prepare: prepareCreate},
	{Name: "SetData", Budget: 3, Prepare: prepareSetData},
}

func TestAllocBudgets(t *testing.T) { allocguard.Check(t, allocCases) }

func BenchmarkGet(b *testing.B)     { allocguard.Bench(b, allocCases[0]) }
func BenchmarkCreate(b *testing.B)  { allocguard.Bench(b, allocCases[1]) }
func BenchmarkSetData(b *testing.B) { allocguard.Bench(b, allocCases[2]) }

func prepareGet(tb testing.TB, _ int) func() {
	tr, paths := benchTree(tb, 100000)
	i := 0
	return func() {
		if tr.Get(paths[i%len(paths)]) == nil {
			tb.Fatal("missing")
		}
		i++
	}
}

func prepareCreate(_ testing.TB, n int) func() {
	tr := New()
	tr.Create(tr.Get("/"), "/b", nil, proto.OpenACLUnsafe, 0, 1, 1)
	paths := make([]string, n)
	for i := range paths {
		paths[i] = "/b/n" + strconv.Itoa(i)
	}
	data := make([]byte, 100)
	i := 0
	return func() {
		tr.Create(tr.Get("/b"), paths[i], data, proto.OpenACLUnsafe, 0, int64(i+2), 1)
		i++
	}
}

func prepareSetData(tb testing.TB, _ int) func() {
	tr, paths := benchTree(tb, 100000)
	data := make([]byte, 100)
	i := 0
	return func() {
		tr.SetData(tr.Get(paths[i%len(paths)]), data, int64(i), 1)
		i++
	}
}

func BenchmarkClone(b *testing.B) {
	tr, _ := benchTree(b, 100000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = tr.Clone()
	}
}

// BenchmarkMemoryPerNode reports the live heap per znode of a tree of
// 1,000,000 nodes with 100-byte values and paths like /b/n123456 (the
// footprint target's shape), after a full GC.
func BenchmarkMemoryPerNode(b *testing.B) {
	const n = 1_000_000
	for i := 0; i < b.N; i++ {
		before := liveHeap()
		tr := New()
		parent := tr.Create(tr.Get("/"), "/b", nil, proto.OpenACLUnsafe, 0, 1, 1)
		for i := range n {
			parent = tr.Create(parent, "/b/n"+strconv.Itoa(i), make([]byte, 100), proto.OpenACLUnsafe, 0, int64(i+2), 1)
		}
		after := liveHeap()
		b.ReportMetric(float64(after-before)/n, "bytes/znode")
		runtime.KeepAlive(tr)
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// Package allocguard owns the allocation budgets of zkd's hot paths. A
// package's tests declare each path once, as a Case; the same Case runs as
// a benchmark (go test -bench, which reports allocs/op) and as a test that
// fails when the path allocates more than its budget. Timings are left to
// the benchmarks, since they vary too much on shared machines to assert,
// but allocation counts are the same from run to run, so a change that adds
// an allocation to a request's path fails go test instead of going
// unnoticed.
//
// A budget is the count measured when it was set. A change that lowers it
// is logged, so that the budget can be tightened with it.
package allocguard

import "testing"

// Case is one hot path.
type Case struct {
	Name string
	// Budget is the most allocations one operation may make.
	Budget int
	// Bytes, when set, is the bytes one operation handles; the benchmark
	// reports it as a rate.
	Bytes int64
	// Prepare sets up n operations and returns a function that does the
	// next one each time it is called (at most n times).
	Prepare func(tb testing.TB, n int) func()
}

// runs is how many operations Check averages over.
const runs = 200

// Bench runs c as a benchmark, reporting allocations per operation.
func Bench(b *testing.B, c Case) {
	op := c.Prepare(b, b.N)
	b.ReportAllocs()
	if c.Bytes > 0 {
		b.SetBytes(c.Bytes)
	}
	b.ResetTimer()
	for range b.N {
		op()
	}
}

// Check fails t for each case whose operations allocate more than its
// budget, on average over a few hundred.
func Check(t *testing.T, cases []Case) {
	t.Helper()
	if raceEnabled {
		t.Skip("allocation budgets are not checked under -race, which allocates for its own bookkeeping; run go test without -race to check them")
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			op := c.Prepare(t, runs+1) // AllocsPerRun calls op once before it counts
			got := testing.AllocsPerRun(runs, op)
			switch {
			case got > float64(c.Budget):
				t.Errorf("%s makes %v allocations per operation; its budget is %d. Remove the new allocation, or raise the budget if it is worth its cost. To see where it is: go test -run '^$' -bench '%s' -benchmem -memprofile mem.out, then go tool pprof -sample_index=alloc_objects -top mem.out",
					c.Name, got, c.Budget, c.Name)
			case got < float64(c.Budget):
				t.Logf("%s makes %v allocations per operation, under its budget of %d: lower the budget to keep the gain", c.Name, got, c.Budget)
			}
		})
	}
}

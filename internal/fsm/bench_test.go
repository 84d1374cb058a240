package fsm

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"testing"

	"github.com/zkd-io/zkd/internal/allocguard"
	"github.com/zkd-io/zkd/proto"
)

// The request path's cases: each is a benchmark and an allocation budget.
var allocCases = []allocguard.Case{
	{Name: "ApplyCreate", Budget: 12, Prepare: prepareApplyCreate},
	{Name: "ReadGetData", Budget: 2, Prepare: prepareReadGetData},
}

func TestAllocBudgets(t *testing.T) { allocguard.Check(t, allocCases) }

// BenchmarkApplyCreate measures one create through Apply: entry decode,
// request decode, checks, tree insert and watch triggers.
func BenchmarkApplyCreate(b *testing.B) { allocguard.Bench(b, allocCases[0]) }

func BenchmarkReadGetData(b *testing.B) { allocguard.Bench(b, allocCases[1]) }

func prepareApplyCreate(tb testing.TB, n int) func() {
	f := New(Options{})
	f.Apply(1, 1, (&Entry{Session: 1, Op: proto.OpCreateSession, Timeout: 1}).Marshal())
	f.Apply(2, 1, (&Entry{Session: 1, Op: proto.OpCreate, Body: body(&proto.CreateRequest{Path: "/b", ACL: proto.OpenACLUnsafe})}).Marshal())
	entries := make([][]byte, n)
	for i := range entries {
		entries[i] = (&Entry{Session: 1, Op: proto.OpCreate, Time: 1, Body: body(&proto.CreateRequest{
			Path: "/b/n" + strconv.Itoa(i), Data: make([]byte, 100), ACL: proto.OpenACLUnsafe})}).Marshal()
	}
	i := 0
	return func() {
		if res, _ := f.Apply(uint64(i+3), 1, entries[i]); res.Err != proto.ErrOK {
			tb.Fatal(res.Err)
		}
		i++
	}
}

func prepareReadGetData(tb testing.TB, _ int) func() {
	f := New(Options{})
	f.Apply(1, 1, (&Entry{Session: 1, Op: proto.OpCreateSession, Timeout: 1}).Marshal())
	f.Apply(2, 1, (&Entry{Session: 1, Op: proto.OpCreate, Body: body(&proto.CreateRequest{Path: "/b", Data: make([]byte, 1024), ACL: proto.OpenACLUnsafe})}).Marshal())
	req := &proto.GetDataRequest{Path: "/b"}
	return func() {
		if _, code := f.Read(proto.OpGetData, req, 1, nil); code != proto.ErrOK {
			tb.Fatal(code)
		}
	}
}

// benchState is a state of n nodes with 100-byte values, spread over 100
// parents.
func benchState(n int) *harness {
	h := newHarness(&testing.T{})
	data := make([]byte, 100)
	for i := 0; i < 100; i++ {
		h.req(proto.OpCreate, &proto.CreateRequest{Path: fmt.Sprintf("/g%02d", i), ACL: proto.OpenACLUnsafe})
	}
	for i := 0; i < n; i++ {
		h.req(proto.OpCreate, &proto.CreateRequest{Path: fmt.Sprintf("/g%02d/n%07d", i%100, i), Data: data, ACL: proto.OpenACLUnsafe})
	}
	return h
}

// BenchmarkSnapshotWrite serializes a 200k-node state (100-byte values) to
// io.Discard: the cost a snapshot adds off the apply path, per node.
func BenchmarkSnapshotWrite(b *testing.B) {
	const n = 200000
	h := benchState(n)
	b.ResetTimer()
	for b.Loop() {
		if err := h.f.Snapshot()(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/node")
}

// BenchmarkRestore loads a 200k-node snapshot (100-byte values) into a new
// state: the bulk of a restart's time, per node.
func BenchmarkRestore(b *testing.B) {
	const n = 200000
	h := benchState(n)
	var snap bytes.Buffer
	if err := h.f.Snapshot()(&snap); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := New(Options{}).Restore(bytes.NewReader(snap.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/node")
}

package fsm

import (
	"strconv"
	"testing"

	"github.com/zkd-io/zkd/proto"
)

// BenchmarkApplyCreate measures one create through Apply: entry decode,
// request decode, checks, tree insert and watch triggers.
func BenchmarkApplyCreate(b *testing.B) {
	f := New(Options{})
	f.Apply(1, 1, (&Entry{Session: 1, Op: proto.OpCreateSession, Timeout: 1}).Marshal())
	f.Apply(2, 1, (&Entry{Session: 1, Op: proto.OpCreate, Body: body(&proto.CreateRequest{Path: "/b", ACL: proto.OpenACLUnsafe})}).Marshal())
	entries := make([][]byte, b.N)
	for i := range entries {
		entries[i] = (&Entry{Session: 1, Op: proto.OpCreate, Time: 1, Body: body(&proto.CreateRequest{
			Path: "/b/n" + strconv.Itoa(i), Data: make([]byte, 100), ACL: proto.OpenACLUnsafe})}).Marshal()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if res, _ := f.Apply(uint64(i+3), 1, entries[i]); res.Err != proto.ErrOK {
			b.Fatal(res.Err)
		}
	}
}

func BenchmarkReadGetData(b *testing.B) {
	f := New(Options{})
	f.Apply(1, 1, (&Entry{Session: 1, Op: proto.OpCreateSession, Timeout: 1}).Marshal())
	f.Apply(2, 1, (&Entry{Session: 1, Op: proto.OpCreate, Body: body(&proto.CreateRequest{Path: "/b", Data: make([]byte, 1024), ACL: proto.OpenACLUnsafe})}).Marshal())
	req := &proto.GetDataRequest{Path: "/b"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, code := f.Read(proto.OpGetData, req, 1, nil); code != proto.ErrOK {
			b.Fatal(code)
		}
	}
}

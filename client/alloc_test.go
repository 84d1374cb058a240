package client

import (
	"context"
	"testing"

	"github.com/zkd-io/zkd/internal/allocguard"
	"github.com/zkd-io/zkd/proto"
)

// The request path end to end: one synchronous request through this client
// and an in-process zkd on loopback, so the allocations of both sides
// count: the client's request and reply, the server's decode, proposal,
// raft, WAL, apply and reply. A set's include go.etcd.io/raft's and the
// WAL's, about a third of them; a dependency upgrade that changes those
// changes the budget.
var requestCases = []allocguard.Case{
	{Name: "RequestPath/get", Budget: 15, Prepare: func(tb testing.TB, _ int) func() {
		c, path, ctx := requestPathConn(tb)
		return func() {
			if _, _, err := c.Get(ctx, path); err != nil {
				tb.Fatalf("get: %v", err)
			}
		}
	}},
	{Name: "RequestPath/set", Budget: 93, Prepare: func(tb testing.TB, _ int) func() {
		c, path, ctx := requestPathConn(tb)
		data := make([]byte, 128)
		return func() {
			if _, err := c.Set(ctx, path, data, -1); err != nil {
				tb.Fatalf("set: %v", err)
			}
		}
	}},
}

func TestRequestPathAllocBudgets(t *testing.T) { allocguard.Check(t, requestCases) }

// BenchmarkRequestPath runs the request path's cases; BenchmarkCompare
// times the same calls against go-zookeeper's.
func BenchmarkRequestPath(b *testing.B) {
	for _, c := range requestCases {
		b.Run(c.Name[len("RequestPath/"):], func(b *testing.B) { allocguard.Bench(b, c) })
	}
}

func requestPathConn(tb testing.TB) (*Conn, string, context.Context) {
	c := connect(tb, startServer(tb).Addr().String())
	ctx := bg(tb)
	const path = "/alloc"
	if _, err := c.Create(ctx, path, make([]byte, 128), proto.OpenACLUnsafe, ModePersistent); err != nil {
		tb.Fatalf("create %s: %v", path, err)
	}
	return c, path, ctx
}

package recipe

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/internal/servertest"
	"github.com/zkd-io/zkd/proto"
)

var open = proto.OpenACLUnsafe

// startServer runs an in-process zkd (see servertest) for the test.
func startServer(t testing.TB) string {
	t.Helper()
	return servertest.Start(t).Addr().String()
}

func connect(t testing.TB, addr string, opts ...client.Option) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, addr, append([]client.Option{client.WithSessionTimeout(4 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func bg(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// cutter is a dialer whose connections a test can cut and whose new dials
// it can refuse.
type cutter struct {
	mu     sync.Mutex
	conns  []net.Conn
	refuse bool
}

func (d *cutter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	refuse := d.refuse
	d.mu.Unlock()
	if refuse {
		return nil, errors.New("refused by test")
	}
	var nd net.Dialer
	nc, err := nd.DialContext(ctx, network, addr)
	if err == nil {
		d.mu.Lock()
		d.conns = append(d.conns, nc)
		d.mu.Unlock()
	}
	return nc, err
}

func (d *cutter) cut(refuse bool) {
	d.mu.Lock()
	conns := d.conns
	d.conns, d.refuse = nil, refuse
	d.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

func (d *cutter) allow() {
	d.mu.Lock()
	d.refuse = false
	d.mu.Unlock()
}

// closedWithin reports whether ch is closed (or receives) within d.
func closedWithin[T any](ch <-chan T, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

func clientDialer(d *cutter) client.Option { return client.WithDialer(d.dial) }

// shortSession makes sessions expire quickly (the server's minimum with a
// 200ms tick is 400ms).
func shortSession() client.Option { return client.WithSessionTimeout(600 * time.Millisecond) }

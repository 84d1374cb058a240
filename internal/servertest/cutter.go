package servertest

import (
	"context"
	"errors"
	"net"
	"sync"
)

// Cutter is a client dialer whose connections a test can cut, refusing new
// ones until allowed again: a network partition of one client. Use its
// Dial with client.WithDialer.
type Cutter struct {
	mu     sync.Mutex
	conns  []net.Conn
	refuse bool
}

// Dial connects, unless the network is cut.
func (d *Cutter) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.refuse {
		return nil, errors.New("network cut by the test")
	}
	var nd net.Dialer
	nc, err := nd.DialContext(ctx, network, addr)
	if err == nil {
		d.conns = append(d.conns, nc)
	}
	return nc, err
}

// Set cuts the network (closing every connection made so far) or heals it.
func (d *Cutter) Set(cut bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refuse = cut
	if cut {
		for _, c := range d.conns {
			c.Close()
		}
		d.conns = nil
	}
}

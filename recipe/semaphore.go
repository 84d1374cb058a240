package recipe

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

const leasePrefix = "lease"

// Semaphore is a fair distributed counting semaphore: at most permits
// leases under dir are held at once, granted in arrival order (ephemeral
// sequential nodes; the first permits of them hold a lease).
//
// Guarantee: at most permits holders at a time, provided every
// participant uses the same permits value and holders stop when their
// Lease's Lost fires (the connection dropped or the session ended). A
// waiter is woken on every change of the lease list.
type Semaphore struct {
	c       *client.Conn
	dir     string
	permits int
	acl     []proto.ACL
}

// NewSemaphore returns a semaphore with permits leases on dir.
func NewSemaphore(c *client.Conn, dir string, permits int, acl []proto.ACL) *Semaphore {
	return &Semaphore{c: c, dir: dir, permits: permits, acl: acl}
}

// Lease is one acquired permit.
type Lease struct {
	s    *Semaphore
	mu   sync.Mutex
	node string
	lost <-chan struct{}
}

// Acquire blocks until a lease is granted or ctx ends.
func (s *Semaphore) Acquire(ctx context.Context) (*Lease, error) {
	if s.permits < 1 {
		return nil, fmt.Errorf("recipe: semaphore with %d permits", s.permits)
	}
	name, err := createSequential(ctx, s.c, s.dir, leasePrefix, nil, s.acl, client.ModeEphemeralSequential)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Lease, error) {
		cctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		deleteQuietly(cctx, s.c, join(s.dir, name))
		return nil, err
	}
	for {
		kids, ch, err := s.c.ChildrenW(ctx, s.dir)
		if err != nil {
			return fail(err)
		}
		leases := kids[:0]
		for _, k := range kids {
			if _, ok := seqOf(k); ok && len(k) > len(leasePrefix) && k[:len(leasePrefix)+1] == leasePrefix+"-" {
				leases = append(leases, k)
			}
		}
		sortBySeq(leases)
		i := slices.Index(leases, name)
		if i < 0 {
			return fail(fmt.Errorf("%w: %s", ErrNodeGone, join(s.dir, name)))
		}
		if i < s.permits {
			// The child watch stays until the list changes; it is harmless.
			return &Lease{s: s, node: name, lost: sessionWatch(s.c)}, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fail(ctx.Err())
		}
	}
}

// Release returns the lease.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	name := l.node
	l.mu.Unlock()
	if name == "" {
		return ErrNotHeld
	}
	if err := deleteQuietly(ctx, l.s.c, join(l.s.dir, name)); err != nil {
		return err
	}
	l.mu.Lock()
	l.node = ""
	l.mu.Unlock()
	return nil
}

// Lost returns a channel closed when the lease may have been lost.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

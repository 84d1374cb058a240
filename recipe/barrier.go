package recipe

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// Barrier holds clients back while its node exists.
//
// Guarantee: Wait returns only after it has seen the barrier node absent
// (it may have been raised again since).
type Barrier struct {
	c    *client.Conn
	path string
	acl  []proto.ACL
}

// NewBarrier returns a barrier whose node is path.
func NewBarrier(c *client.Conn, path string, acl []proto.ACL) *Barrier {
	return &Barrier{c: c, path: path, acl: acl}
}

// Raise creates the barrier node (parents included); raising a raised
// barrier is not an error.
func (b *Barrier) Raise(ctx context.Context) error {
	i := strings.LastIndexByte(b.path, '/')
	if i > 0 {
		if err := ensurePath(ctx, b.c, b.path[:i], b.acl); err != nil {
			return err
		}
	}
	_, err := b.c.Create(ctx, b.path, nil, aclOr(b.acl), client.ModePersistent)
	if errors.Is(err, proto.ErrNodeExists) {
		return nil
	}
	return err
}

// Lower deletes the barrier node, releasing the waiters.
func (b *Barrier) Lower(ctx context.Context) error { return deleteQuietly(ctx, b.c, b.path) }

// Wait blocks until the barrier node does not exist.
func (b *Barrier) Wait(ctx context.Context) error {
	for {
		st, ch, err := b.c.ExistsW(ctx, b.path)
		if err != nil {
			return err
		}
		if st == nil {
			// ExistsW left a watch for the node's creation; drop it.
			b.c.RemoveWatch(ctx, ch, true)
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

const readyNode = "ready"

// DoubleBarrier makes a fixed number of participants enter a computation
// together and leave it together (ZooKeeper's double barrier recipe).
// Each participant has an ephemeral node under dir; the last to arrive
// creates dir/ready, which lets everybody in.
//
// Guarantee: Enter returns once count participants have entered (or the
// ready node exists); Leave returns once every participant has left or
// lost its session. The barrier is for one round: the last participant
// to leave deletes the ready node.
type DoubleBarrier struct {
	c     *client.Conn
	dir   string
	name  string
	count int
	acl   []proto.ACL
}

// NewDoubleBarrier returns participant name (unique among the
// participants) of a barrier on dir for count participants.
func NewDoubleBarrier(c *client.Conn, dir, name string, count int, acl []proto.ACL) *DoubleBarrier {
	return &DoubleBarrier{c: c, dir: dir, name: name, count: count, acl: acl}
}

// Enter registers the participant and blocks until all have entered.
func (b *DoubleBarrier) Enter(ctx context.Context) error {
	if err := ensurePath(ctx, b.c, b.dir, b.acl); err != nil {
		return err
	}
	ready := join(b.dir, readyNode)
	// Watch for ready before joining, so its creation cannot be missed.
	st, ch, err := b.c.ExistsW(ctx, ready)
	if err != nil {
		return err
	}
	_, err = b.c.Create(ctx, join(b.dir, b.name), nil, aclOr(b.acl), client.ModeEphemeral)
	if err != nil && !errors.Is(err, proto.ErrNodeExists) {
		return err
	}
	if st != nil {
		return nil
	}
	n, err := b.participants(ctx)
	if err != nil {
		return err
	}
	if len(n) >= b.count {
		_, err := b.c.Create(ctx, ready, nil, aclOr(b.acl), client.ModePersistent)
		if err != nil && !errors.Is(err, proto.ErrNodeExists) {
			return err
		}
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *DoubleBarrier) participants(ctx context.Context) ([]string, error) {
	kids, err := b.c.Children(ctx, b.dir)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(kids, func(k string) bool { return k == readyNode }), nil
}

// Leave removes the participant and blocks until all have left. As in
// the recipe, the participant with the lowest name waits for the highest,
// the others remove themselves and wait for the lowest, so each departure
// wakes few watchers.
func (b *DoubleBarrier) Leave(ctx context.Context) error {
	for {
		kids, err := b.participants(ctx)
		if err != nil {
			return err
		}
		slices.Sort(kids)
		mine := slices.Contains(kids, b.name)
		switch {
		case len(kids) == 0:
			return deleteQuietly(ctx, b.c, join(b.dir, readyNode))
		case len(kids) == 1 && mine:
			if err := deleteQuietly(ctx, b.c, join(b.dir, b.name)); err != nil {
				return err
			}
			continue
		}
		wait := kids[0]
		if mine && kids[0] == b.name {
			wait = kids[len(kids)-1]
		} else if mine {
			if err := deleteQuietly(ctx, b.c, join(b.dir, b.name)); err != nil {
				return err
			}
		}
		_, _, ch, err := b.c.GetW(ctx, join(b.dir, wait))
		if errors.Is(err, proto.ErrNoNode) {
			continue
		}
		if err != nil {
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

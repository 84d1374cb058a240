package recipe

import (
	"context"
	"errors"
	"strings"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

const queuePrefix = "qn-"

// Queue is a distributed FIFO queue: items are persistent sequential
// nodes under dir, taken in sequence order.
//
// Guarantee: each item put is taken at most once, and items are taken in
// the order their Puts were applied. An item is removed before Take
// returns it, so it is lost if the taker dies before using it (at-most-once
// delivery).
type Queue struct {
	c   *client.Conn
	dir string
	acl []proto.ACL
}

// NewQueue returns the queue on dir.
func NewQueue(c *client.Conn, dir string, acl []proto.ACL) *Queue {
	return &Queue{c: c, dir: dir, acl: acl}
}

// Put appends an item.
func (q *Queue) Put(ctx context.Context, data []byte) error {
	_, err := createSequential(ctx, q.c, q.dir, strings.TrimSuffix(queuePrefix, "-"), data, q.acl, client.ModePersistentSequential)
	return err
}

// items lists the queued item names in order, and leaves a child watch
// when watch is set.
func (q *Queue) items(ctx context.Context, watch bool) ([]string, <-chan client.Event, error) {
	var kids []string
	var ch <-chan client.Event
	var err error
	if watch {
		kids, ch, err = q.c.ChildrenW(ctx, q.dir)
	} else {
		kids, err = q.c.Children(ctx, q.dir)
	}
	if errors.Is(err, proto.ErrNoNode) && watch {
		if err := ensurePath(ctx, q.c, q.dir, q.acl); err != nil {
			return nil, nil, err
		}
		return q.items(ctx, watch)
	}
	if errors.Is(err, proto.ErrNoNode) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	out := kids[:0]
	for _, k := range kids {
		if _, ok := seqOf(k); ok && strings.HasPrefix(k, queuePrefix) {
			out = append(out, k)
		}
	}
	sortBySeq(out)
	return out, ch, nil
}

// takeFirst removes and returns the oldest item it can claim; ok is false
// when the queue is empty.
func (q *Queue) takeFirst(ctx context.Context, items []string) (data []byte, ok bool, err error) {
	for _, name := range items {
		p := join(q.dir, name)
		data, st, err := q.c.Get(ctx, p)
		if errors.Is(err, proto.ErrNoNode) {
			continue // taken by someone else
		}
		if err != nil {
			return nil, false, err
		}
		// Deleting with the read version makes this taker the only one.
		err = q.c.Delete(ctx, p, st.Version)
		if errors.Is(err, proto.ErrNoNode) || errors.Is(err, proto.ErrBadVersion) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		return data, true, nil
	}
	return nil, false, nil
}

// Poll removes and returns the oldest item, or ok false if the queue is
// empty.
func (q *Queue) Poll(ctx context.Context) ([]byte, bool, error) {
	items, _, err := q.items(ctx, false)
	if err != nil {
		return nil, false, err
	}
	return q.takeFirst(ctx, items)
}

// Take removes and returns the oldest item, waiting for one if the queue
// is empty.
func (q *Queue) Take(ctx context.Context) ([]byte, error) {
	for {
		items, ch, err := q.items(ctx, true)
		if err != nil {
			return nil, err
		}
		data, ok, err := q.takeFirst(ctx, items)
		if err != nil || ok {
			return data, err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Len returns the number of queued items.
func (q *Queue) Len(ctx context.Context) (int, error) {
	items, _, err := q.items(ctx, false)
	return len(items), err
}

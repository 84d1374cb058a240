package recipe

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// Counter is a shared int64 stored as decimal text in one node, changed by
// compare-and-set on the node's version.
//
// Guarantee: no lost updates: an Add that returns without error was
// applied exactly once, atomically (concurrent Adds retry until their CAS
// wins). An Add failing with ConnectionLoss may or may not have been
// applied, as with any ZooKeeper write. A missing node reads as 0.
type Counter struct {
	c    *client.Conn
	path string
	acl  []proto.ACL
}

// NewCounter returns the counter stored at path.
func NewCounter(c *client.Conn, path string, acl []proto.ACL) *Counter {
	return &Counter{c: c, path: path, acl: acl}
}

func parseCounter(path string, data []byte) (int64, error) {
	if len(data) == 0 {
		return 0, nil
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("recipe: counter %s holds %q, not a number", path, data)
	}
	return v, nil
}

// Get returns the value and the node's version (-1 when the node does not
// exist yet).
func (k *Counter) Get(ctx context.Context) (int64, int32, error) {
	data, st, err := k.c.Get(ctx, k.path)
	if errors.Is(err, proto.ErrNoNode) {
		return 0, -1, nil
	}
	if err != nil {
		return 0, 0, err
	}
	v, err := parseCounter(k.path, data)
	return v, st.Version, err
}

// CompareAndSet stores value if the node's version is still version (-1:
// the node must not exist yet). It reports whether it won.
func (k *Counter) CompareAndSet(ctx context.Context, version int32, value int64) (bool, error) {
	data := []byte(strconv.FormatInt(value, 10))
	var err error
	if version < 0 {
		i := strings.LastIndexByte(k.path, '/')
		if i > 0 {
			if err := ensurePath(ctx, k.c, k.path[:i], k.acl); err != nil {
				return false, err
			}
		}
		_, err = k.c.Create(ctx, k.path, data, aclOr(k.acl), client.ModePersistent)
		if errors.Is(err, proto.ErrNodeExists) {
			return false, nil
		}
	} else {
		_, err = k.c.Set(ctx, k.path, data, version)
		if errors.Is(err, proto.ErrBadVersion) || errors.Is(err, proto.ErrNoNode) {
			return false, nil
		}
	}
	return err == nil, err
}

// Add adds delta and returns the new value.
func (k *Counter) Add(ctx context.Context, delta int64) (int64, error) {
	for {
		v, version, err := k.Get(ctx)
		if err != nil {
			return 0, err
		}
		ok, err := k.CompareAndSet(ctx, version, v+delta)
		if err != nil {
			return 0, err
		}
		if ok {
			return v + delta, nil
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
}

package recipe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// seqDigits is the width of the counter ZooKeeper appends to sequential
// names.
const seqDigits = 10

// aclOr returns acl, or the open ACL when it is empty.
func aclOr(acl []proto.ACL) []proto.ACL {
	if len(acl) == 0 {
		return proto.OpenACLUnsafe
	}
	return acl
}

// ensurePath creates path and its missing parents as persistent nodes.
func ensurePath(ctx context.Context, c *client.Conn, path string, acl []proto.ACL) error {
	if path == "/" {
		return nil
	}
	if st, err := c.Exists(ctx, path); err != nil || st != nil {
		return err
	}
	parts := strings.Split(path[1:], "/")
	p := ""
	for _, part := range parts {
		p += "/" + part
		_, err := c.Create(ctx, p, nil, aclOr(acl), client.ModePersistent)
		if err != nil && !errors.Is(err, proto.ErrNodeExists) {
			return err
		}
	}
	return nil
}

// newTag returns a random tag identifying one create.
func newTag() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// join joins a parent path and a child name.
func join(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// seqOf returns the sequence number at the end of a sequential node name.
func seqOf(name string) (int64, bool) {
	if len(name) < seqDigits {
		return 0, false
	}
	n, err := strconv.ParseInt(name[len(name)-seqDigits:], 10, 64)
	return n, err == nil
}

// sortBySeq sorts sequential names by their counter (names of different
// prefixes share one parent counter).
func sortBySeq(names []string) {
	sort.Slice(names, func(i, j int) bool {
		a, _ := seqOf(names[i])
		b, _ := seqOf(names[j])
		return a < b
	})
}

// createSequential creates dir/<prefix>-<tag>-NNNNNNNNNN and returns its
// name (not path). When the connection drops before the reply, the node
// may exist anyway: it is found by its tag instead of created twice.
func createSequential(ctx context.Context, c *client.Conn, dir, prefix string, data []byte, acl []proto.ACL, mode client.CreateMode) (string, error) {
	tag := newTag()
	base := prefix + "-" + tag + "-"
	for {
		p, err := c.Create(ctx, join(dir, base), data, aclOr(acl), mode)
		if err == nil {
			return p[strings.LastIndexByte(p, '/')+1:], nil
		}
		if errors.Is(err, proto.ErrNoNode) {
			if err := ensurePath(ctx, c, dir, acl); err != nil {
				return "", err
			}
			continue
		}
		if !errors.Is(err, proto.ErrConnectionLoss) {
			return "", err
		}
		// The create may have been applied: look for it once connected.
		if err := c.WaitConnected(ctx); err != nil {
			return "", err
		}
		kids, err := c.Children(ctx, dir)
		if err != nil && !errors.Is(err, proto.ErrConnectionLoss) {
			return "", err
		}
		for _, k := range kids {
			if strings.HasPrefix(k, base) {
				return k, nil
			}
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
	}
}

// deleteQuietly deletes a node, ignoring NoNode; it keeps trying through
// connection losses until ctx ends, since a node left behind would block
// others (for ephemerals, until the session ends).
func deleteQuietly(ctx context.Context, c *client.Conn, path string) error {
	for {
		err := c.Delete(ctx, path, -1)
		switch {
		case err == nil, errors.Is(err, proto.ErrNoNode):
			return nil
		case errors.Is(err, proto.ErrConnectionLoss):
			if werr := c.WaitConnected(ctx); werr != nil {
				return fmt.Errorf("deleting %s: %w", path, err)
			}
		default:
			return err
		}
	}
}

// sessionWatch reports when the connection of c changes from connected:
// the returned channel is closed at the first state change after the call
// if the session was connected then, or at once otherwise.
func sessionWatch(c *client.Conn) <-chan struct{} {
	st, ch := c.StateChanged()
	if !st.Connected() {
		closed := make(chan struct{})
		close(closed)
		return closed
	}
	return ch
}

// childrenWithPrefix lists dir's children whose name starts with one of
// prefixes, sorted by sequence number.
func childrenWithPrefix(ctx context.Context, c *client.Conn, dir string, prefixes ...string) ([]string, error) {
	kids, err := c.Children(ctx, dir)
	if err != nil {
		return nil, err
	}
	out := kids[:0]
	for _, k := range kids {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p+"-") {
				if _, ok := seqOf(k); ok {
					out = append(out, k)
				}
				break
			}
		}
	}
	sortBySeq(out)
	return out, nil
}

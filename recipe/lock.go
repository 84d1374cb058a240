package recipe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// Errors of the lock recipes.
var (
	// ErrHeld is returned by Lock and TryLock on a Lock that already holds
	// (or is acquiring) the lock: locks are not reentrant.
	ErrHeld = errors.New("recipe: lock already held by this Lock")
	// ErrNotHeld is returned by Unlock on a Lock that does not hold it.
	ErrNotHeld = errors.New("recipe: lock not held")
	// ErrNodeGone means the contender's own node disappeared while it
	// waited (deleted by someone else, or its session expired).
	ErrNodeGone = errors.New("recipe: own node disappeared")
)

// cleanupTimeout bounds the deletion of a contender's node after a failed
// or cancelled acquisition.
const cleanupTimeout = 10 * time.Second

// blocker returns the name of the node a contender at index i of the
// sorted contenders must wait for, or "" if it holds the lock.
type blocker func(kids []string, i int) string

// predecessor: exclusive locks wait for the node right before them.
func predecessor(kids []string, i int) string {
	if i == 0 {
		return ""
	}
	return kids[i-1]
}

// lastWriterBefore: read locks wait only for the last write lock before
// them.
func lastWriterBefore(kids []string, i int) string {
	for j := i - 1; j >= 0; j-- {
		if strings.HasPrefix(kids[j], writePrefix+"-") {
			return kids[j]
		}
	}
	return ""
}

// contend creates an ephemeral sequential node dir/<prefix>-... and waits
// until block says it holds the lock, watching only the node it waits for
// (no herd effect). With try set it gives up instead of waiting. On failure
// the node is deleted. It returns the node name, or "" when try gave up.
func contend(ctx context.Context, c *client.Conn, dir, prefix string, kinds []string, data []byte, acl []proto.ACL, block blocker, try bool) (string, error) {
	name, err := createSequential(ctx, c, dir, prefix, data, acl, client.ModeEphemeralSequential)
	if err != nil {
		return "", err
	}
	giveUp := func(err error) (string, error) {
		cctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		deleteQuietly(cctx, c, join(dir, name))
		return "", err
	}
	for {
		kids, err := childrenWithPrefix(ctx, c, dir, kinds...)
		if err != nil {
			return giveUp(err)
		}
		i := slices.Index(kids, name)
		if i < 0 {
			return giveUp(fmt.Errorf("%w: %s", ErrNodeGone, join(dir, name)))
		}
		wait := block(kids, i)
		if wait == "" {
			return name, nil
		}
		if try {
			return giveUp(nil)
		}
		// GetW leaves no watch behind when the node is already gone.
		_, _, ch, err := c.GetW(ctx, join(dir, wait))
		if errors.Is(err, proto.ErrNoNode) {
			continue
		}
		if err != nil {
			return giveUp(err)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return giveUp(ctx.Err())
		}
	}
}

// Lock is a fair distributed mutex: contenders are served in the order
// they arrived (ephemeral sequential nodes under dir), each watching only
// its predecessor, so a release wakes exactly one waiter.
//
// Guarantee: at most one Lock holds a given dir at any time, as long as
// holders stop using the lock when Lost fires. The lock is held through
// the holder's ephemeral node: it is released when the holder unlocks or
// its session ends. Because a disconnected holder cannot know whether the
// server has expired its session (and handed the lock to the next
// contender), Lost fires as soon as the connection drops. A Lock is for
// one holder at a time and is not reentrant; use one Lock per goroutine.
type Lock struct {
	c      *client.Conn
	dir    string
	acl    []proto.ACL
	prefix string
	kinds  []string
	block  blocker

	mu   sync.Mutex
	node string // held node name; "" when not held
	busy bool   // an acquisition is in progress
	lost <-chan struct{}
}

// NewLock returns a mutex on dir (created if missing, with acl).
func NewLock(c *client.Conn, dir string, acl []proto.ACL) *Lock {
	return &Lock{c: c, dir: dir, acl: acl, prefix: "lock", kinds: []string{"lock"}, block: predecessor}
}

// Lock blocks until the lock is held or ctx ends.
func (l *Lock) Lock(ctx context.Context) error {
	_, err := l.acquire(ctx, false)
	return err
}

// TryLock takes the lock if nobody holds or waits for it, without waiting.
func (l *Lock) TryLock(ctx context.Context) (bool, error) {
	return l.acquire(ctx, true)
}

func (l *Lock) acquire(ctx context.Context, try bool) (bool, error) {
	l.mu.Lock()
	if l.node != "" || l.busy {
		l.mu.Unlock()
		return false, ErrHeld
	}
	l.busy = true
	l.mu.Unlock()
	name, err := contend(ctx, l.c, l.dir, l.prefix, l.kinds, nil, l.acl, l.block, try)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.busy = false
	if err != nil || name == "" {
		return false, err
	}
	l.node = name
	l.lost = sessionWatch(l.c)
	return true, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock(ctx context.Context) error {
	l.mu.Lock()
	name := l.node
	l.mu.Unlock()
	if name == "" {
		return ErrNotHeld
	}
	if err := deleteQuietly(ctx, l.c, join(l.dir, name)); err != nil {
		return err
	}
	l.mu.Lock()
	l.node, l.lost = "", nil
	l.mu.Unlock()
	return nil
}

// Lost returns a channel closed when the lock may have been lost (the
// connection dropped or the session ended); nil when not held.
func (l *Lock) Lost() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// Node returns the path of the lock node while held, "" otherwise.
func (l *Lock) Node() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.node == "" {
		return ""
	}
	return join(l.dir, l.node)
}

const (
	readPrefix  = "read"
	writePrefix = "write"
)

// RWLock is a fair distributed readers-writer lock on dir: any number of
// readers, or one writer. Requests are served in arrival order: a reader
// waits only for the last writer queued before it, a writer for the
// request just before it. Loss and reentrancy are as for Lock.
type RWLock struct {
	c   *client.Conn
	dir string
	acl []proto.ACL
}

// NewRWLock returns a readers-writer lock on dir.
func NewRWLock(c *client.Conn, dir string, acl []proto.ACL) *RWLock {
	return &RWLock{c: c, dir: dir, acl: acl}
}

// ReadLock returns a Lock that takes the lock shared. Each call returns a
// new contender.
func (rw *RWLock) ReadLock() *Lock {
	return &Lock{c: rw.c, dir: rw.dir, acl: rw.acl, prefix: readPrefix, kinds: []string{readPrefix, writePrefix}, block: lastWriterBefore}
}

// WriteLock returns a Lock that takes the lock exclusively.
func (rw *RWLock) WriteLock() *Lock {
	return &Lock{c: rw.c, dir: rw.dir, acl: rw.acl, prefix: writePrefix, kinds: []string{readPrefix, writePrefix}, block: predecessor}
}

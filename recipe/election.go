package recipe

import (
	"context"
	"errors"
	"sync"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// ErrNoLeader is returned by Leader when nobody is campaigning.
var ErrNoLeader = errors.New("recipe: no leader")

const candidatePrefix = "candidate"

// Election is leader election among the candidates under dir: the oldest
// candidate (lowest ephemeral sequential node) leads; each other candidate
// watches the one just before it, so a leader's departure wakes only its
// successor.
//
// Guarantee: at most one candidate believes it leads at any time, as long
// as leaders stop when the context returned by Campaign ends. That context
// ends when the leader resigns, when the campaign's context ends, when its
// node is deleted, and as soon as the connection drops or the session ends:
// a disconnected leader cannot know whether its session has expired on the
// server and a successor been elected. A leader that lost its leadership
// this way removes its node when it can, so that others may take over.
type Election struct {
	c    *client.Conn
	dir  string
	data []byte
	acl  []proto.ACL

	mu     sync.Mutex
	busy   bool
	cancel context.CancelFunc
	done   chan struct{} // closed when the leadership monitor has exited
}

// NewElection returns a candidate on dir whose node holds data (for
// example its address, returned by Leader).
func NewElection(c *client.Conn, dir string, data []byte, acl []proto.ACL) *Election {
	return &Election{c: c, dir: dir, data: data, acl: acl}
}

// Campaign blocks until this candidate leads, then returns a context that
// ends when the leadership does. One campaign at a time per Election.
func (e *Election) Campaign(ctx context.Context) (context.Context, error) {
	e.mu.Lock()
	if e.busy {
		e.mu.Unlock()
		return nil, ErrHeld
	}
	e.busy = true
	e.mu.Unlock()
	name, err := contend(ctx, e.c, e.dir, candidatePrefix, []string{candidatePrefix}, e.data, e.acl, predecessor, false)
	if err != nil {
		e.mu.Lock()
		e.busy = false
		e.mu.Unlock()
		return nil, err
	}
	lost := sessionWatch(e.c)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	e.mu.Lock()
	e.cancel, e.done = cancel, done
	e.mu.Unlock()
	go e.monitor(lctx, cancel, join(e.dir, name), lost, done)
	return lctx, nil
}

// monitor ends the leadership on the first sign of loss, then removes the
// candidate's node.
func (e *Election) monitor(lctx context.Context, cancel context.CancelFunc, node string, lost <-chan struct{}, done chan struct{}) {
	defer close(done)
	defer cancel()
	// A watch on our own node tells of its deletion by someone else. It
	// is set with a context of its own so that a resignation does not
	// race with it.
	gctx, gcancel := context.WithTimeout(context.Background(), cleanupTimeout)
	_, _, deleted, err := e.c.GetW(gctx, node)
	gcancel()
	if err == nil {
		select {
		case <-deleted:
		case <-lost:
		case <-lctx.Done():
		}
	}
	cancel()
	// Give the leadership up for good: the next candidate must not wait
	// for our session to expire. Bounded, since the session may be gone.
	cctx, ccancel := context.WithTimeout(context.Background(), e.c.SessionTimeout()+cleanupTimeout)
	deleteQuietly(cctx, e.c, node)
	ccancel()
	if deleted != nil {
		// Remove our watch if it did not fire; ignore failures.
		rctx, rcancel := context.WithTimeout(context.Background(), cleanupTimeout)
		e.c.RemoveWatch(rctx, deleted, true)
		rcancel()
	}
	e.mu.Lock()
	e.busy = false
	e.mu.Unlock()
}

// Resign gives the leadership up (or does nothing if not leading) and
// waits until the candidate's node is removed.
func (e *Election) Resign(ctx context.Context) error {
	e.mu.Lock()
	cancel, done := e.cancel, e.done
	e.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Leader returns the data of the current leader's node.
func (e *Election) Leader(ctx context.Context) ([]byte, error) {
	for {
		kids, err := childrenWithPrefix(ctx, e.c, e.dir, candidatePrefix)
		if errors.Is(err, proto.ErrNoNode) || err == nil && len(kids) == 0 {
			return nil, ErrNoLeader
		}
		if err != nil {
			return nil, err
		}
		data, _, err := e.c.Get(ctx, join(e.dir, kids[0]))
		if errors.Is(err, proto.ErrNoNode) {
			continue // the leader just left; look again
		}
		return data, err
	}
}

package recipe

import (
	"context"
	"errors"
	"slices"
	"sort"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// Registry is a service registry under a base path: each live instance of
// a service is an ephemeral node base/<service>/<instance> holding its
// data (an address, say).
//
// Guarantee: an instance is listed while its session lives, and at most a
// session timeout after its process died; Discover and Watch never list an
// instance whose node is gone at the time of the read. Watch delivers
// every membership change, coalescing those that happen while its reader
// is busy (it always ends with the current list).
type Registry struct {
	c    *client.Conn
	base string
	acl  []proto.ACL
}

// Instance is one registered instance.
type Instance struct {
	Name string
	Data []byte
}

// NewRegistry returns the registry rooted at base.
func NewRegistry(c *client.Conn, base string, acl []proto.ACL) *Registry {
	return &Registry{c: c, base: base, acl: acl}
}

// Registration is a registered instance.
type Registration struct {
	r    *Registry
	path string
	lost <-chan struct{}
}

// Register adds an instance. The name must be unique within the service.
func (r *Registry) Register(ctx context.Context, service, instance string, data []byte) (*Registration, error) {
	dir := join(r.base, service)
	if err := ensurePath(ctx, r.c, dir, r.acl); err != nil {
		return nil, err
	}
	p := join(dir, instance)
	if _, err := r.c.Create(ctx, p, data, aclOr(r.acl), client.ModeEphemeral); err != nil {
		return nil, err
	}
	return &Registration{r: r, path: p, lost: sessionWatch(r.c)}, nil
}

// Path returns the instance's node.
func (g *Registration) Path() string { return g.path }

// Lost returns a channel closed when the registration may be gone (the
// connection dropped or the session ended).
func (g *Registration) Lost() <-chan struct{} { return g.lost }

// Update replaces the instance's data.
func (g *Registration) Update(ctx context.Context, data []byte) error {
	_, err := g.r.c.Set(ctx, g.path, data, -1)
	return err
}

// Deregister removes the instance.
func (g *Registration) Deregister(ctx context.Context) error {
	return deleteQuietly(ctx, g.r.c, g.path)
}

// Services lists the services that have (or had) instances.
func (r *Registry) Services(ctx context.Context) ([]string, error) {
	kids, err := r.c.Children(ctx, r.base)
	if errors.Is(err, proto.ErrNoNode) {
		return nil, nil
	}
	sort.Strings(kids)
	return kids, err
}

// Discover lists a service's instances, sorted by name.
func (r *Registry) Discover(ctx context.Context, service string) ([]Instance, error) {
	list, _, err := r.discover(ctx, service, false)
	return list, err
}

// discover reads the instances, leaving a child watch (or, for a service
// not created yet, an exists watch) when watch is set.
func (r *Registry) discover(ctx context.Context, service string, watch bool) ([]Instance, <-chan client.Event, error) {
	dir := join(r.base, service)
	var kids []string
	var ch <-chan client.Event
	var err error
	if watch {
		kids, ch, err = r.c.ChildrenW(ctx, dir)
	} else {
		kids, err = r.c.Children(ctx, dir)
	}
	if errors.Is(err, proto.ErrNoNode) {
		if !watch {
			return nil, nil, nil
		}
		st, ech, err := r.c.ExistsW(ctx, dir)
		if err != nil {
			return nil, nil, err
		}
		if st != nil {
			r.c.RemoveWatch(ctx, ech, true)
			return r.discover(ctx, service, watch)
		}
		return nil, ech, nil
	}
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(kids)
	out := make([]Instance, 0, len(kids))
	for _, k := range kids {
		data, _, err := r.c.Get(ctx, join(dir, k))
		if errors.Is(err, proto.ErrNoNode) {
			continue // left between the two reads
		}
		if err != nil {
			return nil, nil, err
		}
		out = append(out, Instance{Name: k, Data: data})
	}
	return out, ch, nil
}

// Watch sends the instance list of service now and after every change,
// until ctx ends or the session does; the channel is then closed. A reader
// that falls behind gets the latest list, not every intermediate one.
// Errors other than the end of ctx or of the session are retried.
func (r *Registry) Watch(ctx context.Context, service string) <-chan []Instance {
	out := make(chan []Instance, 1)
	go func() {
		defer close(out)
		var last []Instance
		sent := false
		for ctx.Err() == nil {
			list, ch, err := r.discover(ctx, service, true)
			if err != nil {
				st := r.c.State()
				if st.Final() || ctx.Err() != nil {
					return
				}
				// Connection loss and the like: wait for the session.
				if r.c.WaitConnected(ctx) != nil {
					return
				}
				continue
			}
			if !sent || !sameInstances(last, list) {
				// Replace an unread list with the newer one.
				select {
				case <-out:
				default:
				}
				out <- list
				last, sent = list, true
			}
			select {
			case ev := <-ch:
				if ev.Type == client.EventNone && ev.State.Final() {
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

func sameInstances(a, b []Instance) bool {
	return slices.EqualFunc(a, b, func(x, y Instance) bool {
		return x.Name == y.Name && string(x.Data) == string(y.Data)
	})
}

// Command membership keeps a cluster's membership list: each member joins
// by creating an ephemeral znode and follows everyone else's with a child
// watch, on the plain client API (no recipe).
//
// Start a server (go run ./cmd/zkd), then members, each in its own
// terminal:
//
//	go run ./examples/membership -name n1 -addr 10.0.0.1:7000
//	go run ./examples/membership -name n2 -addr 10.0.0.2:7000
//
// Every member prints the list each time it changes. A member that stops
// with Ctrl-C leaves at once (it deletes its znode); one that dies leaves
// when the server expires its session.
//
// A member is /cluster/members/<name>, ephemeral, holding its address. The
// list is read with ChildrenW and read again after each event, so every
// member ends on the current list. Two cases need care: a member whose
// session expired (a network cut longer than the session timeout) was
// removed by the server, so it starts a new session and joins again; and a
// member that no longer sees itself in the list (an operator deleted its
// znode) joins again.
//
// The example owns the znodes under -dir and never writes elsewhere.
//
// Flags: -server (connect string, default 127.0.0.1:2181), -dir, -name,
// -addr, -session (session timeout), -duration (stop after this long; 0
// runs until SIGINT).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/examples/internal/cli"
	"github.com/zkd-io/zkd/proto"
)

type options struct {
	server   string
	dir      string
	name     string
	addr     string
	session  time.Duration
	clientOp []client.Option // extra client options (tests: a dialer that cuts the network)
}

func main() {
	var o options
	flag.StringVar(&o.server, "server", "127.0.0.1:2181", "ZooKeeper connect string")
	flag.StringVar(&o.dir, "dir", "/cluster/members", "membership znode")
	host, _ := os.Hostname()
	flag.StringVar(&o.name, "name", host, "this member's name (unique in the cluster)")
	flag.StringVar(&o.addr, "addr", "", "address published for this member")
	flag.DurationVar(&o.session, "session", 10*time.Second, "session timeout")
	duration := flag.Duration("duration", 0, "stop after this long (0: until SIGINT)")
	flag.Parse()
	ctx, stop := cli.Context(*duration)
	defer stop()
	err := runMember(ctx, o, func(members []string) {
		fmt.Printf("%s: %d members: %s\n", o.name, len(members), strings.Join(members, " "))
	})
	cli.ExitOnError(ctx, "membership", err)
}

// errSessionOver means the member's session expired or was closed.
var errSessionOver = errors.New("session over")

// runMember stays a member until ctx ends, with a new session each time
// the last one is over, and calls onView with the sorted member list
// whenever it changes.
func runMember(ctx context.Context, o options, onView func([]string)) error {
	for {
		c, err := client.Connect(ctx, o.server, append([]client.Option{client.WithSessionTimeout(o.session)}, o.clientOp...)...)
		if err != nil {
			return err
		}
		err = member(ctx, c, o, onView)
		c.Close()
		if !errors.Is(err, errSessionOver) || ctx.Err() != nil {
			return err
		}
	}
}

// member joins, follows the list until ctx ends (then leaves) or the
// session is over.
func member(ctx context.Context, c *client.Conn, o options, onView func([]string)) error {
	self := o.dir + "/" + o.name
	var last []string
	for {
		kids, ch, err := c.ChildrenW(ctx, o.dir)
		if errors.Is(err, proto.ErrNoNode) || err == nil && !slices.Contains(kids, o.name) {
			// Not (or no longer) in the list: join, then read again.
			if ch != nil {
				c.RemoveWatch(ctx, ch, true)
			}
			err = join(ctx, c, o.dir, self, o.addr)
			if err == nil {
				continue
			}
		}
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case c.State().Final():
				return fmt.Errorf("%w: %v", errSessionOver, err)
			case errors.Is(err, proto.ErrConnectionLoss):
				if err := c.WaitConnected(ctx); err != nil {
					return err
				}
				continue
			}
			return err
		}
		slices.Sort(kids)
		if !slices.Equal(kids, last) {
			onView(kids)
			last = kids
		}
		select {
		case ev := <-ch:
			if ev.Type == client.EventNone && ev.State.Final() {
				return fmt.Errorf("%w: %v", errSessionOver, ev.State)
			}
		case <-ctx.Done():
			lctx, cancel := context.WithTimeout(context.Background(), o.session)
			defer cancel()
			c.Delete(lctx, self, -1) // leave now; the session's end would too
			return ctx.Err()
		}
	}
}

// join creates the member's ephemeral znode (and the persistent parents).
// A znode of the same name left by an earlier session of this member is
// waited for: it goes when that session expires.
func join(ctx context.Context, c *client.Conn, dir, self, addr string) error {
	for {
		_, err := c.Create(ctx, self, []byte(addr), proto.OpenACLUnsafe, client.ModeEphemeral)
		switch {
		case errors.Is(err, proto.ErrNoNode):
			if err := createParents(ctx, c, dir); err != nil {
				return err
			}
			continue
		case errors.Is(err, proto.ErrNodeExists):
			st, ch, err := c.ExistsW(ctx, self)
			if err != nil {
				return err
			}
			if st == nil || st.EphemeralOwner == c.SessionID() {
				c.RemoveWatch(ctx, ch, true)
				if st == nil {
					continue
				}
				return nil // ours: created by a request whose reply was lost
			}
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return err
	}
}

func createParents(ctx context.Context, c *client.Conn, dir string) error {
	for i := 1; i <= len(dir); i++ {
		if i == len(dir) || dir[i] == '/' {
			_, err := c.Create(ctx, dir[:i], nil, proto.OpenACLUnsafe, client.ModePersistent)
			if err != nil && !errors.Is(err, proto.ErrNodeExists) {
				return err
			}
		}
	}
	return nil
}

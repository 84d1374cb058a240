// Command masterelection runs batch jobs on whichever of several nodes is
// the elected master (package recipe's Election); a master that loses its
// session stops working, and another node takes over.
//
// Start a server (go run ./cmd/zkd), then two or three nodes, each in its
// own terminal:
//
//	go run ./examples/masterelection -name a
//	go run ./examples/masterelection -name b
//
// One node prints "master" and its jobs; the others wait. Stop the master
// with Ctrl-C and the next node takes over at once; stop it with kill
// -STOP (or cut its network) and it stops working as soon as its connection
// drops, while the next node takes over only when the server expires the
// master's session, a session timeout later. So two masters never work at
// the same time, provided a job stops when its context ends, as here. When
// the stopped node comes back it finds its session expired, starts a new
// one and queues up as a candidate again.
//
// Candidates are ephemeral sequential znodes under -dir; the oldest leads
// and each other candidate watches the one before it. Leadership is a
// context: it ends when the connection drops (a disconnected master cannot
// know whether its session still lives), and jobs run under it.
//
// The example owns the znodes under -dir and never writes elsewhere.
//
// Flags: -server (connect string, default 127.0.0.1:2181), -dir, -name,
// -job (how long one job takes), -session (session timeout), -duration
// (stop after this long; 0 runs until SIGINT).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/examples/internal/cli"
	"github.com/zkd-io/zkd/proto"
	"github.com/zkd-io/zkd/recipe"
)

type options struct {
	server   string
	dir      string
	name     string
	job      time.Duration
	session  time.Duration
	clientOp []client.Option      // extra client options (tests: a dialer that cuts the network)
	onConn   func(c *client.Conn) // called with each new session (tests)
}

// work runs one job; it must return soon after ctx ends.
type work func(ctx context.Context, job int)

func main() {
	var o options
	flag.StringVar(&o.server, "server", "127.0.0.1:2181", "ZooKeeper connect string")
	flag.StringVar(&o.dir, "dir", "/masterelection", "election znode")
	host, _ := os.Hostname()
	flag.StringVar(&o.name, "name", fmt.Sprintf("%s-%d", host, os.Getpid()), "this node's name")
	flag.DurationVar(&o.job, "job", time.Second, "how long one batch job takes")
	flag.DurationVar(&o.session, "session", 10*time.Second, "session timeout")
	duration := flag.Duration("duration", 0, "stop after this long (0: until SIGINT)")
	flag.Parse()
	ctx, stop := cli.Context(*duration)
	defer stop()
	err := runNode(ctx, o, func(ctx context.Context, job int) {
		fmt.Printf("%s: master: job %d started\n", o.name, job)
		select {
		case <-time.After(o.job):
			fmt.Printf("%s: master: job %d done\n", o.name, job)
		case <-ctx.Done():
			fmt.Printf("%s: job %d abandoned: no longer master\n", o.name, job)
		}
	})
	cli.ExitOnError(ctx, "masterelection", err)
}

// errSessionOver means the node's session expired or was closed.
var errSessionOver = errors.New("session over")

// runNode takes part in the election until ctx ends, with a new session
// each time the last one is over, running jobs while it is master.
func runNode(ctx context.Context, o options, w work) error {
	for {
		c, err := client.Connect(ctx, o.server, append([]client.Option{client.WithSessionTimeout(o.session)}, o.clientOp...)...)
		if err != nil {
			return err
		}
		if o.onConn != nil {
			o.onConn(c)
		}
		err = candidate(ctx, c, o, w)
		c.Close()
		if !errors.Is(err, errSessionOver) || ctx.Err() != nil {
			return err
		}
	}
}

// candidate campaigns, and while master runs one job after the other,
// until ctx ends or the session is over.
func candidate(ctx context.Context, c *client.Conn, o options, w work) error {
	e := recipe.NewElection(c, o.dir, []byte(o.name), nil)
	for {
		lead, err := e.Campaign(ctx)
		if err == nil {
			for job := 1; lead.Err() == nil; job++ {
				w(lead, job)
			}
			// Leadership is over: the jobs stopped. Wait until the
			// candidate's node is gone (Resign also waits for a
			// reconnection, bounded by ctx) before campaigning again.
			err = e.Resign(ctx)
		}
		switch {
		case ctx.Err() != nil:
			rctx, cancel := context.WithTimeout(context.Background(), o.session)
			defer cancel()
			e.Resign(rctx) // give the leadership up at once, not at session expiry
			return ctx.Err()
		case c.State().Final():
			return fmt.Errorf("%w: %v", errSessionOver, c.State())
		case errors.Is(err, proto.ErrConnectionLoss):
			// Lost while campaigning: wait for the session, then again.
			if werr := c.WaitConnected(ctx); werr != nil {
				return werr
			}
		case err != nil:
			return err
		}
	}
}

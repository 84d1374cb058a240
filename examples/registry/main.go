// Command registry is a service registry: every live instance of a
// service is an ephemeral znode, and clients follow the instances as they
// come and go (package recipe's Registry).
//
// Start a server (go run ./cmd/zkd), then some instances and a client, each
// in its own terminal:
//
//	go run ./examples/registry -mode instance -name api-1 -addr 10.0.0.1:8080
//	go run ./examples/registry -mode instance -name api-2 -addr 10.0.0.2:8080
//	go run ./examples/registry -mode client
//
// The client prints the instance list now and after every change. Stop an
// instance with Ctrl-C and it deregisters at once; kill it (kill -9) and
// its node goes when its session expires, a session timeout later.
//
// An instance lives in /services/<service>/<name> (ephemeral, holding its
// address). The client reads the list with a child watch and reads it
// again after each event, so it always ends on the current list. An
// instance whose session expired (a long network cut, a stopped process)
// was removed by the server; it starts a new session and registers again.
//
// The example owns the znodes under -base and never writes elsewhere.
//
// Flags: -server (connect string, default 127.0.0.1:2181), -mode
// (instance or client), -base, -service, -name, -addr, -session (session
// timeout), -duration (stop after this long; 0 runs until SIGINT).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/examples/internal/cli"
	"github.com/zkd-io/zkd/recipe"
)

type options struct {
	server   string
	base     string
	service  string
	name     string
	addr     string
	session  time.Duration
	duration time.Duration
	clientOp []client.Option // extra client options (tests: a dialer that cuts the network)
}

func main() {
	var o options
	mode := flag.String("mode", "client", "instance: register one instance; client: follow the instances")
	flag.StringVar(&o.server, "server", "127.0.0.1:2181", "ZooKeeper connect string")
	flag.StringVar(&o.base, "base", "/services", "registry root znode")
	flag.StringVar(&o.service, "service", "api", "service name")
	host, _ := os.Hostname()
	flag.StringVar(&o.name, "name", fmt.Sprintf("%s-%d", host, os.Getpid()), "instance name (unique within the service)")
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address the instance publishes")
	flag.DurationVar(&o.session, "session", 10*time.Second, "session timeout")
	flag.DurationVar(&o.duration, "duration", 0, "stop after this long (0: until SIGINT)")
	flag.Parse()
	ctx, stop := cli.Context(o.duration)
	defer stop()
	var err error
	switch *mode {
	case "instance":
		err = runInstance(ctx, o, os.Stdout)
	case "client":
		err = runClient(ctx, o, os.Stdout)
	default:
		err = fmt.Errorf("-mode %q: want instance or client", *mode)
	}
	cli.ExitOnError(ctx, "registry", err)
}

func connect(ctx context.Context, o options) (*client.Conn, error) {
	return client.Connect(ctx, o.server, append([]client.Option{client.WithSessionTimeout(o.session)}, o.clientOp...)...)
}

// errSessionOver means the instance's session expired or was closed: its
// registration is gone.
var errSessionOver = errors.New("session over")

// runInstance keeps the instance registered until ctx ends, with a new
// session each time the last one is over.
func runInstance(ctx context.Context, o options, out io.Writer) error {
	for {
		c, err := connect(ctx, o)
		if err != nil {
			return err
		}
		err = serveInstance(ctx, c, o)
		c.Close()
		if !errors.Is(err, errSessionOver) || ctx.Err() != nil {
			return err
		}
		fmt.Fprintf(out, "%s: %v; registering again with a new session\n", o.name, err)
	}
}

// serveInstance registers the instance and keeps it registered until ctx
// ends (it then deregisters) or the session is over.
func serveInstance(ctx context.Context, c *client.Conn, o options) error {
	reg, err := recipe.NewRegistry(c, o.base, nil).Register(ctx, o.service, o.name, []byte(o.addr))
	if err != nil {
		if c.State().Final() {
			return fmt.Errorf("%w: %v", errSessionOver, err)
		}
		return err
	}
	// The node lives as long as the session: a disconnection that ends
	// with the same session changes nothing.
	for {
		st, changed := c.StateChanged()
		if st.Final() {
			return fmt.Errorf("%w: %v", errSessionOver, st)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.Background(), o.session)
			defer cancel()
			reg.Deregister(dctx) // best effort: the session's end removes it anyway
			return ctx.Err()
		}
	}
}

// runClient prints the instance list now and after every change.
func runClient(ctx context.Context, o options, out io.Writer) error {
	c, err := connect(ctx, o)
	if err != nil {
		return err
	}
	defer c.Close()
	return follow(ctx, c, o, func(list []recipe.Instance) {
		var names []string
		for _, in := range list {
			names = append(names, in.Name+"="+string(in.Data))
		}
		fmt.Fprintf(out, "%s: %d instances: %s\n", o.service, len(list), strings.Join(names, " "))
	})
}

// follow calls onChange with the instance list now and after every
// change, until ctx ends or the session is over.
func follow(ctx context.Context, c *client.Conn, o options, onChange func([]recipe.Instance)) error {
	for list := range recipe.NewRegistry(c, o.base, nil).Watch(ctx, o.service) {
		onChange(list)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errSessionOver
}

// Command loadbalance is soft load balancing by per-server counters:
// backends publish a load counter in a znode, clients pick the least
// loaded backend.
//
// Start a server (go run ./cmd/zkd), then backends and clients, each in
// its own terminal:
//
//	go run ./examples/loadbalance -mode server -name s1
//	go run ./examples/loadbalance -mode server -name s2
//	go run ./examples/loadbalance -mode client -clients 20 -duration 10s
//
// Backends print their load as it changes; clients, at the end, how often
// they picked each backend.
//
// A backend announces itself with an ephemeral znode <dir>/<name> holding
// its load counter, "0" at first; it goes with the backend's session. A
// client reads every counter and claims a slot on the least loaded backend
// with a versioned set of load+1; if another client changed that counter
// first (BadVersion) or the backend left (NoNode), it reads again. When
// done it releases the slot with a versioned set of load-1.
//
// A claim only succeeds on a counter that was the smallest when read, and
// claims only raise counters, so claims alone keep all backends within one
// of each other. Releases and backends joining or leaving upset the
// balance; the next claims go to the least loaded and even it out. It is
// soft: a client that dies holding a slot leaves a counter one too high
// until that backend announces itself again.
//
// The example owns the znodes under -dir and never writes elsewhere.
//
// Flags: -server (connect string, default 127.0.0.1:2181), -mode (server
// or client), -dir, -name, -clients, -hold (how long a client keeps a
// slot), -session, -duration (stop after this long; 0 runs until SIGINT).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/examples/internal/cli"
	"github.com/zkd-io/zkd/proto"
)

type options struct {
	server  string
	dir     string
	name    string
	clients int
	hold    time.Duration
	session time.Duration
}

func main() {
	var o options
	mode := flag.String("mode", "client", "server: announce a backend; client: pick backends")
	flag.StringVar(&o.server, "server", "127.0.0.1:2181", "ZooKeeper connect string")
	flag.StringVar(&o.dir, "dir", "/loadbalance/backends", "znode listing the backends")
	flag.StringVar(&o.name, "name", "s1", "backend name (server mode)")
	flag.IntVar(&o.clients, "clients", 10, "concurrent clients (client mode)")
	flag.DurationVar(&o.hold, "hold", 200*time.Millisecond, "how long a client keeps its slot")
	flag.DurationVar(&o.session, "session", 10*time.Second, "session timeout")
	duration := flag.Duration("duration", 0, "stop after this long (0: until SIGINT)")
	flag.Parse()
	ctx, stop := cli.Context(*duration)
	defer stop()
	var err error
	switch *mode {
	case "server":
		err = runServer(ctx, o, os.Stdout)
	case "client":
		err = runClients(ctx, o, os.Stdout)
	default:
		err = fmt.Errorf("-mode %q: want server or client", *mode)
	}
	cli.ExitOnError(ctx, "loadbalance", err)
}

// runServer announces the backend and prints its load on every change,
// until ctx ends.
func runServer(ctx context.Context, o options, out io.Writer) error {
	c, err := client.Connect(ctx, o.server, client.WithSessionTimeout(o.session))
	if err != nil {
		return err
	}
	defer c.Close()
	path, err := announce(ctx, c, o.dir, o.name)
	if err != nil {
		return err
	}
	for {
		data, _, ch, err := c.GetW(ctx, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: load %s\n", o.name, data)
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// announce creates the backend's ephemeral counter znode (and the
// persistent parents) with load 0.
func announce(ctx context.Context, c *client.Conn, dir, name string) (string, error) {
	for i := 1; i <= len(dir); i++ {
		if i == len(dir) || dir[i] == '/' {
			_, err := c.Create(ctx, dir[:i], nil, proto.OpenACLUnsafe, client.ModePersistent)
			if err != nil && !errors.Is(err, proto.ErrNodeExists) {
				return "", err
			}
		}
	}
	return c.Create(ctx, dir+"/"+name, []byte("0"), proto.OpenACLUnsafe, client.ModeEphemeral)
}

// errNoBackends is returned by pick when no backend is announced.
var errNoBackends = errors.New("no backends")

// pick claims a slot on the least loaded backend and returns its name.
func pick(ctx context.Context, c *client.Conn, dir string) (string, error) {
	for {
		names, err := c.Children(ctx, dir)
		if err != nil && !errors.Is(err, proto.ErrNoNode) {
			return "", err
		}
		if len(names) == 0 {
			return "", errNoBackends
		}
		// Ties go to a random backend, so that concurrent clients do not
		// all race for the same counter.
		rand.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
		best, bestLoad, bestVersion := "", int64(0), int32(0)
		for _, name := range names {
			load, st, err := readLoad(ctx, c, dir+"/"+name)
			if errors.Is(err, proto.ErrNoNode) {
				continue // left meanwhile
			}
			if err != nil {
				return "", err
			}
			if best == "" || load < bestLoad {
				best, bestLoad, bestVersion = name, load, st.Version
			}
		}
		if best == "" {
			continue
		}
		_, err = c.Set(ctx, dir+"/"+best, []byte(strconv.FormatInt(bestLoad+1, 10)), bestVersion)
		if err == nil {
			return best, nil
		}
		if !errors.Is(err, proto.ErrBadVersion) && !errors.Is(err, proto.ErrNoNode) {
			return "", err
		}
	}
}

// release gives a slot on backend name back. A backend that left has
// nothing to release.
func release(ctx context.Context, c *client.Conn, dir, name string) error {
	for {
		load, st, err := readLoad(ctx, c, dir+"/"+name)
		if err == nil {
			_, err = c.Set(ctx, dir+"/"+name, []byte(strconv.FormatInt(max(load-1, 0), 10)), st.Version)
		}
		switch {
		case err == nil, errors.Is(err, proto.ErrNoNode):
			return nil
		case !errors.Is(err, proto.ErrBadVersion):
			return err
		}
	}
}

func readLoad(ctx context.Context, c *client.Conn, path string) (int64, *proto.Stat, error) {
	data, st, err := c.Get(ctx, path)
	if err != nil {
		return 0, nil, err
	}
	load, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		return 0, nil, fmt.Errorf("%s holds %q, not a load counter", path, data)
	}
	return load, st, nil
}

// runClients runs o.clients clients, each with its own session, until ctx
// ends; then it prints how often each backend was picked.
func runClients(ctx context.Context, o options, out io.Writer) error {
	var mu sync.Mutex
	picks := map[string]int{}
	errs := make(chan error, o.clients)
	for range o.clients {
		go func() {
			errs <- runClient(ctx, o, func(name string) {
				mu.Lock()
				picks[name]++
				mu.Unlock()
			})
		}()
	}
	var err error
	for range o.clients {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	for _, name := range slices.Sorted(maps.Keys(picks)) {
		fmt.Fprintf(out, "%s: picked %d times\n", name, picks[name])
	}
	return err
}

// runClient picks a backend, holds the slot, releases it, and again,
// until ctx ends. Picks and releases run to the end even then: one cut
// short may have been applied without its caller knowing, and would leave
// a counter wrong.
func runClient(ctx context.Context, o options, picked func(string)) error {
	c, err := client.Connect(ctx, o.server, client.WithSessionTimeout(o.session))
	if err != nil {
		return err
	}
	defer c.Close()
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(context.Background(), o.session)
		name, err := pick(pctx, c, o.dir)
		if cancel(); err != nil {
			return err
		}
		picked(name)
		select {
		case <-time.After(o.hold):
		case <-ctx.Done():
		}
		rctx, cancel := context.WithTimeout(context.Background(), o.session)
		err = release(rctx, c, o.dir, name)
		if cancel(); err != nil {
			return err
		}
	}
	return nil
}

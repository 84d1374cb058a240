// Command lockcounter shows a distributed lock guarding a shared resource:
// several workers, each with its own session, increment a counter kept in
// a znode by read-modify-write, under package recipe's Lock.
//
// Start a server (go run ./cmd/zkd), then:
//
//	go run ./examples/lockcounter -workers 4 -increments 50
//	go run ./examples/lockcounter -workers 4 -increments 50 -nolock
//
// The first run ends with the counter exactly workers × increments higher
// than it started. The second loses updates: two workers read the same
// value and both write value+1.
//
// The counter is written with an unconditional set (version -1), on
// purpose: nothing but the lock keeps two workers from interleaving their
// read and write. (A real program would also use a versioned set, as
// recipe.Counter does; here the lock is the only guard, to show it works.)
// The lock is fair: contenders queue as ephemeral sequential znodes and
// each watches only its predecessor. A holder whose connection drops may
// have lost the lock (its session may expire and the next waiter take
// over), so it checks Lost before writing and gives the increment up.
//
// The example owns the -counter and -lock znodes and never writes
// elsewhere.
//
// Flags: -server (connect string, default 127.0.0.1:2181), -workers,
// -increments (per worker), -counter and -lock (znodes), -hold (time spent
// between the read and the write), -nolock, -session, -duration (give up
// after this long; 0 waits until the work is done or SIGINT).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/examples/internal/cli"
	"github.com/zkd-io/zkd/proto"
	"github.com/zkd-io/zkd/recipe"
)

type options struct {
	server     string
	workers    int
	increments int
	counter    string
	lock       string
	hold       time.Duration
	noLock     bool
	session    time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.server, "server", "127.0.0.1:2181", "ZooKeeper connect string")
	flag.IntVar(&o.workers, "workers", 4, "workers, each with its own session")
	flag.IntVar(&o.increments, "increments", 50, "increments per worker")
	flag.StringVar(&o.counter, "counter", "/lockcounter/value", "znode holding the counter")
	flag.StringVar(&o.lock, "lock", "/lockcounter/lock", "lock znode (directory of contenders)")
	flag.DurationVar(&o.hold, "hold", time.Millisecond, "time between reading and writing the counter")
	flag.BoolVar(&o.noLock, "nolock", false, "skip the lock, to see updates lost")
	flag.DurationVar(&o.session, "session", 10*time.Second, "session timeout")
	duration := flag.Duration("duration", 0, "give up after this long (0: until done or SIGINT)")
	flag.Parse()
	ctx, stop := cli.Context(*duration)
	defer stop()
	before, after, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lockcounter:", err)
		os.Exit(1)
	}
	want := before + int64(o.workers*o.increments)
	fmt.Printf("counter went from %d to %d: want %d, %d updates lost\n", before, after, want, want-after)
}

// run makes sure the counter exists, lets the workers increment it, and
// returns its value before and after.
func run(ctx context.Context, o options) (before, after int64, err error) {
	c, err := client.Connect(ctx, o.server, client.WithSessionTimeout(o.session))
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	if err := ensureCounter(ctx, c, o.counter); err != nil {
		return 0, 0, err
	}
	if before, err = read(ctx, c, o.counter); err != nil {
		return 0, 0, err
	}
	errs := make(chan error, o.workers)
	for range o.workers {
		go func() { errs <- worker(ctx, o) }()
	}
	for range o.workers {
		if werr := <-errs; werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		return before, 0, err
	}
	after, err = read(ctx, c, o.counter)
	return before, after, err
}

// worker opens its own session and does its increments.
func worker(ctx context.Context, o options) error {
	c, err := client.Connect(ctx, o.server, client.WithSessionTimeout(o.session))
	if err != nil {
		return err
	}
	defer c.Close()
	var lk *recipe.Lock
	if !o.noLock {
		lk = recipe.NewLock(c, o.lock, nil)
	}
	for done := 0; done < o.increments; {
		err := increment(ctx, c, lk, o.counter, o.hold)
		switch {
		case err == nil:
			done++
		case errors.Is(err, errLockLost) || errors.Is(err, proto.ErrConnectionLoss):
			// Nothing was written: wait for the session, try again.
			if werr := c.WaitConnected(ctx); werr != nil {
				return werr
			}
		default:
			return err
		}
	}
	return nil
}

var (
	errLockLost = errors.New("lock may be lost: the connection dropped")
	errUnknown  = errors.New("increment's outcome unknown")
)

// increment reads the counter, waits hold, and writes the value plus one
// with an unconditional set, all under lk (nil: no lock).
func increment(ctx context.Context, c *client.Conn, lk *recipe.Lock, path string, hold time.Duration) error {
	if lk != nil {
		if err := lk.Lock(ctx); err != nil {
			return err
		}
		defer func() {
			uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			lk.Unlock(uctx) // a lost lock is released by the session's end
		}()
	}
	v, err := read(ctx, c, path)
	if err != nil {
		return err
	}
	time.Sleep(hold)
	if lk != nil {
		select {
		case <-lk.Lost():
			return errLockLost
		default:
		}
	}
	if _, err := c.Set(ctx, path, []byte(strconv.FormatInt(v+1, 10)), -1); err != nil {
		// A set cut by a connection loss may have been applied: the
		// increment can be neither counted nor retried.
		return fmt.Errorf("%w: set %s: %v", errUnknown, path, err)
	}
	return nil
}

func read(ctx context.Context, c *client.Conn, path string) (int64, error) {
	data, _, err := c.Get(ctx, path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("counter %s holds %q, not a number", path, data)
	}
	return v, nil
}

// ensureCounter creates the counter with value 0, and its parents, unless
// it exists.
func ensureCounter(ctx context.Context, c *client.Conn, path string) error {
	for i := 1; i <= len(path); i++ {
		if i < len(path) && path[i] != '/' {
			continue
		}
		var data []byte
		if i == len(path) {
			data = []byte("0")
		}
		_, err := c.Create(ctx, path[:i], data, proto.OpenACLUnsafe, client.ModePersistent)
		if err != nil && !errors.Is(err, proto.ErrNodeExists) {
			return err
		}
	}
	return nil
}

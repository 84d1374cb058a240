// Command configcenter is a service that takes its configuration from one
// znode and reloads it whenever the znode changes: ZooKeeper as a
// configuration center.
//
// Start a server (go run ./cmd/zkd), then the service:
//
//	go run ./examples/configcenter -server 127.0.0.1:2181 -path /config/app
//
// and change its configuration from another terminal:
//
//	go run ./cmd/zkcli -server 127.0.0.1:2181 create /config
//	go run ./cmd/zkcli -server 127.0.0.1:2181 create /config/app 'workers=4'
//	go run ./cmd/zkcli -server 127.0.0.1:2181 set /config/app 'workers=8'
//
// The configuration is "key=value" lines ('#' starts a comment). The
// service reads the znode with a data watch (GetW); the watch fires on the
// next change, and the service reads again, setting a new watch with the
// same read. Nothing is missed: a change made between the event and the
// read is in what the read returns. Changes that come faster than the
// service reads are coalesced: it may skip an intermediate version, never
// the latest. A configuration that does not parse is rejected and the last
// good one stays in force; a missing znode is waited for with an exists
// watch (ExistsW). Watches survive reconnection, so a brief connection loss
// loses no change either.
//
// The service only reads: it never writes the configuration znode or any
// other.
//
// Flags: -server (connect string, default 127.0.0.1:2181), -path (the
// configuration znode), -session (session timeout), -duration (stop after
// this long; 0 runs until SIGINT).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
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
	path     string
	session  time.Duration
	duration time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.server, "server", "127.0.0.1:2181", "ZooKeeper connect string")
	flag.StringVar(&o.path, "path", "/config/app", "znode holding the configuration")
	flag.DurationVar(&o.session, "session", 10*time.Second, "session timeout")
	flag.DurationVar(&o.duration, "duration", 0, "stop after this long (0: until SIGINT)")
	flag.Parse()
	ctx, stop := cli.Context(o.duration)
	defer stop()
	cli.ExitOnError(ctx, "configcenter", run(ctx, o, os.Stdout))
}

// run connects and prints every configuration the service loads or
// rejects, until ctx ends or the session is over.
func run(ctx context.Context, o options, out io.Writer) error {
	c, err := client.Connect(ctx, o.server, client.WithSessionTimeout(o.session))
	if err != nil {
		return err
	}
	defer c.Close()
	reloads := 0
	return follow(ctx, c, o.path, func(cfg Config) {
		reloads++
		fmt.Fprintf(out, "reload %d: version %d: %s\n", reloads, cfg.Version, cfg)
	}, func(version int32, err error) {
		fmt.Fprintf(out, "rejected version %d, keeping the last good configuration: %v\n", version, err)
	})
}

// Config is one loaded configuration.
type Config struct {
	Version int32 // the znode's data version it was read from
	Zxid    int64 // the zxid of the change that wrote it (mzxid)
	Values  map[string]string
}

// String lists the values sorted by key.
func (c Config) String() string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(c.Values)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", k, c.Values[k])
	}
	return b.String()
}

// parseConfig reads "key=value" lines; blank lines and '#' comments are
// skipped. A line without '=', an empty key or a key given twice is an
// error, so that a half-written configuration is never applied.
func parseConfig(data []byte) (map[string]string, error) {
	values := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("line %d: %q is not key=value", n, line)
		}
		if _, dup := values[k]; dup {
			return nil, fmt.Errorf("line %d: key %q given twice", n, k)
		}
		values[k] = strings.TrimSpace(v)
	}
	return values, sc.Err()
}

// errSessionOver means the session expired or was closed: the watches
// are gone and a new session must start from a fresh read.
var errSessionOver = errors.New("session over")

// follow loads the configuration at path and again after every change,
// calling apply for each new good version and reject for each one that
// does not parse. It returns when ctx ends or the session is over.
func follow(ctx context.Context, c *client.Conn, path string, apply func(Config), reject func(int32, error)) error {
	var lastZxid int64 // mzxid of the last version handled: a delete and re-create resets Version, never mzxid
	for {
		data, st, ch, err := c.GetW(ctx, path)
		if errors.Is(err, proto.ErrNoNode) {
			ch, err = waitCreated(ctx, c, path)
		} else if err == nil && st.Mzxid != lastZxid {
			lastZxid = st.Mzxid
			if values, perr := parseConfig(data); perr != nil {
				reject(st.Version, perr)
			} else {
				apply(Config{Version: st.Version, Zxid: st.Mzxid, Values: values})
			}
		}
		if err != nil {
			if err := recoverable(ctx, c, err); err != nil {
				return err
			}
			continue
		}
		if ch == nil {
			continue // the node appeared between the two reads
		}
		select {
		case ev := <-ch:
			if ev.Type == client.EventNone && ev.State.Final() {
				return fmt.Errorf("%w: %v", errSessionOver, ev.State)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitCreated sets an exists watch on a missing node. It returns a nil
// channel when the node exists after all.
func waitCreated(ctx context.Context, c *client.Conn, path string) (<-chan client.Event, error) {
	st, ch, err := c.ExistsW(ctx, path)
	if err != nil || st == nil {
		return ch, err
	}
	c.RemoveWatch(ctx, ch, true) // created meanwhile: read it instead
	return nil, nil
}

// recoverable waits out a connection loss (the session and its watches
// live on); any other error, the end of the session or of ctx, is final.
func recoverable(ctx context.Context, c *client.Conn, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case c.State().Final():
		return fmt.Errorf("%w: %v", errSessionOver, err)
	case errors.Is(err, proto.ErrConnectionLoss):
		return c.WaitConnected(ctx)
	}
	return err
}

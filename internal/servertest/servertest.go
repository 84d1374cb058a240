// Package servertest starts in-process zkd servers for the tests of other
// packages (the client, recipes, zkcli, the offline tools). It owns only
// the test defaults: a temp data dir, loopback, a free client port, a short
// tick, and no fixed admin or metrics ports, so that tests running in
// parallel never collide. It must never be imported by non-test code.
package servertest

import (
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/zkd-io/zkd/internal/config"
	"github.com/zkd-io/zkd/internal/server"
)

// Options returns validated test defaults after applying mutate: data in a
// temp dir, clients on 127.0.0.1 at a free port, tickTime 200 ms (sessions
// may be as short as 400 ms), TTL nodes enabled, every four-letter word,
// the AdminServer off and metrics on a free loopback port.
func Options(t testing.TB, mutate ...func(*config.Options)) *config.Options {
	t.Helper()
	o := config.Default()
	o.DataDir = t.TempDir()
	o.ClientPortAddress = "127.0.0.1"
	o.TickTime = 200 * time.Millisecond
	o.ExtendedTypesEnabled = true
	o.FourLetterWords = map[string]bool{"*": true}
	o.AdminEnableServer = false
	o.AdminServerAddress = "127.0.0.1"
	o.MetricsHTTPPort = 0
	for _, m := range mutate {
		m(o)
	}
	if err := o.Validate(); err != nil {
		t.Fatalf("options: %v", err)
	}
	o.ClientPort = 0 // after Validate, which wants a real port: 0 binds a free one
	return o
}

// Start runs a server with Options(t, mutate...) and stops it when the test
// ends. Its log goes to stderr at error level, or debug with ZKD_TEST_LOG
// set.
func Start(t testing.TB, mutate ...func(*config.Options)) *server.Server {
	t.Helper()
	level := slog.LevelError
	if os.Getenv("ZKD_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	s := server.New(Options(t, mutate...), slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	if err := s.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

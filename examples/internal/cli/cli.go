// Package cli holds what the examples' main functions do alike: run until
// SIGINT, SIGTERM or a -duration, and exit with a message on a failure
// that was not caused by that end. It owns nothing else; each example's
// logic stays in its own package, readable on its own.
package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Context returns a context that ends on SIGINT or SIGTERM, or after d
// when d > 0. Call the returned function when done.
func Context(d time.Duration) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if d <= 0 {
		return ctx, stop
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	return ctx, func() { cancel(); stop() }
}

// ExitOnError prints err prefixed with the example's name and exits with
// status 1, unless err is nil or ctx has ended: an example stopped by a
// signal or its -duration did not fail.
func ExitOnError(ctx context.Context, name string, err error) {
	if err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

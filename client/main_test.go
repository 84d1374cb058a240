package client

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/zkd-io/zkd/test/harness"
)

// TestMain fails the run if a goroutine of this package outlives the tests:
// every test closes what it opens.
func TestMain(m *testing.M) {
	code := harness.Run(m) // one zkd build for the tests that start real servers
	if code == 0 {
		if leaked := leakedGoroutines(3 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "client goroutines still running after the tests:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

//go:build interop

package interop

import (
	"fmt"
	"os"
	"testing"

	"github.com/zkd-io/zkd/test/harness"
)

// TestMain runs the tests through harness.Run (one zkd build for all of
// them), then prints the results table (see table_test.go).
func TestMain(m *testing.M) {
	code := harness.Run(m)
	if err := printTable(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

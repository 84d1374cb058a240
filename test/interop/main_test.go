//go:build interop

package interop

import (
	"testing"

	"github.com/zkd-io/zkd/test/harness"
)

// TestMain builds zkd once for all tests and removes it at the end.
func TestMain(m *testing.M) { harness.Main(m) }

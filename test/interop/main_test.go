//go:build interop

package interop

import (
	"fmt"
	"go/build"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain builds zkd once for all tests, runs them, prints the results
// table (see table_test.go) and removes the build.
//
// It does what harness.Main does (which exits as soon as the tests end)
// and then prints the table: the build goes through ZKD_BINARY, which the
// harness honours. A ZKD_BINARY set by the caller is used as is.
func TestMain(m *testing.M) {
	remove := shareZkdBuild()
	code := m.Run()
	if err := printTable(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	remove()
	os.Exit(code)
}

// shareZkdBuild builds cmd/zkd into a temporary directory and points
// ZKD_BINARY at it; it returns the function that removes it. When the
// build fails, ZKD_BINARY stays unset and each test that starts zkd builds
// it itself and fails with the compiler's message.
func shareZkdBuild() (remove func()) {
	if os.Getenv("ZKD_BINARY") != "" {
		return func() {}
	}
	dir, err := os.MkdirTemp("", "zkd-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop: temp dir for the zkd build:", err)
		return func() {}
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(build.Default.GOROOT, "bin", "go")
	}
	bin := filepath.Join(dir, "zkd")
	args := append([]string{"build", "-o", bin}, strings.Fields(os.Getenv("ZKD_BUILD_FLAGS"))...)
	args = append(args, "github.com/zkd-io/zkd/cmd/zkd")
	if out, err := exec.Command(goTool, args...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "interop: go build cmd/zkd: %v\n%s", err, out)
		os.RemoveAll(dir)
		return func() {}
	}
	os.Setenv("ZKD_BINARY", bin)
	return func() {
		os.Unsetenv("ZKD_BINARY")
		os.RemoveAll(dir)
	}
}

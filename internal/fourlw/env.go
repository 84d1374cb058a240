package fourlw

import (
	"math"
	"os"
	"os/user"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// notAvailable is what ZooKeeper prints for an unset property.
const notAvailable = "<NA>"

// DefaultEnv lists envi's keys in ZooKeeper's order (Environment.list) with
// this process's values. Keys stay ZooKeeper's, because tools look for them
// (zookeeper.version, host.name, os.*); the java.* keys carry the Go
// runtime's facts where there is one (java.version is the Go version) and
// "<NA>" where Go has no counterpart (class path, library path, compiler).
// os.memory.* report the Go heap in MB: free = heap obtained from the OS
// minus heap in use, total = heap obtained from the OS, max = the soft
// memory limit (GOMEMLIMIT) or total when there is none.
func DefaultEnv(version string, built time.Time) []KV {
	host, err := os.Hostname()
	if err != nil {
		host = notAvailable
	}
	userName, userHome := notAvailable, notAvailable
	if u, err := user.Current(); err == nil {
		userName, userHome = u.Username, u.HomeDir
	}
	if h, err := os.UserHomeDir(); err == nil && userHome == notAvailable {
		userHome = h
	}
	wd, err := os.Getwd()
	if err != nil {
		wd = notAvailable
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	total := ms.HeapSys
	free := ms.HeapSys - min(ms.HeapAlloc, ms.HeapSys)
	limit := debug.SetMemoryLimit(-1) // -1 reads the limit without changing it
	maxMem := total
	if limit > 0 && limit < math.MaxInt64 {
		maxMem = uint64(limit)
	}
	mb := func(n uint64) string { return strconv.FormatUint(n/(1024*1024), 10) + "MB" }
	return []KV{
		{"zookeeper.version", FullVersion(version, built)},
		{"host.name", host},
		{"java.version", runtime.Version()},
		{"java.vendor", "Go"},
		{"java.home", notAvailable},
		{"java.class.path", notAvailable},
		{"java.library.path", notAvailable},
		{"java.io.tmpdir", os.TempDir()},
		{"java.compiler", notAvailable},
		{"os.name", javaOSName(runtime.GOOS)},
		{"os.arch", javaOSArch(runtime.GOARCH)},
		{"os.version", osVersion()},
		{"user.name", userName},
		{"user.home", userHome},
		{"user.dir", wd},
		{"os.memory.free", mb(free)},
		{"os.memory.max", mb(maxMem)},
		{"os.memory.total", mb(total)},
	}
}

// javaOSName is the os.name Java reports for a GOOS.
func javaOSName(goos string) string {
	switch goos {
	case "linux":
		return "Linux"
	case "darwin":
		return "Mac OS X"
	case "windows":
		return "Windows"
	case "freebsd":
		return "FreeBSD"
	case "openbsd":
		return "OpenBSD"
	case "netbsd":
		return "NetBSD"
	case "solaris", "illumos":
		return "SunOS"
	}
	return goos
}

// javaOSArch is the os.arch Java reports for a GOARCH.
func javaOSArch(goarch string) string {
	switch goarch {
	case "arm64":
		return "aarch64"
	case "386":
		return "x86"
	}
	return goarch
}

// osVersion is the kernel release (Java's os.version on Linux); other
// systems get "<NA>" rather than a guess.
func osVersion() string {
	if runtime.GOOS != "linux" {
		return notAvailable
	}
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return notAvailable
	}
	if v := strings.TrimSpace(string(b)); v != "" {
		return v
	}
	return notAvailable
}

package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zkd-io/zkd/internal/config"
	"github.com/zkd-io/zkd/internal/server"
	"github.com/zkd-io/zkd/internal/storage"
)

const checkUsage = `usage: zkd check CONFIG

Validates a zoo.cfg (and the myid file and dynamic config file it leads to)
exactly as the server would, and prints what the server would do with it:
standalone or ensemble, this server's id and role, the members, every port
and address, the data directories and what they hold, the timeouts, the
enabled four-letter words and the admin and metrics endpoints. It starts
nothing, binds no port and writes nothing.

Exit status: 0 when the server would start with this configuration, 2 with
the configuration error (or the port clash) otherwise.
`

// checkTool is zkd check CONFIG.
func checkTool(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, checkUsage)
		return exitUsage
	}
	path := args[0]
	opts, notices, err := config.Load(path)
	if err != nil {
		fmt.Fprintf(stderr, "zkd check: %v\n", err)
		return config.ExitCode(err)
	}
	if err := portClash(opts); err != nil {
		fmt.Fprintf(stderr, "zkd check: %s: %v\n", path, err)
		return config.ExitConfig
	}
	describe(stdout, path, opts, notices)
	return exitOK
}

// describe prints the resolved configuration, one setting per line.
func describe(w io.Writer, path string, o *config.Options, notices []string) {
	p := func(key, format string, a ...any) {
		fmt.Fprintf(w, "%-18s %s\n", key+":", fmt.Sprintf(format, a...))
	}
	fmt.Fprintf(w, "%s is valid; a server started with it would run as follows.\n\n", path)

	clientHost := o.ClientPortAddress
	if clientHost == "" {
		clientHost = "0.0.0.0"
	}
	if o.Standalone() {
		how := "no server.N lines"
		if len(o.Servers) > 0 {
			how = "one participant and standaloneEnabled=true; its server.N line is ignored"
		}
		p("mode", "standalone (%s)", how)
	} else {
		self, _ := o.Self()
		participants, observers := 0, 0
		for _, s := range o.Servers {
			if s.Observer {
				observers++
			} else {
				participants++
			}
		}
		role := "participant (a voting follower, or the leader)"
		if self.Observer {
			role = "observer (non-voting)"
		}
		p("mode", "ensemble of %s and %s; a quorum is %d participants",
			plural(participants, "participant"), plural(observers, "observer"), participants/2+1)
		p("myid", "%d (from %s), %s", o.MyID, filepath.Join(o.DataDir, "myid"), role)
		fmt.Fprintln(w, "members:")
		for _, s := range o.Servers {
			mark := ""
			if s.ID == o.MyID {
				mark = "   <- this server"
			}
			fmt.Fprintf(w, "  server.%d=%s%s\n", s.ID, s, mark)
		}
		p("quorum port", "%s (zkd's peer transport: raft messages, session liveness, snapshots)",
			net.JoinHostPort(self.Host, strconv.Itoa(self.QuorumPort)))
		p("election port", "%d (accepted and unused: raft elects)", self.ElectionPort)
	}
	p("client port", "%s (at most %s connections per client address)",
		net.JoinHostPort(clientHost, strconv.Itoa(o.ClientPort)), limit(o.MaxClientCnxns))

	p("dataDir", "%s", dirState(o.DataDir, filepath.Join(o.DataDir, snapSubdir), ".snap", "snapshots"))
	p("dataLogDir", "%s", dirState(o.DataLogDir, filepath.Join(o.DataLogDir, walSubdir), ".wal", "WAL segments"))

	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	p("tickTime", "%d ms; initLimit %d, syncLimit %d ticks", ms(o.TickTime), o.InitLimit, o.SyncLimit)
	p("session timeouts", "%d..%d ms (what clients ask for is clamped to this range)", ms(o.MinSessionTimeout), ms(o.MaxSessionTimeout))
	if !o.Standalone() {
		et := server.ElectionTimeout(o)
		p("election timeout", "%v (raft waits %v..%v without a leader before standing)", et, et, 2*et)
	}
	p("snapshots", "every %d log entries or %s of log; %s", o.SnapCount, snapSize(o.SnapSizeLimitKB), purge(o))
	p("jute.maxbuffer", "%d bytes", o.JuteMaxBuffer)
	p("fsync warning", "above %d ms (fsync.warningthresholdms)", ms(o.FsyncWarningThreshold))
	p("log zero fill", "%s (zkd.walZeroFill; it runs on ext4 and XFS only)", onOff(o.WALZeroFill))
	p("ttl nodes", "%s (extendedTypesEnabled)", onOff(o.ExtendedTypesEnabled))
	p("super digest", "%s", onOff(o.SuperDigest != ""))

	p("four-letter words", "%s (4lw.commands.whitelist; srvr is always answered)", strings.Join(fourLetterWords(o), " "))
	adminHost := o.AdminServerAddress
	metrics := "http://" + net.JoinHostPort(adminHost, port(o.MetricsHTTPPort)) + "/metrics"
	switch {
	case !o.AdminEnableServer:
		p("admin server", "off (admin.enableServer=false)")
	case o.AdminServerPort == o.MetricsHTTPPort && o.AdminServerPort != 0:
		p("admin server", "http://%s/commands, with /metrics on the same port", net.JoinHostPort(adminHost, port(o.AdminServerPort)))
		metrics = "on the admin server's port"
	default:
		p("admin server", "http://%s/commands", net.JoinHostPort(adminHost, port(o.AdminServerPort)))
	}
	if o.AdminEnableServer {
		p("admin snapshot", "%s, restore %s (answers 501: not supported yet), at most one every %v",
			onOff(o.AdminSnapshotEnabled), onOff(o.AdminRestoreEnabled), o.AdminRateLimit)
	}
	p("metrics", "%s; /healthz and /readyz on every HTTP port", metrics)
	p("log format", "%s", o.LogFormat)

	if len(notices) > 0 {
		fmt.Fprintln(w, "notices:")
		for _, n := range notices {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

func limit(n int) string {
	if n == 0 {
		return "unlimited"
	}
	return strconv.Itoa(n)
}

func port(p int) string {
	if p == 0 {
		return "<free port chosen at start>"
	}
	return strconv.Itoa(p)
}

func snapSize(kb int64) string {
	if kb <= 0 {
		return "no size trigger"
	}
	return strconv.FormatInt(kb, 10) + " KiB"
}

func purge(o *config.Options) string {
	if o.PurgeInterval == 0 {
		return fmt.Sprintf("after each snapshot all but the newest %d (and the log behind them) are removed; autopurge.purgeInterval off", o.SnapRetainCount)
	}
	return fmt.Sprintf("autopurge every %v, keeping %d snapshots", o.PurgeInterval, o.SnapRetainCount)
}

// fourLetterWords lists the enabled words in ZooKeeper's alphabetical
// order, srvr included.
func fourLetterWords(o *config.Options) []string {
	var out []string
	for _, w := range config.KnownFourLetterWords() {
		if o.FourLetterWordEnabled(w) {
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return out
}

// dirState describes a data directory and the files of kind suffix in its
// sub directory sub, reading only directory listings.
func dirState(dir, sub, suffix, what string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	fi, err := os.Stat(dir)
	switch {
	case os.IsNotExist(err):
		return abs + " (does not exist yet: created at start, empty)"
	case err != nil:
		return fmt.Sprintf("%s (cannot be read: %v)", abs, err)
	case !fi.IsDir():
		return abs + " (NOT A DIRECTORY: the server will fail to start)"
	}
	n := 0
	if suffix == ".snap" {
		files, _ := storage.ListSnapshotFiles(sub)
		for _, f := range files {
			if f.State == storage.SnapshotCurrent {
				n++
			}
		}
	} else if des, err := os.ReadDir(sub); err == nil {
		for _, de := range des {
			if strings.HasSuffix(de.Name(), suffix) {
				n++
			}
		}
	}
	if n == 0 {
		return fmt.Sprintf("%s (no %s in %s yet)", abs, what, sub)
	}
	return fmt.Sprintf("%s (%d %s in %s: the server recovers from them)", abs, n, what, sub)
}

// portClash finds two listeners of this server that would bind the same
// port on overlapping addresses, which config.Load does not check: the
// server would fail at start. The admin and metrics ports may coincide
// (one listener serves both).
func portClash(o *config.Options) error {
	type listener struct {
		name, host string
		port       int
	}
	ls := []listener{{"clientPort", o.ClientPortAddress, o.ClientPort}, {"metricsProvider.httpPort", o.AdminServerAddress, o.MetricsHTTPPort}}
	if o.AdminEnableServer && o.AdminServerPort != o.MetricsHTTPPort {
		ls = append(ls, listener{"admin.serverPort", o.AdminServerAddress, o.AdminServerPort})
	}
	if self, ok := o.Self(); ok && !o.Standalone() {
		ls = append(ls, listener{fmt.Sprintf("server.%d quorum port", self.ID), self.Host, self.QuorumPort})
	}
	for i, a := range ls {
		for _, b := range ls[i+1:] {
			if a.port != 0 && a.port == b.port && hostsOverlap(a.host, b.host) {
				return fmt.Errorf("%s and %s are both %d: the second listener would fail to bind", a.name, b.name, a.port)
			}
		}
	}
	return nil
}

// hostsOverlap reports whether listeners on a and b could collide: either
// is a wildcard, or they are the same address.
func hostsOverlap(a, b string) bool {
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return wild(a) || wild(b) || strings.EqualFold(a, b)
}

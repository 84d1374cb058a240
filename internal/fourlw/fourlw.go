package fourlw

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Known lists the commands zkd recognises in the first four bytes of a
// connection. ZooKeeper also knows gtmk and stmk (trace masks, which zkd
// does not have); to zkd those bytes are an ordinary length prefix.
var Known = []string{"conf", "cons", "crst", "dump", "envi", "ruok", "srst", "srvr", "stat", "wchs", "wchc", "wchp", "mntr", "isro", "dirs", "hash"}

// NotServing is ZooKeeper's reply (plus a newline) to most commands while it
// is not serving clients.
const NotServing = "This ZooKeeper instance is not currently serving requests"

// ErrUnknownCommand is returned by Run for a command outside Known.
var ErrUnknownCommand = errors.New("fourlw: unknown four-letter word")

// IsCommand reports whether the first four bytes a client sent spell a known
// command, and which. Matching is exact and case-sensitive, as in ZooKeeper,
// which compares the bytes as one big-endian int.
func IsCommand(first4 []byte) (string, bool) {
	if len(first4) < 4 {
		return "", false
	}
	cmd := string(first4[:4])
	if !slices.Contains(Known, cmd) {
		return "", false
	}
	return cmd, true
}

// WhitelistRefusal is the reply to a known command that is not in
// 4lw.commands.whitelist, byte for byte ZooKeeper's.
func WhitelistRefusal(cmd string) string {
	return cmd + " is not executed because it is not in the whitelist.\n"
}

// NotSupportedLine is the reply to a known command this zkd version cannot
// answer yet (ZooKeeper has no such reply; this one is zkd's own).
func NotSupportedLine(cmd string) string {
	return cmd + " is not supported by this zkd version yet\n"
}

// Run writes the reply to cmd to w, in one Write call. The server then
// closes the connection; ZooKeeper's replies have no other terminator.
//
// allowed reports whether a command is in 4lw.commands.whitelist; a nil
// allowed permits nothing but srvr, which is ZooKeeper's default. srvr is
// always run whatever allowed says, because ZooKeeper always adds it to the
// whitelist (zkServer.sh status depends on it). Adding isro when read-only
// mode is enabled, as ZooKeeper does, is up to allowed.
//
// Commands: ruok, srvr, stat, mntr, isro, conf, envi, cons, dirs and wchs
// are always answered; srst, crst, wchc, wchp, hash and dump when src
// implements StatsResetter, ConnStatsResetter, WatchLister, Digester or
// Dumper; otherwise they get NotSupportedLine. wchc and wchp list at most
// DefaultWatchLimit and then say what they left out (TruncatedLine).
//
// Run returns ErrUnknownCommand (writing nothing) for a command outside
// Known, and otherwise only w's error.
func Run(cmd string, allowed func(cmd string) bool, src Source, w io.Writer) error {
	if !slices.Contains(Known, cmd) {
		return fmt.Errorf("%w %q", ErrUnknownCommand, cmd)
	}
	var b strings.Builder
	if cmd != "srvr" && (allowed == nil || !allowed(cmd)) {
		b.WriteString(WhitelistRefusal(cmd))
	} else {
		reply(&b, cmd, src)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// needsStats reports whether cmd prints from Stats.
func needsStats(cmd string) bool {
	switch cmd {
	case "srvr", "stat", "mntr", "dirs", "wchs":
		return true
	}
	return false
}

// reply formats an allowed command. ruok and envi answer even when the
// server is not serving, as in ZooKeeper; the others check first.
func reply(b *strings.Builder, cmd string, src Source) {
	switch cmd {
	case "ruok":
		b.WriteString("imok")
		return
	case "envi":
		writeEnv(b, src.Env())
		return
	}
	var st Stats
	notServing := false
	if sr, ok := src.(ServingReporter); ok && !needsStats(cmd) {
		notServing = !sr.Serving()
	} else {
		st = src.Stats()
		notServing = st.NotServing
	}
	if notServing {
		switch cmd {
		case "isro":
			b.WriteString("null")
		case "hash":
			b.WriteString(NotServing) // ZooKeeper's DigestCommand adds no newline here.
		default:
			b.WriteString(NotServing + "\n")
		}
		return
	}
	switch cmd {
	case "srvr":
		writeSrvr(b, &st, src.ReadOnly(), false, nil)
	case "stat":
		writeSrvr(b, &st, src.ReadOnly(), true, src.Conns())
	case "cons":
		writeCons(b, src.Conns())
	case "mntr":
		writeMntr(b, &st)
	case "isro":
		if src.ReadOnly() {
			b.WriteString("ro")
		} else {
			b.WriteString("rw")
		}
	case "conf":
		writeConf(b, src.Conf())
	case "dirs":
		fmt.Fprintf(b, "datadir_size: %d\nlogdir_size: %d\n", st.DataDirSize, st.LogDirSize)
	case "wchs":
		fmt.Fprintf(b, "%d connections watching %d paths\nTotal watches:%d\n\n",
			st.WatchConnections, st.WatchPaths, st.DataWatches)
	case "wchc", "wchp":
		wl, ok := src.(WatchLister)
		if !ok {
			b.WriteString(NotSupportedLine(cmd))
			return
		}
		lim := DefaultWatchLimit
		if cmd == "wchc" {
			ws, omitted := wl.WatchesBySession(lim)
			writeWatchesBySession(b, ws, omitted, lim)
		} else {
			ws, omitted := wl.WatchesByPath(lim)
			writeWatchesByPath(b, ws, omitted, lim)
		}
	case "srst":
		r, ok := src.(StatsResetter)
		if !ok {
			b.WriteString(NotSupportedLine(cmd))
			return
		}
		r.ResetStats()
		b.WriteString("Server stats reset.\n")
	case "crst":
		r, ok := src.(ConnStatsResetter)
		if !ok {
			b.WriteString(NotSupportedLine(cmd))
			return
		}
		r.ResetConnStats()
		b.WriteString("Connection stats reset.\n")
	case "hash":
		d, ok := src.(Digester)
		if !ok {
			b.WriteString(NotSupportedLine(cmd))
			return
		}
		for _, zd := range d.DigestLog() {
			fmt.Fprintf(b, "%x: %d\n", uint64(zd.Zxid), zd.Digest)
		}
	case "dump":
		d, ok := src.(Dumper)
		if !ok {
			b.WriteString(NotSupportedLine(cmd))
			return
		}
		writeDump(b, d.Dump())
	default:
		b.WriteString(NotSupportedLine(cmd))
	}
}

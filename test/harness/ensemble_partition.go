package harness

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Network partitions between ensemble members are iptables DROP rules in a
// chain of the test's own, jumped to from the start of OUTPUT (loopback
// traffic passes OUTPUT once, on the sending side).
//
// Apache ZooKeeper does not bind its outgoing peer connections, so they
// leave from 127.0.0.1 and the source address cannot say which server sent
// a packet (and the harness must not depend on whether zkd binds its own).
// Instead every server process gets a supplementary group of its own (see
// Ensemble.groups), and cutting server x off from server y's peer ports is:
//
//  1. drop every packet x's sockets send to y's quorum and election ports
//     ("-m owner --gid-owner <x's group> --suppl-groups"): x can open no new
//     connection to y, and sends nothing on the ones it has;
//  2. for each connection x already has to those ports (read from
//     /proc/<pid>/fd and /proc/<pid>/net/tcp{,6}), drop its packets in both
//     directions by their exact addresses and ports, so y's replies do not
//     reach x either.
//
// Cutting both x→y and y→x this way covers the connections either side
// opened, and nothing else: client ports and other servers are untouched.
const (
	iptablesInstall = "apt-get install iptables"
	// chainPrefix names the harness's chains: zkdtest-<pid>-<n>.
	chainPrefix = "zkdtest-"
	// groupBase starts the supplementary group ids of ensemble servers,
	// far from real groups.
	groupBase = 3_000_000_000
)

var (
	groupSeq atomic.Uint32 // makes group ids unique per ensemble server
	chainSeq atomic.Uint32 // makes chain names unique per process
)

// firewall is the rules one ensemble installed, in order.
type firewall struct {
	chain  string
	hooked bool // OUTPUT jumps to chain
	rules  [][]string
	have   map[string]bool // rules by their text, to add each once
}

// RequirePartitions ends the test unless ensembles can be partitioned here:
// Linux, root (for iptables and the per-server groups) and a working
// iptables. In CI (CI=true) that is a failure, elsewhere a skip. Call it
// before starting an ensemble that a test will partition.
func RequirePartitions(t testing.TB) {
	t.Helper()
	if err := partitionSupport(); err != nil {
		MissingTool(t, "harness: network partitions need Linux, root and iptables: %v", err)
	}
}

func partitionSupport() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("running on %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return errors.New("not running as root")
	}
	if !canSetGroups() {
		return errors.New("cannot start a process with an extra supplementary group (no CAP_SETGID, or setgroups denied in this user namespace)")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return fmt.Errorf("iptables not found in PATH (%s)", iptablesInstall)
	}
	if err := iptables("-S", "OUTPUT"); err != nil {
		return err
	}
	return nil
}

// canSetGroups reports whether this process can start children with an
// extra supplementary group: root in a user namespace may be denied
// setgroups, and then an ensemble must start without groups rather than
// not at all.
var canSetGroups = sync.OnceValue(func() bool {
	bin, err := exec.LookPath("true")
	if err != nil {
		return false
	}
	cmd := exec.Command(bin)
	cmd.SysProcAttr = withGroups(nil, []uint32{groupBase})
	return cmd.Run() == nil
})

// Isolate cuts server i off from every other server's peer ports, in both
// directions, leaving every client port reachable. The rules stay until Heal
// or the end of the test.
func (e *Ensemble) Isolate(t testing.TB, i int) {
	t.Helper()
	e.Partition(t, []int{i}, e.Others(i))
}

// Partition cuts the peer traffic between every two of the given groups of
// server indexes, in both directions; traffic inside a group, and every
// client port, stays untouched. Partitions add up until Heal, which the end
// of the test calls too. A server restarted meanwhile stays cut off.
func (e *Ensemble) Partition(t testing.TB, groups ...[]int) {
	t.Helper()
	RequirePartitions(t)
	if e.groups == nil {
		t.Fatalf("harness: this %s ensemble was started without per-server groups (not as root), so it cannot be partitioned", e.Kind)
	}
	seen := map[int]bool{}
	for _, g := range groups {
		for _, i := range g {
			if i < 0 || i >= len(e.Servers) || seen[i] {
				t.Fatalf("harness: Partition%v: want distinct server indexes in 0..%d", groups, len(e.Servers)-1)
			}
			seen[i] = true
		}
	}
	type pair struct{ from, to int }
	var pairs []pair
	for a := range groups {
		for b := range groups {
			if a == b {
				continue
			}
			for _, x := range groups[a] {
				for _, y := range groups[b] {
					pairs = append(pairs, pair{x, y})
				}
			}
		}
	}

	e.fwMu.Lock()
	defer e.fwMu.Unlock()
	fw := e.firewallLocked(t)
	before := len(fw.rules)
	// Block first, then list: a connection x opens after the listing cannot
	// finish its handshake, so none escapes both steps.
	for _, p := range pairs {
		y := e.Members[p.to]
		fw.add(t, "-p", "tcp", "-d", y.Host, "-m", "multiport",
			"--dports", fmt.Sprintf("%d,%d", y.QuorumPort, y.ElectionPort),
			"-m", "owner", "--gid-owner", strconv.FormatUint(uint64(e.groups[p.from]), 10), "--suppl-groups",
			"-j", "DROP")
	}
	cut := 0
	for _, p := range pairs {
		conns, err := e.peerConns(p.from, p.to)
		if err != nil {
			t.Fatalf("harness: Partition: connections of server.%d: %v", p.from+1, err)
		}
		for _, c := range conns {
			l, r := c.local, c.remote
			fw.add(t, "-p", "tcp", "-s", l.Addr().String(), "--sport", strconv.Itoa(int(l.Port())),
				"-d", r.Addr().String(), "--dport", strconv.Itoa(int(r.Port())), "-j", "DROP")
			fw.add(t, "-p", "tcp", "-s", r.Addr().String(), "--sport", strconv.Itoa(int(r.Port())),
				"-d", l.Addr().String(), "--dport", strconv.Itoa(int(l.Port())), "-j", "DROP")
			cut++
		}
	}
	var added []string
	for _, r := range fw.rules[before:] {
		added = append(added, strings.Join(r, " "))
	}
	t.Logf("harness: %s ensemble partitioned into %v (server ids): %d open peer connections cut by %d rules in chain %s:\n\t%s",
		e.Kind, groupIDs(groups), cut, len(added), fw.chain, strings.Join(added, "\n\t"))
}

// Heal removes every partition rule and the chain holding them. It is a
// no-op without partitions.
func (e *Ensemble) Heal(t testing.TB) {
	t.Helper()
	e.fwMu.Lock()
	defer e.fwMu.Unlock()
	fw := e.fw
	if fw == nil {
		return
	}
	var errs []error
	for k := len(fw.rules) - 1; k >= 0; k-- {
		if err := iptables(append([]string{"-D", fw.chain}, fw.rules[k]...)...); err != nil {
			errs = append(errs, err)
		}
	}
	if fw.hooked {
		if err := iptables("-D", "OUTPUT", "-j", fw.chain); err != nil {
			errs = append(errs, err)
		}
	}
	if err := iptables("-X", fw.chain); err != nil {
		errs = append(errs, err)
	}
	e.fw = nil
	if len(errs) > 0 {
		t.Errorf("harness: healing the %s ensemble left iptables state behind (chain %s): %v", e.Kind, fw.chain, errors.Join(errs...))
		return
	}
	t.Logf("harness: %s ensemble healed (%d rules and chain %s removed)", e.Kind, len(fw.rules), fw.chain)
}

// firewallLocked returns the ensemble's chain, creating it and its jump from
// OUTPUT on first use; the test's end removes both.
func (e *Ensemble) firewallLocked(t testing.TB) *firewall {
	t.Helper()
	if e.fw != nil {
		return e.fw
	}
	removeStaleChains(t)
	fw := &firewall{
		chain: fmt.Sprintf("%s%d-%d", chainPrefix, os.Getpid(), chainSeq.Add(1)),
		have:  map[string]bool{},
	}
	if err := iptables("-N", fw.chain); err != nil {
		t.Fatalf("harness: %v", err)
	}
	e.fw = fw
	t.Cleanup(func() { e.Heal(t) })
	if err := iptables("-I", "OUTPUT", "1", "-j", fw.chain); err != nil {
		t.Fatalf("harness: %v", err)
	}
	fw.hooked = true
	return fw
}

func (fw *firewall) add(t testing.TB, rule ...string) {
	t.Helper()
	key := strings.Join(rule, " ")
	if fw.have[key] {
		return
	}
	if err := iptables(append([]string{"-A", fw.chain}, rule...)...); err != nil {
		t.Fatalf("harness: %v", err)
	}
	fw.have[key] = true
	fw.rules = append(fw.rules, rule)
}

// removeStaleChains removes the chains (and their jumps from OUTPUT) that
// a test process which no longer exists left behind: one killed before its
// cleanups ran. Only chains named by this harness are touched, rule by
// rule.
func removeStaleChains(t testing.TB) {
	t.Helper()
	out, err := iptablesOutput("-S")
	if err != nil {
		t.Logf("harness: listing iptables rules for stale test chains: %v", err)
		return
	}
	for _, line := range strings.Split(out, "\n") {
		chain, ok := strings.CutPrefix(strings.TrimSpace(line), "-N ")
		if !ok || !strings.HasPrefix(chain, chainPrefix) {
			continue
		}
		pidText, _, _ := strings.Cut(strings.TrimPrefix(chain, chainPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || !processGone(pid) {
			continue // not ours, or its process still runs
		}
		var errs []error
		for k := 0; k < 100; k++ { // every jump to it, however many
			if iptables("-D", "OUTPUT", "-j", chain) != nil {
				break
			}
		}
		rules, err := iptablesOutput("-S", chain)
		errs = append(errs, err)
		for _, r := range strings.Split(rules, "\n") {
			if spec, ok := strings.CutPrefix(strings.TrimSpace(r), "-A "+chain+" "); ok {
				errs = append(errs, iptables(append([]string{"-D", chain}, strings.Fields(spec)...)...))
			}
		}
		errs = append(errs, iptables("-X", chain))
		if err := errors.Join(errs...); err != nil {
			t.Logf("harness: removing stale chain %s of dead test process %d: %v", chain, pid, err)
		} else {
			t.Logf("harness: removed stale chain %s of dead test process %d", chain, pid)
		}
	}
}

// iptables runs one iptables command, waiting for the xtables lock.
func iptables(args ...string) error {
	_, err := iptablesOutput(args...)
	return err
}

// iptablesOutput runs one iptables command and returns its standard output.
func iptablesOutput(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr strings.Builder
	cmd := exec.CommandContext(ctx, "iptables", append([]string{"-w", "10"}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

func groupIDs(groups [][]int) [][]int {
	out := make([][]int, len(groups))
	for k, g := range groups {
		out[k] = ids(g)
	}
	return out
}

// tcpConn is one TCP socket from /proc/<pid>/net/tcp{,6}.
type tcpConn struct {
	local, remote netip.AddrPort
	state         int // kernel TCP state; 10 is LISTEN
	inode         uint64
}

const tcpListen = 0x0A

// peerConns lists the TCP connections server x has to server y's quorum or
// election port (none when x is not running).
func (e *Ensemble) peerConns(x, y int) ([]tcpConn, error) {
	pid := e.Servers[x].Pid()
	if pid == 0 {
		return nil, nil
	}
	all, err := processTCP(pid)
	if err != nil {
		return nil, err
	}
	m := e.Members[y]
	host, err := netip.ParseAddr(m.Host)
	if err != nil {
		return nil, err
	}
	var out []tcpConn
	for _, c := range all {
		p := int(c.remote.Port())
		if c.state != tcpListen && c.remote.Addr() == host && (p == m.QuorumPort || p == m.ElectionPort) {
			out = append(out, c)
		}
	}
	return out, nil
}

// processTCP lists the TCP sockets the process holds open. Java sockets are
// IPv6 sockets with IPv4-mapped addresses; those are returned as IPv4.
func processTCP(pid int) ([]tcpConn, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil, err
	}
	inodes := map[uint64]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if v, ok := strings.CutPrefix(link, "socket:["); ok {
			if n, err := strconv.ParseUint(strings.TrimSuffix(v, "]"), 10, 64); err == nil {
				inodes[n] = true
			}
		}
	}
	var out []tcpConn
	for _, name := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, name))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // no IPv6 in this kernel
			}
			return nil, err
		}
		conns, err := parseProcNetTCP(bufio.NewScanner(f))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("/proc/%d/net/%s: %w", pid, name, err)
		}
		for _, c := range conns {
			if inodes[c.inode] {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// parseProcNetTCP reads the lines of /proc/net/tcp or tcp6:
// "sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...".
func parseProcNetTCP(sc *bufio.Scanner) ([]tcpConn, error) {
	var out []tcpConn
	first := true
	for sc.Scan() {
		if first { // the header
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 10 {
			continue
		}
		local, err1 := parseProcAddr(f[1])
		remote, err2 := parseProcAddr(f[2])
		state, err3 := strconv.ParseUint(f[3], 16, 8)
		inode, err4 := strconv.ParseUint(f[9], 10, 64)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return nil, fmt.Errorf("line %q: %w", sc.Text(), err)
		}
		out = append(out, tcpConn{local: local, remote: remote, state: int(state), inode: inode})
	}
	return out, sc.Err()
}

// parseProcAddr decodes "0100007F:1F90": the address as the kernel's
// 32-bit words printed in host byte order, then the port in hex.
func parseProcAddr(s string) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok || (len(a) != 8 && len(a) != 32) {
		return netip.AddrPort{}, fmt.Errorf("address %q: want 8 or 32 hex digits, a colon and a port", s)
	}
	raw, err := hex.DecodeString(a)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: %v", s, err)
	}
	for w := 0; w < len(raw); w += 4 {
		binary.NativeEndian.PutUint32(raw[w:], binary.BigEndian.Uint32(raw[w:]))
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port in %q: %v", s, err)
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), nil
}

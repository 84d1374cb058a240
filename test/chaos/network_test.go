package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/zkd-io/zkd/internal/server"
	"github.com/zkd-io/zkd/test/harness"
)

// One-way partitions are not in the harness (its Partition cuts both
// directions), so this file keeps its own iptables chain, named
// zkdchaos-<pid>-<n> and jumped to from the start of OUTPUT.
//
// zkd's peer transport sends to a peer only over the connection it dialed
// to that peer's quorum port (the peer's inbound connections only
// receive), so dropping every packet that server x's process sends to
// server y's quorum port silences x→y while y→x keeps flowing. The
// harness gives every server process a supplementary group of its own;
// the rule matches it with the owner module, read back from
// /proc/<pid>/status.
const (
	chaosChainPrefix = "zkdchaos-"
	// harnessGroupBase is where the harness's per-server group ids start
	// (see test/harness ensemble_partition.go).
	harnessGroupBase = 3_000_000_000
)

var chaosChainSeq atomic.Uint32

// chaosFirewall is the chain of one run and the rules in it.
type chaosFirewall struct {
	chain string
	rules [][]string
}

// injectOneWay drops everything a random non-empty proper subset of the
// servers sends to the others' quorum ports; the other direction stays.
func injectOneWay(r *run) (string, func()) {
	n := len(r.e.Servers)
	perm := r.rnd.Perm(n)
	k := 1 + r.rnd.IntN(n-1)
	from, to := slices.Sorted(slices.Values(perm[:k])), slices.Sorted(slices.Values(perm[k:]))
	if err := r.addOneWay(from, to); err != nil {
		r.t.Fatalf("one-way partition: %v", err)
	}
	return fmt.Sprintf("one-way: %v cannot send to %v (the other way works)", ids(from), ids(to)), r.removeOneWay
}

func (r *run) addOneWay(from, to []int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fw == nil {
		removeStaleChaosChains(r.t)
		fw := &chaosFirewall{chain: fmt.Sprintf("%s%d-%d", chaosChainPrefix, os.Getpid(), chaosChainSeq.Add(1))}
		if err := iptables("-N", fw.chain); err != nil {
			return err
		}
		if err := iptables("-I", "OUTPUT", "1", "-j", fw.chain); err != nil {
			_ = iptables("-X", fw.chain)
			return err
		}
		r.fw = fw
	}
	for _, x := range from {
		gid, err := serverGroup(r.e.Servers[x].Pid())
		if err != nil {
			return fmt.Errorf("server.%d: %w", x+1, err)
		}
		for _, y := range to {
			m := r.e.Members[y]
			rule := []string{"-p", "tcp", "-d", m.Host, "--dport", strconv.Itoa(m.QuorumPort),
				"-m", "owner", "--gid-owner", strconv.FormatUint(uint64(gid), 10), "--suppl-groups", "-j", "DROP"}
			if err := iptables(append([]string{"-A", r.fw.chain}, rule...)...); err != nil {
				return err
			}
			r.fw.rules = append(r.fw.rules, rule)
		}
	}
	return nil
}

// removeOneWay deletes the run's rules, the jump and the chain.
func (r *run) removeOneWay() {
	r.mu.Lock()
	defer r.mu.Unlock()
	fw := r.fw
	if fw == nil {
		return
	}
	r.fw = nil
	var errs []error
	for k := len(fw.rules) - 1; k >= 0; k-- {
		errs = append(errs, iptables(append([]string{"-D", fw.chain}, fw.rules[k]...)...))
	}
	errs = append(errs, iptables("-D", "OUTPUT", "-j", fw.chain), iptables("-X", fw.chain))
	if err := errors.Join(errs...); err != nil {
		r.t.Errorf("removing iptables chain %s: %v", fw.chain, err)
	}
}

// serverGroup finds the harness's supplementary group of a server process.
func serverGroup(pid int) (uint32, error) {
	if pid <= 0 {
		return 0, errors.New("not running")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		v, found := strings.CutPrefix(line, "Groups:")
		if !found {
			continue
		}
		for _, f := range strings.Fields(v) {
			g, err := strconv.ParseUint(f, 10, 32)
			if err == nil && g >= harnessGroupBase {
				return uint32(g), nil
			}
		}
	}
	return 0, fmt.Errorf("process %d has no harness group (started without root?)", pid)
}

// removeStaleChaosChains removes chains left by test processes that no
// longer exist (killed before their cleanups ran).
func removeStaleChaosChains(t testing.TB) {
	out, err := iptablesOutput("-S")
	if err != nil {
		t.Logf("listing iptables rules: %v", err)
		return
	}
	for _, line := range strings.Split(out, "\n") {
		chain, found := strings.CutPrefix(strings.TrimSpace(line), "-N ")
		if !found || !strings.HasPrefix(chain, chaosChainPrefix) {
			continue
		}
		pidText, _, _ := strings.Cut(strings.TrimPrefix(chain, chaosChainPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue
		}
		for k := 0; k < 100 && iptables("-D", "OUTPUT", "-j", chain) == nil; k++ {
		}
		_ = iptables("-F", chain)
		if err := iptables("-X", chain); err != nil {
			t.Logf("removing stale chain %s of dead process %d: %v", chain, pid, err)
		}
	}
}

func iptables(args ...string) error {
	_, err := iptablesOutput(args...)
	return err
}

func iptablesOutput(args ...string) (string, error) {
	return command("iptables", append([]string{"-w", "10"}, args...)...)
}

// command runs a tool (bounded to 20s) and returns its standard output.
func command(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr strings.Builder
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Delays are a tc netem qdisc on lo that only the ensemble's peer traffic
// is filtered into: a prio root qdisc with a fourth band that the default
// priomap never uses, netem under that band, and one u32 filter per
// server's quorum port. Other loopback traffic is untouched.
type netemState struct{ active bool }

// netemSupport says why delays cannot be injected here: tc missing (a
// failure in CI), lo already carrying a qdisc this package did not add,
// or a kernel without the prio or netem qdiscs (a skip of the nemesis).
func netemSupport(t testing.TB) error {
	if _, err := exec.LookPath("tc"); err != nil {
		if harness.CI() {
			harness.MissingTool(t, "the delay nemesis needs tc: apt-get install iproute2")
		}
		return errors.New("tc not found (apt-get install iproute2)")
	}
	out, err := command("tc", "qdisc", "show", "dev", "lo")
	if err != nil {
		return err
	}
	if !strings.HasPrefix(strings.TrimSpace(out), "qdisc noqueue") {
		return fmt.Errorf("lo already has a qdisc (%q); not touching it", strings.TrimSpace(out))
	}
	if _, err := command("tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "prio", "bands", "4"); err != nil {
		return fmt.Errorf("no prio qdisc in this kernel (%v); delays need the sch_prio and sch_netem modules", err)
	}
	defer command("tc", "qdisc", "del", "dev", "lo", "root")
	if _, err := command("tc", "qdisc", "add", "dev", "lo", "parent", "1:4", "handle", "40:", "netem", "delay", "1ms"); err != nil {
		return fmt.Errorf("no netem qdisc in this kernel (%v); delays need the sch_netem module", err)
	}
	return nil
}

// injectDelay delays every packet to the servers' quorum ports by 50–200ms
// with jitter.
func injectDelay(r *run) (string, func()) {
	delay := randDuration(r.rnd, 50*time.Millisecond, 200*time.Millisecond)
	jitter := delay / 2
	steps := [][]string{
		{"qdisc", "add", "dev", "lo", "root", "handle", "1:", "prio", "bands", "4"},
		{"qdisc", "add", "dev", "lo", "parent", "1:4", "handle", "40:", "netem",
			"delay", fmt.Sprintf("%dms", delay.Milliseconds()), fmt.Sprintf("%dms", jitter.Milliseconds())},
	}
	for _, m := range r.e.Members {
		steps = append(steps, []string{"filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1",
			"u32", "match", "ip", "dst", m.Host + "/32", "match", "ip", "dport", strconv.Itoa(m.QuorumPort), "0xffff", "flowid", "1:4"})
	}
	r.mu.Lock()
	r.netem = &netemState{active: true}
	r.mu.Unlock()
	for _, s := range steps {
		if _, err := command("tc", s...); err != nil {
			r.removeDelay()
			r.t.Fatalf("delay nemesis: %v", err)
		}
	}
	return fmt.Sprintf("netem delay %v ± %v on every quorum port", delay, jitter), r.removeDelay
}

// injectTransportDelay is the delay nemesis without netem: every server
// of the failpoints build holds each message to its peers for 50–200ms
// (order kept, no jitter), through the control file it polls in its data
// directory.
func injectTransportDelay(r *run) (string, func()) {
	delay := randDuration(r.rnd, 50*time.Millisecond, 200*time.Millisecond)
	heal := func() {
		for _, s := range r.e.Servers {
			if err := os.Remove(filepath.Join(s.DataDir, server.FailpointDelayFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
				r.t.Errorf("delay nemesis: healing: %v", err)
			}
		}
	}
	for _, s := range r.e.Servers {
		if err := os.WriteFile(filepath.Join(s.DataDir, server.FailpointDelayFile), []byte(delay.String()+"\n"), 0o644); err != nil {
			heal()
			r.t.Fatalf("delay nemesis: %v", err)
		}
	}
	return fmt.Sprintf("transport delay %v on every server's messages to its peers (no netem)", delay), heal
}

// removeDelay deletes the root qdisc this run added to lo.
func (r *run) removeDelay() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.netem == nil || !r.netem.active {
		return
	}
	r.netem.active = false
	if out, err := command("tc", "qdisc", "show", "dev", "lo"); err == nil && !strings.Contains(out, "qdisc prio 1:") {
		return // never added (the first step failed)
	}
	if _, err := command("tc", "qdisc", "del", "dev", "lo", "root"); err != nil {
		r.t.Errorf("removing the delay qdisc from lo: %v", err)
	}
}

//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// Server kinds.
const (
	kindZooKeeper = "zookeeper"
	kindZkd       = "zkd"
)

// Debian's zookeeper package: the server jar's manifest names its
// dependencies; slf4j-simple sends the server's log to its log file.
const (
	debianZooKeeperJar = "/usr/share/java/zookeeper.jar"
	debianSlf4jSimple  = "/usr/share/java/slf4j-simple.jar"
)

const (
	startTimeout = 90 * time.Second // JVMs on a loaded 2-core machine are slow
	stopGrace    = 10 * time.Second
)

// programs are the servers' command lines.
type programs struct {
	zkd       string // zkd binary
	java      string
	classpath string
	heap      string // -Xmx and -Xms of ZooKeeper's JVM
}

// findJava finds java and ZooKeeper's classpath as test/harness does:
// JAVA_HOME or PATH, ZOOKEEPER_CLASSPATH or Debian's jars.
func findJava() (java, classpath string, err error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		java = filepath.Join(home, "bin", "java")
	} else if java, err = exec.LookPath("java"); err != nil {
		return "", "", errors.New("java not found in PATH (apt-get install zookeeper default-jre-headless)")
	}
	if cp := os.Getenv("ZOOKEEPER_CLASSPATH"); cp != "" {
		return java, cp, nil
	}
	if _, err := os.Stat(debianZooKeeperJar); err != nil {
		return "", "", fmt.Errorf("%s not found (apt-get install zookeeper)", debianZooKeeperJar)
	}
	cp := debianZooKeeperJar
	if _, err := os.Stat(debianSlf4jSimple); err == nil {
		cp += string(filepath.ListSeparator) + debianSlf4jSimple
	}
	return java, cp, nil
}

// buildZkd builds cmd/zkd into dir; run from inside the module.
func buildZkd(dir string) (string, error) {
	out := filepath.Join(dir, "zkd")
	cmd := exec.Command("go", "build", "-o", out, "github.com/zkd-io/zkd/cmd/zkd")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build cmd/zkd: %v\n%s", err, b)
	}
	return out, nil
}

// member is one server of a cluster.
type member struct {
	id                   int
	host                 string
	client, quorum, elec int
	dir, log             string
	cmd                  *exec.Cmd
	done                 chan struct{} // closed when the process has been reaped
}

func (m *member) addr() string { return net.JoinHostPort(m.host, strconv.Itoa(m.client)) }
func (m *member) pid() int     { return m.cmd.Process.Pid }

// cluster is one standalone server or ensemble of one kind, with fresh
// data directories.
type cluster struct {
	kind    string
	members []*member
}

func (c *cluster) connectString() string {
	var addrs []string
	for _, m := range c.members {
		addrs = append(addrs, m.addr())
	}
	return strings.Join(addrs, ",")
}

// followerAddr is the client address of the first member that reports
// itself a follower (srvr's Mode). A session's writes cost a forwarding
// hop more on a follower than on the leader, so a workload of one session
// is placed on a follower in both kinds (where two of three clients of a
// 3-server ensemble land), not wherever the client's shuffle puts it.
func (c *cluster) followerAddr() (string, error) {
	var modes []string
	for _, m := range c.members {
		out, err := fourLetter(m.addr(), "srvr")
		if err != nil {
			return "", fmt.Errorf("srvr of server %d: %w", m.id, err)
		}
		mode := "unknown"
		for _, line := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(line, "Mode: "); ok {
				mode = strings.TrimSpace(v)
			}
		}
		if mode == "follower" {
			return m.addr(), nil
		}
		modes = append(modes, fmt.Sprintf("server %d: %s", m.id, mode))
	}
	return "", fmt.Errorf("no member is a follower (%s)", strings.Join(modes, ", "))
}

func (c *cluster) pids() []int {
	var out []int
	for _, m := range c.members {
		out = append(out, m.pid())
	}
	return out
}

// startCluster starts n servers of kind under dir (n = 1: standalone on
// 127.0.0.1; otherwise an ensemble, server i on 127.0.0.<i+1>, as
// test/harness lays ensembles out) and returns once a client can write.
func startCluster(ctx context.Context, p *programs, kind string, n int, dir string) (*cluster, error) {
	c := &cluster{kind: kind}
	for i := 1; i <= n; i++ {
		host := "127.0.0.1"
		if n > 1 {
			host = fmt.Sprintf("127.0.0.%d", i+1)
		}
		ports, err := freePorts(host, 3)
		if err != nil {
			return nil, fmt.Errorf("free ports on %s: %w", host, err)
		}
		m := &member{id: i, host: host, client: ports[0], quorum: ports[1], elec: ports[2],
			dir: filepath.Join(dir, fmt.Sprintf("%s-%d", kind, i))}
		m.log = filepath.Join(m.dir, "server.log")
		c.members = append(c.members, m)
	}
	for _, m := range c.members {
		if err := c.launch(p, m); err != nil {
			c.stop()
			return nil, err
		}
	}
	if err := c.waitReady(ctx); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// config is the zoo.cfg both kinds read: ZooKeeper's defaults, every
// write synced (forceSync=yes; zkd always syncs), no per-IP connection
// limit (the benchmark opens many sessions from one address), no admin
// server, every four-letter word (mntr feeds the fsync column), metrics
// on a free port.
func (c *cluster) config(m *member) string {
	var b strings.Builder
	fmt.Fprintf(&b, "tickTime=2000\ninitLimit=10\nsyncLimit=5\n")
	fmt.Fprintf(&b, "dataDir=%s\n", filepath.Join(m.dir, "data"))
	fmt.Fprintf(&b, "clientPort=%d\nclientPortAddress=%s\n", m.client, m.host)
	fmt.Fprintf(&b, "maxClientCnxns=0\nadmin.enableServer=false\n4lw.commands.whitelist=*\nforceSync=yes\n")
	// zkd always serves /metrics (default port 7000, which the members of
	// an ensemble on one machine would fight over); ZooKeeper only with a
	// metricsProvider.className, so it ignores this.
	fmt.Fprintf(&b, "metricsProvider.httpPort=0\n")
	if len(c.members) > 1 {
		for _, o := range c.members {
			fmt.Fprintf(&b, "server.%d=%s:%d:%d;%s\n", o.id, o.host, o.quorum, o.elec, o.addr())
		}
	}
	return b.String()
}

func (c *cluster) launch(p *programs, m *member) error {
	data := filepath.Join(m.dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	if len(c.members) > 1 {
		if err := os.WriteFile(filepath.Join(data, "myid"), []byte(strconv.Itoa(m.id)+"\n"), 0o644); err != nil {
			return err
		}
	}
	cfg := filepath.Join(m.dir, "zoo.cfg")
	if err := os.WriteFile(cfg, []byte(c.config(m)), 0o644); err != nil {
		return err
	}
	var argv []string
	switch c.kind {
	case kindZkd:
		argv = []string{p.zkd, cfg}
	case kindZooKeeper:
		main := "org.apache.zookeeper.server.ZooKeeperServerMain"
		if len(c.members) > 1 {
			main = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
		}
		argv = []string{p.java, "-Xmx" + p.heap, "-Xms" + p.heap,
			"-XX:-UsePerfData", "-XX:ErrorFile=" + filepath.Join(m.dir, "hs_err_%p.log"),
			"-Dzookeeper.admin.enableServer=false", "-Dzookeeper.jmx.log4j.disable=true",
			// Only elections get quicker on loopback; the request path is untouched.
			"-Dzookeeper.cnxTimeout=1000", "-Dzookeeper.fastleader.maxNotificationInterval=2000",
			"-cp", p.classpath, main, cfg}
	default:
		return fmt.Errorf("unknown server kind %q", c.kind)
	}
	// Appended to, so a restarted server's log follows its first life's.
	logf, err := os.OpenFile(m.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own copy
	m.cmd = exec.Command(argv[0], argv[1:]...)
	m.cmd.Dir = m.dir
	m.cmd.Stdout, m.cmd.Stderr = logf, logf
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive compare
	if err := m.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", c.kind, err)
	}
	m.done = make(chan struct{})
	go func() {
		m.cmd.Wait()
		close(m.done)
	}()
	return nil
}

// waitReady waits until every member serves (srvr shows a Mode), one leads
// (ensembles) and a write succeeds through a client.
func (c *cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for _, m := range c.members {
		for {
			if err := c.exited(); err != nil {
				return err
			}
			out, err := fourLetter(m.addr(), "srvr")
			if err == nil && strings.Contains(out, "Mode: ") {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s server %d not serving after %v; log %s:\n%s", c.kind, m.id, startTimeout, m.log, tail(m.log, 20))
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	conn, err := client.Connect(ctx, c.connectString(), client.WithSessionTimeout(10*time.Second))
	if err != nil {
		return fmt.Errorf("%s: %w", c.kind, err)
	}
	defer conn.Close()
	for {
		_, err := conn.Create(ctx, "/compare-ready", nil, proto.OpenACLUnsafe, client.ModeEphemeral)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: no write accepted: %w", c.kind, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// exited reports a member that has exited, with its log's tail.
func (c *cluster) exited() error {
	for _, m := range c.members {
		select {
		case <-m.done:
			return fmt.Errorf("%s server %d exited; log %s:\n%s", c.kind, m.id, m.log, tail(m.log, 20))
		default:
		}
	}
	return nil
}

// stop ends every member: SIGTERM, then SIGKILL after a grace period.
func (c *cluster) stop() {
	for _, m := range c.members {
		if m.cmd != nil && m.cmd.Process != nil {
			m.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, m := range c.members {
		if m.done == nil {
			continue
		}
		select {
		case <-m.done:
		case <-time.After(stopGrace):
			m.cmd.Process.Kill()
			<-m.done
		}
	}
}

// fourLetter sends a four-letter word and returns the answer.
func fourLetter(addr, cmd string) (string, error) {
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write([]byte(cmd)); err != nil {
		return "", err
	}
	b, err := io.ReadAll(io.LimitReader(nc, 1<<20))
	return string(b), err
}

// mntrValue reads one key of mntr ("zk_cnt_fsynctime").
func mntrValue(addr, key string) (int64, error) {
	out, err := fourLetter(addr, "mntr")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, "\t")
		if ok && k == key {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("mntr of %s has no %s", addr, key)
}

// freePorts picks n distinct free ports on host, holding each until all
// are picked.
func freePorts(host string, n int) ([]int, error) {
	var ports []int
	for len(ports) < n {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Command fakezkd stands in for cmd/zkd in the harness's own tests: it checks
// that it was started the way the harness promises to start zkd ("fakezkd
// <zoo.cfg>" with the documented keys) and answers ruok and conf.
//
// Test-only zoo.cfg keys change its behaviour:
//
//	fake.exit=N            exit with status N before listening
//	fake.portInUseRuns=N   the first N runs fail like a taken port
//	fake.ignoreTERM=true   ignore SIGTERM, so only SIGKILL stops it
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fail(2, "usage: fakezkd <zoo.cfg>, got %q", os.Args[1:])
	}
	cfg, order, err := readConfig(os.Args[1])
	if err != nil {
		fail(2, "%v", err)
	}
	want := map[string]string{
		"4lw.commands.whitelist": "*",
		"extendedTypesEnabled":   "true",
		"admin.enableServer":     "false",
		"clientPortAddress":      "127.0.0.1",
	}
	for k, v := range want {
		if cfg[k] != v {
			fail(2, "zoo.cfg: %s=%q, want %q", k, cfg[k], v)
		}
	}
	for _, k := range []string{"clientPort", "dataDir", "tickTime"} {
		if cfg[k] == "" {
			fail(2, "zoo.cfg: %s missing", k)
		}
	}
	if st, err := os.Stat(cfg["dataDir"]); err != nil || !st.IsDir() {
		fail(2, "dataDir %s is not a directory: %v", cfg["dataDir"], err)
	}
	if v := cfg["fake.exit"]; v != "" {
		n, _ := strconv.Atoi(v)
		fail(n, "exiting with %d as asked", n)
	}
	if v := cfg["fake.portInUseRuns"]; v != "" {
		n, _ := strconv.Atoi(v)
		// Count runs in a file next to the config (the server's dir).
		counter := filepath.Join(filepath.Dir(os.Args[1]), "fake-runs")
		b, _ := os.ReadFile(counter)
		runs, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		runs++
		os.WriteFile(counter, []byte(strconv.Itoa(runs)), 0o644)
		if runs <= n {
			fail(1, "listen tcp: bind: address already in use (fake run %d)", runs)
		}
	}
	l, err := net.Listen("tcp", net.JoinHostPort(cfg["clientPortAddress"], cfg["clientPort"]))
	if err != nil {
		fail(1, "%v", err)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	if cfg["fake.ignoreTERM"] == "true" {
		signal.Ignore(syscall.SIGTERM)
	}
	go func() {
		<-sigs
		fmt.Println("fakezkd: SIGTERM, exiting")
		l.Close()
		os.Exit(0)
	}()
	fmt.Println("fakezkd: serving on", l.Addr())
	for {
		c, err := l.Accept()
		if err != nil {
			fail(1, "accept: %v", err)
		}
		go serve(c, cfg, order)
	}
}

func serve(c net.Conn, cfg map[string]string, order []string) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	cmd := make([]byte, 4)
	if _, err := io.ReadFull(c, cmd); err != nil {
		return
	}
	switch string(cmd) {
	case "ruok":
		io.WriteString(c, "imok")
	case "conf":
		for _, k := range order {
			fmt.Fprintf(c, "%s=%s\n", k, cfg[k])
		}
	}
}

func readConfig(path string) (map[string]string, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	cfg := map[string]string{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, nil, fmt.Errorf("zoo.cfg: bad line %q", line)
		}
		if _, dup := cfg[k]; dup {
			return nil, nil, fmt.Errorf("zoo.cfg: duplicate key %q", k)
		}
		cfg[k] = v
		order = append(order, k)
	}
	return cfg, order, sc.Err()
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "fakezkd: "+format+"\n", args...)
	os.Exit(code)
}

package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Debian's zookeeper package puts the server in /usr/share/java/zookeeper.jar,
// whose manifest Class-Path names its dependencies (netty, jute, jackson,
// jetty...). Its zkEnv.sh (a link to /etc/zookeeper/conf/environment) sets
// CLASSPATH=/etc/zookeeper/conf:/usr/share/java/zookeeper.jar. The harness
// leaves out /etc/zookeeper/conf so the machine's configuration cannot change
// the reference's behaviour, and adds slf4j-simple (when installed) so the
// server's log reaches server.log instead of slf4j's no-op logger.
const (
	debianZooKeeperJar = "/usr/share/java/zookeeper.jar"
	debianSlf4jSimple  = "/usr/share/java/slf4j-simple.jar"
	zooKeeperInstall   = "apt-get install zookeeper default-jre-headless"
)

// ZooKeeper starts Debian's Apache ZooKeeper as a standalone server
// (ZooKeeperServerMain) with a generated zoo.cfg: a free loopback client port,
// admin server off, every four-letter word allowed, extended types (TTL
// nodes) on, forceSync=yes. It returns once ruok answers imok and stops the
// server when the test ends. Without java or the jars it skips the test, or
// fails it when CI=true.
func ZooKeeper(t testing.TB, opts ...Option) *Server {
	t.Helper()
	java, classpath, err := zooKeeperCommand()
	if err != nil {
		MissingTool(t, "harness: cannot run Apache ZooKeeper: %v; %s", err, zooKeeperInstall)
		return nil
	}
	s, st := newServer(t, KindZooKeeper)
	st.set("forceSync", "yes")
	for _, o := range opts {
		o(st)
	}
	s.argv = zooKeeperArgv(java, classpath, s, st, "org.apache.zookeeper.server.ZooKeeperServerMain")
	s.launch(t, st)
	return s
}

// zooKeeperArgv is the java command line running mainClass with the server's
// zoo.cfg.
func zooKeeperArgv(java, classpath string, s *Server, st *settings, mainClass string) []string {
	argv := append([]string{
		java,
		"-Xmx256m",
		"-XX:-UsePerfData", // no hsperfdata files left in /tmp
		"-XX:ErrorFile=" + filepath.Join(s.Dir, "hs_err_%p.log"),
		"-Dzookeeper.extendedTypesEnabled=true",
		"-Dzookeeper.admin.enableServer=false",
		"-Dzookeeper.jmx.log4j.disable=true",
		"-Dorg.slf4j.simpleLogger.showDateTime=true",
		"-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
		"-cp", classpath,
	}, st.jvmOptions...)
	return append(argv, mainClass, s.ConfigPath)
}

// zooKeeperCommand finds java and the ZooKeeper classpath, or says what is
// missing.
func zooKeeperCommand() (java, classpath string, err error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		java = filepath.Join(home, "bin", "java")
		if _, err := os.Stat(java); err != nil {
			return "", "", fmt.Errorf("JAVA_HOME=%s has no bin/java", home)
		}
	} else if java, err = exec.LookPath("java"); err != nil {
		return "", "", fmt.Errorf("java not found in PATH")
	}
	if cp := os.Getenv("ZOOKEEPER_CLASSPATH"); cp != "" {
		for _, p := range filepath.SplitList(cp) {
			if _, err := os.Stat(p); err != nil {
				return "", "", fmt.Errorf("ZOOKEEPER_CLASSPATH entry %s: %v", p, err)
			}
		}
		return java, cp, nil
	}
	if _, err := os.Stat(debianZooKeeperJar); err != nil {
		return "", "", fmt.Errorf("%s not found", debianZooKeeperJar)
	}
	parts := []string{debianZooKeeperJar}
	if _, err := os.Stat(debianSlf4jSimple); err == nil {
		parts = append(parts, debianSlf4jSimple)
	}
	return java, strings.Join(parts, string(filepath.ListSeparator)), nil
}

package config

import (
	"crypto/sha1"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// config builds a zoo.cfg: the given lines plus "dataDir=$DIR" and
// "clientPort=2181" unless a line already sets that key (in either form).
// "$DIR" stands for the test's data directory.
func config(lines ...string) string {
	sets := func(key string) bool {
		for _, l := range lines {
			k, _, _ := strings.Cut(l, "=")
			k = strings.TrimPrefix(strings.TrimSpace(k), "zookeeper.")
			if k == key || strings.HasPrefix(l, "#no-"+key) {
				return true
			}
		}
		return false
	}
	var b strings.Builder
	if !sets("dataDir") {
		b.WriteString("dataDir=$DIR\n")
	}
	if !sets("clientPort") {
		b.WriteString("clientPort=2181\n")
	}
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// loadConfig writes cfg (with $DIR replaced by a fresh data directory) and
// loads it. myid, if not "", is written to $DIR/myid.
func loadConfig(t *testing.T, cfg, myid string) (*Options, []string, error, string) {
	t.Helper()
	path, dir := setup(t, cfg, myid)
	o, notes, err := Load(path)
	return o, notes, err, dir
}

// setup writes cfg as loadConfig does, without loading it.
func setup(t *testing.T, cfg, myid string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	if myid != "" {
		writeFile(t, dir, "myid", myid)
	}
	return writeFile(t, dir, "zoo.cfg", strings.ReplaceAll(cfg, "$DIR", dir)), dir
}

// digest is what DigestAuthenticationProvider.generateDigest prints.
func digest(user, password string) string {
	sum := sha1.Sum([]byte(user + ":" + password))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

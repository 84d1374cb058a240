package config

import (
	"errors"
	"io/fs"
	"os"
	"testing"
)

// debianConfig is where Debian's zookeeper package installs its sample.
const debianConfig = "/etc/zookeeper/conf/zoo.cfg"

// TestDebianConfig loads the zoo.cfg Debian ships, unchanged. Its content
// is not copied into this repository; the test reads the installed file.
func TestDebianConfig(t *testing.T) {
	if _, err := os.Stat(debianConfig); errors.Is(err, fs.ErrNotExist) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing; CI must install it: apt-get install zookeeper", debianConfig)
		}
		t.Skipf("%s is missing; install it with apt-get install zookeeper", debianConfig)
	}
	o, notes, err := Load(debianConfig)
	if err != nil {
		t.Fatalf("Load(%s): got error %v, want none", debianConfig, err)
	}
	for _, n := range notes {
		t.Logf("notice: %s", n)
	}
	if o.DataDir == "" || o.ClientPort == 0 || o.TickTime <= 0 {
		t.Errorf("got DataDir %q ClientPort %d TickTime %v, want all set", o.DataDir, o.ClientPort, o.TickTime)
	}
}

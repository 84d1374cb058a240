package config

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes as zoo.cfg (and as the myid file). Load
// must never panic; it either returns an *Error or Options that validate.
func FuzzLoad(f *testing.F) {
	seeds := []string{
		"tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=/var/lib/zookeeper\nclientPort=2181\n#autopurge.purgeInterval=1\n",
		"dataDir=/d\nserver.1=a:1:2\nserver.2=b:1:2:observer;2181\nserver.3=[::1]:1:2;[::1]:3\n",
		"dataDir=/d\nclientPort=1\n4lw.commands.whitelist=*\nzookeeper.snapCount=10\nssl.x=y\nfoo=bar\n",
		"dataDir=/d\ndynamicConfigFile=/d/dyn\n",
		"a\\\n  b=\\u00e9\\uD83D\\uDE00\\\r\n\n!x\r# y\\\nk:v",
		"server.1=;;\nserver.x=\ngroup.1=1\n\\u12",
		"=\n:\n \\\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), []byte("1\n"))
	}
	f.Fuzz(func(t *testing.T, cfg, myid []byte) {
		read := func(name string, max int64) ([]byte, error) {
			switch {
			case strings.HasSuffix(name, "/myid"):
				return myid, nil
			case strings.HasSuffix(name, "/dyn"):
				return cfg, nil
			}
			return nil, fs.ErrNotExist
		}
		o, _, err := loadData("zoo.cfg", cfg, read)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ExitCode(err) != ExitConfig {
				t.Fatalf("got %T %v, want an *Error", err, err)
			}
			_ = err.Error()
			return
		}
		if o == nil {
			t.Fatal("got nil Options and nil error")
		}
		if err := o.Validate(); err != nil {
			t.Fatalf("Options from Load fail Validate: %v", err)
		}
	})
}

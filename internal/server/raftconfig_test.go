package server

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/zkd-io/zkd/internal/config"
)

// commitLogCount and zkd.commitLogSizeLimitInKb size the in-memory raft log
// an ensemble member keeps for peers that are slightly behind.
func TestRaftConfigCommitLog(t *testing.T) {
	tests := []struct {
		name      string
		set       func(*config.Options)
		entries   uint64
		windowKiB uint64
	}{
		{"defaults", func(*config.Options) {}, 5000, 65536},
		{"small snapCount", func(o *config.Options) { o.SnapCount = 1000 }, 501, 65536},
		{"commitLogCount", func(o *config.Options) { o.CommitLogCount = 20000 }, 20000, 65536},
		{"commitLogCount past snapCount/2", func(o *config.Options) { o.SnapCount, o.CommitLogCount = 1000, 800 }, 800, 65536},
		{"size limit", func(o *config.Options) { o.CommitLogSizeLimitKB = 1024 }, 5000, 1024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := config.Default()
			o.DataDir = t.TempDir()
			tt.set(o)
			rc := New(o, nil).raftConfig()
			if rc.SnapCatchUpEntries != tt.entries || rc.WindowBytes != tt.windowKiB<<10 {
				t.Fatalf("raft log window: %d entries, %d bytes; want %d entries, %d bytes",
					rc.SnapCatchUpEntries, rc.WindowBytes, tt.entries, tt.windowKiB<<10)
			}
		})
	}
}

// zkd.walZeroFill=false in zoo.cfg reaches the raft node, which opens its
// storage without the zero filler.
func TestRaftConfigZeroFill(t *testing.T) {
	for _, tt := range []struct {
		line string
		off  bool
	}{{"", false}, {"zkd.walZeroFill=true", false}, {"zkd.walZeroFill=false", true}} {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "zoo.cfg")
		if err := os.WriteFile(cfg, []byte("dataDir="+dir+"\nclientPort=2181\n"+tt.line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		o, _, err := config.Load(cfg)
		if err != nil {
			t.Fatalf("%q: %v", tt.line, err)
		}
		if got := New(o, nil).raftConfig().NoZeroFill; got != tt.off {
			t.Errorf("%q: raft config NoZeroFill = %v, want %v", tt.line, got, tt.off)
		}
	}
}

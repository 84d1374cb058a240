//go:build failpoints

package server

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zkd-io/zkd/internal/transport"
)

// The failpoints build lets the chaos suite delay this server's messages to
// its peers where the kernel has no netem: it writes a Go duration (such
// as "120ms") to FailpointDelayFile (ensemble.go) in the data directory,
// and removes the file, or empties it, to heal. The file is polled every
// 50 ms. Regular builds have none of this.

func (s *Server) startFailpoints() {
	if s.transport == nil {
		return
	}
	path := filepath.Join(s.opts.DataDir, FailpointDelayFile)
	_, _, peers := members(s.opts)
	s.goRun(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		var current time.Duration
		for {
			select {
			case <-s.ctx().Done():
				return
			case <-tick.C:
			}
			var want time.Duration
			if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) != "" {
				d, err := time.ParseDuration(strings.TrimSpace(string(b)))
				if err != nil || d < 0 {
					s.log.Warn("failpoint: unreadable peer delay; ignored", "file", path, "content", string(b))
					continue
				}
				want = d
			}
			if want == current {
				continue
			}
			current = want
			for _, m := range peers {
				s.transport.SetFault(m.ID, transport.Fault{Delay: want})
			}
			s.log.Warn("failpoint: delaying every message to the peers", "delay", want)
		}
	})
}

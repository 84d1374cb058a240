package fourlw

import (
	"strings"
	"testing"
	"time"
)

// The layout is ZooKeeper 3.8's, taken from Debian's server with two
// sessions (one holding two ephemerals) and three connections (one still
// in its handshake); deadlines round up to the next tick as in its
// ExpiryQueue.
func TestDumpFormat(t *testing.T) {
	at := time.Date(2026, 11, 21, 21, 13, 40, 500e6, time.UTC)
	d := DumpInfo{
		TickTime:   2 * time.Second,
		Sessions:   map[int64]time.Time{0x100009315b60001: at, 0x100009315b60000: at.Add(time.Second)},
		Ephemerals: map[int64][]string{0x100009315b60000: {"/e1", "/e2"}},
		Conns: []DumpConn{
			{Remote: "127.0.0.1:46530", Session: 0, Expiry: at.Add(3 * time.Second)},
			{Remote: "127.0.0.1:46518", Session: 0x100009315b60001, Expiry: at.Add(3 * time.Second)},
			{Remote: "127.0.0.1:46506", Session: 0x100009315b60000, Expiry: at.Add(3 * time.Second)},
		},
	}
	want := "SessionTracker dump:\n" +
		"Session Sets (1)/(2):\n" +
		"2 expire at Sat Nov 21 21:13:42 UTC 2026:\n" +
		"\t0x100009315b60000\n\t0x100009315b60001\n" +
		"ephemeral nodes dump:\n" +
		"Sessions with Ephemerals (1):\n" +
		"0x100009315b60000:\n\t/e1\n\t/e2\n" +
		"Connections dump:\n" +
		"Connections Sets (1)/(3):\n" +
		"3 expire at Sat Nov 21 21:13:44 UTC 2026:\n" +
		"\tip: /127.0.0.1:46506 sessionId: 0x100009315b60000\n" +
		"\tip: /127.0.0.1:46518 sessionId: 0x100009315b60001\n" +
		"\tip: /127.0.0.1:46530 sessionId: 0x0\n"
	var b strings.Builder
	writeDump(&b, d)
	if got := b.String(); got != want {
		t.Errorf("dump:\ngot:\n%s\nwant:\n%s", got, want)
	}
	// Different ticks make different buckets, oldest first.
	d.Sessions[0x100009315b60000] = at.Add(5 * time.Second)
	b.Reset()
	writeDump(&b, d)
	if got := b.String(); !strings.Contains(got, "Session Sets (2)/(2):\n1 expire at Sat Nov 21 21:13:42 UTC 2026:\n\t0x100009315b60001\n1 expire at Sat Nov 21 21:13:46 UTC 2026:") {
		t.Errorf("two buckets: got\n%s", got)
	}
}

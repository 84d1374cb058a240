package ensemble_test

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd-io/zkd/test/harness"
)

const (
	// convergeWait bounds the wait for every server to reach the same zxid
	// (a restarted or rejoining server catches up meanwhile).
	convergeWait = 30 * time.Second
	// readAttempts bounds the tree reads when the zxid moved during one
	// (a session expiring, say).
	readAttempts = 3
	// maxReported caps the differences listed in a failure.
	maxReported = 10
)

// znode is one node as a client reads it.
type znode struct {
	data []byte
	stat zk.Stat
}

// checkConverged checks that every running server has applied the same
// last zxid, serves an identical tree (data and every Stat field) through
// its own client port, agrees with the others on every digest they both
// logged, and that every acknowledged path is in the tree with its path as
// data. The ensemble must be quiet: no writer running.
func checkConverged(t testing.TB, e *harness.Ensemble, acked []string) {
	t.Helper()
	start := time.Now()
	running := e.Running()
	// The readers' own sessions are writes (createSession) in ZooKeeper and
	// zkd, so they connect before the zxids are compared.
	readers := make([]*client, len(running))
	for k, i := range running {
		readers[k] = dial(t, e.Servers[i].Addr)
	}
	defer func() {
		for _, c := range readers {
			c.Close()
		}
	}()

	var (
		zxid  int64
		trees []map[string]znode
	)
	for attempt := 1; ; attempt++ {
		zxid = waitSameZxid(t, e, running)
		trees = make([]map[string]znode, len(running))
		for k, c := range readers {
			tree, err := readTree(c)
			if err != nil {
				t.Fatalf("server.%d: reading the tree: %v", running[k]+1, err)
			}
			trees[k] = tree
		}
		now, err := zxids(e, running)
		if err == nil && allEqual(now, zxid) {
			break
		}
		if attempt == readAttempts {
			t.Fatalf("the tree kept changing while it was read (zxids %v, then %v, %v)", zxid, now, err)
		}
	}

	for k := 1; k < len(running); k++ {
		if diff := treeDiff(trees[0], trees[k]); len(diff) > 0 {
			t.Errorf("server.%d and server.%d at zxid %#x serve different trees (%d differences):\n%s",
				running[0]+1, running[k]+1, zxid, len(diff), strings.Join(head(diff), "\n"))
		}
	}
	var lost []string
	for _, p := range acked {
		n, ok := trees[0][p]
		if !ok || string(n.data) != p {
			lost = append(lost, p)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d acknowledged writes missing (or wrong data) on server.%d: %s",
			len(lost), len(acked), running[0]+1, strings.Join(head(lost), " "))
	}
	compared := checkDigests(t, e, running)
	t.Logf("converged: servers %v at zxid %#x with %d znodes each, %d acknowledged writes present, %d digests compared, checked in %v",
		ids(running), zxid, len(trees[0]), len(acked)-len(lost), compared, time.Since(start).Round(time.Millisecond))
}

// waitSameZxid waits until the servers report one last zxid and returns it.
func waitSameZxid(t testing.TB, e *harness.Ensemble, members []int) int64 {
	t.Helper()
	deadline := time.Now().Add(convergeWait)
	for {
		zs, err := zxids(e, members)
		if err == nil && allEqual(zs, zs[0]) {
			return zs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("servers %v did not reach the same zxid within %v: %s (last error %v)", ids(members), convergeWait, hexes(zs), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func zxids(e *harness.Ensemble, members []int) ([]int64, error) {
	out := make([]int64, len(members))
	for k, i := range members {
		z, err := e.Servers[i].Zxid()
		if err != nil {
			return out, fmt.Errorf("server.%d: %w", i+1, err)
		}
		out[k] = z
	}
	return out, nil
}

func allEqual(zs []int64, z int64) bool {
	for _, v := range zs {
		if v != z {
			return false
		}
	}
	return true
}

func hexes(zs []int64) string {
	var parts []string
	for _, z := range zs {
		parts = append(parts, fmt.Sprintf("%#x", z))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// checkDigests compares the digests the servers logged for the same zxid
// and returns how many zxids were compared. A server without digests (the
// hash command unsupported) compares nothing.
func checkDigests(t testing.TB, e *harness.Ensemble, members []int) int {
	t.Helper()
	byZxid := map[int64]map[int]int64{}
	for _, i := range members {
		ds, err := e.Servers[i].Digests()
		if err != nil {
			t.Errorf("server.%d: hash: %v", i+1, err)
			continue
		}
		for _, d := range ds {
			if byZxid[d.Zxid] == nil {
				byZxid[d.Zxid] = map[int]int64{}
			}
			byZxid[d.Zxid][i] = d.Digest
		}
	}
	compared := 0
	for z, by := range byZxid {
		if len(by) < 2 {
			continue
		}
		compared++
		distinct := map[int64]bool{}
		for _, d := range by {
			distinct[d] = true
		}
		if len(distinct) > 1 {
			var parts []string
			for _, i := range members {
				if d, ok := by[i]; ok {
					parts = append(parts, fmt.Sprintf("server.%d=%d", i+1, d))
				}
			}
			t.Errorf("tree digests after zxid %#x differ: %s", z, strings.Join(parts, " "))
		}
	}
	return compared
}

// readTree reads every znode (harness.WalkTree).
func readTree(c *client) (map[string]znode, error) {
	nodes := map[string]znode{}
	err := harness.WalkTree(c.Conn, func(n harness.Znode) {
		nodes[n.Path] = znode{data: n.Data, stat: *n.Stat}
	})
	return nodes, err
}

// localStat lists znodes whose Stat each server sets on its own rather
// than through the log: ZooKeeper writes /zookeeper/config from its config
// file at start, so its mtime is that server's start time.
var localStat = map[string]bool{"/zookeeper/config": true}

// treeDiff lists how b differs from a: missing and extra paths, data and
// Stat fields.
func treeDiff(a, b map[string]znode) []string {
	var out []string
	for p, x := range a {
		y, ok := b[p]
		switch {
		case !ok:
			out = append(out, "missing "+p)
		case !bytes.Equal(x.data, y.data):
			out = append(out, fmt.Sprintf("%s: data %q, want %q", p, y.data, x.data))
		case x.stat != y.stat && !localStat[p]:
			out = append(out, fmt.Sprintf("%s: stat %+v, want %+v", p, y.stat, x.stat))
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			out = append(out, "unexpected "+p)
		}
	}
	sort.Strings(out)
	return out
}

func head(s []string) []string {
	if len(s) > maxReported {
		return append(s[:maxReported:maxReported], fmt.Sprintf("... and %d more", len(s)-maxReported))
	}
	return s
}

// ids turns server indexes into server ids for messages.
func ids(members []int) []int {
	out := make([]int, len(members))
	for k, i := range members {
		out[k] = i + 1
	}
	return out
}

package crash

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// buildTree makes a consistent tree from paths and their data, giving each
// node the next zxid in the order listed.
func buildTree(entries [][2]string) map[string]*znode {
	nodes := map[string]*znode{}
	for i, e := range entries {
		z := int64(i)
		nodes[e[0]] = &znode{data: []byte(e[1]), stat: &zk.Stat{Czxid: z, Mzxid: z, Pzxid: z, DataLength: int32(len(e[1]))}}
	}
	var paths []string
	for p := range nodes {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if p == "/" {
			continue
		}
		parent := nodes[parentOf(p)]
		parent.children = append(parent.children, p[strings.LastIndexByte(p, '/')+1:])
		parent.stat.NumChildren++
		parent.stat.Cversion++
		parent.stat.Pzxid = max(parent.stat.Pzxid, nodes[p].stat.Czxid)
	}
	for _, n := range nodes {
		st := *n.stat
		n.childStat = &st
	}
	return nodes
}

// TestCheckersFindDamage shows the crash test's checks can fail: each case
// damages a consistent outcome the way a durability bug would.
func TestCheckersFindDamage(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Millisecond) }
	ops := func() []*op {
		return []*op{
			{kind: opCreate, path: "/crash/w0/n000001", data: []byte("w0-1"), issued: at(0), done: at(1)},
			{kind: opMulti, path: "/crash/m/w0-000002", data: []byte("/crash/m/w0-000002"), counter: 1, issued: at(2), done: at(3)},
			{kind: opSet, path: "/crash/w0", counter: 2, issued: at(4), done: at(5)},
			{kind: opCreate, path: "/crash/w0/n000004", data: []byte("w0-4"), issued: at(6), done: at(7)},
			{kind: opCreate, path: "/crash/w0/n000005", data: []byte("w0-5"), issued: at(8), done: at(9)},
			{kind: opDelete, path: "/crash/w0/n000005", issued: at(10), done: at(11)},
		}
	}
	tree := func() map[string]*znode {
		return buildTree([][2]string{
			{"/", ""}, {"/crash", ""}, {"/crash/seq", ""}, {"/crash/m", ""}, {"/crash/eph", ""}, {"/crash/w0", "2"},
			{"/crash/w0/n000001", "w0-1"},
			{"/crash/m/w0-000002-a", "/crash/m/w0-000002"}, {"/crash/m/w0-000002-b", "/crash/m/w0-000002"},
			{"/crash/w0/n000004", "w0-4"},
		})
	}
	remove := func(nodes map[string]*znode, p string) {
		delete(nodes, p)
		parent := nodes[parentOf(p)]
		name := p[strings.LastIndexByte(p, '/')+1:]
		for i, k := range parent.children {
			if k == name {
				parent.children = append(parent.children[:i], parent.children[i+1:]...)
			}
		}
		parent.stat.NumChildren--
		parent.childStat.NumChildren--
	}
	tests := []struct {
		name   string
		damage func(nodes map[string]*znode, ops []*op)
		want   string // in one of the problems; "" for none
	}{
		{"consistent", func(map[string]*znode, []*op) {}, ""},
		{"acknowledged create lost", func(n map[string]*znode, _ []*op) { remove(n, "/crash/w0/n000004") }, "LOST: acknowledged create of /crash/w0/n000004"},
		{"multi by halves", func(n map[string]*znode, _ []*op) { remove(n, "/crash/m/w0-000002-b") }, "multi applied by halves"},
		{"counter went back", func(n map[string]*znode, _ []*op) { n["/crash/w0"].data = []byte("1") }, "LOST: counter /crash/w0"},
		{"delete undone", func(n map[string]*znode, _ []*op) {
			n["/crash/w0/n000005"] = &znode{data: []byte("w0-5"), stat: &zk.Stat{Czxid: 20, Mzxid: 20, Pzxid: 20, DataLength: 4}, childStat: &zk.Stat{Czxid: 20, Mzxid: 20, Pzxid: 20, DataLength: 4}}
		}, "acknowledged delete of /crash/w0/n000005 (worker 0) undone"},
		{"zxid went back", func(n map[string]*znode, _ []*op) {
			n["/crash/w0/n000004"].stat.Czxid = 0
		}, "zxid order"},
		{"numChildren wrong", func(n map[string]*znode, _ []*op) {
			n["/crash"].stat.NumChildren++
			n["/crash"].childStat.NumChildren++
		}, "numChildren 5, but getChildren lists 4"},
		{"orphan", func(n map[string]*znode, _ []*op) { delete(n, "/crash/m") }, "parent missing"},
		{"wrong data", func(n map[string]*znode, _ []*op) { n["/crash/w0/n000001"].data = []byte("w0-x") }, "/crash/w0/n000001: data"},
		{"refused create", func(_ map[string]*znode, o []*op) { o[3].outcome = refused }, "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes, w := tree(), &worker{id: 0, ops: ops()}
			tt.damage(nodes, w.ops)
			problems := append(checkTree(nodes, 100), checkWrites([]*worker{w}, nodes)...)
			if tt.want == "" {
				if len(problems) > 0 {
					t.Errorf("got problems %q, want none", problems)
				}
				return
			}
			for _, p := range problems {
				if strings.Contains(p, tt.want) {
					return
				}
			}
			t.Errorf("got problems %q, want one containing %q", problems, tt.want)
		})
	}
}

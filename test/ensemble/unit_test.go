package ensemble_test

import (
	"slices"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// The checks below must be able to fail: these cases show they see each
// kind of difference, without servers.

func TestTreeDiff(t *testing.T) {
	base := func() map[string]znode {
		return map[string]znode{
			"/":                 {stat: zk.Stat{NumChildren: 2}},
			"/a":                {data: []byte("x"), stat: zk.Stat{Czxid: 5, Mzxid: 5}},
			"/zookeeper/config": {data: []byte("cfg"), stat: zk.Stat{Mtime: 1}},
		}
	}
	for _, tc := range []struct {
		name   string
		change func(m map[string]znode)
		want   []string
	}{
		{name: "same", change: func(map[string]znode) {}},
		{name: "missing", change: func(m map[string]znode) { delete(m, "/a") }, want: []string{"missing /a"}},
		{name: "unexpected", change: func(m map[string]znode) { m["/b"] = znode{} }, want: []string{"unexpected /b"}},
		{name: "data", change: func(m map[string]znode) { m["/a"] = znode{data: []byte("y"), stat: m["/a"].stat} },
			want: []string{`/a: data "y", want "x"`}},
		{name: "stat", change: func(m map[string]znode) { n := m["/a"]; n.stat.Version = 1; m["/a"] = n },
			want: []string{"/a: stat {Czxid:5 Mzxid:5 Ctime:0 Mtime:0 Version:1 Cversion:0 Aversion:0 EphemeralOwner:0 DataLength:0 NumChildren:0 Pzxid:0}, want {Czxid:5 Mzxid:5 Ctime:0 Mtime:0 Version:0 Cversion:0 Aversion:0 EphemeralOwner:0 DataLength:0 NumChildren:0 Pzxid:0}"}},
		{name: "local config stat ignored", change: func(m map[string]znode) { n := m["/zookeeper/config"]; n.stat.Mtime = 2; m["/zookeeper/config"] = n }},
		{name: "local config data compared", change: func(m map[string]znode) { m["/zookeeper/config"] = znode{data: []byte("other")} },
			want: []string{`/zookeeper/config: data "other", want "cfg"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := base()
			tc.change(b)
			if got := treeDiff(base(), b); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWriterGaps(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	w := &writer{}
	for _, ms := range []int{0, 10, 20, 500, 510, 2000, 2010} {
		w.acks = append(w.acks, ack{at: at(ms)})
	}
	for _, tc := range []struct {
		name string
		got  time.Duration
		want time.Duration
	}{
		{"gap across 100ms", w.gapAcross(at(100)), 480 * time.Millisecond},
		{"gap across an ack's own time", w.gapAcross(at(10)), 10 * time.Millisecond},
		{"gap across after the last ack", w.gapAcross(at(3000)), -1},
		{"gap across before the first ack", w.gapAcross(at(-5)), -1},
		{"max gap since 15ms", w.maxGapSince(at(15)), 1490 * time.Millisecond},
		{"max gap since 600ms", w.maxGapSince(at(600)), 1490 * time.Millisecond},
		{"max gap since 2005ms", w.maxGapSince(at(2005)), 10 * time.Millisecond},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestDurationStats(t *testing.T) {
	for _, tc := range []struct {
		in           []time.Duration
		median, most time.Duration
	}{
		{nil, 0, 0},
		{[]time.Duration{3}, 3, 3},
		{[]time.Duration{5, 1, 3}, 3, 5},
		{[]time.Duration{4, 1, 3, 2}, 3, 4},
	} {
		m, w := durationStats(tc.in)
		if m != tc.median || w != tc.most {
			t.Errorf("durationStats(%v): got %v, %v; want %v, %v", tc.in, m, w, tc.median, tc.most)
		}
	}
}

package diff

import (
	"strings"
	"testing"
	"time"

	"github.com/zkd-io/zkd/proto"
)

func TestNormalizerZxidsBySessionAndOrder(t *testing.T) {
	n := NewNormalizer(time.Now())
	for _, tc := range []struct {
		z    int64
		want string
	}{
		{0x100000005, "z1"},
		{0x100000003, "z2"}, // order of appearance, not of value
		{0x100000005, "z1"},
		{0, "0"},
		{-1, "-1"},
		{0x200000000, "z3"},
	} {
		if got := n.Zxid(tc.z); got != tc.want {
			t.Errorf("Zxid(%#x): got %q, want %q", tc.z, got, tc.want)
		}
	}
	for _, tc := range []struct {
		z    int64
		want string
	}{
		{0x100000005, "z1"},
		{0x100000005 + 1000, "z1+1000"},
		{0x100000004, "z2+1"},
		{1 << 62, "0x4000000000000000"},
		{0, "0"},
	} {
		if got := n.ZxidNear(tc.z); got != tc.want {
			t.Errorf("ZxidNear(%#x): got %q, want %q", tc.z, got, tc.want)
		}
	}
	if got := n.Zxid(0x7fff); got != "z4" {
		t.Errorf("ZxidNear must not create mappings: next Zxid got %q, want z4", got)
	}
}

func TestNormalizerOwner(t *testing.T) {
	n := NewNormalizer(time.Now())
	ttlLikeSession := int64(-0x5e008c18adffff6) // top byte 0xff
	n.Session(ttlLikeSession)
	for _, tc := range []struct {
		eo   int64
		want string
	}{
		{0, "0"},
		{containerOwner, "0x8000000000000000(container)"},
		{-0x100000000000000 | 60000, "0xff0000000000ea60(ttl=60000)"},
		{ttlLikeSession, "s1"}, // a known session wins over the TTL reading
		{0x1000001234, "s2"},
		{0x1000001234, "s2"},
	} {
		if got := n.Owner(tc.eo); got != tc.want {
			t.Errorf("Owner(%#x): got %q, want %q", uint64(tc.eo), got, tc.want)
		}
	}
}

func TestNormalizerTimesAndStat(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	n := NewNormalizer(now)
	ms := now.UnixMilli()
	for _, tc := range []struct {
		st   proto.Stat
		want string
	}{
		{proto.Stat{Czxid: 7, Mzxid: 7, Pzxid: 7, Ctime: ms, Mtime: ms, DataLength: 1},
			"{cz=z1 mz=z1 pz=z1 ct=T mt=T v=0 cv=0 av=0 eo=0 dl=1 nc=0}"},
		{proto.Stat{Czxid: 7, Mzxid: 9, Pzxid: 8, Ctime: ms, Mtime: ms + 5, Version: 2},
			"{cz=z1 mz=z2 pz=z3 ct=T mt=T v=2 cv=0 av=0 eo=0 dl=0 nc=0}"},
		{proto.Stat{Czxid: 7, Mzxid: 7, Pzxid: 7, Ctime: ms, Mtime: ms + 5},
			"{cz=z1 mz=z1 pz=z1 ct=T mt=T(!=ctime though mzxid==czxid) v=0 cv=0 av=0 eo=0 dl=0 nc=0}"},
		{proto.Stat{Czxid: 9, Mzxid: 10, Pzxid: 9, Ctime: ms, Mtime: ms - 1},
			"{cz=z2 mz=z4 pz=z2 ct=T mt=T(<ctime) v=0 cv=0 av=0 eo=0 dl=0 nc=0}"},
		{proto.Stat{Ctime: ms * 1000, Mtime: 0},
			"{cz=0 mz=0 pz=0 ct=T?1700000000000000 mt=0(!=ctime though mzxid==czxid) v=0 cv=0 av=0 eo=0 dl=0 nc=0}"},
	} {
		if got := n.Stat(&tc.st); got != tc.want {
			t.Errorf("Stat(%+v):\n got %s\nwant %s", tc.st, got, tc.want)
		}
	}
}

func TestRenderingSortsWhatHasNoOrder(t *testing.T) {
	n := NewNormalizer(time.Now())
	for _, tc := range []struct {
		rec  proto.Record
		want string
	}{
		{&proto.GetChildrenResponse{Children: []string{"b", "a", "c"}}, `children=["a" "b" "c"]`},
		{&proto.GetEphemeralsResponse{Ephemerals: []string{"/z", "/a"}}, `ephemerals=["/a" "/z"]`},
		{&proto.WhoAmIResponse{ClientInfo: []proto.ClientInfo{{AuthScheme: "ip", User: "127.0.0.1"}, {AuthScheme: "digest", User: "u"}}},
			"clientInfo=[digest:u, ip:127.0.0.1]"},
		// ACL order is kept unless the scenario asks otherwise.
		{&proto.GetACLRequest{Path: "/x"}, `path="/x"`},
		{&proto.SetACLRequest{Path: "/x", ACL: []proto.ACL{{Perms: proto.PermRead, ID: proto.WorldAnyone}, {Perms: 0, ID: proto.ID{Scheme: "ip", ID: "1.2.3.4"}}}, Version: -1},
			`path="/x" acl=[world:anyone=r, ip:1.2.3.4=-] version=-1`},
		{&proto.GetDataResponse{Data: nil}, "data=null stat={cz=0 mz=0 pz=0 ct=0 mt=0 v=0 cv=0 av=0 eo=0 dl=0 nc=0}"},
		{&proto.GetDataResponse{Data: []byte{}}, `data="" stat={cz=0 mz=0 pz=0 ct=0 mt=0 v=0 cv=0 av=0 eo=0 dl=0 nc=0}`},
	} {
		if got := n.Record(tc.rec); got != tc.want {
			t.Errorf("Record(%T):\n got %s\nwant %s", tc.rec, got, tc.want)
		}
	}
	n.SortACLs = true
	got := n.ACLs([]proto.ACL{{Perms: 1, ID: proto.WorldAnyone}, {Perms: 1, ID: proto.ID{Scheme: "digest", ID: "b:x"}}})
	if want := "[digest:b:x=r, world:anyone=r]"; got != want {
		t.Errorf("ACLs with SortACLs: got %s, want %s", got, want)
	}
}

func TestDataAndPerms(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		want string
	}{
		{nil, "null"},
		{[]byte{}, `""`},
		{[]byte("hi"), `"hi"`},
		{[]byte{0xff, 0}, "0xff00"},
	} {
		if got := Data(tc.b); got != tc.want {
			t.Errorf("Data(%x): got %s, want %s", tc.b, got, tc.want)
		}
	}
	if got := Data(make([]byte, 100)); !strings.HasPrefix(got, "<100 bytes sha256:") {
		t.Errorf("Data(100 zero bytes): got %s, want a length and hash summary", got)
	}
	for _, tc := range []struct {
		p    int32
		want string
	}{{proto.PermAll, "cdrwa"}, {0, "-"}, {proto.PermRead | proto.PermAdmin, "ra"}, {0x25, "cr+0x20"}} {
		if got := Perms(tc.p); got != tc.want {
			t.Errorf("Perms(%#x): got %s, want %s", tc.p, got, tc.want)
		}
	}
}

func TestLineDiff(t *testing.T) {
	a := []string{"x", "y", "z"}
	if got := LineDiff(a, a, "A", "B"); got != "" {
		t.Errorf("equal transcripts: got diff %q, want none", got)
	}
	got := LineDiff([]string{"x", "y", "z"}, []string{"x", "Y", "z", "w"}, "A", "B")
	want := "--- A\n+++ B\n x\n+Y\n-y\n z\n+w\n"
	if got != want {
		t.Errorf("LineDiff:\n got %q\nwant %q", got, want)
	}
}

func TestCorpus(t *testing.T) {
	all := All()
	if err := checkScenarios(all); err != nil {
		t.Fatal(err)
	}
	if len(all) < 150 {
		t.Errorf("corpus: got %d scenarios, want at least 150", len(all))
	}
	fresh := 0
	for _, sc := range all {
		if sc.Fresh {
			fresh++
		}
	}
	// Each fresh scenario starts two servers; keep the suite fast.
	if fresh > 4 {
		t.Errorf("fresh scenarios: got %d, want at most 4", fresh)
	}
	for name := range Intended {
		found := false
		for _, sc := range all {
			found = found || sc.Name == name
		}
		if !found {
			t.Errorf("Intended[%q] names no scenario", name)
		}
	}
}

func TestCheckScenariosRejects(t *testing.T) {
	run := func(*S) {}
	for _, tc := range []struct {
		name string
		in   []Scenario
	}{
		{"duplicate", []Scenario{{Name: "a", Run: run}, {Name: "a", Run: run}}},
		{"empty name", []Scenario{{Name: "", Run: run}}},
		{"slash", []Scenario{{Name: "a/b", Run: run}}},
		{"no body", []Scenario{{Name: "a"}}},
	} {
		if err := checkScenarios(tc.in); err == nil {
			t.Errorf("%s: got no error, want one", tc.name)
		}
	}
}

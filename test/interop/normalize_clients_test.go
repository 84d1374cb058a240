package interop

import (
	"reflect"
	"testing"
)

func TestNormalizeC(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want []string
	}{
		{
			name: "zxids named by first appearance, times hidden",
			in: []string{
				"  czxid=0x200000007 mzxid=0x200000007 pzxid=0x20000000a ctime=1795290470752 mtime=1795290470799 version=0",
				"  czxid=0x20000000a mzxid=0x200000007",
			},
			want: []string{
				"  czxid=Z1 mzxid=Z1 pzxid=Z2 ctime=<TIME> mtime=<TIME> version=0",
				"  czxid=Z2 mzxid=Z1",
			},
		},
		{
			name: "other fields untouched",
			in:   []string{"create <root>/s- -> ZOK", "  name = <root>/s-0000000003", "ephemeralOwner=A dataLength=3"},
			want: []string{"create <root>/s- -> ZOK", "  name = <root>/s-0000000003", "ephemeralOwner=A dataLength=3"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NormalizeC(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestNormalizeCKeepsDifferences: what the normalisation hides must not
// hide a behaviour difference.
func TestNormalizeCKeepsDifferences(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b []string
	}{
		{"equal zxids vs distinct", []string{"czxid=0x5 mzxid=0x5"}, []string{"czxid=0x5 mzxid=0x6"}},
		{"version", []string{"czxid=0x5 version=1"}, []string{"czxid=0x9 version=2"}},
		{"owner", []string{"ephemeralOwner=A"}, []string{"ephemeralOwner=0x0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if a, b := NormalizeC(tc.a), NormalizeC(tc.b); reflect.DeepEqual(a, b) {
				t.Errorf("%q and %q both normalise to %q, want them to differ", tc.a, tc.b, a)
			}
		})
	}
}

func TestNormalizeCliMt(t *testing.T) {
	in := []string{
		"> get /climt/a",
		"time = 8 msec",
		"/climt/a: rc = 0",
		" value_len = 3",
		"new",
		"Stat:",
		"\tctime = Sat Nov 21 19:42:57 2026",
		"\tczxid=2",
		"\tmtime=Sat Nov  1 19:44:25 2026",
		"\tmzxid=1f",
		"\tversion=1\taversion=0",
		"\tephemeralOwner = 100004027750001",
		"> get /climt/b",
		"\tczxid=1f",
		"\tephemeralOwner = 0",
	}
	want := []string{
		"> get /climt/a",
		"/climt/a: rc = 0",
		" value_len = 3",
		"new",
		"Stat:",
		"\tctime = <TIME>",
		"\tczxid=Z1",
		"\tmtime = <TIME>",
		"\tmzxid=Z2",
		"\tversion=1\taversion=0",
		"\tephemeralOwner = S1",
		"> get /climt/b",
		"\tczxid=Z2",
		"\tephemeralOwner = 0",
	}
	if got := NormalizeCliMt(in); !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

package fourlw

import (
	"strings"
	"testing"
)

func TestWatchListingsSayWhatWasCut(t *testing.T) {
	src := &fullSource{
		fakeSource: fakeSource{st: fixedStats()},
		bySession:  []SessionWatches{{SessionID: 0x10, Paths: []string{"/a"}}},
		byPath:     []PathWatches{{Path: "/a", SessionIDs: []int64{0x10}}},
	}
	lim := DefaultWatchLimit
	tail := func(n string) string {
		return "# truncated: " + n + "watches not listed (at most 100000 watches and 8388608 bytes of paths are listed)\n\n"
	}
	tests := []struct {
		cmd     string
		omitted int
		want    string
	}{
		{"wchc", 0, "0x10\n\t/a\n\n"},
		{"wchp", 0, "/a\n\t0x10\n\n"},
		{"wchc", 250, "0x10\n\t/a\n" + tail("250 more ")},
		{"wchp", 250, "/a\n\t0x10\n" + tail("250 more ")},
		{"wchc", -1, "0x10\n\t/a\n" + tail("more ")},
	}
	for _, tt := range tests {
		src.omitted, src.limits = tt.omitted, nil
		got, err := run(tt.cmd, allowAll, src)
		if err != nil || got != tt.want {
			t.Errorf("Run(%q) with %d omitted: got (%q, %v), want (%q, nil)", tt.cmd, tt.omitted, got, err, tt.want)
		}
		if len(src.limits) != 1 || src.limits[0] != lim {
			t.Errorf("Run(%q): listing asked with limits %v, want [%v]", tt.cmd, src.limits, lim)
		}
	}
}

func TestTruncatedLineCannotBeAnEntry(t *testing.T) {
	for _, omitted := range []int{1, -1, 1 << 40} {
		line := TruncatedLine(omitted, WatchLimit{Watches: 3, Bytes: 10})
		if !strings.HasPrefix(line, "#") || !strings.HasSuffix(line, "\n") || strings.Count(line, "\n") != 1 {
			t.Errorf("TruncatedLine(%d): got %q, want one line starting with '#'", omitted, line)
		}
	}
	if got := TruncatedLine(0, DefaultWatchLimit); got != "" {
		t.Errorf("TruncatedLine(0): got %q, want \"\"", got)
	}
}

// servingSource counts Stats calls and reports serving through
// ServingReporter.
type servingSource struct {
	fullSource
	serving    bool
	statsCalls int
}

func (s *servingSource) Serving() bool { return s.serving }
func (s *servingSource) Stats() Stats {
	s.statsCalls++
	st := s.fullSource.Stats()
	st.NotServing = !s.serving
	return st
}

func TestServingReporterSparesStats(t *testing.T) {
	tests := []struct {
		cmd       string
		wantStats int
	}{
		{"cons", 0}, {"conf", 0}, {"isro", 0}, {"wchc", 0}, {"wchp", 0}, {"hash", 0}, {"crst", 0}, {"srst", 0},
		{"srvr", 1}, {"stat", 1}, {"mntr", 1}, {"dirs", 1}, {"wchs", 1},
	}
	for _, serving := range []bool{true, false} {
		for _, tt := range tests {
			src := &servingSource{fullSource: fullSource{fakeSource: fakeSource{st: fixedStats()}}, serving: serving}
			got, err := run(tt.cmd, allowAll, src)
			if err != nil {
				t.Fatalf("Run(%q): got error %v, want none", tt.cmd, err)
			}
			if src.statsCalls != tt.wantStats {
				t.Errorf("Run(%q): got %d Stats calls, want %d", tt.cmd, src.statsCalls, tt.wantStats)
			}
			if notServing := strings.HasPrefix(got, NotServing) || got == "null"; notServing == serving {
				t.Errorf("Run(%q) with serving=%v: got %q", tt.cmd, serving, got)
			}
		}
	}
}

package fourlw

import (
	"errors"
	"strings"
	"testing"
)

func TestIsCommand(t *testing.T) {
	tests := []struct {
		in     []byte
		want   string
		wantOK bool
	}{
		{[]byte("ruok"), "ruok", true},
		{[]byte("srvr"), "srvr", true},
		{[]byte("mntr\n"), "mntr", true}, // "echo mntr | nc" sends a newline after it
		{[]byte("hash"), "hash", true},
		{[]byte("RUOK"), "", false}, // ZooKeeper compares the bytes exactly
		{[]byte("gtmk"), "", false}, // ZooKeeper's trace-mask commands are not zkd's
		{[]byte("stmk"), "", false},
		{[]byte("ruo"), "", false},
		{nil, "", false},
		{[]byte{0, 0, 0, 44}, "", false}, // a connect request's length prefix
		{[]byte{0xff, 0xf4, 0xff, 0xfd}, "", false},
	}
	for _, tt := range tests {
		got, ok := IsCommand(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("IsCommand(%q): got (%q, %v), want (%q, %v)", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
	for _, cmd := range Known {
		if got, ok := IsCommand([]byte(cmd)); !ok || got != cmd {
			t.Errorf("IsCommand(%q) for a Known command: got (%q, %v), want (%q, true)", cmd, got, ok, cmd)
		}
	}
}

func TestKnownList(t *testing.T) {
	want := "conf cons crst dump envi ruok srst srvr stat wchs wchc wchp mntr isro dirs hash"
	if got := strings.Join(Known, " "); got != want {
		t.Errorf("Known: got %q, want %q", got, want)
	}
}

func TestWhitelist(t *testing.T) {
	src := &fakeSource{st: fixedStats()}
	only := func(cmds ...string) func(string) bool {
		return func(c string) bool {
			for _, x := range cmds {
				if x == c {
					return true
				}
			}
			return false
		}
	}
	tests := []struct {
		name    string
		cmd     string
		allowed func(string) bool
		want    string
	}{
		{"refused", "ruok", only("stat"), "ruok is not executed because it is not in the whitelist.\n"},
		{"refused mntr", "mntr", only("ruok"), "mntr is not executed because it is not in the whitelist.\n"},
		{"nil allows nothing", "isro", nil, "isro is not executed because it is not in the whitelist.\n"},
		{"refused before not-serving", "cons", only(), "cons is not executed because it is not in the whitelist.\n"},
		{"allowed", "ruok", only("ruok"), "imok"},
		{"srvr always allowed", "srvr", only("ruok"), testVersionLine + "\n"},
		{"srvr allowed with nil", "srvr", nil, testVersionLine + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(tt.cmd, tt.allowed, src)
			if err != nil {
				t.Fatalf("Run(%q): got error %v, want none", tt.cmd, err)
			}
			if tt.cmd == "srvr" {
				got, _, _ = strings.Cut(got, "\n")
				got += "\n"
			}
			if got != tt.want {
				t.Errorf("Run(%q): got %q, want %q", tt.cmd, got, tt.want)
			}
		})
	}
	if got := WhitelistRefusal("stat"); got != "stat is not executed because it is not in the whitelist.\n" {
		t.Errorf("WhitelistRefusal(stat): got %q", got)
	}
}

func TestRunUnknownCommand(t *testing.T) {
	for _, cmd := range []string{"gtmk", "kill", "", "ruokk"} {
		got, err := run(cmd, allowAll, &fakeSource{})
		if !errors.Is(err, ErrUnknownCommand) {
			t.Errorf("Run(%q): got error %v, want ErrUnknownCommand", cmd, err)
		}
		if got != "" {
			t.Errorf("Run(%q): wrote %q, want nothing", cmd, got)
		}
	}
}

func TestNotServing(t *testing.T) {
	st := fixedStats()
	st.NotServing = true
	src := &fullSource{fakeSource: fakeSource{st: st, env: []KV{{"a", "b"}}}}
	const line = "This ZooKeeper instance is not currently serving requests\n"
	want := map[string]string{
		"ruok": "imok", // RuokCommand does not look at the server
		"envi": "Environment:\na=b\n",
		"isro": "null",
		"hash": strings.TrimSuffix(line, "\n"), // DigestCommand uses print, not println
	}
	for _, cmd := range Known {
		w, ok := want[cmd]
		if !ok {
			w = line
		}
		got, err := run(cmd, allowAll, src)
		if err != nil {
			t.Fatalf("Run(%q): got error %v, want none", cmd, err)
		}
		if got != w {
			t.Errorf("Run(%q) while not serving: got %q, want %q", cmd, got, w)
		}
	}
	if src.statsResets != 0 || src.connResets != 0 {
		t.Errorf("resets while not serving: got %d stats, %d conn, want 0, 0", src.statsResets, src.connResets)
	}
}

func TestOptionalCommands(t *testing.T) {
	plain := &fakeSource{st: fixedStats()}
	full := &fullSource{
		fakeSource: fakeSource{st: fixedStats()},
		bySession: []SessionWatches{
			{SessionID: 0x1000005d5f00000, Paths: []string{"/a", "/nope"}},
			{SessionID: -2, Paths: nil},
		},
		byPath: []PathWatches{
			{Path: "/a", SessionIDs: []int64{0x1000005d5f00000}},
			{Path: "/nope", SessionIDs: []int64{0x1000005d5f00000, 0x2}},
		},
		digests: []ZxidDigest{{Zxid: 0x100000002, Digest: 1371985504}, {Zxid: 0x100000003, Digest: -5}},
	}
	tests := []struct {
		cmd       string
		wantPlain string
		wantFull  string
	}{
		{"srst", "srst is not supported by this zkd version yet\n", "Server stats reset.\n"},
		{"crst", "crst is not supported by this zkd version yet\n", "Connection stats reset.\n"},
		{"wchc", "wchc is not supported by this zkd version yet\n",
			"0x1000005d5f00000\n\t/a\n\t/nope\n0xfffffffffffffffe\n\n"},
		{"wchp", "wchp is not supported by this zkd version yet\n",
			"/a\n\t0x1000005d5f00000\n/nope\n\t0x1000005d5f00000\n\t0x2\n\n"},
		{"hash", "hash is not supported by this zkd version yet\n", "100000002: 1371985504\n100000003: -5\n"},
		{"dump", "dump is not supported by this zkd version yet\n", "dump is not supported by this zkd version yet\n"},
	}
	for _, tt := range tests {
		got, err := run(tt.cmd, allowAll, plain)
		if err != nil || got != tt.wantPlain {
			t.Errorf("Run(%q) on a plain Source: got (%q, %v), want (%q, nil)", tt.cmd, got, err, tt.wantPlain)
		}
		got, err = run(tt.cmd, allowAll, full)
		if err != nil || got != tt.wantFull {
			t.Errorf("Run(%q) on a full Source: got (%q, %v), want (%q, nil)", tt.cmd, got, err, tt.wantFull)
		}
	}
	if full.statsResets != 1 || full.connResets != 1 {
		t.Errorf("resets: got %d stats, %d conn, want 1, 1", full.statsResets, full.connResets)
	}
}

// countingWriter counts Write calls and can fail them.
type countingWriter struct {
	writes int
	err    error
	buf    strings.Builder
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.err != nil {
		return 0, w.err
	}
	return w.buf.Write(p)
}

func TestRunWritesOnce(t *testing.T) {
	src := &fakeSource{st: fixedStats(), conns: []ConnInfo{sessionConn(), commandConn()}}
	for _, cmd := range []string{"stat", "mntr", "cons"} {
		w := &countingWriter{}
		if err := Run(cmd, allowAll, src, w); err != nil {
			t.Fatalf("Run(%q): got error %v, want none", cmd, err)
		}
		if w.writes != 1 {
			t.Errorf("Run(%q): got %d Write calls, want 1 (one syscall per reply)", cmd, w.writes)
		}
	}
	boom := errors.New("boom")
	w := &countingWriter{err: boom}
	if err := Run("ruok", allowAll, src, w); !errors.Is(err, boom) {
		t.Errorf("Run with a failing writer: got error %v, want %v", err, boom)
	}
}

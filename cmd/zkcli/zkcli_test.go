package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"ls /", []string{"ls", "/"}},
		{"  create   /a  b  ", []string{"create", "/a", "b"}},
		{`create /a "two words"`, []string{"create", "/a", "two words"}},
		{`create /a 'single q'`, []string{"create", "/a", "single q"}},
		{`create /a ""`, []string{"create", "/a", ""}},
		{`set /a x"y z"`, []string{"set", "/a", `x"y`, `z"`}},
		{`get "unterminated here`, []string{"get", "unterminated", "here"}},
		{"\t", nil},
	}
	for _, tc := range tests {
		if got := tokenize(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("tokenize(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseOptions(t *testing.T) {
	opts := []option{{"s", false}, {"e", false}, {"v", true}, {"file", true}}
	tests := []struct {
		argv    []string
		args    []string
		flags   map[string]string
		errText string
	}{
		{[]string{"c", "-s", "/a"}, []string{"c", "/a"}, map[string]string{"s": ""}, ""},
		{[]string{"c", "/a", "-s"}, []string{"c", "/a"}, map[string]string{"s": ""}, ""},
		{[]string{"c", "-se", "/a"}, []string{"c", "/a"}, map[string]string{"s": "", "e": ""}, ""},
		{[]string{"c", "-v", "3", "/a"}, []string{"c", "/a"}, map[string]string{"v": "3"}, ""},
		{[]string{"c", "-v3", "/a"}, []string{"c", "/a"}, map[string]string{"v": "3"}, ""},
		{[]string{"c", "-v", "-1", "/a"}, []string{"c", "/a"}, map[string]string{"v": "-1"}, ""},
		{[]string{"c", "/a", "-5"}, []string{"c", "/a", "-5"}, map[string]string{}, ""},
		{[]string{"c", "-file", "x"}, []string{"c"}, map[string]string{"file": "x"}, ""},
		{[]string{"c", "--", "-s"}, []string{"c", "-s"}, map[string]string{}, ""},
		{[]string{"c", "-x"}, nil, nil, "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x"},
		{[]string{"c", "-v"}, nil, nil, "org.apache.commons.cli.MissingArgumentException: Missing argument for option: v"},
		{[]string{"c", "-v", "-s"}, nil, nil, "org.apache.commons.cli.MissingArgumentException: Missing argument for option: v"},
	}
	for _, tc := range tests {
		p, err := parseOptions(opts, tc.argv)
		if tc.errText != "" {
			if err == nil || err.Error() != tc.errText {
				t.Errorf("parseOptions(%q): got error %v, want %q", tc.argv, err, tc.errText)
			}
			continue
		}
		if err != nil || !slices.Equal(p.args, tc.args) || fmt.Sprint(p.flags) != fmt.Sprint(tc.flags) {
			t.Errorf("parseOptions(%q): got %q %v %v, want %q %v", tc.argv, p.args, p.flags, err, tc.args, tc.flags)
		}
	}
}

func TestFormats(t *testing.T) {
	tests := []struct{ got, want string }{
		{permString(proto.PermAll), "cdrwa"},
		{permString(proto.PermRead | proto.PermAdmin), "ra"},
		{permString(0), ""},
		{aclString(proto.ACL{Perms: proto.PermAll, ID: proto.WorldAnyone}), "'world,'anyone\n: cdrwa"},
		{aclString(proto.ACL{Perms: proto.PermRead, ID: proto.ID{Scheme: "x509", ID: "CN=a,O=b%"}}), "'x509,'CN=a%2CO=b%25\n: r"},
		{keeperMessage(proto.ErrNoWatcher, "/a"), "KeeperErrorCode = No such watcher for /a"},
		{keeperMessage(proto.ErrReconfigDisabled, ""), "KeeperErrorCode = Reconfig is disabled"},
		{cliMessage(&client.Error{Op: proto.OpGetData, Path: "/x", Code: proto.ErrNoNode}), "Node does not exist: /x"},
		{cliMessage(&client.Error{Op: proto.OpSetData, Path: "/x", Code: proto.ErrNoAuth}), "Insufficient permission : /x"},
		{cliMessage(&client.Error{Op: proto.OpSetData, Path: "/x", Code: proto.ErrConnectionLoss}), "KeeperErrorCode = ConnectionLoss for /x"},
		{cliMessage(&client.Error{Op: proto.OpCreate, Path: "x", Err: proto.ValidatePath("x", false)}), "Path must start with / character"},
		{cliMessage(errors.New("plain")), "plain"},
		{listString([]string{"a", "b"}), "[a, b]"},
		{listString(nil), "[]"},
		{clientConfig("server.2=h2:1:2:participant;0.0.0.0:2182\nserver.1=h1:1:2;2181\nversion=100000000\n"), "100000000 0.0.0.0:2181,0.0.0.0:2182"},
		{clientConfig(""), " "},
		{parseStatsTrack("count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1").String(), "count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1"},
		{parseStatsTrack("count=4,bytes=1").String(), "count=4,bytes=1"},
		{parseStatsTrack("").String(), "count=-1,bytes=-1"},
	}
	for i, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("case %d: got %q, want %q", i, tc.got, tc.want)
		}
	}
	if got := javaDate(0); !strings.HasSuffix(got, " 1970") || !strings.HasPrefix(got, "Thu Jan 01 ") && !strings.HasPrefix(got, "Wed Dec 31 ") {
		t.Errorf("javaDate(0): got %q, want like Thu Jan 01 00:00:00 UTC 1970", got)
	}
}

func TestParseACL(t *testing.T) {
	var errs strings.Builder
	got := parseACL("world:anyone:rw,bad,digest:u:h=:ca,ip:1.2.3.4:xr", &errs)
	want := []proto.ACL{
		{Perms: proto.PermRead | proto.PermWrite, ID: proto.WorldAnyone},
		{Perms: proto.PermCreate | proto.PermAdmin, ID: proto.ID{Scheme: "digest", ID: "u:h="}},
		{Perms: proto.PermRead, ID: proto.ID{Scheme: "ip", ID: "1.2.3.4"}},
	}
	if !slices.Equal(got, want) {
		t.Errorf("parseACL: got %v, want %v", got, want)
	}
	if w := "bad does not have the form scheme:id:perm\nUnknown perm type: x\n"; errs.String() != w {
		t.Errorf("parseACL messages: got %q, want %q", errs.String(), w)
	}
}

func TestParseJavaInt(t *testing.T) {
	for in, want := range map[string]int{"12": 12, "0x1f": 31, "#10": 16, "010": 8, "-3": -3, "0": 0} {
		if got, err := parseJavaInt(in); err != nil || got != want {
			t.Errorf("parseJavaInt(%q): got %d %v, want %d", in, got, err, want)
		}
	}
	if _, err := parseJavaInt("abc"); err == nil {
		t.Errorf("parseJavaInt(abc): got no error")
	}
}

func TestOneShot(t *testing.T) {
	addr := startZkd(t)
	tests := []struct {
		argv     []string
		code     int
		contains string
	}{
		{[]string{"-server", addr, "create", "/one", "x"}, 0, "Created /one"},
		{[]string{"-server", addr, "-waitforconnection", "get", "/one"}, 0, "\nx\n"},
		{[]string{"-server", addr, "get", "/missing"}, 1, "Node does not exist: /missing"},
		{[]string{"-server", addr, "bogus"}, 1, "Command not found: Command not found bogus"},
		{[]string{"-server"}, 1, "Error: no argument found for option -server"},
		{[]string{"-timeout", "x"}, 1, "-timeout takes milliseconds"},
	}
	for _, tc := range tests {
		var out safeBuffer
		code := run(tc.argv, strings.NewReader(""), &out, &out)
		if code != tc.code || !strings.Contains(out.String(), tc.contains) {
			t.Errorf("run(%q): got exit %d, output %q; want exit %d and %q", tc.argv, code, out.String(), tc.code, tc.contains)
		}
	}
}

// TestLocalCommands covers history, redo and printwatches.
func TestLocalCommands(t *testing.T) {
	addr := startZkd(t)
	var out safeBuffer
	sh := newShell(&out, &out, 10*time.Second, false)
	sh.connect(addr)
	defer sh.close()
	lines := []string{"create /h", "printwatches off", "ls -w /h", "create /h/c", "printwatches", "history", "redo 0", "redo 99", "redo 7", "printwatches on"}
	for _, l := range lines {
		sh.executeLine(l)
	}
	sh.close()
	got := out.String()
	for _, want := range []string{
		"printwatches is off\n",
		"0 - create /h\n1 - printwatches off\n2 - ls -w /h\n3 - create /h/c\n4 - printwatches\n5 - history\n",
		"Node already exists: /h\n",
		"No redoing redos\n",
		"Command index out of range\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q; got:\n%s", want, got)
		}
	}
	// redo 0 re-ran create /h and took its place in the history; the
	// failed redo 99 stayed, and redoing it is refused.
	// The child watch fired while printing was off: no event printed.
	if strings.Contains(got, "NodeChildrenChanged") {
		t.Errorf("event printed with printwatches off:\n%s", got)
	}
	if sh.exitCode != 0 {
		t.Errorf("exit code after the last command: got %d, want 0", sh.exitCode)
	}
}

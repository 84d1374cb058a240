package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestLoadErrors: every rejected value gives an *Error (exit status 2) whose
// message names the key and quotes the value.
func TestLoadErrors(t *testing.T) {
	ensemble := []string{"server.1=zk1:2888:3888", "server.2=zk2:2888:3888", "server.3=zk3:2888:3888"}
	with := func(extra ...string) []string { return append(append([]string{}, ensemble...), extra...) }
	tests := []struct {
		name  string
		lines []string
		key   string // wanted in the message
		value string // wanted in the message, quoted; "-" for none
	}{
		{"tickTime text", []string{"tickTime=abc"}, "tickTime", "abc"},
		{"tickTime zero", []string{"tickTime=0"}, "tickTime", "0"},
		{"tickTime negative", []string{"tickTime=-5"}, "tickTime", "-5"},
		{"tickTime overflow", []string{"tickTime=99999999999"}, "tickTime", "99999999999"},
		{"tickTime prefixed", []string{"zookeeper.tickTime=x"}, "zookeeper.tickTime", "x"},
		{"dataDir missing", []string{"#no-dataDir"}, "dataDir", "-"},
		{"dataDir empty", []string{"dataDir="}, "dataDir", ""},
		{"dataDir bad escape", []string{`dataDir=C:\users\zk`}, "dataDir", `C:\users\zk`},
		{"clientPort text", []string{"clientPort=abc"}, "clientPort", "abc"},
		{"clientPort high", []string{"clientPort=70000"}, "clientPort", "70000"},
		{"clientPort negative", []string{"clientPort=-1"}, "clientPort", "-1"},
		{"clientPort zero", []string{"clientPort=0"}, "clientPort", "0"},
		{"clientPort missing", []string{"#no-clientPort"}, "clientPort", "-"},
		{"clientPortAddress bad", []string{"clientPortAddress=no such host"}, "clientPortAddress", "no such host"},
		{"clientPortAddress brackets", []string{"clientPortAddress=[zk1]"}, "clientPortAddress", "[zk1]"},
		{"clientPortAddress alone", []string{"#no-clientPort", "clientPortAddress=127.0.0.1"}, "clientPortAddress", "127.0.0.1"},
		{"maxClientCnxns negative", []string{"maxClientCnxns=-1"}, "maxClientCnxns", "-1"},
		{"maxClientCnxns text", []string{"maxClientCnxns=lots"}, "maxClientCnxns", "lots"},
		{"minSessionTimeout text", []string{"minSessionTimeout=1s"}, "minSessionTimeout", "1s"},
		{"minSessionTimeout negative", []string{"minSessionTimeout=-2"}, "minSessionTimeout", "-2"},
		{"maxSessionTimeout negative", []string{"maxSessionTimeout=-2"}, "maxSessionTimeout", "-2"},
		{"min above max", []string{"minSessionTimeout=10000", "maxSessionTimeout=5000"}, "maxSessionTimeout", "5000"},
		{"max below derived min", []string{"maxSessionTimeout=3000"}, "maxSessionTimeout", "3000"},
		{"initLimit zero", []string{"initLimit=0"}, "initLimit", "0"},
		{"initLimit text", []string{"initLimit=ten"}, "initLimit", "ten"},
		{"syncLimit negative", []string{"syncLimit=-1"}, "syncLimit", "-1"},
		{"standaloneEnabled yes", []string{"standaloneEnabled=yes"}, "standaloneEnabled", "yes"},
		{"standaloneEnabled false alone", []string{"standaloneEnabled=false"}, "standaloneEnabled", "false"},
		{"peerType", []string{"peerType=leader"}, "peerType", "leader"},
		{"4lw unknown", []string{"4lw.commands.whitelist=ruok,kill"}, "4lw.commands.whitelist", "kill"},
		{"4lw upper case", []string{"zookeeper.4lw.commands.whitelist=RUOK"}, "zookeeper.4lw.commands.whitelist", "RUOK"},
		{"admin.enableServer", []string{"admin.enableServer=1"}, "admin.enableServer", "1"},
		{"admin.serverAddress", []string{"admin.serverAddress=a b"}, "admin.serverAddress", "a b"},
		{"admin.serverAddress empty", []string{"admin.serverAddress="}, "admin.serverAddress", ""},
		{"admin.serverPort", []string{"admin.serverPort=65536"}, "admin.serverPort", "65536"},
		{"metrics port", []string{"metricsProvider.httpPort=-1"}, "metricsProvider.httpPort", "-1"},
		{"snapCount small", []string{"snapCount=1"}, "snapCount", "1"},
		{"snapCount text", []string{"snapCount=many"}, "snapCount", "many"},
		{"snapRetainCount text", []string{"autopurge.snapRetainCount=x"}, "autopurge.snapRetainCount", "x"},
		{"purgeInterval text", []string{"autopurge.purgeInterval=1h"}, "autopurge.purgeInterval", "1h"},
		{"purgeInterval huge", []string{"autopurge.purgeInterval=2147483647"}, "autopurge.purgeInterval", "2147483647"},
		{"jute zero", []string{"jute.maxbuffer=0"}, "jute.maxbuffer", "0"},
		{"jute bad hex", []string{"jute.maxbuffer=0xfffffg"}, "jute.maxbuffer", "0xfffffg"},
		{"jute bad octal", []string{"jute.maxbuffer=09"}, "jute.maxbuffer", "09"},
		{"jute overflow", []string{"jute.maxbuffer=0x80000000"}, "jute.maxbuffer", "0x80000000"},
		{"extendedTypes", []string{"extendedTypesEnabled=maybe"}, "extendedTypesEnabled", "maybe"},
		{"walZeroFill", []string{"zkd.walZeroFill=off"}, "zkd.walZeroFill", "off"},
		{"container interval", []string{"znode.container.checkIntervalMs=0"}, "znode.container.checkIntervalMs", "0"},
		{"superDigest password", []string{"DigestAuthenticationProvider.superDigest=super:secret"}, "DigestAuthenticationProvider.superDigest", "super:secret"},
		{"superDigest no user", []string{"DigestAuthenticationProvider.superDigest=" + digest("super", "x")[5:]}, "DigestAuthenticationProvider.superDigest", digest("super", "x")[5:]},
		{"logFormat", []string{"zkd.logFormat=xml"}, "zkd.logFormat", "xml"},
		{"commitLogCount text", []string{"commitLogCount=lots"}, "commitLogCount", "lots"},
		{"commitLogCount hex", []string{"commitLogCount=0x400"}, "commitLogCount", "0x400"},
		{"commitLogSize zero", []string{"zkd.commitLogSizeLimitInKb=0"}, "zkd.commitLogSizeLimitInKb", "0"},
		{"fsync warning negative", []string{"fsync.warningthresholdms=-1"}, "fsync.warningthresholdms", "-1"},
		{"fsync warning text", []string{"zookeeper.fsync.warningthresholdms=1s"}, "zookeeper.fsync.warningthresholdms", "1s"},
		{"group", []string{"group.1=1:2:3"}, "group.1", "1:2:3"},
		{"weight", []string{"weight.1=2"}, "weight.1", "2"},
		{"server id text", []string{"server.x=zk1:2888:3888"}, "server.x", "x"},
		{"server id zero", []string{"server.0=zk1:2888:3888"}, "server.0", "0"},
		{"server id negative", []string{"server.-1=zk1:2888:3888"}, "server.-1", "-1"},
		{"server id empty", []string{"server.=zk1:2888:3888"}, "server.", ""},
		{"server id dotted", []string{"server.1.2=zk1:2888:3888"}, "server.1.2", "1.2"},
		{"server too few", with("server.4=zk4:2888"), "server.4", "zk4:2888"},
		{"server too many", with("server.4=zk4:1:2:observer:x"), "server.4", "zk4:1:2:observer:x"},
		{"server empty", with("server.4="), "server.4", ""},
		{"server only separators", with("server.4=;;"), "server.4", ";;"},
		{"server quorum port", with("server.4=zk4:x:3888"), "server.4", "zk4:x:3888"},
		{"server election port", with("server.4=zk4:2888:99999"), "server.4", "zk4:2888:99999"},
		{"server port zero", with("server.4=zk4:0:3888"), "server.4", "zk4:0:3888"},
		{"server same ports", with("server.4=zk4:2888:2888"), "server.4", "zk4:2888:2888"},
		{"server type", with("server.4=zk4:2888:3888:leader"), "server.4", "zk4:2888:3888:leader"},
		{"server empty host", with("server.4=:2888:3888"), "server.4", ":2888:3888"},
		{"server bad host", with("server.4=zk 4:2888:3888"), "server.4", "zk 4:2888:3888"},
		{"server v6 unclosed", with("server.4=[::1:2888:3888"), "server.4", "[::1:2888:3888"},
		{"server v6 no colon", with("server.4=[::1]2888:3888"), "server.4", "[::1]2888:3888"},
		{"server v6 unbracketed", with("server.4=::1:2888:3888"), "server.4", "::1:2888:3888"},
		{"server multi address", with("server.4=a:1:2|b:1:2"), "server.4", "a:1:2|b:1:2"},
		{"server client part", with("server.4=zk4:2888:3888;a:b:c"), "server.4", "zk4:2888:3888;a:b:c"},
		{"server client port", with("server.4=zk4:2888:3888;x"), "server.4", "zk4:2888:3888;x"},
		{"server client port zero", with("server.4=zk4:2888:3888;0"), "server.4", "zk4:2888:3888;0"},
		{"server client empty addr", with("server.4=zk4:2888:3888;:2181"), "server.4", "zk4:2888:3888;:2181"},
		{"server two semicolons", with("server.4=zk4:2888:3888;1;2"), "server.4", "zk4:2888:3888;1;2"},
		{"server duplicate id", with("server.01=zk9:2888:3888"), "server.01", "zk9:2888:3888"},
		{"server duplicate address", with("server.4=ZK1:2888:3999"), "server.4", "ZK1:2888:3999"},
		{"server crossed address", with("server.4=zk1:3888:4000"), "server.4", "zk1:3888:4000"},
		{"server id too big for TTL", with("extendedTypesEnabled=true", "server.300=zk9:2888:3888"), "server.300", "zk9:2888:3888"},
		{"observers only", []string{"server.1=zk1:2888:3888:observer"}, "server.1", "zk1:2888:3888:observer"},
		{"observer without quorum", []string{"server.1=zk1:2888:3888", "server.2=zk2:2888:3888:observer"}, "standaloneEnabled", "-"},
		{"observer without quorum, explicit", []string{"standaloneEnabled=true", "server.1=zk1:2888:3888", "server.2=zk2:2888:3888:observer"}, "standaloneEnabled", "true"},
		{"clientPort contradicts line", []string{"server.1=zk1:2888:3888", "server.2=zk2:2888:3888;2182", "server.3=zk3:2888:3888",
			"clientPort=2181"}, "clientPort", "2181"},
		{"clientPortAddress contradicts line", []string{"server.1=zk1:2888:3888", "server.2=zk2:2888:3888;127.0.0.2:2182", "server.3=zk3:2888:3888",
			"clientPort=2182", "clientPortAddress=127.0.0.9"}, "clientPortAddress", "127.0.0.9"},
		{"peerType case kept", []string{"peerType=LEADER"}, "peerType", "LEADER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _, err, _ := loadConfig(t, config(tt.lines...), "2")
			if err == nil {
				t.Fatalf("got Options %+v, want an error", o)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %T %v, want *Error", err, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.key+": ") {
				t.Errorf("got %q, want it to name key %s", msg, tt.key)
			}
			if tt.value != "-" && !strings.Contains(msg, fmt.Sprintf("%q", tt.value)) {
				t.Errorf("got %q, want it to quote value %q", msg, tt.value)
			}
			if !strings.Contains(msg, "zoo.cfg") || !strings.Contains(msg, "want ") {
				t.Errorf("got %q, want it to name the file and what is allowed", msg)
			}
			if ExitCode(err) != ExitConfig {
				t.Errorf("ExitCode: got %d, want %d", ExitCode(err), ExitConfig)
			}
		})
	}
}

func TestLoadErrorNotSet(t *testing.T) {
	_, _, err, _ := loadConfig(t, config("#no-clientPort"), "")
	if err == nil || !strings.Contains(err.Error(), "clientPort: not set (default 0): want a port number 1..65535") {
		t.Errorf("got %v, want clientPort: not set (default 0): want a port number 1..65535...", err)
	}
}

func TestLoadErrorLine(t *testing.T) {
	_, _, err, _ := loadConfig(t, "# comment\n\ndataDir=$DIR\nclientPort=2181\ntickTime=abc\n", "")
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 5 || ce.Key != "tickTime" || ce.Value != "abc" {
		t.Fatalf("got %#v, want line 5, key tickTime, value abc", err)
	}
	want := `: tickTime: "abc" is not valid: want a positive integer (milliseconds)`
	if !strings.HasSuffix(err.Error(), "zoo.cfg:5"+want) {
		t.Errorf("got %q, want it to end with %q", err.Error(), "zoo.cfg:5"+want)
	}
	// A value found bad by Validate still points at its line.
	_, _, err, _ = loadConfig(t, "dataDir=$DIR\nclientPort=2181\n\nsnapCount=1\n", "")
	if !errors.As(err, &ce) || ce.Line != 4 {
		t.Errorf("got %v, want an error on line 4", err)
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{&Error{Key: "tickTime", Value: "x"}, 2},
		{fmt.Errorf("starting: %w", &Error{Key: "tickTime", Value: "x"}), 2},
		{errors.New("listen: address in use"), 1},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.err); got != tt.want {
			t.Errorf("ExitCode(%v): got %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Key: "tickTime", Value: "abc", Allowed: "a positive integer (milliseconds)"},
			`tickTime: "abc" is not valid: want a positive integer (milliseconds)`},
		{&Error{File: "zoo.cfg", Line: 3, Key: "server.1", Value: "h:x:2", Err: errors.New(`quorum port "x" is not a port number`), Allowed: "host:port:port"},
			`zoo.cfg:3: server.1: "h:x:2" is not valid: quorum port "x" is not a port number: want host:port:port`},
		{&Error{File: "d/myid", Key: "myid", Err: errors.New("cannot read: no such file or directory"), Allowed: "a file"},
			`d/myid: myid: cannot read: no such file or directory: want a file`},
		{&Error{File: "zoo.cfg", Err: errors.New("cannot read: permission denied")}, `zoo.cfg: cannot read: permission denied`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}

package config

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadKeys(t *testing.T) {
	all := map[string]bool{}
	for _, w := range fourLetterWords {
		all[w] = true
	}
	super := digest("super", "secret")
	tests := []struct {
		line string
		get  func(*Options) any
		want any
	}{
		{"tickTime=3000", func(o *Options) any { return o.TickTime }, 3 * time.Second},
		{"dataLogDir=/var/lib/zk-log", func(o *Options) any { return o.DataLogDir }, "/var/lib/zk-log"},
		{"clientPort=2191", func(o *Options) any { return o.ClientPort }, 2191},
		{"clientPortAddress=127.0.0.1", func(o *Options) any { return o.ClientPortAddress }, "127.0.0.1"},
		{"clientPortAddress=[::1]", func(o *Options) any { return o.ClientPortAddress }, "::1"},
		{"clientPortAddress=zk-1.example.com", func(o *Options) any { return o.ClientPortAddress }, "zk-1.example.com"},
		{"maxClientCnxns=0", func(o *Options) any { return o.MaxClientCnxns }, 0},
		{"maxClientCnxns=+7", func(o *Options) any { return o.MaxClientCnxns }, 7},
		{"minSessionTimeout=1000", func(o *Options) any { return o.MinSessionTimeout }, time.Second},
		{"minSessionTimeout=-1", func(o *Options) any { return o.MinSessionTimeout }, 4 * time.Second},
		{"maxSessionTimeout=60000", func(o *Options) any { return o.MaxSessionTimeout }, time.Minute},
		{"maxSessionTimeout=-1", func(o *Options) any { return o.MaxSessionTimeout }, 40 * time.Second},
		{"initLimit=20", func(o *Options) any { return o.InitLimit }, 20},
		{"syncLimit=7", func(o *Options) any { return o.SyncLimit }, 7},
		{"standaloneEnabled=TRUE", func(o *Options) any { return o.StandaloneEnabled }, true},
		{"peerType=Observer", func(o *Options) any { return o.PeerType }, "observer"},
		{"peerType=participant", func(o *Options) any { return o.PeerType }, "participant"},
		{"4lw.commands.whitelist=stat, ruok ,conf,,", func(o *Options) any { return o.FourLetterWords },
			map[string]bool{"srvr": true, "stat": true, "ruok": true, "conf": true}},
		{"4lw.commands.whitelist=*", func(o *Options) any { return o.FourLetterWords }, all},
		{"4lw.commands.whitelist=ruok, *, bogus", func(o *Options) any { return o.FourLetterWords }, all},
		{"4lw.commands.whitelist=", func(o *Options) any { return o.FourLetterWords }, map[string]bool{"srvr": true}},
		{"admin.enableServer=false", func(o *Options) any { return o.AdminEnableServer }, false},
		{"admin.serverAddress=127.0.0.1", func(o *Options) any { return o.AdminServerAddress }, "127.0.0.1"},
		{"admin.serverPort=9090", func(o *Options) any { return o.AdminServerPort }, 9090},
		{"admin.serverPort=0", func(o *Options) any { return o.AdminServerPort }, 0},
		{"metricsProvider.httpPort=7001", func(o *Options) any { return o.MetricsHTTPPort }, 7001},
		{"snapCount=1000", func(o *Options) any { return o.SnapCount }, 1000},
		{"autopurge.snapRetainCount=5", func(o *Options) any { return o.SnapRetainCount }, 5},
		{"commitLogCount=2000", func(o *Options) any { return o.CommitLogCount }, 2000},
		{"commitLogCount=500", func(o *Options) any { return o.CommitLogCount }, 500},
		{"zkd.commitLogSizeLimitInKb=1024", func(o *Options) any { return o.CommitLogSizeLimitKB }, 1024},
		{"zkd.walZeroFill=false", func(o *Options) any { return o.WALZeroFill }, false},
		{"autopurge.purgeInterval=24", func(o *Options) any { return o.PurgeInterval }, 24 * time.Hour},
		{"jute.maxbuffer=4194304", func(o *Options) any { return o.JuteMaxBuffer }, 4194304},
		{"jute.maxbuffer=0x400000", func(o *Options) any { return o.JuteMaxBuffer }, 4194304},
		{"snapCount=#10", func(o *Options) any { return o.SnapCount }, 16},
		{"snapCount=010", func(o *Options) any { return o.SnapCount }, 8},
		{"admin.serverPort=0X1F90", func(o *Options) any { return o.AdminServerPort }, 8080},
		{"znode.container.checkIntervalMs=0x10", func(o *Options) any { return o.ContainerCheckInterval }, 16 * time.Millisecond},
		{"extendedTypesEnabled=true", func(o *Options) any { return o.ExtendedTypesEnabled }, true},
		{"znode.container.checkIntervalMs=1000", func(o *Options) any { return o.ContainerCheckInterval }, time.Second},
		{"DigestAuthenticationProvider.superDigest=" + super, func(o *Options) any { return o.SuperDigest }, super},
		{"zkd.logFormat=JSON", func(o *Options) any { return o.LogFormat }, "json"},
		{"fsync.warningthresholdms=50", func(o *Options) any { return o.FsyncWarningThreshold }, 50 * time.Millisecond},
		{"fsync.warningthresholdms=0", func(o *Options) any { return o.FsyncWarningThreshold }, time.Duration(0)},
		{"fsync.warningthresholdms=0x10", func(o *Options) any { return o.FsyncWarningThreshold }, 16 * time.Millisecond},
	}
	for _, tt := range tests {
		for _, prefix := range []string{"", "zookeeper."} {
			line := prefix + tt.line
			t.Run(line, func(t *testing.T) {
				o, notes, err, _ := loadConfig(t, config(line), "")
				if err != nil {
					t.Fatalf("Load: got error %v, want none", err)
				}
				if got := tt.get(o); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
				for _, n := range notes {
					if strings.Contains(n, "unknown") || strings.Contains(n, "Java-only") {
						t.Errorf("got notice %q for an honoured key, want none", n)
					}
				}
			})
		}
	}
}

func TestLoadDataDirs(t *testing.T) {
	o, _, err, dir := loadConfig(t, config(), "")
	if err != nil {
		t.Fatal(err)
	}
	if o.DataDir != dir || o.DataLogDir != dir {
		t.Errorf("got DataDir %q DataLogDir %q, want both %q", o.DataDir, o.DataLogDir, dir)
	}
	if !o.Standalone() || o.ClientPort != 2181 || o.MyID != 0 {
		t.Errorf("got Standalone %v ClientPort %d MyID %d, want true 2181 0", o.Standalone(), o.ClientPort, o.MyID)
	}
}

func TestLoadContinuationAndComments(t *testing.T) {
	cfg := "# ZooKeeper config\n" +
		"! another comment style\n" +
		"   tickTime : 2500\n" +
		"dataDir $DIR\n" +
		"clientPort=2181\n" +
		"4lw.commands.whitelist=ruok,\\\n" +
		"        stat,\\\n" +
		"        mntr\n" +
		"\n" +
		"server.1=127.0.0.1:\\\n  2888:3888\n"
	o, _, err, _ := loadConfig(t, cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"srvr": true, "ruok": true, "stat": true, "mntr": true}
	if !maps.Equal(o.FourLetterWords, want) {
		t.Errorf("got FourLetterWords %v, want %v", o.FourLetterWords, want)
	}
	if o.TickTime != 2500*time.Millisecond {
		t.Errorf("got TickTime %v, want 2.5s", o.TickTime)
	}
	if len(o.Servers) != 1 || o.Servers[0].QuorumPort != 2888 {
		t.Errorf("got Servers %+v, want server 1 with quorum port 2888", o.Servers)
	}
}

func TestLoadServers(t *testing.T) {
	tests := []struct {
		value string
		want  Server
	}{
		{"zk1:2888:3888", Server{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888}},
		{"zk1:2888:3888:participant", Server{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888}},
		{"zk1:2888:3888:Observer", Server{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888, Observer: true}},
		{"zk1:2888:3888;2181", Server{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888, ClientPort: 2181}},
		{"zk1:2888:3888:observer;10.0.0.1:2181", Server{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888, Observer: true, ClientAddr: "10.0.0.1", ClientPort: 2181}},
		{"[::1]:2888:3888", Server{ID: 1, Host: "::1", QuorumPort: 2888, ElectionPort: 3888}},
		{"[fe80::1]:2888:3888:participant;[::]:2181", Server{ID: 1, Host: "fe80::1", QuorumPort: 2888, ElectionPort: 3888, ClientAddr: "::", ClientPort: 2181}},
		{"zk1:2888:3888:", Server{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888}},
		{"zk1:2888:3888;", Server{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888}},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			s, err := parseServer("server.1", 1, tt.value)
			if err != nil {
				t.Fatalf("parseServer(%q): got error %v, want none", tt.value, err)
			}
			if s != tt.want {
				t.Errorf("parseServer(%q): got %+v, want %+v", tt.value, s, tt.want)
			}
		})
	}
}

func TestLoadEnsemble(t *testing.T) {
	cfg := config(
		"#no-clientPort",
		"server.3=zk3:2888:3888;2183",
		"server.1=zk1:2888:3888;2181",
		"server.2=zk2:2888:3888;127.0.0.2:2182",
		"server.4=zk4:2888:3888:observer;2184",
	)
	o, notes, err, _ := loadConfig(t, cfg, " 2\r\n")
	if err != nil {
		t.Fatalf("Load: got error %v, want none", err)
	}
	if o.Standalone() {
		t.Error("got Standalone true for 3 participants, want false")
	}
	if got := []uint64{o.Servers[0].ID, o.Servers[1].ID, o.Servers[2].ID, o.Servers[3].ID}; !slices.Equal(got, []uint64{1, 2, 3, 4}) {
		t.Errorf("got server ids %v, want sorted 1..4", got)
	}
	if o.MyID != 2 || o.ClientPort != 2182 || o.ClientPortAddress != "127.0.0.2" || o.PeerType != PeerParticipant {
		t.Errorf("got MyID %d ClientPort %d ClientPortAddress %q PeerType %q, want 2 2182 127.0.0.2 participant",
			o.MyID, o.ClientPort, o.ClientPortAddress, o.PeerType)
	}
	self, ok := o.Self()
	if !ok || self.Host != "zk2" {
		t.Errorf("got Self %+v %v, want zk2", self, ok)
	}
	for _, n := range notes {
		if strings.Contains(n, "participants") {
			t.Errorf("got notice %q for 3 participants, want none", n)
		}
	}
}

func TestLoadObserverSelf(t *testing.T) {
	cfg := config("peerType=participant",
		"server.1=zk1:2888:3888", "server.2=zk2:2888:3888", "server.3=zk3:2888:3888", "server.4=zk4:2888:3888:observer")
	o, notes, err, _ := loadConfig(t, cfg, "4\n")
	if err != nil {
		t.Fatal(err)
	}
	if o.PeerType != PeerObserver {
		t.Errorf("got PeerType %q, want observer from server.4's line", o.PeerType)
	}
	if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, "peerType participant does not match server.4") }) {
		t.Errorf("got notices %q, want one about the peerType mismatch", notes)
	}
}

func TestLoadMyID(t *testing.T) {
	three := config("server.1=zk1:2888:3888", "server.2=zk2:2888:3888", "server.3=zk3:2888:3888")
	t.Run("missing", func(t *testing.T) {
		_, _, err, dir := loadConfig(t, three, "")
		if err == nil {
			t.Fatal("got no error without myid, want one")
		}
		if !errors.Is(err, fs.ErrNotExist) || !containsAll(err.Error(), dir+"/myid", "myid", "1, 2, 3") || ExitCode(err) != 2 {
			t.Errorf("got %v (exit %d), want a not-exist error naming %s/myid and the ids, exit 2", err, ExitCode(err), dir)
		}
	})
	for _, tt := range []struct{ content, value string }{{"two\n", "two"}, {"0\n", "0"}, {"-1", "-1"}, {"", ""}, {"1 2", "1 2"}} {
		t.Run("malformed "+tt.value, func(t *testing.T) {
			path, dir := setup(t, three, "")
			writeFile(t, dir, "myid", tt.content)
			o, _, err := Load(path)
			if err == nil {
				t.Fatalf("got Options %+v for myid %q, want an error", o, tt.content)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.File != dir+"/myid" || ce.Key != "myid" || ce.Value != tt.value {
				t.Errorf("got %v, want an *Error for file %s/myid, value %q", err, dir, tt.value)
			}
		})
	}
	t.Run("not listed", func(t *testing.T) {
		_, _, err, _ := loadConfig(t, three, "9")
		if err == nil || !containsAll(err.Error(), "myid", `"9"`, "1, 2, 3") {
			t.Errorf("got %v, want an error naming myid 9 and the ids", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		path, dir := setup(t, three, "")
		if err := os.Mkdir(dir+"/myid", 0o755); err != nil {
			t.Fatal(err)
		}
		_, _, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("got %v, want a not-a-regular-file error", err)
		}
	})
	t.Run("single server standalone", func(t *testing.T) {
		o, notes, err, _ := loadConfig(t, config("server.5=zk5:2888:3888"), "")
		if err != nil {
			t.Fatal(err)
		}
		if !o.Standalone() || o.MyID != 5 {
			t.Errorf("got Standalone %v MyID %d, want true 5", o.Standalone(), o.MyID)
		}
		if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, "running standalone") }) {
			t.Errorf("got notices %q, want the standalone notice", notes)
		}
	})
	t.Run("single server standaloneEnabled=false needs myid", func(t *testing.T) {
		_, _, err, _ := loadConfig(t, config("standaloneEnabled=false", "server.5=zk5:2888:3888"), "")
		if err == nil || !strings.Contains(err.Error(), "myid") {
			t.Errorf("got %v, want a myid error", err)
		}
		o, _, err, _ := loadConfig(t, config("standaloneEnabled=false", "server.5=zk5:2888:3888"), "5")
		if err != nil || o.Standalone() || o.MyID != 5 {
			t.Errorf("got %v, want a one-member ensemble with MyID 5", err)
		}
	})
}

func TestLoadDynamicConfigFile(t *testing.T) {
	dir := t.TempDir()
	dyn := writeFile(t, dir, "zoo.cfg.dynamic.100000000", "server.1=zk1:2888:3888:participant;0.0.0.0:2181\n"+
		"server.2=zk2:2888:3888:participant;0.0.0.0:2181\nserver.3=zk3:2888:3888:participant;0.0.0.0:2181\nversion=100000000\n")
	writeFile(t, dir, "myid", "3")
	path := writeFile(t, dir, "zoo.cfg", "dataDir="+dir+"\ndynamicConfigFile="+dyn+"\n")
	o, notes, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Servers) != 3 || o.MyID != 3 || o.ClientPort != 2181 || o.ClientPortAddress != "0.0.0.0" {
		t.Errorf("got %d servers MyID %d client %s:%d, want 3 servers, MyID 3, 0.0.0.0:2181",
			len(o.Servers), o.MyID, o.ClientPortAddress, o.ClientPort)
	}
	if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, dyn) }) {
		t.Errorf("got notices %q, want one naming %s", notes, dyn)
	}

	writeFile(t, dir, "bad.dynamic", "server.1=zk1:2888:3888\ntickTime=5\n")
	path = writeFile(t, dir, "zoo2.cfg", "dataDir="+dir+"\ndynamicConfigFile="+dir+"/bad.dynamic\n")
	if _, _, err := Load(path); err == nil || !containsAll(err.Error(), "bad.dynamic:2", "tickTime") {
		t.Errorf("got %v, want an error at bad.dynamic:2 about tickTime", err)
	}
	path = writeFile(t, dir, "zoo3.cfg", "dataDir="+dir+"\ndynamicConfigFile="+dyn+"\nserver.1=zk1:2888:3888\n")
	if _, _, err := Load(path); err == nil || !strings.Contains(err.Error(), "server.1") {
		t.Errorf("got %v, want an error about server.1 outside the dynamic file", err)
	}
	path = writeFile(t, dir, "zoo4.cfg", "dataDir="+dir+"\ndynamicConfigFile="+dir+"/missing\n")
	if _, _, err := Load(path); err == nil || !containsAll(err.Error(), "dynamicConfigFile", "missing") {
		t.Errorf("got %v, want an error naming the missing dynamic file", err)
	}
}

func TestLoadNotices(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  string // substring of one notice
		check func(*Options) bool
	}{
		{"java-only", []string{"ssl.keyStore.location=/k.jks"}, "ignoring Java-only key ssl.keyStore.location (line 3)", nil},
		{"java-only prefixed", []string{"zookeeper.ssl.keyStore.location=/k.jks"}, "ignoring Java-only key zookeeper.ssl.keyStore.location", nil},
		{"secure port", []string{"secureClientPort=2281"}, "ignoring Java-only key secureClientPort", nil},
		{"metrics class", []string{"metricsProvider.className=org.X"}, "ignoring Java-only key metricsProvider.className", nil},
		{"metrics host", []string{"metricsProvider.httpHost=0.0.0.0"}, "ignoring Java-only key metricsProvider.httpHost", nil},
		{"admin idle", []string{"admin.idleTimeout=30000"}, "ignoring Java-only key admin.idleTimeout", nil},
		{"auth provider", []string{"authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider"}, "ignoring Java-only key authProvider.1", nil},
		{"quorum sasl", []string{"quorum.auth.enableSasl=true"}, "ignoring Java-only key quorum.auth.enableSasl", nil},
		{"reconfig", []string{"reconfigEnabled=true"}, "ignoring Java-only key reconfigEnabled", nil},
		{"unknown", []string{"foo.bar=1"}, "warning: unknown key foo.bar (line 3) ignored", nil},
		{"misspelt", []string{"ticktime=3000"}, "did you mean tickTime?", func(o *Options) bool { return o.TickTime == 2*time.Second }},
		{"myid key", []string{"myid=3"}, "not a zoo.cfg key", nil},
		{"repeated", []string{"tickTime=1000", "tickTime=3000"}, "tickTime is set on lines 3 and 4: using line 4",
			func(o *Options) bool { return o.TickTime == 3*time.Second }},
		{"plain beats prefixed", []string{"snapCount=500", "zookeeper.snapCount=900"}, "using snapCount",
			func(o *Options) bool { return o.SnapCount == 500 }},
		{"plain beats earlier prefixed", []string{"zookeeper.snapCount=900", "snapCount=500"}, "using snapCount",
			func(o *Options) bool { return o.SnapCount == 500 }},
		{"retain count raised", []string{"autopurge.snapRetainCount=1"}, "using 3", func(o *Options) bool { return o.SnapRetainCount == 3 }},
		{"commit log count raised", []string{"commitLogCount=100"}, "commitLogCount 100 is below the minimum: using 500",
			func(o *Options) bool { return o.CommitLogCount == 500 }},
		{"negative purge", []string{"autopurge.purgeInterval=-1"}, "autopurge disabled", func(o *Options) bool { return o.PurgeInterval == 0 }},
		{"relative dataDir", []string{"dataDir=zk/data"}, "dataDir zk/data is a relative path", nil},
		{"two participants", []string{"server.1=a:1:2", "server.2=b:1:2"}, "no server failure will be tolerated", nil},
		{"four participants", []string{"server.1=a:1:2", "server.2=b:1:2", "server.3=c:1:2", "server.4=d:1:2"}, "odd number", nil},
		{"dropped escape", []string{`dataLogDir=D:\zk`}, `"\z"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, notes, err, _ := loadConfig(t, config(tt.lines...), "1")
			if err != nil {
				t.Fatalf("Load: got error %v, want none", err)
			}
			if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, tt.want) }) {
				t.Errorf("got notices %q, want one containing %q", notes, tt.want)
			}
			if tt.check != nil && !tt.check(o) {
				t.Errorf("got Options %+v, which fails the check", o)
			}
		})
	}
}

func TestLoadDebianConfigHasNoNotices(t *testing.T) {
	// The commented-out keys of Debian's sample must stay silent.
	o, notes, err, _ := loadConfig(t, config("tickTime=2000", "initLimit=10", "syncLimit=5", "#maxClientCnxns=60", "#metricsProvider.httpPort=7000"), "")
	if err != nil || len(notes) != 0 || o.MaxClientCnxns != 60 {
		t.Errorf("got %v, notices %q, MaxClientCnxns %d; want no error, no notices, 60", err, notes, o.MaxClientCnxns)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := t.TempDir() + "/nope.cfg"
	_, _, err := Load(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) || ExitCode(err) != 2 {
		t.Errorf("got %v (exit %d), want a not-exist error naming %s, exit 2", err, ExitCode(err), path)
	}
}

package config

import (
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefault(t *testing.T) {
	o := Default()
	want := &Options{
		TickTime: 2 * time.Second, DataDir: "zkd-data", ClientPort: 2181, MaxClientCnxns: 60,
		InitLimit: 10, SyncLimit: 5, StandaloneEnabled: true, PeerType: "participant",
		FourLetterWords: map[string]bool{"srvr": true}, AdminEnableServer: true,
		AdminServerAddress: "0.0.0.0", AdminServerPort: 8080, MetricsHTTPPort: 7000,
		AdminSnapshotEnabled: true, AdminRestoreEnabled: true, AdminRateLimit: 5 * time.Minute,
		SnapCount: 100000, SnapSizeLimitKB: 65536, CommitLogSizeLimitKB: 65536, WALZeroFill: true, SnapRetainCount: 3, JuteMaxBuffer: 0xfffff,
		ContainerCheckInterval: time.Minute, LogFormat: "text", FsyncWarningThreshold: time.Second,
	}
	if !reflect.DeepEqual(o, want) {
		t.Fatalf("Default():\n got %+v\nwant %+v", o, want)
	}
	if !o.Standalone() {
		t.Error("Default().Standalone(): got false, want true")
	}
	if err := o.Validate(); err != nil {
		t.Fatalf("Default().Validate(): got %v, want nil", err)
	}
	if o.MinSessionTimeout != 4*time.Second || o.MaxSessionTimeout != 40*time.Second || o.DataLogDir != "zkd-data" {
		t.Errorf("after Validate: got min %v max %v DataLogDir %q, want 4s 40s zkd-data",
			o.MinSessionTimeout, o.MaxSessionTimeout, o.DataLogDir)
	}
	// A second Validate changes nothing.
	again := o.Clone()
	if err := again.Validate(); err != nil || !reflect.DeepEqual(again, o) {
		t.Errorf("second Validate: got %v, %+v; want nil and no change", err, again)
	}
}

func TestValidateDerived(t *testing.T) {
	o := Default()
	o.TickTime = 100 * time.Millisecond
	o.MaxSessionTimeout = 10 * time.Second
	o.PeerType = "OBSERVER"
	o.LogFormat = "JSON"
	o.ClientPortAddress = "[::1]"
	o.FourLetterWords = nil
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if o.MinSessionTimeout != 200*time.Millisecond || o.MaxSessionTimeout != 10*time.Second {
		t.Errorf("got min %v max %v, want 200ms 10s", o.MinSessionTimeout, o.MaxSessionTimeout)
	}
	if o.PeerType != "observer" || o.LogFormat != "json" || o.ClientPortAddress != "::1" {
		t.Errorf("got PeerType %q LogFormat %q ClientPortAddress %q, want observer json ::1", o.PeerType, o.LogFormat, o.ClientPortAddress)
	}
	if !maps.Equal(o.FourLetterWords, map[string]bool{"srvr": true}) {
		t.Errorf("got FourLetterWords %v, want {srvr}", o.FourLetterWords)
	}
}

// TestValidateErrors covers values only code (not zoo.cfg) can produce.
func TestValidateErrors(t *testing.T) {
	ens := []Server{
		{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888},
		{ID: 2, Host: "zk2", QuorumPort: 2888, ElectionPort: 3888},
		{ID: 3, Host: "zk3", QuorumPort: 2888, ElectionPort: 3888},
	}
	tests := []struct {
		name       string
		mod        func(o *Options)
		key, value string
	}{
		{"tick", func(o *Options) { o.TickTime = 0 }, "tickTime", "0"},
		{"sub-ms tick shown as duration", func(o *Options) { o.TickTime = -time.Microsecond }, "tickTime", "-1µs"},
		{"dataDir", func(o *Options) { o.DataDir = "" }, "dataDir", ""},
		{"clientPort zero", func(o *Options) { o.ClientPort = 0 }, "clientPort", "0"},
		{"server id zero", func(o *Options) { o.Servers = []Server{{ID: 0, Host: "a", QuorumPort: 1, ElectionPort: 2}} }, "server.0", "a:1:2:participant"},
		{"server id too big", func(o *Options) { o.Servers = []Server{{ID: 1 << 63, Host: "a", QuorumPort: 1, ElectionPort: 2}} }, "server.9223372036854775808", "a:1:2:participant"},
		{"duplicate ids", func(o *Options) { o.Servers = append(append([]Server{}, ens...), ens[0]) }, "server.1", "zk1:2888:3888:participant"},
		{"client addr without port", func(o *Options) {
			o.Servers = append([]Server{}, ens...)
			o.Servers[2].ClientAddr = "10.0.0.1"
			o.MyID = 1
		}, "server.3", "zk3:2888:3888:participant"},
		{"myid unset", func(o *Options) { o.Servers = ens }, "myid", "0"},
		{"myid unknown", func(o *Options) { o.Servers, o.MyID = ens, 4 }, "myid", "4"},
		{"4lw", func(o *Options) { o.FourLetterWords = map[string]bool{"ruok": true, "nope": true} }, "4lw.commands.whitelist", "nope"},
		{"retain", func(o *Options) { o.SnapRetainCount = 2 }, "autopurge.snapRetainCount", "2"},
		{"commitLogCount", func(o *Options) { o.CommitLogCount = -1 }, "commitLogCount", "-1"},
		{"commitLogSize", func(o *Options) { o.CommitLogSizeLimitKB = 0 }, "zkd.commitLogSizeLimitInKb", "0"},
		{"purge", func(o *Options) { o.PurgeInterval = -time.Hour }, "autopurge.purgeInterval", "-1h0m0s"},
		{"container", func(o *Options) { o.ContainerCheckInterval = 0 }, "znode.container.checkIntervalMs", "0"},
		{"logFormat", func(o *Options) { o.LogFormat = "yaml" }, "zkd.logFormat", "yaml"},
		{"fsync warning", func(o *Options) { o.FsyncWarningThreshold = -time.Millisecond }, "fsync.warningthresholdms", "-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Default()
			tt.mod(o)
			err := o.Validate()
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if ce.Key != tt.key || ce.Value != tt.value || ce.File != "" || ExitCode(err) != 2 {
				t.Errorf("got key %q value %q file %q (%v), want key %q value %q, no file, exit 2",
					ce.Key, ce.Value, ce.File, err, tt.key, tt.value)
			}
		})
	}
}

func TestStandaloneRule(t *testing.T) {
	p := func(id uint64) Server {
		return Server{ID: id, Host: "h", QuorumPort: int(id) * 10, ElectionPort: int(id)*10 + 1}
	}
	obs := func(id uint64) Server { s := p(id); s.Observer = true; return s }
	tests := []struct {
		name       string
		servers    []Server
		standalone bool // StandaloneEnabled
		want       bool
	}{
		{"no servers", nil, true, true},
		{"no servers, standaloneEnabled=false (Validate rejects it)", nil, false, true},
		{"one participant", []Server{p(1)}, true, true},
		{"one participant, standaloneEnabled=false", []Server{p(1)}, false, false},
		{"two participants", []Server{p(1), p(2)}, true, false},
		{"three participants", []Server{p(1), p(2), p(3)}, true, false},
		{"two participants and an observer", []Server{p(1), p(2), obs(3)}, true, false},
	}
	for _, tt := range tests {
		o := Default()
		o.Servers, o.StandaloneEnabled = tt.servers, tt.standalone
		if got := o.Standalone(); got != tt.want {
			t.Errorf("%s: Standalone() got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestServerString(t *testing.T) {
	tests := []struct {
		s    Server
		want string
	}{
		{Server{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888}, "zk1:2888:3888:participant"},
		{Server{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888, Observer: true, ClientPort: 2181}, "zk1:2888:3888:observer;0.0.0.0:2181"},
		{Server{ID: 1, Host: "::1", QuorumPort: 2888, ElectionPort: 3888, ClientAddr: "::1", ClientPort: 2181}, "[::1]:2888:3888:participant;[::1]:2181"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("String(): got %q, want %q", got, tt.want)
		}
		// What String prints parses back to the same server.
		back, err := parseServer("server.1", 1, tt.want)
		if err != nil || back.String() != tt.want {
			t.Errorf("parseServer(%q): got %v, %v; want it to print the same", tt.want, back, err)
		}
	}
}

func TestFourLetterWordEnabled(t *testing.T) {
	o := Default()
	if !o.FourLetterWordEnabled("srvr") || o.FourLetterWordEnabled("ruok") {
		t.Error("default: got ruok enabled or srvr disabled, want only srvr")
	}
	o.FourLetterWords = map[string]bool{}
	if !o.FourLetterWordEnabled("srvr") {
		t.Error("empty set: got srvr disabled, want it always enabled")
	}
	o.FourLetterWords = map[string]bool{"*": true}
	if !o.FourLetterWordEnabled("wchp") || o.FourLetterWordEnabled("kill") {
		t.Error(`"*": got wchp disabled or kill enabled, want every known word and nothing else`)
	}
	if got := KnownFourLetterWords(); len(got) != 18 || got[0] != "conf" {
		t.Errorf("KnownFourLetterWords: got %v, want ZooKeeper's 18 words", got)
	}
}

func TestClone(t *testing.T) {
	o := Default()
	o.Servers = []Server{{ID: 1, Host: "a"}}
	c := o.Clone()
	c.Servers[0].Host = "b"
	c.FourLetterWords["ruok"] = true
	if o.Servers[0].Host != "a" || o.FourLetterWords["ruok"] {
		t.Error("changing the clone changed the original")
	}
}

// TestKeysCoverOptions: the README table is generated from Keys, so every
// Options field must have a KeyDoc, and every KeyDoc must be real.
func TestKeysCoverOptions(t *testing.T) {
	docs := Keys()
	byField := map[string]KeyDoc{}
	seen := map[string]bool{}
	for _, d := range docs {
		if seen[d.Key] {
			t.Errorf("key %s documented twice", d.Key)
		}
		seen[d.Key] = true
		if d.Description == "" || d.Default == "" {
			t.Errorf("key %s: got empty description or default", d.Key)
		}
		if d.Field != "" {
			byField[d.Field] = d
		}
	}
	typ := reflect.TypeFor[Options]()
	for i := range typ.NumField() {
		if _, ok := byField[typ.Field(i).Name]; !ok {
			t.Errorf("Options.%s has no KeyDoc", typ.Field(i).Name)
		}
	}
	for f, d := range byField {
		if _, ok := typ.FieldByName(f); !ok {
			t.Errorf("KeyDoc %s names field %s, which Options lacks", d.Key, f)
		}
	}
}

// TestKeysDefaults: each documented default, written in zoo.cfg, gives the
// value Default() has.
func TestKeysDefaults(t *testing.T) {
	for _, spec := range keySpecs {
		if spec.set == nil || strings.HasPrefix(spec.Default, "(") {
			continue
		}
		o := Default()
		if !spec.set(o, spec.Default) {
			t.Errorf("%s: documented default %q does not parse", spec.Key, spec.Default)
			continue
		}
		got := reflect.ValueOf(o).Elem().FieldByName(spec.Field).Interface()
		want := reflect.ValueOf(Default()).Elem().FieldByName(spec.Field).Interface()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: documented default %q gives %v, want Default()'s %v", spec.Key, spec.Default, got, want)
		}
		if c, _ := canonicalKey(spec.Key); c != spec.Key {
			t.Errorf("%s: Load does not recognise it", spec.Key)
		}
		if c, prefixed := canonicalKey("zookeeper." + spec.Key); c != spec.Key || !prefixed {
			t.Errorf("zookeeper.%s: Load does not recognise it", spec.Key)
		}
	}
}

func TestIgnoredKeysAreNotHonoured(t *testing.T) {
	for _, k := range IgnoredKeys() {
		if c, _ := canonicalKey(k); c != "" {
			t.Errorf("ignored key %s is also honoured", k)
		}
	}
	for _, k := range []string{"metricsProvider.httpPort", "admin.serverPort", "admin.enableServer", "admin.serverAddress"} {
		if c, _ := canonicalKey(k); c != k {
			t.Errorf("%s: got canonical %q, want it honoured despite the ignored prefix", k, c)
		}
	}
}

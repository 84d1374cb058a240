package fourlw

import (
	"math"
	"testing"
	"time"
)

func TestVersionLine(t *testing.T) {
	tests := []struct {
		version string
		built   time.Time
		want    string
	}{
		{"0.4.1", testBuilt, "Zookeeper version: 3.9.0-zkd-0.4.1, built on 11/21/2026 12:00 GMT"},
		// Printed in UTC whatever the zone of built.
		{"1.0.0", time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", -5*3600)),
			"Zookeeper version: 3.9.0-zkd-1.0.0, built on 01/02/2026 08:04 GMT"},
		// go-zookeeper's FLWSrvr accepts only [A-Za-z0-9.-] in the version.
		{"v0.4.1+dirty_x y", testBuilt, "Zookeeper version: 3.9.0-zkd-v0.4.1-dirty-x-y, built on 11/21/2026 12:00 GMT"},
		{"", testBuilt, "Zookeeper version: 3.9.0-zkd-dev, built on 11/21/2026 12:00 GMT"},
	}
	for _, tt := range tests {
		if got := VersionLine(tt.version, tt.built); got != tt.want {
			t.Errorf("VersionLine(%q, %v): got %q, want %q", tt.version, tt.built, got, tt.want)
		}
	}
}

func TestSrvrStat(t *testing.T) {
	const counters = "Latency min/avg/max: 1/2.5714/10\n" +
		"Received: 23\n" +
		"Sent: 22\n" +
		"Connections: 2\n" +
		"Outstanding: 0\n" +
		"Zxid: 0xb\n" +
		"Mode: standalone\n" +
		"Node count: 8\n"
	leader := fixedStats()
	leader.Mode = "leader"
	leader.Zxid = 0x100000000
	leader.LastProposalSize, leader.MinProposalSize, leader.MaxProposalSize = 60, 36, 121
	fresh := fixedStats()
	fresh.Mode = "leader"
	fresh.MinLatency, fresh.AvgLatency, fresh.MaxLatency = 0, 0, 0
	empty := Stats{Version: "0.4.1", Built: testBuilt}
	negZxid := fixedStats()
	negZxid.Zxid = -1
	faulty := fixedStats()
	faulty.Fault = "persistence failed:\nno space left on device"
	tests := []struct {
		name string
		cmd  string
		src  *fakeSource
		want string
	}{
		{"srvr", "srvr", &fakeSource{st: fixedStats()}, testVersionLine + "\n" + counters},
		{"stat", "stat", &fakeSource{st: fixedStats(), conns: []ConnInfo{sessionConn(), commandConn()}},
			testVersionLine + "\n" +
				"Clients:\n" +
				" /127.0.0.1:49326[1](queued=0,recved=14,sent=14)\n" +
				" /127.0.0.1:49352[0](queued=0,recved=1,sent=0)\n" +
				"\n" + counters},
		{"stat without connections", "stat", &fakeSource{st: fixedStats()},
			testVersionLine + "\nClients:\n\n" + counters},
		{"srvr read-only", "srvr", &fakeSource{st: fixedStats(), ro: true},
			testVersionLine + "\nREAD-ONLY mode; serving only read-only clients\n" + counters},
		{"srvr leader", "srvr", &fakeSource{st: leader},
			testVersionLine + "\nLatency min/avg/max: 1/2.5714/10\nReceived: 23\nSent: 22\nConnections: 2\n" +
				"Outstanding: 0\nZxid: 0x100000000\nMode: leader\nNode count: 8\n" +
				"Proposal sizes last/min/max: 60/36/121\n"},
		{"srvr fresh leader", "srvr", &fakeSource{st: fresh},
			testVersionLine + "\nLatency min/avg/max: 0/0.0/0\nReceived: 23\nSent: 22\nConnections: 2\n" +
				"Outstanding: 0\nZxid: 0xb\nMode: leader\nNode count: 8\n" +
				"Proposal sizes last/min/max: -1/-1/-1\n"},
		{"srvr zero stats", "srvr", &fakeSource{st: empty},
			testVersionLine + "\nLatency min/avg/max: 0/0.0/0\nReceived: 0\nSent: 0\nConnections: 0\n" +
				"Outstanding: 0\nZxid: 0x0\nMode: standalone\nNode count: 0\n"},
		{"srvr negative zxid", "srvr", &fakeSource{st: negZxid},
			testVersionLine + "\nLatency min/avg/max: 1/2.5714/10\nReceived: 23\nSent: 22\nConnections: 2\n" +
				"Outstanding: 0\nZxid: 0xffffffffffffffff\nMode: standalone\nNode count: 8\n"},
		{"srvr fault", "srvr", &fakeSource{st: faulty},
			testVersionLine + "\nLatency min/avg/max: 1/2.5714/10\nReceived: 23\nSent: 22\nConnections: 2\n" +
				"Outstanding: 0\nZxid: 0xb\nMode: standalone\nFault: persistence failed: no space left on device\nNode count: 8\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(tt.cmd, allowAll, tt.src)
			if err != nil {
				t.Fatalf("Run(%q): got error %v, want none", tt.cmd, err)
			}
			if got != tt.want {
				t.Errorf("Run(%q):\ngot  %q\nwant %q", tt.cmd, got, tt.want)
			}
		})
	}
}

func TestCons(t *testing.T) {
	noCxid := sessionConn()
	noCxid.LastCxid = -1
	noCxid.LastZxid = -1
	noCxid.LastOp = ""
	noCxid.Established = time.Time{}
	v6 := commandConn()
	v6.Remote = "[::1]:2181"
	v6.InterestOps = 5
	tests := []struct {
		name  string
		conns []ConnInfo
		want  string
	}{
		{"session and command connection", []ConnInfo{sessionConn(), commandConn()},
			" /127.0.0.1:49326[1](queued=0,recved=14,sent=14,sid=0x1000005d5f00000,lop=SETD," +
				"est=1795286397576,to=10000,lcxid=0xd,lzxid=0xb,lresp=434607,llat=3,minlat=0,avglat=2,maxlat=10)\n" +
				" /127.0.0.1:49352[0](queued=0,recved=1,sent=0)\n\n"},
		{"no request yet", []ConnInfo{noCxid},
			" /127.0.0.1:49326[1](queued=0,recved=14,sent=14,sid=0x1000005d5f00000,lop=NA," +
				"est=0,to=10000,lzxid=0xffffffffffffffff,lresp=434607,llat=3,minlat=0,avglat=2,maxlat=10)\n\n"},
		{"ipv6, read and write interest", []ConnInfo{v6}, " /[0:0:0:0:0:0:0:1]:2181[5](queued=0,recved=1,sent=0)\n\n"},
		{"no connections", nil, "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run("cons", allowAll, &fakeSource{st: fixedStats(), conns: tt.conns})
			if err != nil {
				t.Fatalf("Run(cons): got error %v, want none", err)
			}
			if got != tt.want {
				t.Errorf("Run(cons):\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestSmallReplies(t *testing.T) {
	st := fixedStats()
	tests := []struct {
		cmd  string
		src  *fakeSource
		want string
	}{
		{"ruok", &fakeSource{st: st}, "imok"},
		{"isro", &fakeSource{st: st}, "rw"},
		{"isro", &fakeSource{st: st, ro: true}, "ro"},
		{"dirs", &fakeSource{st: st}, "datadir_size: 67109337\nlogdir_size: 457\n"},
		{"wchs", &fakeSource{st: st}, "1 connections watching 2 paths\nTotal watches:2\n\n"},
		{"envi", &fakeSource{st: st, env: []KV{{"zookeeper.version", "x"}, {"host.name", "localhost"}}},
			"Environment:\nzookeeper.version=x\nhost.name=localhost\n"},
		{"envi", &fakeSource{st: st}, "Environment:\n"},
		{"conf", &fakeSource{st: st, conf: []KV{{"clientPort", "2181"}, {"", "raw"}, {"serverId", "0"}}},
			"clientPort=2181\nrawserverId=0\n"},
	}
	for _, tt := range tests {
		got, err := run(tt.cmd, allowAll, tt.src)
		if err != nil || got != tt.want {
			t.Errorf("Run(%q): got (%q, %v), want (%q, nil)", tt.cmd, got, err, tt.want)
		}
	}
}

func TestServerConf(t *testing.T) {
	standalone := ServerConf{
		ClientPort: 2181, SecureClientPort: -1,
		DataDir: "/var/lib/zkd/version-2", DataDirSize: 457,
		DataLogDir: "/var/lib/zkd/version-2", DataLogSize: 457,
		TickTime: 2000, MaxClientCnxns: 60, MinSessionTimeout: 4000, MaxSessionTimeout: 40000,
		ClientPortListenBacklog: -1, ServerID: 0,
	}
	const standaloneText = "clientPort=2181\nsecureClientPort=-1\n" +
		"dataDir=/var/lib/zkd/version-2\ndataDirSize=457\n" +
		"dataLogDir=/var/lib/zkd/version-2\ndataLogSize=457\n" +
		"tickTime=2000\nmaxClientCnxns=60\nminSessionTimeout=4000\nmaxSessionTimeout=40000\n" +
		"clientPortListenBacklog=-1\nserverId=0\n"
	quorum := standalone
	quorum.ServerID = 1
	quorum.Quorum = &QuorumConf{
		InitLimit: 10, SyncLimit: 5, ElectionAlg: 3, ElectionPort: 3888, QuorumPort: 2888,
		Members: []Member{
			{ID: 1, Host: "127.0.0.1", QuorumPort: 2888, ElectionPort: 3888},
			{ID: 2, Host: "zk2.example", QuorumPort: 2888, ElectionPort: 3888, ClientPort: 2181},
			{ID: 3, Host: "::1", QuorumPort: 2890, ElectionPort: 3890, Observer: true, ClientAddr: "::1", ClientPort: 2183},
		},
		Version: 0x100000003,
	}
	quorumText := "clientPort=2181\nsecureClientPort=-1\n" +
		"dataDir=/var/lib/zkd/version-2\ndataDirSize=457\n" +
		"dataLogDir=/var/lib/zkd/version-2\ndataLogSize=457\n" +
		"tickTime=2000\nmaxClientCnxns=60\nminSessionTimeout=4000\nmaxSessionTimeout=40000\n" +
		"clientPortListenBacklog=-1\nserverId=1\n" +
		"initLimit=10\nsyncLimit=5\nelectionAlg=3\nelectionPort=3888\nquorumPort=2888\npeerType=0\n" +
		"membership: \n" +
		"server.1=127.0.0.1:2888:3888:participant\n" +
		"server.2=zk2.example:2888:3888:participant;0.0.0.0:2181\n" +
		"server.3=[::1]:2890:3890:observer;[::1]:2183\n" +
		"version=100000003" // ZooKeeper ends conf without a newline here
	for _, tt := range []struct {
		name string
		c    ServerConf
		want string
	}{{"standalone", standalone, standaloneText}, {"quorum", quorum, quorumText}} {
		got, err := run("conf", allowAll, &fakeSource{st: fixedStats(), conf: tt.c.KVs()})
		if err != nil || got != tt.want {
			t.Errorf("conf %s:\ngot  (%q, %v)\nwant (%q, nil)", tt.name, got, err, tt.want)
		}
	}
}

func TestDefaultEnv(t *testing.T) {
	env := DefaultEnv("0.4.1", testBuilt)
	wantKeys := []string{"zookeeper.version", "host.name", "java.version", "java.vendor", "java.home",
		"java.class.path", "java.library.path", "java.io.tmpdir", "java.compiler", "os.name", "os.arch",
		"os.version", "user.name", "user.home", "user.dir", "os.memory.free", "os.memory.max", "os.memory.total"}
	if len(env) != len(wantKeys) {
		t.Fatalf("DefaultEnv: got %d pairs, want %d", len(env), len(wantKeys))
	}
	for i, kv := range env {
		if kv.Key != wantKeys[i] {
			t.Errorf("DefaultEnv[%d]: got key %q, want %q", i, kv.Key, wantKeys[i])
		}
		if kv.Value == "" {
			t.Errorf("DefaultEnv %s: got an empty value, want one (or <NA>)", kv.Key)
		}
	}
	if got, want := env[0].Value, FullVersion("0.4.1", testBuilt); got != want {
		t.Errorf("zookeeper.version: got %q, want %q", got, want)
	}
	for _, kv := range env[15:] {
		if n := len(kv.Value); n < 3 || kv.Value[n-2:] != "MB" {
			t.Errorf("%s: got %q, want <n>MB", kv.Key, kv.Value)
		}
	}
}

func TestJavaDouble(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{95, "95.0"},
		{2.5714, "2.5714"},
		{4.8571, "4.8571"},
		{0.001, "0.001"},
		{0.0001, "1.0E-4"},
		{0.00012, "1.2E-4"},
		{9999999.5, "9999999.5"},
		{1e7, "1.0E7"},
		{12345678.9, "1.23456789E7"},
		{-3.5, "-3.5"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "Infinity"},
		{math.Inf(-1), "-Infinity"},
	}
	for _, tt := range tests {
		if got := javaDouble(tt.in); got != tt.want {
			t.Errorf("javaDouble(%v): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRoundHalfUp4(t *testing.T) {
	tests := []struct {
		in, want float64
	}{
		{18.0 / 7, 2.5714},
		{34.0 / 7, 4.8571},
		{69.0 / 29, 2.3793},
		{1.03125, 1.0313},   // exact binary tie: half-up, where Go's half-even gives 1.0312
		{1.00005, 1.0001},   // nearest double is just above the tie
		{2.00005, 2},        // nearest double is just below the tie
		{0.00015, 0.0001},   // below the tie again
		{-1.03125, -1.0313}, // halves go away from zero
		{0, 0},
		{3, 3},
		{1e15 + 0.5, 1e15 + 0.5},
	}
	for _, tt := range tests {
		if got := roundHalfUp4(tt.in); got != tt.want {
			t.Errorf("roundHalfUp4(%v): got %v, want %v", tt.in, got, tt.want)
		}
	}
	if got := roundHalfUp4(math.NaN()); !math.IsNaN(got) {
		t.Errorf("roundHalfUp4(NaN): got %v, want NaN", got)
	}
}

func TestJavaSocketAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"127.0.0.1:49326", "/127.0.0.1:49326"},
		{"[::ffff:10.0.0.1]:80", "/10.0.0.1:80"},
		{"[::1]:2181", "/[0:0:0:0:0:0:0:1]:2181"},
		{"[fe80::a:b0c%eth0]:7", "/[fe80:0:0:0:0:0:a:b0c%eth0]:7"},
		{"[2001:db8::ff00:42:8329]:1", "/[2001:db8:0:0:0:ff00:42:8329]:1"},
		{"host.example:9", "/host.example:9"},
		{"garbage", "/garbage"},
		{"", "/"},
	}
	for _, tt := range tests {
		if got := javaSocketAddr(tt.in); got != tt.want {
			t.Errorf("javaSocketAddr(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLastOpName(t *testing.T) {
	tests := []struct {
		op   int32
		want string
	}{
		{4, "GETD"}, {5, "SETD"}, {1, "CREA"}, {15, "CREA"}, {12, "GETC"}, {11, "PING"},
		{-10, "SESS"}, {-11, "CLOS"}, {104, "GETACN"}, {107, "HOMI"}, {100, ""}, {999, ""},
	}
	for _, tt := range tests {
		if got := LastOpName(tt.op); got != tt.want {
			t.Errorf("LastOpName(%d): got %q, want %q", tt.op, got, tt.want)
		}
	}
}

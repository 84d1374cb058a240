package admin

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkd-io/zkd/internal/fourlw"
	"github.com/zkd-io/zkd/proto"
)

// fakeSource is a Source with fixed answers and every optional interface.
type fakeSource struct {
	mu       sync.Mutex
	st       fourlw.Stats
	conns    []fourlw.ConnInfo
	conf     []fourlw.KV
	env      []fourlw.KV
	ens      Ensemble
	health   Health
	raft     Raft
	sessions []Session
	snap     *SnapshotInfo
	initial  *string
	// allow lists the ids (scheme:id) that hold ALL on "/".
	allow []string

	snapData   []byte
	snapZxid   int64
	canRestore error
	restoreErr error
	restored   []byte

	statsResets, connResets int
	digests                 []fourlw.ZxidDigest
	bySession               []fourlw.SessionWatches
	byPath                  []fourlw.PathWatches
	omittedWatches          int // what the watch listings report as left out
}

func (f *fakeSource) Stats() fourlw.Stats      { return f.st }
func (f *fakeSource) Conns() []fourlw.ConnInfo { return f.conns }
func (f *fakeSource) Conf() []fourlw.KV        { return f.conf }
func (f *fakeSource) Env() []fourlw.KV         { return f.env }
func (f *fakeSource) ReadOnly() bool           { return false }
func (f *fakeSource) Ensemble() Ensemble       { return f.ens }
func (f *fakeSource) Health() Health           { return f.health }
func (f *fakeSource) Raft() Raft               { return f.raft }
func (f *fakeSource) Sessions() []Session      { return f.sessions }

func (f *fakeSource) LastSnapshot() (SnapshotInfo, bool) {
	if f.snap == nil {
		return SnapshotInfo{}, false
	}
	return *f.snap, true
}

func (f *fakeSource) InitialConfig() (string, bool) {
	if f.initial == nil {
		return "", false
	}
	return *f.initial, true
}

func (f *fakeSource) Authorized(ids []proto.ID) bool {
	for _, id := range ids {
		if slices.Contains(f.allow, id.Scheme+":"+id.ID) {
			return true
		}
	}
	return false
}

func (f *fakeSource) Snapshot() (int64, func(io.Writer) error, error) {
	data := append([]byte(nil), f.snapData...)
	return f.snapZxid, func(w io.Writer) error { _, err := w.Write(data); return err }, nil
}

func (f *fakeSource) CanRestore() error { return f.canRestore }

func (f *fakeSource) Restore(r io.Reader) (int64, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return 0, err
	}
	if f.restoreErr != nil {
		return 0, f.restoreErr
	}
	f.mu.Lock()
	f.restored = b
	f.mu.Unlock()
	return f.snapZxid, nil
}

func (f *fakeSource) ResetStats()                    { f.statsResets++ }
func (f *fakeSource) ResetConnStats()                { f.connResets++ }
func (f *fakeSource) DigestLog() []fourlw.ZxidDigest { return f.digests }
func (f *fakeSource) WatchesBySession(fourlw.WatchLimit) ([]fourlw.SessionWatches, int) {
	return f.bySession, f.omittedWatches
}

func (f *fakeSource) WatchesByPath(fourlw.WatchLimit) ([]fourlw.PathWatches, int) {
	return f.byPath, f.omittedWatches
}

// standaloneSource is a serving standalone server with one session holding
// an ephemeral node and two data watches.
func standaloneSource() *fakeSource {
	est := time.UnixMilli(1795290177726)
	conf := fourlw.ServerConf{
		ClientPort: 2181, SecureClientPort: -1, DataDir: "/data", DataLogDir: "/data",
		TickTime: 2000, MaxClientCnxns: 60, MinSessionTimeout: 4000, MaxSessionTimeout: 40000,
		ClientPortListenBacklog: -1, ServerID: 0,
	}
	return &fakeSource{
		st: fourlw.Stats{
			Version: "0.1.0", Built: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC), Mode: "standalone",
			MinLatency: 2, AvgLatency: 4, MaxLatency: 9, Received: 6, Sent: 6, Connections: 1,
			Zxid: 3, NodeCount: 7, Watches: 3, WatchConnections: 1, WatchPaths: 2, DataWatches: 2,
			Ephemerals: 1, ApproxDataSize: 54, GlobalSessions: 1, OpenFDs: 45, MaxFDs: 20000,
			Uptime: 10 * time.Second, DataDirSize: 1000, LogDirSize: 2000,
			LastClientResponseSize: 43, MinClientResponseSize: 22, MaxClientResponseSize: 93,
			Counters:  map[string]int64{"session_expired": 2, "tree_digest": 0x123456789abcdef},
			Summaries: map[string]fourlw.Summary{"readlatency": {Count: 4, Sum: 12, Min: 1, Max: 5, P50: 3, P90: 4, P95: 5, P99: 5, P999: 5}},
		},
		conns: []fourlw.ConnInfo{{
			Remote: "127.0.0.1:48472", InterestOps: 1, SessionID: 72057869577814016, Established: est,
			Timeout: 10000, LastCxid: -1, LastZxid: -1,
		}},
		conf:     conf.KVs(),
		env:      fourlw.DefaultEnv("0.1.0", time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)),
		ens:      Ensemble{Standalone: true, MyID: 1, Serving: true, LeaderID: 1, IsLeader: true, Voting: true, ClientAddress: "0.0.0.0:2181", LastZxid: 3},
		health:   Health{Serving: true, LeaderID: 1},
		raft:     Raft{Term: 2, AppliedIndex: 9, LeaderID: 1, WALSyncs: 5, Fsyncs: 7, Snapshots: 1, LastWALSync: 3 * time.Millisecond},
		sessions: []Session{{ID: 72057869577814016, Ephemerals: []string{"/e"}}},
		snapData: []byte("zkd snapshot bytes"),
		snapZxid: 0x100000003,
		digests:  []fourlw.ZxidDigest{{Zxid: 128, Digest: 295593515609}},
		bySession: []fourlw.SessionWatches{
			{SessionID: 72057869577814016, Paths: []string{"/a", "/e"}},
		},
		byPath: []fourlw.PathWatches{
			{Path: "/a", SessionIDs: []int64{72057869577814016}},
			{Path: "/e", SessionIDs: []int64{72057869577814016}},
		},
	}
}

// quorumSource is the leader of a three-participant, one-observer ensemble.
func quorumSource() *fakeSource {
	f := standaloneSource()
	f.st.Mode = "leader"
	f.st.QuorumSize = 3
	f.st.Followers, f.st.SyncedFollowers, f.st.SyncedObservers = 3, 2, 1
	f.ens = Ensemble{
		MyID: 3, LeaderID: 3, IsLeader: true, Voting: true, Serving: true, LastZxid: 0x100000000,
		ClientAddress: "127.0.0.1:22193",
		Members: []Member{
			{ID: 1, Host: "127.0.0.1", QuorumPort: 2889, ElectionPort: 3889},
			{ID: 2, Host: "127.0.0.1", QuorumPort: 2890, ElectionPort: 3890},
			{ID: 3, Host: "127.0.0.1", QuorumPort: 2891, ElectionPort: 3891},
			{ID: 4, Host: "127.0.0.1", QuorumPort: 2892, ElectionPort: 3892, Observer: true},
		},
		Observers: []Observer{{ID: 4, Active: true, Synced: true, Match: 12}},
	}
	return f
}

// newTestServer is an admin Server over src with rate limiting off.
func newTestServer(src Source, mutate ...func(*Config)) *Server {
	cfg := DefaultConfig()
	cfg.RateLimit = 0
	cfg.Logger = slog.New(slog.DiscardHandler)
	for _, m := range mutate {
		m(&cfg)
	}
	return New(cfg, src)
}

// do runs one request against h and returns the recorded reply.
func do(h http.Handler, method, target string, body []byte, header ...string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "RemoteAddr" {
			req.RemoteAddr = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// topKeys returns the keys of the JSON object in body, in order.
func topKeys(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("body is not a JSON object: %v %q", err, body)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("reading a key: %v in %q", err, body)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("reading the value of %q: %v", tok, err)
		}
	}
	return keys
}

// decode parses a JSON object body.
func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decoding %q: %v", body, err)
	}
	return m
}

// keysOf returns the keys of a decoded nested object, sorted.
func keysOf(t *testing.T, v any) []string {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("got %T (%v), want a JSON object", v, v)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func join(s []string) string { return strings.Join(s, ",") }

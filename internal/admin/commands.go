package admin

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/zkd-io/zkd/internal/fourlw"
)

// notServing is ZooKeeper's error for a command that needs a running server.
const notServing = "This ZooKeeper instance is not currently serving requests"

// defaultTraceMask is ZooTrace's default text trace mask, what ZooKeeper's
// get_trace_mask answers until someone sets another. zkd has no trace
// logging; the mask is kept only so that get and set agree.
const defaultTraceMask = 306

// command is one AdminServer command. names[0] is the primary name.
type command struct {
	names []string
	// serverRequired commands answer notServing while the server has no
	// quorum (ZooKeeper: the ZooKeeperServer is not running).
	serverRequired bool
	// auth commands need an Authorization header granting ALL on "/".
	auth bool
	// post commands take a request body and only POST.
	post bool
	run  func(c *call) *response
}

// call is one command invocation.
type call struct {
	s    *Server
	cmd  *command
	args url.Values
	req  *http.Request
	w    http.ResponseWriter
	st   *fourlw.Stats
}

// stats reads Source.Stats once per call: it walks the data directories.
func (c *call) stats() *fourlw.Stats {
	if c.st == nil {
		st := c.s.src.Stats()
		c.st = &st
	}
	return c.st
}

// response is a command's reply before it is printed.
type response struct {
	command string
	err     string // "" prints null
	data    Object
	status  int
	// streamed is set when the command wrote the body itself (snapshot).
	streamed bool
}

func (c *call) reply() *response {
	return &response{command: c.cmd.names[0], status: http.StatusOK}
}

func (c *call) fail(status int, msg string) *response {
	r := c.reply()
	r.status, r.err = status, msg
	return r
}

// object is the JSON body: the data, then "command" and "error", as
// ZooKeeper's CommandResponse.toMap orders them. A command that put its own
// "error" into the data (leader on a standalone server) keeps that one.
func (r *response) object() Object {
	o := append(Object(nil), r.data...)
	o.Put("command", r.command)
	if !r.data.Has("error") {
		var e any
		if r.err != "" {
			e = r.err
		}
		o.Put("error", e)
	}
	return o
}

// commandTable is ZooKeeper 3.9's command list (Commands.java), names and
// aliases included.
var commandTable = []*command{
	{names: []string{"connection_stat_reset", "crst"}, serverRequired: true, run: cmdConnStatReset},
	{names: []string{"configuration", "conf", "config"}, serverRequired: true, run: cmdConfiguration},
	{names: []string{"connections", "cons"}, serverRequired: true, run: cmdConnections},
	{names: []string{"hash"}, serverRequired: true, run: cmdHash},
	{names: []string{"dirs"}, serverRequired: true, run: cmdDirs},
	{names: []string{"dump"}, serverRequired: true, run: cmdDump},
	{names: []string{"environment", "env", "envi"}, run: cmdEnvironment},
	{names: []string{"get_trace_mask", "gtmk"}, run: cmdGetTraceMask},
	{names: []string{"initial_configuration", "icfg"}, serverRequired: true, run: cmdInitialConfiguration},
	{names: []string{"is_read_only", "isro"}, serverRequired: true, run: cmdIsReadOnly},
	{names: []string{"last_snapshot", "lsnp"}, serverRequired: true, run: cmdLastSnapshot},
	{names: []string{"leader", "lead"}, serverRequired: true, run: cmdLeader},
	{names: []string{"monitor", "mntr"}, run: cmdMonitor},
	{names: []string{"observer_connection_stat_reset", "orst"}, serverRequired: true, run: cmdObserverConnStatReset},
	{names: []string{"restore", "rest"}, serverRequired: true, auth: true, post: true, run: cmdRestore},
	{names: []string{"ruok"}, serverRequired: true, run: func(c *call) *response { return c.reply() }},
	{names: []string{"set_trace_mask", "stmk"}, run: cmdSetTraceMask},
	{names: []string{"snapshot", "snap"}, serverRequired: true, auth: true, run: cmdSnapshot},
	{names: []string{"server_stats", "srvr"}, serverRequired: true, run: cmdServerStats},
	{names: []string{"stats", "stat"}, serverRequired: true, run: cmdStats},
	{names: []string{"stat_reset", "srst"}, serverRequired: true, run: cmdStatReset},
	{names: []string{"observers", "obsr"}, serverRequired: true, run: cmdObservers},
	{names: []string{"system_properties", "sysp"}, run: cmdSystemProperties},
	{names: []string{"voting_view"}, serverRequired: true, run: cmdVotingView},
	{names: []string{"watches", "wchc"}, serverRequired: true, run: cmdWatches},
	{names: []string{"watches_by_path", "wchp"}, serverRequired: true, run: cmdWatchesByPath},
	{names: []string{"watch_summary", "wchs"}, serverRequired: true, run: cmdWatchSummary},
	{names: []string{"zabstate"}, run: cmdZabState},
}

// CommandNames returns every command's primary name, sorted, as /commands
// lists them.
func CommandNames() []string {
	out := make([]string, 0, len(commandTable))
	for _, c := range commandTable {
		out = append(out, c.names[0])
	}
	slices.Sort(out)
	return out
}

// CommandAliases returns every name a command answers to, primary first.
func CommandAliases(primary string) []string {
	for _, c := range commandTable {
		if c.names[0] == primary {
			return append([]string(nil), c.names...)
		}
	}
	return nil
}

func lookupCommand(name string) *command {
	for _, c := range commandTable {
		if slices.Contains(c.names, name) {
			return c
		}
	}
	return nil
}

func cmdConnStatReset(c *call) *response {
	r, ok := c.s.src.(fourlw.ConnStatsResetter)
	if !ok {
		return c.fail(http.StatusOK, "connection_stat_reset is not supported by this server")
	}
	r.ResetConnStats()
	return c.reply()
}

func cmdStatReset(c *call) *response {
	r, ok := c.s.src.(fourlw.StatsResetter)
	if !ok {
		return c.fail(http.StatusOK, "stat_reset is not supported by this server")
	}
	r.ResetStats()
	return c.reply()
}

// cmdObserverConnStatReset resets nothing: zkd keeps no per-observer
// connection counters (ZooKeeper's learner-master connection stats).
func cmdObserverConnStatReset(c *call) *response { return c.reply() }

// confKeys maps the conf four-letter word's keys to the configuration
// command's (ZooKeeperServerConf.toMap), in ZooKeeper's order.
var confKeys = [][2]string{
	{"clientPort", "client_port"},
	{"dataDir", "data_dir"},
	{"dataLogDir", "data_log_dir"},
	{"tickTime", "tick_time"},
	{"maxClientCnxns", "max_client_cnxns"},
	{"minSessionTimeout", "min_session_timeout"},
	{"maxSessionTimeout", "max_session_timeout"},
	{"serverId", "server_id"},
	{"clientPortListenBacklog", "client_port_listen_backlog"},
}

func cmdConfiguration(c *call) *response {
	kv := map[string]string{}
	for _, p := range c.s.src.Conf() {
		if p.Key != "" {
			kv[p.Key] = p.Value
		}
	}
	r := c.reply()
	for _, k := range confKeys {
		v, ok := kv[k[0]]
		if !ok {
			continue
		}
		if k[0] == "dataDir" || k[0] == "dataLogDir" || !isJSONNumber(v) {
			r.data.Put(k[1], v)
		} else {
			r.data.Put(k[1], json.Number(v))
		}
	}
	return r
}

// connInfo is ServerCnxn.getConnectionInfo: brief for stats, full for
// connections.
func connInfo(ci fourlw.ConnInfo, brief bool) Object {
	o := Object{
		{"remote_socket_address", ci.Remote},
		{"interest_ops", ci.InterestOps},
		{"outstanding_requests", ci.Queued},
		{"packets_received", ci.Received},
		{"packets_sent", ci.Sent},
	}
	if brief {
		return o
	}
	op := ci.LastOp
	if op == "" {
		op = "NA"
	}
	var est int64
	if !ci.Established.IsZero() {
		est = ci.Established.UnixMilli()
	}
	lastCxid := ci.LastCxid
	if lastCxid < 0 {
		lastCxid = -1
	}
	return append(o,
		Field{"session_id", ci.SessionID},
		Field{"last_operation", op},
		Field{"established", est},
		Field{"session_timeout", ci.Timeout},
		Field{"last_cxid", lastCxid},
		Field{"last_zxid", ci.LastZxid},
		Field{"last_response_time", ci.LastResponse},
		Field{"last_latency", ci.LastLatency},
		Field{"min_latency", ci.MinLatency},
		Field{"avg_latency", ci.AvgLatency},
		Field{"max_latency", ci.MaxLatency},
	)
}

func connList(src Source, brief bool) []Object {
	conns := src.Conns()
	out := make([]Object, 0, len(conns))
	for _, ci := range conns {
		out = append(out, connInfo(ci, brief))
	}
	return out
}

func cmdConnections(c *call) *response {
	r := c.reply()
	r.data.Put("connections", connList(c.s.src, false))
	// zkd has no TLS client port.
	r.data.Put("secure_connections", []Object{})
	return r
}

func cmdHash(c *call) *response {
	d, ok := c.s.src.(fourlw.Digester)
	if !ok {
		return c.fail(http.StatusOK, "hash is not supported by this server")
	}
	log := d.DigestLog()
	out := make([]Object, 0, len(log))
	for _, zd := range log {
		// digest_version names the algorithm. zkd's tree digest is its own
		// (servers that applied the same log agree), not ZooKeeper's
		// version 2 CRC, so it reports 0 rather than claim to be comparable.
		out = append(out, Object{{"zxid", zd.Zxid}, {"digest", zd.Digest}, {"digest_version", 0}})
	}
	r := c.reply()
	r.data.Put("digests", out)
	return r
}

func cmdDirs(c *call) *response {
	st := c.stats()
	r := c.reply()
	r.data.Put("datadir_size", st.DataDirSize)
	r.data.Put("logdir_size", st.LogDirSize)
	return r
}

func cmdDump(c *call) *response {
	sessions := c.s.src.Sessions()
	expiry := map[int64][]int64{}
	var times []int64
	var eph Object
	for _, ss := range sessions {
		if !ss.Expiry.IsZero() {
			t := ss.Expiry.UnixMilli()
			if _, ok := expiry[t]; !ok {
				times = append(times, t)
			}
			expiry[t] = append(expiry[t], ss.ID)
		}
		if len(ss.Ephemerals) > 0 {
			eph = append(eph, Field{strconv.FormatInt(ss.ID, 10), ss.Ephemerals})
		}
	}
	slices.Sort(times)
	var exp Object
	for _, t := range times {
		ids := expiry[t]
		slices.Sort(ids)
		exp = append(exp, Field{strconv.FormatInt(t, 10), ids})
	}
	r := c.reply()
	r.data.Put("expiry_time_to_session_ids", nonNilObject(exp))
	r.data.Put("session_id_to_ephemeral_paths", nonNilObject(eph))
	return r
}

func nonNilObject(o Object) Object {
	if o == nil {
		return Object{}
	}
	return o
}

func cmdEnvironment(c *call) *response {
	r := c.reply()
	for _, kv := range c.s.src.Env() {
		r.data.Put(kv.Key, kv.Value)
	}
	return r
}

func cmdGetTraceMask(c *call) *response {
	r := c.reply()
	r.data.Put("tracemask", c.s.traceMask.Load())
	return r
}

// cmdSetTraceMask stores the mask so get_trace_mask returns it, as ZooKeeper
// does; zkd has no trace logging for it to switch.
func cmdSetTraceMask(c *call) *response {
	r := c.reply()
	if !c.args.Has("traceMask") {
		r.data.Put("error", "setTraceMask requires long traceMask argument")
		return r
	}
	v := c.args.Get("traceMask")
	mask, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		r.data.Put("error", "setTraceMask requires long traceMask argument, got "+v)
		return r
	}
	c.s.traceMask.Store(mask)
	r.data.Put("tracemask", mask)
	return r
}

func cmdInitialConfiguration(c *call) *response {
	r := c.reply()
	if text, ok := c.s.src.InitialConfig(); ok {
		r.data.Put("initial_configuration", text)
	} else {
		r.data.Put("initial_configuration", nil)
	}
	return r
}

func cmdIsReadOnly(c *call) *response {
	r := c.reply()
	r.data.Put("read_only", c.s.src.ReadOnly())
	return r
}

func cmdLastSnapshot(c *call) *response {
	r := c.reply()
	info, ok := c.s.src.LastSnapshot()
	if !ok {
		// ZooKeeper's answer when it has no snapshot information.
		r.data.Put("zxid", strconv.FormatUint(uint64(0xffffffffffffffff), 16))
		r.data.Put("timestamp", int64(-1))
		return r
	}
	r.data.Put("zxid", strconv.FormatUint(uint64(info.Zxid), 16))
	r.data.Put("timestamp", info.Time.Unix())
	return r
}

func cmdLeader(c *call) *response {
	r := c.reply()
	e := c.s.src.Ensemble()
	if e.Standalone {
		r.data.Put("error", "server is not initialized")
		return r
	}
	r.data.Put("is_leader", e.IsLeader)
	leaderID, leaderIP := int64(-1), ""
	if e.LeaderID != 0 {
		leaderID = int64(e.LeaderID)
		for _, m := range e.Members {
			if m.ID == e.LeaderID {
				leaderIP = m.Host
			}
		}
	}
	r.data.Put("leader_id", leaderID)
	r.data.Put("leader_ip", leaderIP)
	return r
}

// cmdMonitor is mntr as JSON: the four-letter word's keys without "zk_",
// numbers as numbers, in mntr's order.
func cmdMonitor(c *call) *response {
	var b strings.Builder
	if err := fourlw.Run("mntr", func(string) bool { return true }, c.s.src, &b); err != nil {
		return c.fail(http.StatusInternalServerError, err.Error())
	}
	r := c.reply()
	for _, line := range strings.Split(b.String(), "\n") {
		k, v, ok := strings.Cut(line, "\t")
		if !ok || !strings.HasPrefix(k, "zk_") {
			continue
		}
		if isJSONNumber(v) {
			r.data.Put(k[3:], json.Number(v))
		} else {
			r.data.Put(k[3:], v)
		}
	}
	if len(r.data) == 0 {
		// mntr printed a refusal (not serving) instead of metrics.
		return c.fail(http.StatusOK, strings.TrimSpace(b.String()))
	}
	return r
}

func cmdObservers(c *call) *response {
	r := c.reply()
	e := c.s.src.Ensemble()
	if !e.IsLeader {
		r.data.Put("synced_observers", 0)
		r.data.Put("observers", []Object{})
		return r
	}
	synced := 0
	list := make([]Object, 0, len(e.Observers))
	for _, o := range e.Observers {
		if o.Synced {
			synced++
		}
		// ZooKeeper's LearnerHandler info has the learner's socket and
		// queue counters, which raft replication does not have; zkd shows
		// what it knows.
		list = append(list, Object{{"sid", o.ID}, {"active", o.Active}, {"synced", o.Synced}, {"match_index", o.Match}})
	}
	r.data.Put("synced_observers", synced)
	r.data.Put("observers", list)
	return r
}

// cmdSystemProperties has no Java system properties to list; it lists the
// same environment facts envi reports (under their Java names), sorted, as
// ZooKeeper sorts its properties.
func cmdSystemProperties(c *call) *response {
	props := map[string]string{
		"file.separator": string(os.PathSeparator),
		"line.separator": "\n",
		"path.separator": string(os.PathListSeparator),
		"os.arch":        runtime.GOARCH,
	}
	for _, kv := range c.s.src.Env() {
		if !strings.HasPrefix(kv.Key, "os.memory.") {
			props[kv.Key] = kv.Value
		}
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	r := c.reply()
	for _, k := range keys {
		r.data.Put(k, props[k])
	}
	return r
}

func cmdWatches(c *call) *response {
	wl, ok := c.s.src.(fourlw.WatchLister)
	if !ok {
		return c.fail(http.StatusOK, "watches is not supported by this server")
	}
	var o Object
	ws, omitted := wl.WatchesBySession(fourlw.DefaultWatchLimit)
	for _, sw := range ws {
		o = append(o, Field{strconv.FormatInt(sw.SessionID, 10), nonNilStrings(sw.Paths)})
	}
	r := c.reply()
	r.data.Put("session_id_to_watched_paths", nonNilObject(o))
	putTruncated(r, omitted)
	return r
}

// putTruncated adds zkd's "truncated" and "omitted_watches" fields to a
// watch listing cut short by fourlw.DefaultWatchLimit (omitted < 0: the
// number left out is unknown). A complete listing has ZooKeeper's shape
// exactly.
func putTruncated(r *response, omitted int) {
	if omitted == 0 {
		return
	}
	r.data.Put("truncated", true)
	if omitted > 0 {
		r.data.Put("omitted_watches", omitted)
	}
	r.data.Put("max_listed_watches", fourlw.DefaultWatchLimit.Watches)
}

func cmdWatchesByPath(c *call) *response {
	wl, ok := c.s.src.(fourlw.WatchLister)
	if !ok {
		return c.fail(http.StatusOK, "watches_by_path is not supported by this server")
	}
	var o Object
	ws, omitted := wl.WatchesByPath(fourlw.DefaultWatchLimit)
	for _, pw := range ws {
		ids := pw.SessionIDs
		if ids == nil {
			ids = []int64{}
		}
		o = append(o, Field{pw.Path, ids})
	}
	r := c.reply()
	r.data.Put("path_to_session_ids", nonNilObject(o))
	putTruncated(r, omitted)
	return r
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func cmdWatchSummary(c *call) *response {
	st := c.stats()
	r := c.reply()
	r.data.Put("num_connections", st.WatchConnections)
	r.data.Put("num_paths", st.WatchPaths)
	r.data.Put("num_total_watches", st.DataWatches)
	return r
}

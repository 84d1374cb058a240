package server

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/zkd-io/zkd/internal/fourlw"
	"github.com/zkd-io/zkd/proto"
)

// BuildTime is when this binary was built; srvr and stat print it.
var BuildTime = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// maybeFourLetterWord answers a four-letter word if the connection starts
// with one. ZooKeeper tells them apart from a connect request by the first
// four bytes, which would otherwise be the frame length.
func (c *conn) maybeFourLetterWord(br *bufio.Reader) bool {
	head, err := br.Peek(4)
	if err != nil {
		return false
	}
	cmd, ok := fourlw.IsCommand(head)
	if !ok {
		return false
	}
	bw := bufio.NewWriter(c.nc)
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	// adminSource also backs srst, crst, wchc, wchp and hash, and lets
	// the commands that print nothing from Stats skip building it.
	if err := fourlw.Run(cmd, c.s.fourLetterAllowed, adminSource{c.s}, bw); err != nil {
		c.s.log.Warn("four letter word failed", "cmd", cmd, "remote", c.remote, "err", err)
	}
	bw.Flush()
	return true
}

func (s *Server) fourLetterAllowed(cmd string) bool {
	return s.opts.FourLetterWordEnabled(cmd)
}

// Stats implements fourlw.Source.
func (s *Server) Stats() fourlw.Stats {
	minMs, avgMs, maxMs := s.stats.requestLatency()
	s.mu.RLock()
	t := s.fsm.Tree()
	nodes := t.Len()
	dataSize := t.DataBytes()
	ephemerals := 0
	for _, id := range t.EphemeralSessions() {
		ephemerals += len(t.Ephemerals(id))
	}
	zxid := s.fsm.LastZxid()
	digest := s.fsm.Digest()
	sessions := len(s.fsm.Sessions())
	s.mu.RUnlock()
	ws := s.watches.Summary()
	st := fourlw.Stats{
		Version:          Version,
		Built:            BuildTime,
		Mode:             "standalone",
		MinLatency:       minMs,
		AvgLatency:       avgMs,
		MaxLatency:       maxMs,
		Received:         s.stats.received.Load(),
		Sent:             s.stats.sent.Load(),
		Connections:      int(s.stats.connections.Load()),
		Outstanding:      s.stats.outstanding.Load(),
		Zxid:             zxid,
		NodeCount:        nodes + 1, // ZooKeeper counts the root twice ("" and "/"); tools compare against it
		Watches:          ws.Watches,
		WatchConnections: ws.DataConnections,
		WatchPaths:       ws.DataPaths,
		DataWatches:      ws.DataWatches,
		Ephemerals:       ephemerals,
		ApproxDataSize:   dataSize,
		GlobalSessions:   sessions,
		OpenFDs:          openFDs(),
		MaxFDs:           maxFDs(),
		Uptime:           time.Since(s.started),
		DataDirSize:      dirSize(s.opts.DataDir),
		LogDirSize:       dirSize(s.opts.DataLogDir),
		PendingSyncs:     int(s.stats.pendingSyncs.Load()),
		Counters: map[string]int64{
			"session_expired": s.stats.expired.Load(),
			// zkd's own: equal on servers that applied the same log.
			"tree_digest": int64(digest),
		},
	}
	if f := s.fault.Load(); f != nil {
		st.Fault = *f
	}
	ns := s.node.Stats()
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	st.Summaries = map[string]fourlw.Summary{
		// ZooKeeper's fsynctime: one sample per synced log append.
		"fsynctime":     {Count: int64(ns.WALSyncs), Sum: ms(ns.WALSyncTotal), Max: ms(ns.WALSyncMax)},
		"readlatency":   s.stats.readLat.summary(),
		"updatelatency": s.stats.updateLat.summary(),
	}
	st.Counters["fsync_count"] = int64(ns.Fsyncs)
	// Syncs above fsync.warningthresholdms, each also logged.
	st.Counters["fsync_threshold_exceed_count"] = int64(ns.SlowSyncs)
	st.Counters["snap_count"] = int64(ns.Snapshots)
	st.Counters["raft_applied_index"] = int64(ns.AppliedIndex)
	st.Counters["raft_term"] = int64(s.node.Status().Term)
	s.ensembleStats(&st)
	return st
}

// ensembleStats fills the role and the leader's view of its followers.
func (s *Server) ensembleStats(st *fourlw.Stats) {
	if s.transport == nil {
		return
	}
	rs := s.node.Status()
	st.Mode = rs.Role
	if st.Mode != "leader" && st.Mode != "follower" && st.Mode != "observer" || !s.serving.Load() {
		// Electing: ZooKeeper answers "not currently serving requests".
		st.NotServing = true
		st.Mode = "follower"
	}
	if st.Mode == "observer" {
		st.ObserverMasterID = int64(rs.Leader)
	}
	voters, _ := s.node.Members()
	st.QuorumSize = len(voters)
	if !rs.IsLeader {
		return
	}
	st.LeaderUptime = time.Since(time.Unix(0, s.leaderSince.Load()))
	for _, p := range s.node.Progress() {
		if p.ID == s.id || !p.Active {
			continue
		}
		st.Followers++
		switch {
		case !p.Synced:
		case p.Learner:
			st.SyncedObservers++
		default:
			st.SyncedFollowers++
		}
	}
}

// Conns implements fourlw.Source.
func (s *Server) Conns() []fourlw.ConnInfo {
	cs := s.openConns()
	sort.Slice(cs, func(i, j int) bool { return cs[i].since.Before(cs[j].since) })
	out := make([]fourlw.ConnInfo, 0, len(cs))
	for _, c := range cs {
		minMs, avgMs, maxMs, lastMs, _ := c.lat.snapshot()
		out = append(out, fourlw.ConnInfo{
			Remote: c.remote, InterestOps: 1, Received: c.received.Load(), Sent: c.sent.Load(),
			SessionID: c.session.Load(), LastOp: fourlw.LastOpName(c.lastOp.Load()), LastZxid: c.lastZxid.Load(), LastCxid: c.lastCxid.Load(),
			Timeout: int(c.timeout / time.Millisecond), LastLatency: lastMs,
			MinLatency: minMs, AvgLatency: int64(avgMs), MaxLatency: maxMs, Established: c.since,
		})
	}
	return out
}

// noteRequest records a request being answered, as ZooKeeper's
// FinalRequestProcessor does for every request, pings included (their xid
// is negative, so cons then omits lcxid, as ZooKeeper's does). Opcodes
// ZooKeeper gives no name (auth, sasl) keep the previous name. Only the
// goroutine holding the connection.s procMu calls it.
func (c *conn) noteRequest(op proto.OpCode, xid int32) {
	if fourlw.LastOpName(int32(op)) != "" {
		c.lastOp.Store(int32(op))
	}
	c.lastCxid.Store(int64(xid))
}

// Conf implements fourlw.Source.
func (s *Server) Conf() []fourlw.KV {
	o := s.opts
	ms := func(d time.Duration) int { return int(d.Milliseconds()) }
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	conf := fourlw.ServerConf{
		ClientPort: o.ClientPort, SecureClientPort: -1,
		DataDir: abs(o.DataDir), DataDirSize: dirSize(o.DataDir),
		DataLogDir: abs(o.DataLogDir), DataLogSize: dirSize(o.DataLogDir),
		TickTime: ms(o.TickTime), MaxClientCnxns: o.MaxClientCnxns,
		MinSessionTimeout: ms(o.MinSessionTimeout), MaxSessionTimeout: ms(o.MaxSessionTimeout),
		ClientPortListenBacklog: -1, ServerID: int64(s.id),
	}
	if !o.Standalone() {
		self, _ := o.Self()
		q := &fourlw.QuorumConf{
			InitLimit: o.InitLimit, SyncLimit: o.SyncLimit, ElectionAlg: 3,
			ElectionPort: self.ElectionPort, QuorumPort: self.QuorumPort,
		}
		if self.Observer {
			q.PeerType = 1
		}
		for _, sv := range o.Servers {
			q.Members = append(q.Members, memberOf(sv))
		}
		conf.Quorum = q
	}
	return conf.KVs()
}

// Env implements fourlw.Source.
func (s *Server) Env() []fourlw.KV { return fourlw.DefaultEnv(Version, BuildTime) }

// ReadOnly implements fourlw.Source.
func (s *Server) ReadOnly() bool { return false }

func openFDs() int64 {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return int64(len(ents))
}

func dirSize(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return total
}

// Dump implements fourlw.Dumper: the session tracker's deadlines, the
// ephemerals of every session, and the client connections (a connection
// expires with its session; one still in its handshake, now).
func (s *Server) Dump() fourlw.DumpInfo {
	deadlines := s.tracker.Deadlines()
	d := fourlw.DumpInfo{TickTime: s.opts.TickTime, Sessions: deadlines, Ephemerals: map[int64][]string{}}
	s.mu.RLock()
	t := s.fsm.Tree()
	for _, id := range t.EphemeralSessions() {
		d.Ephemerals[id] = t.Ephemerals(id)
	}
	s.mu.RUnlock()
	now := time.Now()
	for _, c := range s.openConns() {
		id := c.session.Load()
		at, ok := deadlines[id]
		if !ok {
			at = now
		}
		d.Conns = append(d.Conns, fourlw.DumpConn{Remote: c.remote, Session: id, Expiry: at})
	}
	return d
}

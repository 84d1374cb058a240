package server

import (
	"cmp"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/zkd-io/zkd/internal/admin"
	"github.com/zkd-io/zkd/internal/fourlw"
	"github.com/zkd-io/zkd/internal/fsm"
	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/internal/storage"
	"github.com/zkd-io/zkd/internal/watch"
	"github.com/zkd-io/zkd/proto"
)

// adminState is a running server's admin endpoints.
type adminState struct {
	srv                    *admin.Server
	adminAddr, metricsAddr net.Addr
}

// startAdmin starts the AdminServer (admin.enableServer, on
// admin.serverAddress:admin.serverPort) and the Prometheus endpoint
// (metricsProvider.httpPort). Both serve /healthz and /readyz. When the two
// ports coincide one listener serves everything. The metrics endpoint binds
// to admin.serverAddress too: zkd has no metricsProvider.httpHost, and an
// operator who keeps the admin server on loopback means the same for
// metrics. Call it once the raft node is running.
func (s *Server) startAdmin() error {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	if s.admin != nil {
		return nil
	}
	o := s.opts
	cfg := admin.DefaultConfig()
	cfg.SnapshotEnabled, cfg.RestoreEnabled, cfg.RateLimit = o.AdminSnapshotEnabled, o.AdminRestoreEnabled, o.AdminRateLimit
	cfg.TempDir = o.DataDir
	cfg.MaxRestoreBytes = fsm.MaxRestoreBytes
	// A download cut short by a crash leaves its temporary copy behind.
	if stale, err := filepath.Glob(filepath.Join(o.DataDir, admin.SnapshotTempPattern)); err == nil {
		for _, f := range stale {
			os.Remove(f)
		}
	}
	cfg.Logger = s.log.With("component", "admin")
	a := admin.New(cfg, adminSource{s})
	st := &adminState{srv: a}
	host := o.AdminServerAddress
	adminAddr := net.JoinHostPort(host, strconv.Itoa(o.AdminServerPort))
	metricsAddr := net.JoinHostPort(host, strconv.Itoa(o.MetricsHTTPPort))
	fail := func(err error) error {
		a.Close()
		return err
	}
	if o.AdminEnableServer && o.AdminServerPort != 0 && o.AdminServerPort == o.MetricsHTTPPort {
		ln, err := net.Listen("tcp", adminAddr)
		if err != nil {
			return fail(fmt.Errorf("admin server and metrics (admin.serverAddress=%s, admin.serverPort=%d, metricsProvider.httpPort=%d): %w",
				host, o.AdminServerPort, o.MetricsHTTPPort, err))
		}
		a.Serve(ln, a.Handler())
		st.adminAddr, st.metricsAddr = ln.Addr(), ln.Addr()
	} else {
		if o.AdminEnableServer {
			ln, err := net.Listen("tcp", adminAddr)
			if err != nil {
				return fail(fmt.Errorf("admin server (admin.serverAddress=%s, admin.serverPort=%d): %w", host, o.AdminServerPort, err))
			}
			a.Serve(ln, a.AdminHandler())
			st.adminAddr = ln.Addr()
		}
		ln, err := net.Listen("tcp", metricsAddr)
		if err != nil {
			return fail(fmt.Errorf("metrics (admin.serverAddress=%s, metricsProvider.httpPort=%d): %w", host, o.MetricsHTTPPort, err))
		}
		a.Serve(ln, a.MetricsHandler())
		st.metricsAddr = ln.Addr()
	}
	s.admin = st
	if st.adminAddr != nil {
		s.log.Info("admin server listening", "addr", st.adminAddr.String(), "url", "http://"+st.adminAddr.String()+"/commands")
	}
	s.log.Info("metrics listening", "addr", st.metricsAddr.String(), "url", "http://"+st.metricsAddr.String()+"/metrics")
	return nil
}

// stopAdmin stops the admin and metrics endpoints and waits for their
// goroutines. It is safe to call when they are not running.
func (s *Server) stopAdmin() {
	s.adminMu.Lock()
	st := s.admin
	s.admin = nil
	s.adminMu.Unlock()
	if st == nil {
		return
	}
	if err := st.srv.Close(); err != nil {
		s.log.Warn("stopping the admin server", "err", err)
	}
}

// adminAddr is the AdminServer's bound address, nil when it is off.
func (s *Server) adminAddr() net.Addr {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	if s.admin != nil {
		return s.admin.adminAddr
	}
	return nil
}

// metricsAddr is the metrics endpoint's bound address, nil when stopped.
func (s *Server) metricsAddr() net.Addr {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	if s.admin != nil {
		return s.admin.metricsAddr
	}
	return nil
}

// adminSource is what the admin package reads. It wraps the Server rather
// than adding methods to it so that its Snapshot and Restore (admin's) do
// not collide with the raft state machine's.
type adminSource struct{ s *Server }

var (
	_ admin.Source             = adminSource{}
	_ admin.Snapshotter        = adminSource{}
	_ fourlw.StatsResetter     = adminSource{}
	_ fourlw.ConnStatsResetter = adminSource{}
	_ fourlw.WatchLister       = adminSource{}
	_ fourlw.Digester          = adminSource{}
	_ fourlw.ServingReporter   = adminSource{}
)

func (a adminSource) Stats() fourlw.Stats            { return a.s.Stats() }
func (a adminSource) Conns() []fourlw.ConnInfo       { return a.s.Conns() }
func (a adminSource) Conf() []fourlw.KV              { return a.s.Conf() }
func (a adminSource) Env() []fourlw.KV               { return a.s.Env() }
func (a adminSource) ReadOnly() bool                 { return a.s.ReadOnly() }
func (a adminSource) DigestLog() []fourlw.ZxidDigest { return a.s.DigestLog() }
func (a adminSource) Dump() fourlw.DumpInfo          { return a.s.Dump() }

// InitialConfig: the server does not keep its configuration file's text.
func (a adminSource) InitialConfig() (string, bool) { return "", false }

// adminServing is Stats' NotServing, without the rest of Stats.
func (s *Server) adminServing() bool {
	if s.node == nil || !s.serving.Load() {
		return false
	}
	var st fourlw.Stats
	s.ensembleStats(&st)
	return !st.NotServing
}

func (a adminSource) Health() admin.Health {
	s := a.s
	h := admin.Health{Serving: s.adminServing()}
	if s.node != nil {
		h.LeaderID = s.node.Status().Leader
	}
	if f := s.fault.Load(); f != nil {
		h.Fault = *f
	}
	return h
}

func (a adminSource) Raft() admin.Raft {
	s := a.s
	if s.node == nil {
		return admin.Raft{}
	}
	rs, ns := s.node.Status(), s.node.Stats()
	return admin.Raft{
		Term: rs.Term, LeaderID: rs.Leader, AppliedIndex: ns.AppliedIndex,
		WALSyncs: ns.WALSyncs, Fsyncs: ns.Fsyncs, Snapshots: ns.Snapshots, LastWALSync: ns.LastWALSync,
	}
}

func (a adminSource) Ensemble() admin.Ensemble {
	s := a.s
	o := s.opts
	e := admin.Ensemble{Standalone: o.Standalone(), MyID: s.id, Serving: s.adminServing(), Voting: true}
	s.mu.RLock()
	e.LastZxid = s.fsm.LastZxid()
	s.mu.RUnlock()
	if s.ln != nil {
		host := o.ClientPortAddress
		if host == "" {
			host = "0.0.0.0"
		}
		e.ClientAddress = net.JoinHostPort(host, strconv.Itoa(s.ln.Addr().(*net.TCPAddr).Port))
	}
	if e.Standalone || s.node == nil {
		return e
	}
	rs := s.node.Status()
	e.LeaderID, e.IsLeader = rs.Leader, rs.IsLeader
	if self, ok := o.Self(); ok {
		e.Voting = !self.Observer
	}
	for _, sv := range o.Servers {
		m := admin.Member{ID: sv.ID, Host: sv.Host, QuorumPort: sv.QuorumPort, ElectionPort: sv.ElectionPort, Observer: sv.Observer}
		if sv.ClientPort != 0 {
			addr := sv.ClientAddr
			if addr == "" {
				addr = "0.0.0.0"
			}
			m.ClientAddress = net.JoinHostPort(addr, strconv.Itoa(sv.ClientPort))
		}
		e.Members = append(e.Members, m)
	}
	if rs.IsLeader {
		for _, p := range s.node.Progress() {
			if p.Learner {
				e.Observers = append(e.Observers, admin.Observer{ID: p.ID, Active: p.Active, Synced: p.Synced, Match: p.Match})
			}
		}
		slices.SortFunc(e.Observers, func(x, y admin.Observer) int { return cmp.Compare(x.ID, y.ID) })
	}
	return e
}

// Sessions lists the sessions this server tracks or that own ephemeral
// nodes, from the same data as the dump four-letter word: each tracked
// session's deadline is its Expiry.
func (a adminSource) Sessions() []admin.Session {
	d := a.s.Dump()
	ids := make([]int64, 0, len(d.Sessions))
	for id := range d.Sessions {
		ids = append(ids, id)
	}
	for id := range d.Ephemerals {
		if _, tracked := d.Sessions[id]; !tracked {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([]admin.Session, 0, len(ids))
	for _, id := range ids {
		out = append(out, admin.Session{ID: id, Expiry: d.Sessions[id], Ephemerals: d.Ephemerals[id]})
	}
	return out
}

// Authorized applies ZooKeeper's checkACL for ALL on "/": as in ZooKeeper,
// an ACL entry granting any of the requested bits to one of ids passes.
func (a adminSource) Authorized(ids []proto.ID) bool {
	s := a.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	var acl []proto.ACL
	if root := s.fsm.Tree().Get("/"); root != nil {
		acl = root.ACL()
	}
	return s.fsm.Checker().Allowed(acl, proto.PermAll, ids)
}

// fsmSnapshotMagic is the first string of internal/fsm's snapshot stream;
// LastSnapshot reads only that header, not the whole file.
const fsmSnapshotMagic = "zkd-fsm-snapshot"

// LastSnapshot reads the zxid from the header of the newest snapshot file.
// The snapshot directory is the one Start gives raftnode.
func (a adminSource) LastSnapshot() (admin.SnapshotInfo, bool) {
	files, err := storage.ListSnapshotFiles(filepath.Join(a.s.opts.DataDir, "snap"))
	if err != nil {
		return admin.SnapshotInfo{}, false
	}
	for i := len(files) - 1; i >= 0; i-- {
		if files[i].State != storage.SnapshotCurrent {
			continue
		}
		if info, ok := snapshotInfo(files[i].Path); ok {
			return info, true
		}
	}
	return admin.SnapshotInfo{}, false
}

func snapshotInfo(path string) (admin.SnapshotInfo, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return admin.SnapshotInfo{}, false
	}
	r, err := storage.OpenSnapshotFile(path)
	if err != nil {
		return admin.SnapshotInfo{}, false
	}
	defer r.Close()
	frame, err := jute.ReadFrame(r, nil, 1<<16)
	if err != nil {
		return admin.SnapshotInfo{}, false
	}
	jr := jute.NewReader(frame)
	magic := jr.String()
	jr.Int() // version
	epoch, counter := jr.Long(), jr.Long()
	if jr.Err() != nil || magic != fsmSnapshotMagic {
		return admin.SnapshotInfo{}, false
	}
	return admin.SnapshotInfo{Zxid: epoch<<32 | counter, Time: fi.ModTime()}, true
}

// Snapshot captures the state under the read lock: fsm.Snapshot is a
// copy-on-write capture, so the lock is held only for O(sessions).
func (a adminSource) Snapshot() (int64, func(io.Writer) error, error) {
	s := a.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.fsm.LastZxid(), s.fsm.Snapshot(), nil
}

// CanRestore refuses while a restore entry could not be committed: after
// a persistence failure, or on an ensemble member without a leader.
func (a adminSource) CanRestore() error {
	s := a.s
	if f := s.fault.Load(); f != nil {
		return fmt.Errorf("%w: %s", admin.ErrUnavailable, *f)
	}
	if s.node == nil || !s.serving.Load() {
		return fmt.Errorf("%w: this server has no leader, and a restore must be committed by a quorum", admin.ErrUnavailable)
	}
	return nil
}

// Restore replaces the replicated state with a snapshot, as one log entry
// (fsm.OpRestore) so that every member applies it at the same point of the
// log and a restart replays it. It reads at most fsm.MaxRestoreBytes,
// checks the snapshot exactly as applying it will (so a bad one is refused
// here, with its reason, rather than logged and refused by every member),
// proposes it, and waits until this server has applied it. Applying it
// (afterApply) rebuilds the session tracker and closes every client
// connection, on every member. The zxid returned is the restore entry's,
// the server's last zxid once it returns; the restored nodes keep their
// own zxids.
func (a adminSource) Restore(r io.Reader) (int64, error) {
	s := a.s
	if err := a.CanRestore(); err != nil {
		return 0, err
	}
	body, err := io.ReadAll(io.LimitReader(r, fsm.MaxRestoreBytes+1))
	if err != nil {
		return 0, fmt.Errorf("reading the snapshot: %w", err)
	}
	if len(body) > fsm.MaxRestoreBytes {
		return 0, fmt.Errorf("%w: the snapshot is over %d bytes (63 MiB), the most one replicated log entry carries", admin.ErrTooLarge, fsm.MaxRestoreBytes)
	}
	if err := fsm.CheckRestore(s.fsmOptions(), body); err != nil {
		return 0, fmt.Errorf("%w: %v", admin.ErrBadSnapshot, err)
	}
	zxid, digest, _ := fsm.PeekSnapshot(body)
	s.log.Warn("admin restore: proposing to replace the state", "bytes", len(body),
		"snapshotZxid", hexID(zxid), "snapshotDigest", fmt.Sprintf("0x%x", digest))
	type outcome struct {
		res fsm.Result
		ok  bool
	}
	done := make(chan outcome, 1)
	s.propose(&fsm.Entry{Op: fsm.OpRestore, Body: body}, func(res fsm.Result, ok bool) { done <- outcome{res, ok} })
	var o outcome
	select {
	case o = <-done:
	case <-s.quit:
		return 0, fmt.Errorf("%w: the server is stopping; the restore may or may not have been applied", admin.ErrUnavailable)
	}
	switch {
	case !o.ok:
		return 0, fmt.Errorf("%w: the outcome of the restore is unknown (a leader change, a persistence failure or a timeout "+
			"while it was being committed); check last_zxid and the tree digest before trying again", admin.ErrUnavailable)
	case o.res.Err != proto.ErrOK:
		return 0, fmt.Errorf("%w: refused when applied at zxid %s: %s", admin.ErrBadSnapshot, hexID(o.res.Zxid), o.res.Reason)
	}
	return o.res.Zxid, nil
}

// ResetStats is srst, for the four-letter word and the admin command alike.
func (a adminSource) ResetStats() {
	a.s.stats.received.Store(0)
	a.s.stats.sent.Store(0)
	// ZooKeeper's ServerStats.reset also resets every ServerMetrics
	// summary, readlatency and updatelatency among them.
	a.s.stats.readLat.reset()
	a.s.stats.updateLat.reset()
}

// ResetConnStats is crst: every connection's packet counts and latencies.
func (a adminSource) ResetConnStats() {
	for _, c := range a.s.openConns() {
		c.received.Store(0)
		c.sent.Store(0)
		c.lat.reset()
	}
}

// WatchesBySession is wchc: the data watches (getData, exists) of each
// session, as ZooKeeper's DataTree.getWatches reports them, sessions in id
// order, at most lim of them (see fourlw.WatchLister).
//
// It never takes the server's state lock, and holds the watch registry's
// lock only per connection (to copy its paths) and per path (to check the
// kind), so applying entries and firing watches go on between those steps.
// It stops as soon as the limit is reached: the cost is bounded by lim
// plus the paths of the connection being listed when the limit is hit.
func (a adminSource) WatchesBySession(lim fourlw.WatchLimit) ([]fourlw.SessionWatches, int) {
	s := a.s
	conns := s.openConns()
	slices.SortFunc(conns, func(x, y *conn) int { return cmp.Compare(x.session.Load(), y.session.Load()) })
	var out []fourlw.SessionWatches
	listed, bytes, full := 0, 0, false
	for _, c := range conns {
		id := c.session.Load()
		if id == 0 {
			continue
		}
		var paths []string
		for _, p := range s.watches.PathsOf(c) {
			if !s.watches.Has(p, c, watch.Data) {
				continue
			}
			if listed >= lim.Watches || bytes+len(p) > lim.Bytes {
				full = true
				break
			}
			paths = append(paths, p)
			listed++
			bytes += len(p) + 2 // the tab and the newline wchc prints
		}
		if len(paths) > 0 {
			out = append(out, fourlw.SessionWatches{SessionID: id, Paths: paths})
		}
		if full {
			break
		}
	}
	omitted := 0
	if full {
		// At least the watch that did not fit. The registry may have
		// changed meanwhile; an estimate is enough for an operator, and
		// counting is much cheaper than listing.
		omitted = max(s.watches.Summary().DataWatches-listed, 1)
	}
	return out, omitted
}

// WatchesByPath is wchp: WatchesBySession inverted, by path, within the
// same bound. A path's session list may be incomplete when the listing was
// cut; the closing line says how much is missing.
func (a adminSource) WatchesByPath(lim fourlw.WatchLimit) ([]fourlw.PathWatches, int) {
	bySession, omitted := a.WatchesBySession(lim)
	byPath := map[string][]int64{}
	for _, sw := range bySession {
		for _, p := range sw.Paths {
			byPath[p] = append(byPath[p], sw.SessionID)
		}
	}
	out := make([]fourlw.PathWatches, 0, len(byPath))
	for p, ids := range byPath {
		out = append(out, fourlw.PathWatches{Path: p, SessionIDs: ids})
	}
	slices.SortFunc(out, func(x, y fourlw.PathWatches) int { return cmp.Compare(x.Path, y.Path) })
	return out, omitted
}

// Serving implements fourlw.ServingReporter: the four-letter words that
// print nothing from Stats skip building it.
func (a adminSource) Serving() bool { return a.s.adminServing() }

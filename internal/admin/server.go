package admin

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config is the admin server's behaviour. DefaultConfig holds ZooKeeper
// 3.9's defaults.
type Config struct {
	// SnapshotEnabled and RestoreEnabled turn the snapshot and restore
	// commands on (ZooKeeper's admin.snapshot.enabled and
	// admin.restore.enabled, default true).
	SnapshotEnabled, RestoreEnabled bool
	// RateLimit admits one snapshot and one restore per interval
	// (admin.rateLimiterIntervalInMS, default 5 minutes); 0 turns the
	// limit off.
	RateLimit time.Duration
	// MaxRestoreBytes, when > 0, refuses a restore whose Content-Length
	// says it is larger (413) before the body is read or the rate limit
	// is charged. The Snapshotter still enforces its own limit on the
	// bytes it reads, which is what counts without a Content-Length.
	MaxRestoreBytes int64
	// TempDir holds a snapshot while it is being sent; "" is the
	// system's temporary directory.
	TempDir string
	// Logger receives request failures; nil is slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns ZooKeeper 3.9's defaults.
func DefaultConfig() Config {
	return Config{SnapshotEnabled: true, RestoreEnabled: true, RateLimit: 5 * time.Minute}
}

// Server serves the admin endpoints for one zkd server. Create it with
// New, hand it listeners with Serve, and stop it with Close.
type Server struct {
	cfg Config
	src Source
	log *slog.Logger
	reg *prometheus.Registry

	traceMask            atomic.Int64
	snapLimit, restLimit rateLimiter

	mu      sync.Mutex
	servers []*http.Server
	closed  bool
	wg      sync.WaitGroup
}

// New returns an admin server reading src.
func New(cfg Config, src Source) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	s := &Server{cfg: cfg, src: src, log: cfg.Logger}
	s.traceMask.Store(defaultTraceMask)
	s.snapLimit = rateLimiter{interval: cfg.RateLimit, now: time.Now}
	s.restLimit = rateLimiter{interval: cfg.RateLimit, now: time.Now}
	s.reg = newRegistry(src)
	return s
}

// AdminHandler serves /commands, /commands/<name>, /healthz and /readyz:
// what the admin.serverPort listener serves.
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/commands", s.serveCommand)
	mux.HandleFunc("/commands/", s.serveCommand)
	s.health(mux)
	return mux
}

// MetricsHandler serves /metrics, /healthz and /readyz: what the
// metricsProvider.httpPort listener serves.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", metricsHandler(s.reg, s.log))
	s.health(mux)
	return mux
}

// Handler serves everything, for a single listener shared by both.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/commands", s.serveCommand)
	mux.HandleFunc("/commands/", s.serveCommand)
	mux.Handle("/metrics", metricsHandler(s.reg, s.log))
	s.health(mux)
	return mux
}

func (s *Server) health(mux *http.ServeMux) {
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		// The process is up and answering HTTP: nothing else is promised.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if reason := notReady(s.src.Health()); reason != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready: "+reason)
			return
		}
		fmt.Fprintln(w, "ok")
	})
}

// notReady says why the server should not receive client traffic: it has
// no quorum, knows no leader, or refuses writes after a storage failure.
func notReady(h Health) string {
	switch {
	case !h.Serving:
		return "not serving clients (no quorum)"
	case h.LeaderID == 0:
		return "no leader known"
	case h.Fault != "":
		return h.Fault
	}
	return ""
}

// Serve serves h on ln in a new goroutine until Close. Use AdminHandler,
// MetricsHandler or Handler for h.
func (s *Server) Serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// ZooKeeper's admin.idleTimeout default.
		IdleTimeout: 30 * time.Second,
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		ln.Close()
		return
	}
	s.servers = append(s.servers, srv)
	s.wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin HTTP server stopped", "addr", ln.Addr().String(), "err", err)
		}
	})
}

// Close stops every listener, gives requests in flight a moment to finish
// (a snapshot download may not), and waits for the serving goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	servers := s.servers
	s.servers = nil
	s.mu.Unlock()
	var errs []error
	for _, srv := range servers {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, srv.Close())
		}
		cancel()
	}
	s.wg.Wait()
	return errors.Join(errs...)
}

// serveCommand runs /commands/<name> the way ZooKeeper's CommandServlet and
// Commands.runCommand do.
func (s *Server) serveCommand(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/commands"), "/")
	if r.Method == http.MethodTrace {
		// ZooKeeper's Jetty refuses TRACE too.
		http.Error(w, "TRACE is not allowed", http.StatusMethodNotAllowed)
		return
	}
	if name == "" {
		s.listCommands(w)
		return
	}
	cmd := lookupCommand(name)
	if cmd == nil {
		// ZooKeeper echoes the name it was given.
		writeJSON(w, &response{command: name, err: "Unknown command: " + name, status: http.StatusOK})
		return
	}
	c := &call{s: s, cmd: cmd, args: r.URL.Query(), req: r, w: w}
	if res := s.precheck(c, name); res != nil {
		writeJSON(w, res)
		return
	}
	res := cmd.run(c)
	if !res.streamed {
		writeJSON(w, res)
	}
}

// precheck refuses a call before the command runs: wrong method, server
// not serving, or missing authentication or authorisation.
func (s *Server) precheck(c *call, name string) *response {
	r := c.req
	allowed, want := r.Method == http.MethodGet || r.Method == http.MethodHead, "GET"
	if c.cmd.post {
		allowed, want = r.Method == http.MethodPost, "POST"
	}
	if !allowed {
		c.w.Header().Set("Allow", want)
		return c.fail(http.StatusMethodNotAllowed, c.cmd.names[0]+" needs "+want)
	}
	if c.cmd.serverRequired && !s.src.Health().Serving {
		return &response{command: name, err: notServing, status: http.StatusOK}
	}
	if !c.cmd.auth {
		return nil
	}
	header := r.Header.Get("Authorization")
	if header == "" {
		return c.fail(http.StatusUnauthorized, authMissing)
	}
	ids, ok := authIDs(header, r)
	if !ok {
		s.log.Warn("admin command: authentication failed", "command", c.cmd.names[0], "remote", r.RemoteAddr)
		return c.fail(http.StatusUnauthorized, notAuthenticated)
	}
	if !s.src.Authorized(ids) {
		// The ids are not logged: a digest id is a password hash.
		s.log.Warn("admin command: not authorized", "command", c.cmd.names[0], "remote", r.RemoteAddr, "scheme", ids[0].Scheme)
		return c.fail(http.StatusForbidden, notAuthorized)
	}
	return nil
}

// listCommands is ZooKeeper's /commands page: a link per primary name.
func (s *Server) listCommands(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	for _, n := range CommandNames() {
		n = html.EscapeString(n)
		fmt.Fprintf(&b, "<a href=\"/commands/%s\">%s</a>\n<br/>\n", n, n)
	}
	fmt.Fprint(w, b.String())
}

func writeJSON(w http.ResponseWriter, r *response) {
	body := marshal(r.object())
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(r.status)
	w.Write(body)
}

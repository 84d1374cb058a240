package client

import (
	"context"
	"log/slog"
	"net"
	"time"
)

// Defaults, as ZooKeeper's Java client has them.
const (
	// DefaultSessionTimeout is the session timeout asked for by default
	// (zkCli.sh's default).
	DefaultSessionTimeout = 30 * time.Second
	// DefaultMaxBufferSize is the largest reply accepted by default:
	// jute.maxbuffer (0xfffff) plus the 1024 bytes of slack ZooKeeper's
	// deserializer allows (zookeeper.jute.maxbuffer.extrasize).
	DefaultMaxBufferSize = 0xfffff + 1024
)

// Dialer opens the connection to one server, e.g. with TLS. It is called
// with a context that ends at the connection attempt's deadline.
type Dialer func(ctx context.Context, network, address string) (net.Conn, error)

// Option configures a Conn.
type Option func(*options)

type options struct {
	sessionTimeout time.Duration
	dialer         Dialer
	maxBuffer      int
	readOnly       bool
	log            *slog.Logger
	auth           []authInfo
	sessionID      int64
	passwd         []byte
	retryDelay     time.Duration
	defaultWatcher func(Event)
}

func defaultOptions() options {
	var d net.Dialer
	return options{
		sessionTimeout: DefaultSessionTimeout,
		dialer:         d.DialContext,
		maxBuffer:      DefaultMaxBufferSize,
		log:            slog.New(slog.DiscardHandler),
		retryDelay:     time.Second,
	}
}

// WithSessionTimeout asks the server for this session timeout; the server
// clamps it to its [minSessionTimeout, maxSessionTimeout].
func WithSessionTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.sessionTimeout = d
		}
	}
}

// WithDialer replaces net.Dialer, e.g. to wrap connections in TLS.
func WithDialer(d Dialer) Option {
	return func(o *options) {
		if d != nil {
			o.dialer = d
		}
	}
}

// WithMaxBufferSize sets the largest reply frame accepted (jute.maxbuffer
// of ZooKeeper's client); larger replies fail with ErrResponseTooLarge.
func WithMaxBufferSize(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxBuffer = n
		}
	}
}

// WithReadOnly lets the session use a read-only server (canBeReadOnly):
// a server that lost its quorum then serves reads, and the session reports
// StateConnectedReadOnly.
func WithReadOnly() Option { return func(o *options) { o.readOnly = true } }

// WithLogger sets the logger for connection events (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithAuth adds credentials sent right after every handshake, before any
// request, as AddAuth would.
func WithAuth(scheme string, auth []byte) Option {
	return func(o *options) {
		o.auth = append(o.auth, authInfo{scheme, append([]byte(nil), auth...)})
	}
}

// WithSession resumes an existing session (as ZooKeeper's constructor with
// a session id and password does) instead of creating one.
func WithSession(id int64, passwd []byte) Option {
	return func(o *options) {
		o.sessionID = id
		o.passwd = append([]byte(nil), passwd...)
	}
}

// WithDefaultWatcher sets a function that sees the session's events as
// ZooKeeper's default watcher does: every session state change, and every
// watch event once, however many of the session's watchers it reaches
// (and only if it reaches one); a RemoveWatches call reports each removed
// kind (DataWatchRemoved, ChildWatchRemoved, PersistentWatchRemoved) once.
// Calls are serialized and in arrival order, made from the client's own
// goroutines: fn must return quickly and must not call the Conn. Watch
// channels still receive their events.
func WithDefaultWatcher(fn func(Event)) Option {
	return func(o *options) { o.defaultWatcher = fn }
}

// withRetryDelay shortens the pause after a full round of failed hosts;
// for tests.
func withRetryDelay(d time.Duration) Option { return func(o *options) { o.retryDelay = d } }

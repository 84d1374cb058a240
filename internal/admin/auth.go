package admin

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/zkd-io/zkd/internal/tree"
	"github.com/zkd-io/zkd/proto"
)

// ZooKeeper's replies to a command that needs authentication.
const (
	authMissing      = "Auth info is missing for the command"
	notAuthenticated = "Not authenticated"
	notAuthorized    = "Not authorized"
)

// authIDs turns an Authorization header into the identities it proves, as
// ZooKeeper 3.9's Commands.handleAuthentication does: the header is
// "<scheme> <auth>" (split on single spaces, one or two parts), and the
// scheme's provider turns auth into ids.
//
//   - digest "user:password" proves digest:user:base64(sha1(user:password));
//     whether that is the super user is for the ACL check to decide.
//   - ip proves the address the TCP connection comes from. Proxy headers
//     (X-Forwarded-For, Forwarded, X-Real-IP) are never consulted: any
//     client can send them, so trusting them would let anyone claim an
//     address an ACL trusts.
//
// Other schemes (x509 needs TLS, which zkd's admin server does not serve)
// fail. ok is false when the header proves nothing.
func authIDs(header string, r *http.Request) (ids []proto.ID, ok bool) {
	parts := strings.Split(header, " ")
	if len(parts) != 1 && len(parts) != 2 {
		return nil, false
	}
	switch parts[0] {
	case "digest":
		if len(parts) != 2 {
			return nil, false
		}
		return []proto.ID{{Scheme: "digest", ID: tree.DigestID(parts[1])}}, true
	case "ip":
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			return nil, false
		}
		if ip := net.ParseIP(host); ip != nil && ip.To4() != nil {
			// ZooKeeper's ip ids are IPv4 dotted quads; an IPv4-mapped
			// IPv6 peer is shown the IPv4 way.
			host = ip.To4().String()
		}
		return []proto.ID{{Scheme: "ip", ID: host}}, true
	}
	return nil, false
}

// rateLimiter admits one request per interval, like ZooKeeper's
// RateLimiter(1, interval). An interval of 0 admits everything.
type rateLimiter struct {
	mu       sync.Mutex
	interval time.Duration
	last     time.Time
	now      func() time.Time
}

func (l *rateLimiter) allow() bool {
	if l.interval <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.last.IsZero() && now.Sub(l.last) < l.interval {
		return false
	}
	l.last = now
	return true
}

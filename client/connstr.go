package client

import (
	"fmt"
	"net"
	"strings"

	"github.com/zkd-io/zkd/proto"
)

// DefaultPort is the client port used for hosts given without one.
const DefaultPort = "2181"

// ParseConnectString splits "h1:2181,h2,[::1]:2182/chroot" into host:port
// addresses (port 2181 when missing) and a chroot ("" when absent or "/").
// The chroot must be a valid znode path.
func ParseConnectString(s string) (hosts []string, chroot string, err error) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s, chroot = s[:i], s[i:]
		if chroot == "/" {
			chroot = ""
		} else if err := proto.ValidatePath(chroot, false); err != nil {
			return nil, "", fmt.Errorf("%w: chroot %q: %v", ErrBadConnectString, chroot, err)
		}
	}
	for _, h := range strings.Split(s, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		addr, err := hostPort(h)
		if err != nil {
			return nil, "", fmt.Errorf("%w: host %q: %v", ErrBadConnectString, h, err)
		}
		hosts = append(hosts, addr)
	}
	if len(hosts) == 0 {
		return nil, "", fmt.Errorf("%w: no hosts in %q", ErrBadConnectString, s)
	}
	return hosts, chroot, nil
}

// hostPort adds the default port to a host given without one.
func hostPort(h string) (string, error) {
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		// No port: "host", "[::1]" or a bare IPv6 address.
		bare := strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if strings.ContainsAny(bare, "[]") || bare == "" {
			return "", err
		}
		return net.JoinHostPort(bare, DefaultPort), nil
	}
	if host == "" {
		return "", fmt.Errorf("missing host")
	}
	if port == "" {
		port = DefaultPort
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return "", fmt.Errorf("bad port %q", port)
		}
	}
	return net.JoinHostPort(host, port), nil
}

package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// parseServerID reads N from "server.N" as Java's Long.parseLong would,
// refusing 0 and negatives (raft reserves id 0).
func parseServerID(key string) (uint64, *Error) {
	n, err := strconv.ParseInt(strings.TrimPrefix(key, "server."), 10, 64)
	if err != nil || n <= 0 {
		return 0, &Error{Key: key, Value: strings.TrimPrefix(key, "server."), Allowed: allowServerID}
	}
	return uint64(n), nil
}

// parseServer reads the value of a server.N line the way ZooKeeper's
// QuorumServer does (including Java's String.split dropping trailing empty
// fields, so "h:1:2;" has no client part). Range checks are Validate's.
func parseServer(key string, id uint64, v string) (Server, *Error) {
	fail := func(format string, a ...any) (Server, *Error) {
		return Server{}, &Error{Key: key, Value: v, Err: fmt.Errorf(format, a...), Allowed: allowServerForm}
	}
	if v == "" {
		return Server{}, &Error{Key: key, Value: v, Allowed: allowServerForm}
	}
	parts := javaSplit(v, ';')
	switch {
	case len(parts) == 0:
		return fail("no address")
	case len(parts) > 2:
		return fail("more than one ';'")
	}
	if strings.Contains(parts[0], "|") {
		return Server{}, &Error{Key: key, Value: v, Err: errors.New("multiple addresses per server (|) are not supported by zkd"),
			Allowed: "one address per server"}
	}
	sp, err := splitHostPort(parts[0])
	if err != nil {
		return fail("%v", err)
	}
	if len(sp) < 3 || len(sp) > 4 {
		return fail("want 3 or 4 ':'-separated fields before ';', got %d", len(sp))
	}
	s := Server{ID: id, Host: sp[0]}
	if s.Host == "" {
		return fail("the host is empty")
	}
	var ok bool
	if s.QuorumPort, ok = parsePort(sp[1]); !ok {
		return fail("quorum port %q is not a port number", sp[1])
	}
	if s.ElectionPort, ok = parsePort(sp[2]); !ok {
		return fail("election port %q is not a port number", sp[2])
	}
	if len(sp) == 4 {
		switch strings.ToLower(javaTrim(sp[3])) {
		case PeerParticipant:
		case PeerObserver:
			s.Observer = true
		default:
			return fail("unknown peer type %q", sp[3])
		}
	}
	if len(parts) == 2 {
		cp, err := splitHostPort(parts[1])
		if err != nil {
			return fail("%v", err)
		}
		switch {
		case len(cp) == 0:
			return fail("client part %q has no port", parts[1])
		case len(cp) > 2:
			return fail("client part %q has more than one ':'", parts[1])
		}
		if len(cp) == 2 {
			s.ClientAddr = cp[0]
			if s.ClientAddr == "" {
				return fail("the client address is empty")
			}
		}
		p := cp[len(cp)-1]
		if s.ClientPort, ok = parsePort(p); !ok || s.ClientPort == 0 {
			return fail("client port %q is not a port number", p)
		}
	}
	return s, nil
}

// parsePort parses like Integer.parseInt; the range is Validate's job, but a
// number beyond 16 bits can never be a port.
func parsePort(s string) (int, bool) {
	n, ok := parseInt32(s)
	return n, ok && n >= 0 && n <= 65535
}

// splitHostPort is ZooKeeper's ConfigUtils.getHostAndPort: a leading
// "[...]" is an IPv6 literal, the rest is split on ':'.
func splitHostPort(s string) ([]string, error) {
	if !strings.HasPrefix(s, "[") {
		return javaSplit(s, ':'), nil
	}
	i := strings.IndexByte(s, ']')
	if i < 0 {
		return nil, fmt.Errorf("%q starts with '[' but has no matching ']'", s)
	}
	host, rest := s[1:i], s[i+1:]
	if rest == "" {
		return []string{host}, nil
	}
	if rest[0] != ':' || len(rest) == 1 {
		return nil, fmt.Errorf("%q: want ':' and a port after ']'", s)
	}
	return append([]string{host}, javaSplit(rest[1:], ':')...), nil
}

// javaSplit is Java's String.split with a one-character pattern: trailing
// empty fields are dropped (but "" splits to [""]).
func javaSplit(s string, sep byte) []string {
	f := strings.Split(s, string(sep))
	for len(f) > 1 && f[len(f)-1] == "" {
		f = f[:len(f)-1]
	}
	if len(f) == 1 && f[0] == "" && s != "" {
		return []string{} // s was only separators
	}
	return f
}

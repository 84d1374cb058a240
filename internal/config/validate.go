package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// What each key accepts, shared by the parser and Validate so a value gets
// the same message whether it came from a file or from code.
const (
	allowPositiveMS    = "a positive integer (milliseconds)"
	allowDir           = "a directory path"
	allowClientPort    = "a port number 1..65535 (or a client port on this server's server.N line)"
	allowPort          = "a port number 0..65535 (0: chosen by the OS)"
	allowHost          = "an IP address or host name"
	allowCnxns         = "an integer >= 0 (0: unlimited)"
	allowSessionMS     = "an integer >= 0 (milliseconds; 0 or -1: derived from tickTime)"
	allowTicks         = "a positive integer (ticks)"
	allowBool          = "true or false"
	allowNonNegativeMS = "an integer number of milliseconds >= 0"
	allowPeerType      = "participant or observer"
	allowSnapCount     = "an integer >= 2"
	allowRetain        = "an integer >= 3"
	allowCommitLog     = "an integer (below 500: 500, as in ZooKeeper; 0 in code: the default)"
	allowCommitLogSize = "a positive integer (KiB)"
	allowSnapSize      = "an integer number of KiB (0 or less disables the size trigger)"
	allowPurge         = "a whole number of hours 0..2562047 (0: disabled)"
	allowJute          = "a positive integer (bytes)"
	allowDigest        = "user:digest, the digest being base64(SHA-1(user:password)) as DigestAuthenticationProvider prints it"
	allowLogFormat     = "text or json"
	allowServerForm    = "host:quorumPort:electionPort[:participant|:observer][;[clientAddress:]clientPort]"
	allowServerID      = "a server id 1..9223372036854775807"
	allowServerIDExt   = "a server id 1..254 when extendedTypesEnabled=true (TTL node owners hold the server id in one byte)"
)

var allow4lw = "a comma-separated list of " + strings.Join(fourLetterWords, ", ") + ", or *"

// maxPurgeHours is the largest whole number of hours a time.Duration holds.
const maxPurgeHours = math.MaxInt64 / int64(time.Hour)

func bad(key, value, allowed string) *Error {
	return &Error{Key: key, Value: value, Allowed: allowed}
}

// ms renders a duration the way zoo.cfg writes it.
func ms(d time.Duration) string {
	if d%time.Millisecond == 0 {
		return strconv.FormatInt(int64(d/time.Millisecond), 10)
	}
	return d.String()
}

// resolve is Validate, plus the notices Load passes on to the operator.
func (o *Options) resolve() ([]string, *Error) {
	var notes []string
	if o.TickTime <= 0 {
		return nil, bad("tickTime", ms(o.TickTime), allowPositiveMS)
	}
	if o.DataDir == "" {
		return nil, bad("dataDir", "", allowDir)
	}
	if o.DataLogDir == "" {
		o.DataLogDir = o.DataDir
	}
	if o.MaxClientCnxns < 0 {
		return nil, bad("maxClientCnxns", strconv.Itoa(o.MaxClientCnxns), allowCnxns)
	}
	if err := o.resolveSessionTimeouts(); err != nil {
		return nil, err
	}
	if o.InitLimit <= 0 {
		return nil, bad("initLimit", strconv.Itoa(o.InitLimit), allowTicks)
	}
	if o.SyncLimit <= 0 {
		return nil, bad("syncLimit", strconv.Itoa(o.SyncLimit), allowTicks)
	}
	switch p := strings.ToLower(o.PeerType); p {
	case "":
		o.PeerType = PeerParticipant
	case PeerParticipant, PeerObserver:
		o.PeerType = p
	default:
		return nil, bad("peerType", o.PeerType, allowPeerType)
	}
	n, err := o.resolveEnsemble()
	if err != nil {
		return nil, err
	}
	notes = append(notes, n...)
	if err := o.resolveClientPort(); err != nil {
		return nil, err
	}
	if err := o.resolve4lw(); err != nil {
		return nil, err
	}
	if err := checkHost("admin.serverAddress", o.AdminServerAddress); err != nil {
		return nil, err
	}
	o.AdminServerAddress = unbracket(o.AdminServerAddress)
	if o.AdminServerPort < 0 || o.AdminServerPort > 65535 {
		return nil, bad("admin.serverPort", strconv.Itoa(o.AdminServerPort), allowPort)
	}
	if o.MetricsHTTPPort < 0 || o.MetricsHTTPPort > 65535 {
		return nil, bad("metricsProvider.httpPort", strconv.Itoa(o.MetricsHTTPPort), allowPort)
	}
	if o.AdminRateLimit < 0 {
		return nil, bad("admin.rateLimiterIntervalInMS", ms(o.AdminRateLimit), allowNonNegativeMS)
	}
	if o.SnapCount < 2 {
		return nil, bad("snapCount", strconv.Itoa(o.SnapCount), allowSnapCount)
	}
	if o.CommitLogCount < 0 {
		return nil, bad("commitLogCount", strconv.Itoa(o.CommitLogCount), allowCommitLog)
	}
	if o.CommitLogSizeLimitKB <= 0 {
		return nil, bad("zkd.commitLogSizeLimitInKb", strconv.Itoa(o.CommitLogSizeLimitKB), allowCommitLogSize)
	}
	if o.SnapRetainCount < 3 {
		return nil, bad("autopurge.snapRetainCount", strconv.Itoa(o.SnapRetainCount), allowRetain)
	}
	if o.PurgeInterval < 0 {
		return nil, bad("autopurge.purgeInterval", o.PurgeInterval.String(), allowPurge)
	}
	if o.JuteMaxBuffer <= 0 {
		return nil, bad("jute.maxbuffer", strconv.Itoa(o.JuteMaxBuffer), allowJute)
	}
	if o.ContainerCheckInterval <= 0 {
		return nil, bad("znode.container.checkIntervalMs", ms(o.ContainerCheckInterval), allowPositiveMS)
	}
	if o.FsyncWarningThreshold < 0 {
		return nil, bad("fsync.warningthresholdms", ms(o.FsyncWarningThreshold), allowNonNegativeMS)
	}
	if o.SuperDigest != "" && !validDigest(o.SuperDigest) {
		return nil, bad("DigestAuthenticationProvider.superDigest", o.SuperDigest, allowDigest)
	}
	switch f := strings.ToLower(o.LogFormat); f {
	case "":
		o.LogFormat = LogText
	case LogText, LogJSON:
		o.LogFormat = f
	default:
		return nil, bad("zkd.logFormat", o.LogFormat, allowLogFormat)
	}
	return notes, nil
}

func (o *Options) resolveSessionTimeouts() *Error {
	if o.MinSessionTimeout < 0 {
		return bad("minSessionTimeout", ms(o.MinSessionTimeout), allowSessionMS)
	}
	if o.MaxSessionTimeout < 0 {
		return bad("maxSessionTimeout", ms(o.MaxSessionTimeout), allowSessionMS)
	}
	if o.MinSessionTimeout == 0 {
		o.MinSessionTimeout = 2 * o.TickTime
	}
	if o.MaxSessionTimeout == 0 {
		o.MaxSessionTimeout = 20 * o.TickTime
	}
	if o.MinSessionTimeout > o.MaxSessionTimeout {
		return &Error{Key: "maxSessionTimeout", Value: ms(o.MaxSessionTimeout),
			Allowed: fmt.Sprintf("at least minSessionTimeout (%s ms)", ms(o.MinSessionTimeout))}
	}
	return nil
}

// resolveEnsemble checks the server list against ZooKeeper's rules and
// settles this server's role.
func (o *Options) resolveEnsemble() ([]string, *Error) {
	slices.SortStableFunc(o.Servers, func(a, b Server) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	used := map[string]string{} // lower-case "host:port" -> server.N using it
	participants, observers := 0, 0
	for i, s := range o.Servers {
		key, val := fmt.Sprintf("server.%d", s.ID), s.String()
		switch {
		case s.ID == 0 || s.ID > math.MaxInt64:
			return nil, bad(key, val, allowServerID)
		case o.ExtendedTypesEnabled && s.ID > 254:
			return nil, bad(key, val, allowServerIDExt)
		case i > 0 && o.Servers[i-1].ID == s.ID:
			return nil, &Error{Key: key, Value: val, Err: fmt.Errorf("server id %d is defined twice", s.ID),
				Allowed: "each server id once"}
		}
		if err := checkServer(key, s); err != nil {
			return nil, err
		}
		o.Servers[i].Host = unbracket(s.Host)
		o.Servers[i].ClientAddr = unbracket(s.ClientAddr)
		for _, p := range []int{s.QuorumPort, s.ElectionPort} {
			addr := strings.ToLower(joinHostPort(unbracket(s.Host), p))
			if other, ok := used[addr]; ok {
				return nil, &Error{Key: key, Value: val, Err: fmt.Errorf("address %s is also used by %s", addr, other),
					Allowed: "distinct quorum and election addresses for every server"}
			}
			used[addr] = key
		}
		if s.Observer {
			observers++
		} else {
			participants++
		}
	}
	var notes []string
	switch {
	case len(o.Servers) == 0:
		if !o.StandaloneEnabled {
			return nil, &Error{Key: "standaloneEnabled", Value: "false", Err: errors.New("there are no server.N lines"),
				Allowed: "true, or at least one participant server.N line"}
		}
	case participants == 0:
		return nil, &Error{Key: fmt.Sprintf("server.%d", o.Servers[0].ID), Value: o.Servers[0].String(),
			Err:     errors.New("there are observers but no participants"),
			Allowed: "at least one participant server.N line"}
	case o.Standalone():
		if observers > 0 {
			return nil, &Error{Key: "standaloneEnabled", Value: "true", Err: errors.New("observers need a quorum, but there is only one participant"),
				Allowed: "false, or at least two participant server.N lines"}
		}
		notes = append(notes, "only one server line and standaloneEnabled=true: running standalone, as ZooKeeper does")
	default:
		if participants <= 2 {
			notes = append(notes, fmt.Sprintf("warning: %d participants: no server failure will be tolerated; use at least 3", participants))
		} else if participants%2 == 0 {
			notes = append(notes, fmt.Sprintf("warning: %d participants: an odd number tolerates as many failures with one server less", participants))
		}
	}
	self, ok := o.Self()
	if !o.Standalone() && !ok {
		ids := make([]string, len(o.Servers))
		for i, s := range o.Servers {
			ids[i] = strconv.FormatUint(s.ID, 10)
		}
		return nil, bad("myid", strconv.FormatUint(o.MyID, 10),
			"the id of one of the server.N lines ("+strings.Join(ids, ", ")+")")
	}
	if ok {
		want := PeerParticipant
		if self.Observer {
			want = PeerObserver
		}
		if o.PeerType != want {
			notes = append(notes, fmt.Sprintf("peerType %s does not match server.%d, which is a %s: using %s, as ZooKeeper does",
				o.PeerType, self.ID, want, want))
			o.PeerType = want
		}
	}
	return notes, nil
}

func checkServer(key string, s Server) *Error {
	val := s.String()
	if err := checkHost(key, s.Host); err != nil {
		err.Value = val
		return err
	}
	for _, p := range []struct {
		what string
		port int
	}{{"quorum port", s.QuorumPort}, {"election port", s.ElectionPort}} {
		if p.port < 1 || p.port > 65535 {
			return &Error{Key: key, Value: val, Err: fmt.Errorf("%s %d is not in 1..65535", p.what, p.port), Allowed: allowServerForm}
		}
	}
	if s.QuorumPort == s.ElectionPort {
		return &Error{Key: key, Value: val, Err: fmt.Errorf("quorum and election port are both %d", s.QuorumPort),
			Allowed: "two different ports"}
	}
	if s.ClientPort < 0 || s.ClientPort > 65535 || (s.ClientPort == 0 && s.ClientAddr != "") {
		return &Error{Key: key, Value: val, Err: fmt.Errorf("client port %d is not in 1..65535", s.ClientPort), Allowed: allowServerForm}
	}
	if s.ClientAddr != "" {
		if err := checkHost(key, s.ClientAddr); err != nil {
			err.Value = val
			return err
		}
	}
	return nil
}

// resolveClientPort applies ZooKeeper's rule: a client port on this
// server's own server.N line wins, and may not contradict clientPort.
func (o *Options) resolveClientPort() *Error {
	if o.ClientPortAddress != "" {
		if err := checkHost("clientPortAddress", o.ClientPortAddress); err != nil {
			return err
		}
		if o.ClientPort == 0 {
			return &Error{Key: "clientPortAddress", Value: o.ClientPortAddress,
				Err: errors.New("clientPort is not set"), Allowed: "clientPort set as well"}
		}
		o.ClientPortAddress = unbracket(o.ClientPortAddress)
	}
	if o.ClientPort < 0 || o.ClientPort > 65535 {
		return bad("clientPort", strconv.Itoa(o.ClientPort), allowClientPort)
	}
	self, ok := o.Self()
	if ok && self.ClientPort != 0 {
		if o.ClientPort != 0 && o.ClientPort != self.ClientPort {
			return &Error{Key: "clientPort", Value: strconv.Itoa(o.ClientPort),
				Err:     fmt.Errorf("server.%d's line says client port %d", self.ID, self.ClientPort),
				Allowed: "the same port, or no clientPort"}
		}
		if self.ClientAddr != "" && o.ClientPortAddress != "" && !isAnyAddr(o.ClientPortAddress) &&
			!strings.EqualFold(o.ClientPortAddress, self.ClientAddr) {
			return &Error{Key: "clientPortAddress", Value: o.ClientPortAddress,
				Err:     fmt.Errorf("server.%d's line says client address %s", self.ID, self.ClientAddr),
				Allowed: "the same address, or no clientPortAddress"}
		}
		o.ClientPort = self.ClientPort
		if self.ClientAddr != "" {
			o.ClientPortAddress = self.ClientAddr
		}
	}
	if o.ClientPort == 0 {
		return bad("clientPort", "0", allowClientPort)
	}
	return nil
}

func (o *Options) resolve4lw() *Error {
	if o.FourLetterWords == nil {
		o.FourLetterWords = map[string]bool{}
	}
	names := make([]string, 0, len(o.FourLetterWords))
	for w := range o.FourLetterWords {
		names = append(names, w)
	}
	slices.Sort(names)
	for _, w := range names {
		if w != "*" && !isFourLetterWord(w) {
			return bad("4lw.commands.whitelist", w, allow4lw)
		}
	}
	o.FourLetterWords["srvr"] = true
	return nil
}

// checkHost accepts IP literals (IPv6 with or without brackets) and host
// names. It never resolves names: loading a config must not touch DNS.
func checkHost(key, h string) *Error {
	u := unbracket(h)
	if u == "" {
		return bad(key, h, allowHost)
	}
	if net.ParseIP(u) != nil {
		return nil
	}
	if u != h || len(u) > 253 {
		return bad(key, h, allowHost) // brackets around something that is not IPv6
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_'
		if !ok {
			return bad(key, h, allowHost)
		}
	}
	return nil
}

func unbracket(h string) string {
	if len(h) >= 2 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	return h
}

func isAnyAddr(h string) bool {
	ip := net.ParseIP(unbracket(h))
	return ip != nil && ip.IsUnspecified()
}

// validDigest accepts what DigestAuthenticationProvider.generateDigest
// prints: "user:" then base64 of a 20-byte SHA-1. Anything else could never
// match a client's credentials, so it is a mistake worth stopping for.
func validDigest(s string) bool {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return false
	}
	sum, err := base64.StdEncoding.DecodeString(s[i+1:])
	return err == nil && len(sum) == 20
}

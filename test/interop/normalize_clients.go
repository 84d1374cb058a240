package interop

import (
	"regexp"
	"strings"
)

var (
	// Stat fields as cclient/zkc.c prints them: "czxid=0x1f", "ctime=1700000000000".
	cZxid = regexp.MustCompile(`\b(czxid|mzxid|pzxid)=(0x[0-9a-fA-F]+)`)
	cTime = regexp.MustCompile(`\b(ctime|mtime)=-?[0-9]+`)

	// cli_mt (the C client's shell) prints Stat as "czxid=1f" (hex without
	// 0x), "ctime = Sat Nov 21 19:42:57 2026" and "ephemeralOwner = 1000...".
	cliMtZxid  = regexp.MustCompile(`\b(czxid|mzxid)=([0-9a-fA-F]+)`)
	cliMtTime  = regexp.MustCompile(`^(\s*)(ctime|mtime) ?= ?[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} [0-9]{4}`)
	cliMtOwner = regexp.MustCompile(`^(\s*ephemeralOwner = )([0-9a-fA-F]+)$`)
	cliMtMs    = regexp.MustCompile(`^time = -?[0-9]+ msec$`)
)

// NormalizeC makes the C client program's transcript (cclient/zkc.c)
// comparable between servers: zxids become Z1, Z2, ... by first appearance
// (equal stays equal, distinct stays distinct) and times become <TIME>.
// Everything else — return codes, names, versions, children, ACLs, events,
// and the program's own relational checks (mzxid > czxid ...) — is compared
// as printed. Session ids never appear: the program prints an
// ephemeralOwner as "A" or "B" when it is one of its sessions.
func NormalizeC(out []string) []string {
	zxids := newNamer("Z")
	norm := make([]string, 0, len(out))
	for _, line := range out {
		line = cZxid.ReplaceAllStringFunc(line, func(m string) string {
			k, v, _ := strings.Cut(m, "=")
			return k + "=" + zxids.name(v)
		})
		line = cTime.ReplaceAllString(line, "$1=<TIME>")
		norm = append(norm, line)
	}
	return norm
}

// NormalizeCliMt does the same for cli_mt output: zxids become Z1, Z2, ...,
// dates <TIME>, non-zero ephemeral owners S1, S2, ..., and the client's
// "time = N msec" latency lines are dropped.
func NormalizeCliMt(out []string) []string {
	zxids := newNamer("Z")
	sessions := newNamer("S")
	var norm []string
	for _, line := range out {
		if cliMtMs.MatchString(strings.TrimSpace(line)) {
			continue
		}
		line = cliMtTime.ReplaceAllString(line, "$1$2 = <TIME>")
		line = cliMtZxid.ReplaceAllStringFunc(line, func(m string) string {
			k, v, _ := strings.Cut(m, "=")
			return k + "=" + zxids.name(v)
		})
		if m := cliMtOwner.FindStringSubmatch(line); m != nil && m[2] != "0" {
			line = m[1] + sessions.name(m[2])
		}
		norm = append(norm, line)
	}
	return norm
}

package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// Quotas live under /zookeeper/quota/<path>: zookeeper_limits holds the
// limits set by setquota, zookeeper_stats the usage the server counts.
const (
	quotaRoot = "/zookeeper/quota"
	limitNode = "zookeeper_limits"
	statNode  = "zookeeper_stats"
)

func quotaPath(path string) string { return quotaRoot + path }

// statsTrack is ZooKeeper's StatsTrack: "count=N,bytes=N" followed, when
// there are other keys, by "=" and ";key=value" for each, sorted.
type statsTrack map[string]int64

func parseStatsTrack(s string) statsTrack {
	st := statsTrack{}
	for _, kv := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		parts := strings.Split(kv, "=")
		for len(parts) > 1 && parts[len(parts)-1] == "" { // Java's split drops trailing empties
			parts = parts[:len(parts)-1]
		}
		if len(parts) == 0 || parts[0] == "" {
			continue
		}
		v := int64(-1)
		if len(parts) > 1 {
			n, err := strconv.ParseInt(parts[1], 10, 64)
			if err != nil {
				continue
			}
			v = n
		}
		st[parts[0]] = v
	}
	return st
}

func (st statsTrack) get(k string) int64 {
	if v, ok := st[k]; ok {
		return v
	}
	return -1
}

func (st statsTrack) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "count=%d,bytes=%d", st.get("count"), st.get("bytes"))
	var others []string
	for k := range st {
		if k != "count" && k != "bytes" {
			others = append(others, k)
		}
	}
	if len(others) > 0 {
		b.WriteString("=")
		sort.Strings(others)
		for _, k := range others {
			fmt.Fprintf(&b, ";%s=%d", k, st[k])
		}
	}
	return b.String()
}

// quotaFields maps the quota flags to StatsTrack keys.
var quotaFields = []struct{ flag, key string }{
	{"n", "count"}, {"b", "bytes"}, {"N", "countHardLimit"}, {"B", "byteHardLimit"},
}

// oneQuotaFlag enforces commons-cli's option group: at most one flag, and
// (for setquota) at least one.
func oneQuotaFlag(p *parsedArgs, required bool) error {
	var seen []string
	for _, f := range quotaFields {
		if p.has(f.flag) {
			seen = append(seen, f.flag)
		}
	}
	if len(seen) > 1 {
		return &parseError{"AlreadySelectedException", fmt.Sprintf("The option '%s' was specified but an option from this group has already been selected: '%s'", seen[1], seen[0])}
	}
	if required && len(seen) == 0 {
		return &parseError{"MissingOptionException", "Missing required option: [-n num soft quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]"}
	}
	return nil
}

func init() {
	quotaOpts := []option{{"n", true}, {"b", true}, {"N", true}, {"B", true}}
	commands["setquota"] = &command{usage: "-n|-b|-N|-B val path", opts: quotaOpts, minArgs: 2,
		parse: func(_ *shell, p *parsedArgs) error { return oneQuotaFlag(p, true) }, run: runSetQuota}
	commands["listquota"] = &command{usage: "path", minArgs: 2, run: runListQuota}
	commands["delquota"] = &command{usage: "[-n|-b|-N|-B] path", opts: flags("n", "b", "N", "B"), minArgs: 2,
		parse: func(_ *shell, p *parsedArgs) error { return oneQuotaFlag(p, false) }, run: runDelQuota}
}

func runSetQuota(sh *shell, p *parsedArgs) error {
	path := p.args[1]
	sh.res.Path = path
	// zkCli.sh reports bad values without failing the command.
	if strings.HasPrefix(path, quotaRoot) {
		sh.notice(sh.errw, proto.ErrBadArguments, "cannot set a quota under the path: "+quotaRoot)
		return nil
	}
	limits := statsTrack{"count": -1, "bytes": -1, "countHardLimit": -1, "byteHardLimit": -1}
	for _, f := range quotaFields {
		if !p.has(f.flag) {
			continue
		}
		v, err := strconv.ParseInt(p.value(f.flag), 10, 64)
		if err != nil {
			sh.notice(sh.errw, proto.ErrBadArguments, "NumberFormatException happens when parsing the option value")
			return nil
		}
		if (f.key == "count" || f.key == "countHardLimit") && v <= 0 {
			sh.notice(sh.errw, proto.ErrBadArguments, "the num quota must be greater than zero")
			return nil
		}
		if v < 0 {
			sh.notice(sh.errw, proto.ErrBadArguments, "the bytes quota must be greater than or equal to zero")
			return nil
		}
		limits[f.key] = v
	}
	return wrap(createQuota(sh, path, limits))
}

// createQuota is SetQuotaCommand.createQuota: it refuses nested quotas,
// creates the quota directory, and creates or merges the limits.
func createQuota(sh *shell, path string, limits statsTrack) error {
	ctx, cancel := sh.ctx()
	defer cancel()
	c := sh.conn
	st, err := c.Exists(ctx, path)
	if err != nil {
		return err
	}
	if st == nil {
		return failc(proto.ErrNoNode, "%s does not exist.", path)
	}
	if err := checkNestedQuotas(sh, path); err != nil {
		return err
	}
	dir := quotaRoot
	for _, p := range append([]string{"/zookeeper", quotaRoot}, quotaAncestors(path)...) {
		if _, err := c.Create(ctx, p, nil, proto.OpenACLUnsafe, client.ModePersistent); err != nil && client.CodeOf(err) != proto.ErrNodeExists {
			return err
		}
		dir = p
	}
	limitPath, statPath := dir+"/"+limitNode, dir+"/"+statNode
	st, err = c.Exists(ctx, limitPath)
	if err != nil {
		return err
	}
	if st == nil {
		if _, err := c.Create(ctx, limitPath, []byte(limits.String()), proto.OpenACLUnsafe, client.ModePersistent); err != nil {
			return err
		}
		if _, err := c.Create(ctx, statPath, []byte(statsTrack{"count": 0, "bytes": 0}.String()), proto.OpenACLUnsafe, client.ModePersistent); err != nil {
			return err
		}
	} else {
		data, _, err := c.Get(ctx, limitPath)
		if err != nil {
			return err
		}
		merged := parseStatsTrack(string(data))
		for k, v := range limits {
			if v > -1 {
				merged[k] = v
			}
		}
		limits = merged
	}
	data, _, err := c.Get(ctx, statPath)
	if err != nil {
		return err
	}
	usage := parseStatsTrack(string(data))
	if n := limits.get("count"); n > -1 && usage.get("count") > n {
		fmt.Fprintf(sh.warnw(), "[Warning]: the count quota you create is less than the existing count:%d\n", usage.get("count"))
	}
	if n := limits.get("bytes"); n > -1 && usage.get("bytes") > n {
		fmt.Fprintf(sh.warnw(), "[Warning]: the bytes quota you create is less than the existing bytes:%d\n", usage.get("bytes"))
	}
	if st != nil {
		if _, err := c.Set(ctx, limitPath, []byte(limits.String()), -1); err != nil {
			return err
		}
	}
	return nil
}

// quotaAncestors lists the quota directories from the first path component
// down to path itself: /zookeeper/quota/a, /zookeeper/quota/a/b...
func quotaAncestors(path string) []string {
	var out []string
	dir := quotaRoot
	for _, part := range strings.Split(path, "/")[1:] {
		dir += "/" + part
		out = append(out, dir)
	}
	return out
}

// checkNestedQuotas refuses a quota inside or above another one.
func checkNestedQuotas(sh *shell, path string) error {
	ctx, cancel := sh.ctx()
	defer cancel()
	own := quotaPath(path)
	anc := quotaAncestors(path)
	for _, dir := range anc[:len(anc)-1] {
		kids, err := sh.conn.Children(ctx, dir)
		if client.CodeOf(err) == proto.ErrNoNode {
			break
		}
		if err != nil {
			return err
		}
		for _, k := range kids {
			if k == limitNode {
				return failf("%s has a parent %s which has a quota", path, strings.TrimPrefix(dir, quotaRoot))
			}
		}
	}
	err := visitDFS(sh, own, false, func(dir string) error {
		if dir == own {
			return nil
		}
		kids, err := sh.conn.Children(ctx, dir)
		if err != nil {
			return nil // removed meanwhile
		}
		for _, k := range kids {
			if k == limitNode {
				return failf("%s has a child %s which has a quota", path, strings.TrimPrefix(dir, quotaRoot))
			}
		}
		return nil
	})
	if client.CodeOf(err) == proto.ErrNoNode {
		return nil
	}
	return err
}

func runListQuota(sh *shell, p *parsedArgs) error {
	path := p.args[1]
	sh.res.Path = path
	dir := quotaPath(path)
	fmt.Fprintln(sh.out, "absolute path is "+dir+"/"+limitNode)
	ctx, cancel := sh.ctx()
	defer cancel()
	var tracks []statsTrack
	for _, node := range []string{limitNode, statNode} {
		data, _, err := sh.conn.Get(ctx, dir+"/"+node)
		if client.CodeOf(err) == proto.ErrNoNode {
			sh.notice(sh.errw, proto.ErrNoNode, "quota for "+path+" does not exist.")
			return nil
		}
		if err != nil {
			return wrap(err)
		}
		tracks = append(tracks, parseStatsTrack(string(data)))
	}
	sh.res.Quota, sh.res.Usage = tracks[0], tracks[1]
	fmt.Fprintf(sh.out, "Output quota for %s %s\n", path, tracks[0])
	fmt.Fprintf(sh.out, "Output stat for %s %s\n", path, tracks[1])
	return nil
}

func runDelQuota(sh *shell, p *parsedArgs) error {
	path := p.args[1]
	sh.res.Path = path
	dir := quotaPath(path)
	limitPath := dir + "/" + limitNode
	ctx, cancel := sh.ctx()
	defer cancel()
	c := sh.conn
	st, err := c.Exists(ctx, limitPath)
	if err != nil {
		return wrap(err)
	}
	if st == nil {
		sh.notice(sh.out, proto.ErrNoNode, "Quota does not exist for "+path)
		return nil
	}
	data, _, err := c.Get(ctx, limitPath)
	if client.CodeOf(err) == proto.ErrNoNode {
		sh.notice(sh.errw, proto.ErrNoNode, "quota for "+path+" does not exist.")
		return nil
	}
	if err != nil {
		return wrap(err)
	}
	limits := parseStatsTrack(string(data))
	all := true
	for _, f := range quotaFields {
		if p.has(f.flag) {
			all = false
			limits[f.key] = -1
		}
	}
	if !all {
		_, err := c.Set(ctx, limitPath, []byte(limits.String()), -1)
		return wrap(err)
	}
	kids, err := c.Children(ctx, dir)
	if err != nil {
		return wrap(err)
	}
	for _, k := range kids {
		if err := c.Delete(ctx, dir+"/"+k, -1); err != nil {
			return wrap(err)
		}
	}
	// Remove the quota directories left empty, up to /zookeeper/quota.
	for d := dir; d != quotaRoot; d = d[:strings.LastIndexByte(d, '/')] {
		kids, err := c.Children(ctx, d)
		if err != nil {
			return wrap(err)
		}
		if len(kids) > 0 {
			break
		}
		if err := c.Delete(ctx, d, -1); err != nil {
			return wrap(err)
		}
	}
	return nil
}

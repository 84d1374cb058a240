package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// command is one zkCli.sh command that needs the server.
type command struct {
	usage   string
	opts    []option
	minArgs int // including the command name
	// parse runs extra checks and rewrites after option parsing (the
	// deprecated forms zkCli.sh still accepts).
	parse func(sh *shell, p *parsedArgs) error
	run   func(sh *shell, p *parsedArgs) error
}

var commands map[string]*command

func init() {
	commands = map[string]*command{
		"ls": {usage: "[-s] [-w] [-R] path", opts: flags("?", "s", "w", "R"), minArgs: 2,
			parse: deprecatedWatch("'ls path [watch]' has been deprecated. Please use 'ls [-w] path' instead."), run: runLs},
		"create": {usage: "[-s] [-e] [-c] [-t ttl] path [data] [acl]", opts: append(flags("e", "s", "c"), option{"t", true}),
			minArgs: 2, run: runCreate},
		"get": {usage: "[-s] [-w] path", opts: flags("s", "w"), minArgs: 2,
			parse: deprecatedWatch("'get path [watch]' has been deprecated. Please use 'get [-s] [-w] path' instead."), run: runGet},
		"set":       {usage: "[-s] [-v version] path data", opts: append(flags("s"), option{"v", true}), minArgs: 3, run: runSet},
		"delete":    {usage: "[-v version] path", opts: []option{{"v", true}}, minArgs: 2, parse: deprecatedVersion, run: runDelete},
		"deleteall": {usage: "path [-b batch size]", opts: []option{{"b", true}}, minArgs: 2, run: runDeleteAll},
		"stat": {usage: "[-w] path", opts: flags("w"), minArgs: 2,
			parse: deprecatedWatch("'stat path [watch]' has been deprecated. Please use 'stat [-w] path' instead."), run: runStat},
		"getAcl":               {usage: "[-s] path", opts: flags("s"), minArgs: 2, run: runGetACL},
		"setAcl":               {usage: "[-s] [-v version] [-R] path acl", opts: append(flags("s", "R"), option{"v", true}), minArgs: 3, run: runSetACL},
		"addauth":              {usage: "scheme auth", minArgs: 2, run: runAddAuth},
		"sync":                 {usage: "path", minArgs: 2, run: runSync},
		"getEphemerals":        {usage: "path", minArgs: 1, run: runGetEphemerals},
		"getAllChildrenNumber": {usage: "path", minArgs: 2, run: runGetAllChildrenNumber},
		"addWatch": {usage: "[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE",
			opts: []option{{"m", true}}, minArgs: 2, run: runAddWatch},
		"removewatches": {usage: "path [-c|-d|-a] [-l]", opts: flags("c", "d", "a", "l"), minArgs: 2, run: runRemoveWatches},
		"whoami":        {usage: "", minArgs: 1, run: runWhoAmI},
		"config":        {usage: "[-c] [-w] [-s]", opts: flags("c", "w", "s"), minArgs: 1, run: runConfig},
		"reconfig": {usage: "[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]",
			opts:    append(flags("s"), option{"v", true}, option{"file", true}, option{"members", true}, option{"add", true}, option{"remove", true}),
			minArgs: 1, run: runReconfig},
		"close":   {usage: "", minArgs: 1, run: runClose},
		"version": {usage: "", minArgs: 1, run: runVersion},
	}
	// whoami, close and version take no arguments: zkCli.sh prints their
	// usage when given some.
	for _, n := range []string{"whoami", "close", "version"} {
		commands[n].parse = noArgs(n)
	}
}

func flags(names ...string) []option {
	out := make([]option, len(names))
	for i, n := range names {
		out[i] = option{name: n}
	}
	return out
}

func noArgs(name string) func(*shell, *parsedArgs) error {
	return func(_ *shell, p *parsedArgs) error {
		if len(p.args) > 1 {
			return failf("%s %s", name, commands[name].usage)
		}
		return nil
	}
}

// deprecatedWatch accepts the old "cmd path watch" form: any third
// argument means -w.
func deprecatedWatch(msg string) func(*shell, *parsedArgs) error {
	return func(sh *shell, p *parsedArgs) error {
		if len(p.args) > 2 {
			fmt.Fprintln(sh.warnw(), msg)
			p.args = slices.Delete(p.args, 2, 3)
			p.flags["w"] = ""
		}
		return nil
	}
}

// deprecatedVersion accepts the old "delete path version" form.
func deprecatedVersion(sh *shell, p *parsedArgs) error {
	if len(p.args) > 2 {
		fmt.Fprintln(sh.warnw(), "'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead.")
		p.flags["v"] = p.args[2]
		p.args = slices.Delete(p.args, 2, 3)
	}
	return nil
}

// wrap turns a client error into zkCli.sh's message, keeping its code for
// -json mode.
func wrap(err error) error {
	var ce *cliError
	if err == nil || errors.As(err, &ce) {
		return err
	}
	return &cliError{cliMessage(err), errCode(err)}
}

// version parses a -v value; zkCli.sh dies on a bad one, zkcli says why.
func versionFlag(p *parsedArgs) (int32, error) {
	if !p.has("v") {
		return -1, nil
	}
	v, err := strconv.ParseInt(p.value("v"), 10, 32)
	if err != nil {
		return 0, failf("-v argument must be an int value")
	}
	return int32(v), nil
}

func runLs(sh *shell, p *parsedArgs) error {
	const help = "usage: ls [options] path\n -?   help\n -R   recurse\n -s   stat\n -w   watch\n"
	if p.has("?") {
		fmt.Fprint(sh.out, help)
		sh.res.Help = help
		return nil
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	path, watch := p.args[1], p.has("w")
	r := sh.res
	r.Path = path
	c := sh.conn
	if p.has("R") {
		r.Paths = []string{}
		return wrap(visitDFS(sh, path, watch, func(child string) error {
			fmt.Fprintln(sh.out, child)
			r.Paths = append(r.Paths, child)
			return nil
		}))
	}
	var kids []string
	var st *proto.Stat
	var err error
	switch {
	case watch:
		kids, st, _, err = c.Children2W(ctx, path)
	default:
		kids, st, err = c.Children2(ctx, path)
	}
	if err != nil {
		return wrap(err)
	}
	sort.Strings(kids)
	fmt.Fprintln(sh.out, listString(kids))
	r.Children = append([]string{}, kids...)
	r.setStat(st)
	if p.has("s") {
		printStat(sh.out, st)
	}
	return nil
}

// visitDFS is ZKUtil.visitSubTreeDFS: the node, then its children (sorted),
// then each child's subtree, reading with watches when asked.
func visitDFS(sh *shell, path string, watch bool, visit func(string) error) error {
	ctx, cancel := sh.ctx()
	defer cancel()
	var err error
	if watch {
		_, _, _, err = sh.conn.GetW(ctx, path)
	} else {
		_, _, err = sh.conn.Get(ctx, path)
	}
	if err != nil {
		return err
	}
	if err := visit(path); err != nil {
		return err
	}
	return visitChildren(sh, path, watch, visit)
}

func visitChildren(sh *shell, path string, watch bool, visit func(string) error) error {
	ctx, cancel := sh.ctx()
	var kids []string
	var err error
	if watch {
		kids, _, err = sh.conn.ChildrenW(ctx, path)
	} else {
		kids, err = sh.conn.Children(ctx, path)
	}
	cancel()
	if err != nil {
		return err
	}
	sort.Strings(kids)
	for i, k := range kids {
		kids[i] = childPath(path, k)
		if err := visit(kids[i]); err != nil {
			return err
		}
	}
	for _, k := range kids {
		if err := visitChildren(sh, k, watch, visit); err != nil {
			return err
		}
	}
	return nil
}

func childPath(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}

func runCreate(sh *shell, p *parsedArgs) error {
	hasE, hasS, hasC, hasT := p.has("e"), p.has("s"), p.has("c"), p.has("t")
	if hasC && (hasE || hasS) {
		return failf("-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.")
	}
	var ttl int64
	if hasT {
		v, err := strconv.ParseInt(p.value("t"), 10, 64)
		if err != nil {
			return failf("-t argument must be a long value")
		}
		ttl = v
	}
	if hasT && hasE {
		return failf("TTLs cannot be used with Ephemeral znodes")
	}
	if hasT && hasC {
		return failf("TTLs cannot be used with Container znodes")
	}
	mode := client.ModePersistent
	switch {
	case hasE && hasS:
		mode = client.ModeEphemeralSequential
	case hasE:
		mode = client.ModeEphemeral
	case hasS && hasT:
		mode = client.ModePersistentSequentialWithTTL
	case hasS:
		mode = client.ModePersistentSequential
	case hasC:
		mode = client.ModeContainer
	case hasT:
		mode = client.ModePersistentWithTTL
	}
	if hasT && (ttl <= 0 || ttl > client.MaxTTL.Milliseconds()) {
		return failf("ttl must be positive and cannot be larger than: %d", client.MaxTTL.Milliseconds())
	}
	path := p.args[1]
	var data []byte
	if len(p.args) > 2 {
		data = []byte(p.args[2])
	}
	sh.res.Path = path
	acl := proto.OpenACLUnsafe
	if len(p.args) > 3 {
		acl = parseACL(p.args[3], sh.warnw())
	}
	if len(acl) == 0 {
		// The Java client refuses an empty ACL without naming the path.
		fmt.Fprintln(sh.warnw(), keeperMessage(proto.ErrInvalidACL, ""))
		return failc(proto.ErrInvalidACL, "Acl is not valid : null")
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	var created string
	var err error
	if hasT {
		created, _, err = sh.conn.CreateTTL(ctx, path, data, acl, mode, ttlDuration(ttl))
	} else {
		created, err = sh.conn.Create(ctx, path, data, acl, mode)
	}
	switch code := client.CodeOf(err); {
	case err == nil:
		fmt.Fprintln(sh.errw, "Created "+created)
		sh.res.Path = created
		return nil
	case code == proto.ErrEphemeralOnLocalSession:
		fmt.Fprintln(sh.warnw(), "Unable to create ephemeral node on a local session")
	case code == proto.ErrInvalidACL:
		fmt.Fprintln(sh.warnw(), keeperMessage(code, path))
	}
	return wrap(err)
}

func runGet(sh *shell, p *parsedArgs) error {
	ctx, cancel := sh.ctx()
	defer cancel()
	sh.res.Path = p.args[1]
	var data []byte
	var st *proto.Stat
	var err error
	if p.has("w") {
		data, st, _, err = sh.conn.GetW(ctx, p.args[1])
	} else {
		data, st, err = sh.conn.Get(ctx, p.args[1])
	}
	if err != nil {
		return wrap(err)
	}
	if data == nil {
		fmt.Fprintln(sh.out, "null")
	} else {
		fmt.Fprintln(sh.out, string(data))
	}
	sh.res.setData(data)
	sh.stat(st, p.has("s"))
	return nil
}

func runSet(sh *shell, p *parsedArgs) error {
	version, err := versionFlag(p)
	if err != nil {
		return err
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	sh.res.Path = p.args[1]
	st, err := sh.conn.Set(ctx, p.args[1], []byte(p.args[2]), version)
	if err != nil {
		return wrap(err)
	}
	sh.stat(st, p.has("s"))
	return nil
}

func runDelete(sh *shell, p *parsedArgs) error {
	version, err := versionFlag(p)
	if err != nil {
		return err
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	sh.res.Path = p.args[1]
	return wrap(sh.conn.Delete(ctx, p.args[1], version))
}

func runDeleteAll(sh *shell, p *parsedArgs) error {
	batch := 1000
	if p.has("b") {
		v, err := strconv.Atoi(p.value("b"))
		if err != nil {
			return failf("-b argument must be an int value")
		}
		batch = v
	}
	sh.res.Path = p.args[1]
	ok, err := deleteRecursive(sh, p.args[1], batch)
	if err != nil {
		return wrap(err)
	}
	if !ok {
		fmt.Fprintln(sh.warnw(), "Failed to delete some node(s) in the subtree!")
	}
	return nil
}

// deleteRecursive is ZKUtil.deleteRecursive: list the subtree breadth
// first, then delete it deepest first, batch nodes per multi. It reports
// false when a batch failed.
func deleteRecursive(sh *shell, path string, batch int) (bool, error) {
	if err := proto.ValidatePath(path, false); err != nil {
		return false, err
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	tree := []string{path}
	for i := 0; i < len(tree); i++ {
		kids, err := sh.conn.Children(ctx, tree[i])
		if err != nil {
			return false, err
		}
		for _, k := range kids {
			tree = append(tree, childPath(tree[i], k))
		}
	}
	if batch < 1 {
		batch = 1
	}
	ok := true
	var ops []client.Op
	for i := len(tree) - 1; i >= 0; i-- {
		ops = append(ops, client.DeleteOp(tree[i], -1))
		if len(ops) == batch || i == 0 {
			if _, err := sh.conn.Multi(ctx, ops...); err != nil {
				ok = false
			}
			ops = nil
		}
	}
	return ok, nil
}

func runStat(sh *shell, p *parsedArgs) error {
	ctx, cancel := sh.ctx()
	defer cancel()
	sh.res.Path = p.args[1]
	var st *proto.Stat
	var err error
	if p.has("w") {
		st, _, err = sh.conn.ExistsW(ctx, p.args[1])
	} else {
		st, err = sh.conn.Exists(ctx, p.args[1])
	}
	if err != nil {
		return wrap(err)
	}
	if st == nil {
		return failc(proto.ErrNoNode, "Node does not exist: %s", p.args[1])
	}
	sh.stat(st, true)
	return nil
}

func runGetACL(sh *shell, p *parsedArgs) error {
	ctx, cancel := sh.ctx()
	defer cancel()
	sh.res.Path = p.args[1]
	acl, st, err := sh.conn.GetACL(ctx, p.args[1])
	if err != nil {
		return wrap(err)
	}
	for _, a := range acl {
		fmt.Fprintln(sh.out, aclString(a))
	}
	sh.res.setACL(acl)
	sh.stat(st, p.has("s"))
	return nil
}

func runSetACL(sh *shell, p *parsedArgs) error {
	path := p.args[1]
	sh.res.Path = path
	acl := parseACL(p.args[2], sh.warnw())
	version, err := versionFlag(p)
	if err != nil {
		return err
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	if p.has("R") {
		// Failures on single nodes are printed, without a newline, as
		// zkCli.sh does; only a failure to walk the tree fails the command.
		return wrap(visitDFS(sh, path, false, func(node string) error {
			if _, err := sh.conn.SetACL(ctx, node, acl, version); err != nil {
				fmt.Fprint(sh.out, keeperMessage(client.CodeOf(err), node))
				sh.res.warn(keeperMessage(client.CodeOf(err), node))
			}
			return nil
		}))
	}
	if len(acl) == 0 {
		return failc(proto.ErrInvalidACL, "Acl is not valid : null")
	}
	st, err := sh.conn.SetACL(ctx, path, acl, version)
	if err != nil {
		return wrap(err)
	}
	sh.stat(st, p.has("s"))
	return nil
}

func runAddAuth(sh *shell, p *parsedArgs) error {
	var auth []byte
	if len(p.args) > 2 {
		auth = []byte(p.args[2])
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	// zkCli.sh adds credentials without waiting and prints nothing; a
	// rejected credential shows as the AuthFailed event.
	sh.conn.AddAuth(ctx, p.args[1], auth)
	return nil
}

func runSync(sh *shell, p *parsedArgs) error {
	ctx, cancel := sh.ctx()
	defer cancel()
	sh.res.Path = p.args[1]
	err := sh.conn.Sync(ctx, p.args[1])
	var e *client.Error
	switch {
	case err == nil:
		fmt.Fprintln(sh.out, "Sync is OK")
	case errors.As(err, &e) && e.Code != proto.ErrOK:
		sh.notice(sh.out, e.Code, fmt.Sprintf("Sync has failed. rc=%d", int32(e.Code)))
	default:
		return wrap(err)
	}
	return nil
}

func runGetEphemerals(sh *shell, p *parsedArgs) error {
	path := "/"
	if len(p.args) > 1 {
		path = p.args[1]
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	sh.res.Path = path
	eph, err := sh.conn.GetEphemerals(ctx, path)
	if err != nil {
		return wrap(err)
	}
	fmt.Fprintln(sh.out, listString(eph))
	sh.res.Paths = append([]string{}, eph...)
	return nil
}

func runGetAllChildrenNumber(sh *shell, p *parsedArgs) error {
	ctx, cancel := sh.ctx()
	defer cancel()
	sh.res.Path = p.args[1]
	n, err := sh.conn.GetAllChildrenNumber(ctx, p.args[1])
	if err != nil {
		return wrap(err)
	}
	fmt.Fprintln(sh.out, n)
	sh.res.TotalNumber = &n
	return nil
}

func runAddWatch(sh *shell, p *parsedArgs) error {
	mode := client.AddWatchPersistentRecursive
	if p.has("m") {
		switch strings.ToUpper(p.value("m")) {
		case "PERSISTENT":
			mode = client.AddWatchPersistent
		case "PERSISTENT_RECURSIVE":
		default:
			return failf("addWatch %s", commands["addWatch"].usage)
		}
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	sh.res.Path, sh.res.Mode = p.args[1], mode.String()
	ch, err := sh.conn.AddWatch(ctx, p.args[1], mode)
	if err != nil {
		return wrap(err)
	}
	// Events are printed by the default watcher; the channel only needs
	// reading so that it does not grow.
	sh.drains.Add(1)
	go func() {
		defer sh.drains.Done()
		for range ch {
		}
	}()
	return nil
}

func runRemoveWatches(sh *shell, p *parsedArgs) error {
	t := client.WatcherAny
	switch {
	case p.has("c"):
		t = client.WatcherChildren
	case p.has("d"):
		t = client.WatcherData
	case p.has("a"):
		t = client.WatcherAny
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	sh.res.Path = p.args[1]
	err := sh.conn.RemoveWatches(ctx, p.args[1], t, p.has("l"))
	if code := client.CodeOf(err); err != nil && code != proto.ErrSystemError {
		var e *client.Error
		if errors.As(err, &e) && e.Err == nil {
			return failc(code, "%s", keeperMessage(code, p.args[1]))
		}
	}
	return wrap(err)
}

func runWhoAmI(sh *shell, p *parsedArgs) error {
	ctx, cancel := sh.ctx()
	defer cancel()
	ids, err := sh.conn.WhoAmI(ctx)
	if err != nil {
		return wrap(err)
	}
	fmt.Fprintln(sh.out, "Auth scheme: User")
	sh.res.ClientInfo = []clientInfoJSON{}
	for _, id := range ids {
		fmt.Fprintf(sh.out, "%s: %s\n", id.AuthScheme, id.User)
		sh.res.ClientInfo = append(sh.res.ClientInfo, clientInfoJSON{id.AuthScheme, id.User})
	}
	return nil
}

func runConfig(sh *shell, p *parsedArgs) error {
	ctx, cancel := sh.ctx()
	defer cancel()
	var data []byte
	var st *proto.Stat
	var err error
	if p.has("w") {
		data, st, _, err = sh.conn.GetConfigW(ctx)
	} else {
		data, st, err = sh.conn.GetConfig(ctx)
	}
	if err != nil {
		return wrap(err)
	}
	cfg := "null"
	if data != nil {
		cfg = string(data)
	}
	if p.has("c") {
		cfg = clientConfig(cfg)
	}
	fmt.Fprintln(sh.out, cfg)
	sh.res.Config = &cfg
	sh.stat(st, p.has("s"))
	return nil
}

// clientConfig is ConfigUtils.getClientConfigStr: the config version, a
// space, and the client addresses of the servers, comma-separated.
func clientConfig(cfg string) string {
	version := ""
	type srv struct {
		id   int
		addr string
	}
	var servers []srv
	for _, line := range strings.Split(cfg, "\n") {
		key, value, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if key == "version" {
			version = value
		}
		id, isServer := strings.CutPrefix(key, "server.")
		if !isServer {
			continue
		}
		n, _ := strconv.Atoi(id)
		addr := ""
		if _, client, ok := strings.Cut(value, ";"); ok {
			addr = client
			if !strings.Contains(addr, ":") {
				addr = "0.0.0.0:" + addr
			}
		}
		servers = append(servers, srv{n, addr})
	}
	sort.Slice(servers, func(i, j int) bool { return servers[i].id < servers[j].id })
	addrs := make([]string, len(servers))
	for i, s := range servers {
		addrs[i] = s.addr
	}
	return version + " " + strings.Join(addrs, ",")
}

func runReconfig(sh *shell, p *parsedArgs) error {
	version := int64(-1)
	if p.has("v") {
		v, err := strconv.ParseInt(p.value("v"), 16, 64)
		if err != nil {
			return failf("-v must be followed by a long (configuration version)")
		}
		version = v
	}
	file, members, add, remove := p.has("file"), p.has("members"), p.has("add"), p.has("remove")
	if (file || members) && (add || remove) {
		return failf("Can't use -file or -members together with -add or -remove (mixing incremental and non-incremental modes is not allowed)")
	}
	if file && members {
		return failf("Can't use -file and -members together (conflicting non-incremental modes)")
	}
	if !file && !members && !add && !remove {
		return failf("reconfig %s", commands["reconfig"].usage)
	}
	joining, leaving, newMembers := strings.ToLower(p.value("add")), strings.ToLower(p.value("remove")), strings.ToLower(p.value("members"))
	if file {
		b, err := os.ReadFile(p.value("file"))
		if err != nil {
			return failf("Error processing %s%v", p.value("file"), err)
		}
		var lines []string
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, "server.") {
				lines = append(lines, l)
			}
		}
		newMembers = strings.Join(lines, "\n")
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	cfg, st, err := sh.conn.Reconfig(ctx, joining, leaving, newMembers, version)
	if err != nil {
		return wrap(err)
	}
	fmt.Fprintln(sh.out, "Committed new configuration:\n"+string(cfg))
	committed := string(cfg)
	sh.res.Config = &committed
	sh.stat(st, p.has("s"))
	return nil
}

func runClose(sh *shell, p *parsedArgs) error {
	sh.conn.Close()
	return nil
}

func runVersion(sh *shell, p *parsedArgs) error {
	fmt.Fprintln(sh.out, "ZooKeeper CLI version: "+buildVersion())
	sh.res.Version = buildVersion()
	return nil
}

// buildVersion names this zkcli build.
func buildVersion() string {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	return "zkd zkcli " + v + " (ZooKeeper 3.9 protocol)"
}

// stat records a command's Stat for -json and prints it when show (the -s
// flag, or stat itself) asks.
func (sh *shell) stat(st *proto.Stat, show bool) {
	sh.res.setStat(st)
	if show {
		printStat(sh.out, st)
	}
}

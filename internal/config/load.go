package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Size caps: real files are a few kilobytes; the caps keep a wrong path
// (a log file, a device) from being read whole.
const (
	maxConfigBytes = 1 << 20
	maxMyIDBytes   = 1 << 10
)

var errNotRegular = errors.New("not a regular file")

// fileReader reads a whole small file; tests and the fuzzer substitute it.
type fileReader func(name string, max int64) ([]byte, error)

func readRegular(name string, max int64) ([]byte, error) {
	// Stat before Open: opening a FIFO for reading would block.
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errNotRegular
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return b, nil
}

// readErr drops the *PathError wrapper, whose path the Error already names.
func readErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("cannot read: %w", err)
}

// Load reads a zoo.cfg file, applies ZooKeeper's rules (see the package
// doc), reads <dataDir>/myid when there are server lines, and validates the
// result. The returned strings are notices (ignored Java-only keys, derived
// decisions) and warnings (unknown or repeated keys) for the operator, in
// file order. Every error is an *Error naming the file, line, key and value.
func Load(path string) (*Options, []string, error) {
	return load(path, readRegular)
}

func load(path string, read fileReader) (*Options, []string, error) {
	data, err := read(path, maxConfigBytes)
	if err != nil {
		return nil, nil, &Error{File: path, Err: readErr(err)}
	}
	return loadData(path, data, read)
}

// location records where a setting came from, for error messages.
type location struct {
	file string
	line int
	key  string // as written, e.g. "zookeeper.snapCount" or "server.03"
	// value as written; used for server lines, which Validate reports in
	// normalised form.
	value string
}

type loader struct {
	path  string
	read  fileReader
	o     *Options
	notes []string
	where map[string]location // canonical key ("snapCount", "server.3", "myid") -> origin
	// dynFile is the dynamicConfigFile the server lines came from, if any.
	dynFile string
}

func loadData(path string, data []byte, read fileReader) (*Options, []string, error) {
	props, warnings, perr := parseProperties(data)
	if perr != nil {
		perr.File = path
		return nil, nil, perr
	}
	o := Default()
	// As in ZooKeeper, a config file must say where data goes and which
	// port clients use (or give it on this server's server.N line).
	o.DataDir, o.ClientPort = "", 0
	l := &loader{path: path, read: read, o: o, notes: warnings, where: map[string]location{}}
	if err := l.apply(props); err != nil {
		return nil, nil, err
	}
	notes, verr := o.resolve()
	if verr != nil {
		return nil, nil, l.locate(verr)
	}
	return o, append(l.notes, notes...), nil
}

// apply sets Options from the file's properties, in keySpecs order so the
// first error reported does not depend on the file's line order.
func (l *loader) apply(props []property) *Error {
	chosen := map[string]property{}
	var servers []property
	for _, p := range props {
		if strings.HasPrefix(p.key, "server.") {
			servers = append(servers, p)
			continue
		}
		if strings.HasPrefix(p.key, "group.") || strings.HasPrefix(p.key, "weight.") {
			return &Error{File: l.path, Line: p.line, Key: p.key, Value: p.value,
				Err: errors.New("hierarchical quorums (group.N, weight.N) are not supported by zkd"), Allowed: "majority quorums: remove group.N and weight.N"}
		}
		canon, prefixed := canonicalKey(p.key)
		if canon == "" {
			l.ignore(p)
			continue
		}
		prev, seen := chosen[canon]
		switch {
		case !seen:
			chosen[canon] = p
		case prev.key == p.key:
			l.notes = append(l.notes, fmt.Sprintf("warning: %s is set on lines %d and %d: using line %d, as ZooKeeper does",
				p.key, prev.line, p.line, p.line))
			chosen[canon] = p
		default:
			plain, other := p, prev
			if prefixed {
				plain, other = prev, p
			}
			l.notes = append(l.notes, fmt.Sprintf("warning: both %s (line %d) and %s (line %d) are set: using %s, as ZooKeeper does",
				plain.key, plain.line, other.key, other.line, plain.key))
			chosen[canon] = plain
		}
	}
	o := l.o
	for _, spec := range keySpecs {
		p, ok := chosen[spec.Key]
		if !ok || spec.set == nil {
			continue
		}
		l.where[spec.Key] = location{l.path, p.line, p.key, ""}
		if !spec.set(o, p.value) {
			return &Error{File: l.path, Line: p.line, Key: p.key, Value: p.value, Allowed: spec.allowed}
		}
	}
	if _, ok := chosen["dataDir"]; !ok {
		return &Error{File: l.path, Key: "dataDir", Err: errors.New("not set"),
			Allowed: allowDir + " (dataDir is required in a config file, as in ZooKeeper)"}
	}
	for _, d := range []struct{ key, dir string }{{"dataDir", o.DataDir}, {"dataLogDir", o.DataLogDir}} {
		if d.dir != "" && !filepath.IsAbs(d.dir) {
			l.notes = append(l.notes, fmt.Sprintf("warning: %s %s is a relative path: it depends on the working directory", d.key, d.dir))
		}
	}
	if dyn, ok := chosen["dynamicConfigFile"]; ok {
		var err *Error
		if servers, err = l.dynamicServers(dyn, servers); err != nil {
			return err
		}
	}
	if err := l.servers(servers); err != nil {
		return err
	}
	if len(o.Servers) > 0 && o.MyID == 0 {
		if err := l.readMyID(); err != nil {
			return err
		}
	}
	// ZooKeeper corrects these with a log line rather than failing.
	if _, ok := chosen["autopurge.snapRetainCount"]; ok && o.SnapRetainCount < 3 {
		l.notes = append(l.notes, fmt.Sprintf("autopurge.snapRetainCount %d is below the minimum: using 3, as ZooKeeper does", o.SnapRetainCount))
		o.SnapRetainCount = 3
	}
	if _, ok := chosen["commitLogCount"]; ok && o.CommitLogCount < minCommitLogCount {
		l.notes = append(l.notes, fmt.Sprintf("commitLogCount %d is below the minimum: using %d, as ZooKeeper does", o.CommitLogCount, minCommitLogCount))
		o.CommitLogCount = minCommitLogCount
	}
	if o.PurgeInterval < 0 {
		l.notes = append(l.notes, "autopurge.purgeInterval is negative: autopurge disabled, as in ZooKeeper")
		o.PurgeInterval = 0
	}
	return nil
}

// minCommitLogCount is ZooKeeper's floor for commitLogCount.
const minCommitLogCount = 500

// canonicalKey maps a key, plain or "zookeeper."-prefixed, to the keySpecs
// name it sets; "" if zkd does not honour it.
func canonicalKey(key string) (canon string, prefixed bool) {
	if key == "myid" || key == "server.N" {
		return "", false
	}
	for _, s := range keySpecs {
		if s.Key == "myid" || s.Key == "server.N" {
			continue
		}
		if key == s.Key {
			return s.Key, false
		}
		if strings.HasPrefix(key, "zookeeper.") && key[len("zookeeper."):] == s.Key {
			return s.Key, true
		}
	}
	return "", false
}

// ignore reports a key zkd does not honour: a notice for Java-only keys, a
// warning (with a spelling hint) for anything else.
func (l *loader) ignore(p property) {
	k := strings.TrimPrefix(p.key, "zookeeper.")
	switch {
	case k == "myid":
		l.notes = append(l.notes, fmt.Sprintf("warning: %s (line %d) is not a zoo.cfg key: ignored; write the id to <dataDir>/myid", p.key, p.line))
	case isJavaOnly(k):
		l.notes = append(l.notes, fmt.Sprintf("ignoring Java-only key %s (line %d)", p.key, p.line))
	default:
		hint := ""
		for _, s := range keySpecs {
			if strings.EqualFold(k, s.Key) {
				hint = "; did you mean " + s.Key + "?"
			}
		}
		l.notes = append(l.notes, fmt.Sprintf("warning: unknown key %s (line %d) ignored%s", p.key, p.line, hint))
	}
}

// dynamicServers reads the server lines from the dynamicConfigFile, which
// may hold nothing else (as ZooKeeper requires).
func (l *loader) dynamicServers(dyn property, static []property) ([]property, *Error) {
	if len(static) > 0 {
		return nil, &Error{File: l.path, Line: static[0].line, Key: static[0].key, Value: static[0].value,
			Err: errors.New("dynamicConfigFile is set, so server lines must be in that file"), Allowed: "server lines in " + dyn.value}
	}
	if dyn.value == "" {
		return nil, &Error{File: l.path, Line: dyn.line, Key: dyn.key, Value: "", Allowed: "a file path"}
	}
	data, err := l.read(dyn.value, maxConfigBytes)
	if err != nil {
		return nil, &Error{File: l.path, Line: dyn.line, Key: dyn.key, Value: dyn.value, Err: readErr(err), Allowed: "a readable file"}
	}
	props, warnings, perr := parseProperties(data)
	if perr != nil {
		perr.File = dyn.value
		return nil, perr
	}
	l.notes = append(l.notes, warnings...)
	l.notes = append(l.notes, "reading server lines from dynamicConfigFile "+dyn.value)
	l.dynFile = dyn.value
	var out []property
	for _, p := range props {
		switch {
		case strings.HasPrefix(p.key, "server."):
			out = append(out, p)
		case p.key == "version":
		default:
			return nil, &Error{File: dyn.value, Line: p.line, Key: p.key, Value: p.value,
				Err: errors.New("a dynamic config file holds only server lines"), Allowed: "server.N=... lines (and version)"}
		}
	}
	return out, nil
}

// servers parses the server lines into Options.Servers. Duplicate ids are
// caught here, where both line numbers are known; Validate checks the rest.
func (l *loader) servers(props []property) *Error {
	file := l.path
	if l.dynFile != "" {
		file = l.dynFile
	}
	for _, p := range props {
		id, err := parseServerID(p.key)
		if err == nil {
			var s Server
			if s, err = parseServer(p.key, id, p.value); err == nil {
				canon := "server." + strconv.FormatUint(id, 10)
				if prev, dup := l.where[canon]; dup {
					return &Error{File: file, Line: p.line, Key: p.key, Value: p.value,
						Err: fmt.Errorf("server id %d is also defined by %s on line %d", id, prev.key, prev.line), Allowed: "each server id once"}
				}
				l.where[canon] = location{file, p.line, p.key, p.value}
				l.o.Servers = append(l.o.Servers, s)
				continue
			}
		}
		err.File, err.Line = file, p.line
		return err
	}
	return nil
}

// readMyID reads <dataDir>/myid: its first line, an integer, as ZooKeeper
// does. The file is required unless the server runs standalone.
func (l *loader) readMyID() *Error {
	o := l.o
	name := filepath.Join(o.DataDir, "myid")
	ids := make([]string, len(o.Servers))
	for i, s := range o.Servers {
		ids[i] = strconv.FormatUint(s.ID, 10)
	}
	allowed := "this server's id, one of the server.N ids (" + strings.Join(ids, ", ") + ")"
	data, err := l.read(name, maxMyIDBytes)
	if err != nil {
		if o.Standalone() && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotRegular)) {
			if len(o.Servers) == 1 {
				o.MyID = o.Servers[0].ID
				l.notes = append(l.notes, fmt.Sprintf("no %s: taking the id of the only server line, %d", name, o.MyID))
			}
			return nil
		}
		return &Error{File: name, Key: "myid", Err: readErr(err), Allowed: "a file holding " + allowed}
	}
	first, _, _ := strings.Cut(string(data), "\n")
	first = javaTrim(first)
	id, perr := strconv.ParseInt(first, 10, 64)
	if perr != nil || id <= 0 {
		return &Error{File: name, Line: 1, Key: "myid", Value: first, Allowed: "a positive integer: " + allowed}
	}
	o.MyID = uint64(id)
	l.where["myid"] = location{name, 1, "myid", ""}
	return nil
}

// locate adds the file, line and key spelling to an error Validate found.
func (l *loader) locate(e *Error) error {
	if loc, ok := l.where[e.Key]; ok {
		e.File, e.Line, e.Key = loc.file, loc.line, loc.key
		if loc.value != "" {
			e.Value = loc.value
		}
		return e
	}
	e.File = l.path
	if lookupSpec(e.Key) != nil {
		// The file does not set the key: say so rather than quote a value
		// the operator never wrote.
		notSet := fmt.Sprintf("not set (default %s)", e.Value)
		if e.Value == "" {
			notSet = "not set"
		}
		if e.Err != nil {
			e.Err = fmt.Errorf("%s; %w", notSet, e.Err)
		} else {
			e.Err = errors.New(notSet)
		}
		e.Value = ""
	}
	return e
}

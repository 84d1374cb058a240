package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	gproto "google.golang.org/protobuf/proto"

	"github.com/zkd-io/zkd/internal/fsm"
	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/internal/storage"
	"github.com/zkd-io/zkd/internal/tree"
	"github.com/zkd-io/zkd/proto"
)

// tools are the offline subcommands (zkd wal ..., zkd snapshot ...), keyed by
// their first word. Each returns the process exit code: 0 success, 1 the
// files are damaged or unreadable, 2 bad usage. They only read: they never
// take the data directory's lock, repair or rename anything, so they may be
// pointed at a running server's files.
var tools = map[string]func(args []string, stdout, stderr io.Writer) int{
	"wal":      walTool,
	"snapshot": snapshotTool,
}

const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// The directory names server.Start gives the log and the snapshots inside
// dataLogDir and dataDir.
const (
	walSubdir  = "wal"
	snapSubdir = "snap"
)

const walUsage = `usage: zkd wal dump [-data] [-v] DIR

Prints every record of a zkd write-ahead log: raft entries with index and
term and, for zkd entries, the decoded operation (zxid, time, session, op,
path; each op of a multi). DIR is the WAL directory (dataLogDir/wal) or the
dataLogDir that holds it.

The files are opened read-only and no lock is taken, so this is safe on a
running server; its last record may then be mid-write and show as a torn end.
`

func walTool(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "dump" {
		fmt.Fprint(stderr, walUsage)
		return exitUsage
	}
	fs := flag.NewFlagSet("zkd wal dump", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, walUsage) }
	showData := fs.Bool("data", false, "print znode data (quoted, first 64 bytes)")
	verbose := fs.Bool("v", false, "also print HardState, CRC and metadata records")
	arg, ok := oneArg(fs, args[1:])
	if !ok {
		return exitUsage
	}
	dir, err := findWALDir(arg)
	if err != nil {
		fmt.Fprintf(stderr, "zkd wal dump: %v\n", err)
		return exitFailure
	}
	d := &walDumper{out: stdout, data: *showData, verbose: *verbose, counters: map[uint64]int64{}, known: map[uint64]bool{}}
	end, err := storage.ReadWAL(dir, d.record)
	if err != nil {
		var we *storage.WALError
		if errors.As(err, &we) {
			fmt.Fprintf(stderr, "zkd wal dump: the log is damaged: %v\n"+
				"A server refuses to start on this log. Restore this server's data from a backup, or move the data\n"+
				"directories away and let it rejoin its ensemble from its peers. The records before the damage are printed above.\n", err)
		} else {
			fmt.Fprintf(stderr, "zkd wal dump: %v\n", err)
		}
		return exitFailure
	}
	d.summary(dir, end)
	return exitOK
}

// findWALDir accepts the WAL directory itself or a directory holding it.
func findWALDir(dir string) (string, error) {
	if hasFiles(dir, ".wal") {
		return dir, nil
	}
	if sub := filepath.Join(dir, walSubdir); hasFiles(sub, ".wal") {
		return sub, nil
	}
	if _, err := os.Stat(dir); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no WAL segments (*.wal) in %s or %s; pass dataLogDir/%s (dataDir/%s when dataLogDir is not set)",
		dir, filepath.Join(dir, walSubdir), walSubdir, walSubdir)
}

// findSnapDir accepts the snapshot directory itself or a directory holding it.
func findSnapDir(dir string) (string, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory; pass dataDir or dataDir/%s", dir, snapSubdir)
	}
	if sub := filepath.Join(dir, snapSubdir); !hasFiles(dir, ".snap") {
		if fi, err := os.Stat(sub); err == nil && fi.IsDir() {
			return sub, nil
		}
	}
	return dir, nil
}

func hasFiles(dir, suffix string) bool {
	des, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, de := range des {
		if !de.IsDir() && strings.HasSuffix(de.Name(), suffix) {
			return true
		}
	}
	return false
}

// parseInterleaved lets flags come before or after the positional
// arguments ("inspect FILE -tree" as well as "inspect -tree FILE"), which
// the flag package alone does not.
// oneArg parses flags placed before or after the single positional argument
// a tool takes; false means a usage error (already reported).
func oneArg(fs *flag.FlagSet, args []string) (string, bool) {
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return "", false
	}
	if len(pos) != 1 {
		fs.Usage()
		return "", false
	}
	return pos[0], true
}

func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// walDumper prints records as ReadWAL delivers them.
type walDumper struct {
	out           io.Writer
	data, verbose bool

	segment  string
	entries  int
	lastHS   *raftpb.HardState
	lastIdx  uint64
	lastTerm uint64
	snaps    int

	// zxid derivation: fsm counts the non-empty entries of each term, so
	// the counter of a term is known once the dump has seen where the term
	// began (an earlier entry of a lower term, or the log's first entry).
	counters map[uint64]int64
	known    map[uint64]bool
}

func (d *walDumper) record(r *storage.WALRecord) error {
	if r.Segment != d.segment {
		d.segment = r.Segment
		fmt.Fprintf(d.out, "# segment %s\n", r.Segment)
	}
	switch r.Type {
	case storage.WALEntry:
		d.entry(r.Entry)
	case storage.WALState:
		d.lastHS = r.State
		if d.verbose {
			fmt.Fprintf(d.out, "hardstate term=%d vote=%d commit=%d  (offset %d)\n",
				r.State.GetTerm(), r.State.GetVote(), r.State.GetCommit(), r.Offset)
		}
	case storage.WALSnapshot:
		if r.Snapshot.Index == 0 {
			fmt.Fprintln(d.out, "log-start (no snapshot before the first entry)")
			return nil
		}
		d.snaps++
		fmt.Fprintf(d.out, "snapshot-taken index=%d term=%d voters=%v learners=%v\n",
			r.Snapshot.Index, r.Snapshot.Term, r.Snapshot.ConfState.GetVoters(), r.Snapshot.ConfState.GetLearners())
	case storage.WALCRC:
		if d.verbose {
			fmt.Fprintf(d.out, "crc %08x  (offset %d)\n", r.CRC, r.Offset)
		}
	case storage.WALMetadata:
		if d.verbose {
			fmt.Fprintf(d.out, "metadata %q  (offset %d)\n", r.Metadata, r.Offset)
		}
	}
	return nil
}

func (d *walDumper) entry(e *raftpb.Entry) {
	d.entries++
	idx, term := e.GetIndex(), e.GetTerm()
	if d.lastIdx != 0 && idx <= d.lastIdx {
		fmt.Fprintf(d.out, "# entries from index %d on replace the ones above (a new leader overwrote an uncommitted tail)\n", idx)
	}
	if !d.known[term] && (idx == 1 || (d.lastIdx != 0 && d.lastTerm < term)) {
		d.known[term] = true
	}
	d.lastIdx, d.lastTerm = idx, term
	head := fmt.Sprintf("index=%d term=%d", idx, term)
	switch e.GetType() {
	case raftpb.EntryConfChange:
		cc := &raftpb.ConfChange{}
		if err := gproto.Unmarshal(e.GetData(), cc); err != nil {
			fmt.Fprintf(d.out, "%s confChange <undecodable: %v>\n", head, err)
			return
		}
		fmt.Fprintf(d.out, "%s confChange %s node=%d\n", head, cc.GetType(), cc.GetNodeId())
	case raftpb.EntryConfChangeV2:
		cc := &raftpb.ConfChangeV2{}
		if err := gproto.Unmarshal(e.GetData(), cc); err != nil {
			fmt.Fprintf(d.out, "%s confChangeV2 <undecodable: %v>\n", head, err)
			return
		}
		fmt.Fprintf(d.out, "%s confChangeV2 %v\n", head, cc.GetChanges())
	default:
		if len(e.GetData()) == 0 {
			fmt.Fprintf(d.out, "%s empty (a new leader's first entry)\n", head)
			return
		}
		d.counters[term]++
		zxid := "?"
		if d.known[term] {
			zxid = fmt.Sprintf("0x%x", int64(term)<<32|d.counters[term])
		}
		fmt.Fprintf(d.out, "%s zxid=%s %s\n", head, zxid, describeEntry(e.GetData(), d.data))
	}
}

func (d *walDumper) summary(dir string, end storage.WALEnd) {
	fmt.Fprintf(d.out, "# %s: %d segment(s), %d entries, %d snapshot record(s)", dir, end.Segments, d.entries, d.snaps)
	if d.lastHS != nil {
		fmt.Fprintf(d.out, "; last hardstate term=%d vote=%d commit=%d", d.lastHS.GetTerm(), d.lastHS.GetVote(), d.lastHS.GetCommit())
		if d.lastIdx > d.lastHS.GetCommit() {
			fmt.Fprintf(d.out, " (entries after %d were not yet known committed when written)", d.lastHS.GetCommit())
		}
	}
	fmt.Fprintln(d.out)
	if end.Torn {
		fmt.Fprintf(d.out, "# the log ends in a torn write in %s at byte offset %d (%v): a crash, or a running server, mid-append; "+
			"the server truncates it at its next start and nothing after it was acknowledged\n", end.TornSegment, end.TornOffset, end.TornErr)
	}
}

// describeEntry renders a zkd log entry: time, session, op and request.
func describeEntry(b []byte, showData bool) string {
	var e fsm.Entry
	if err := e.Unmarshal(b); err != nil {
		return fmt.Sprintf("<not a zkd entry: %v; %d bytes>", err, len(b))
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "time=%s session=0x%x ", formatMillis(e.Time), e.Session)
	switch e.Op {
	case proto.OpCreateSession:
		fmt.Fprintf(&sb, "createSession timeout=%dms", e.Timeout)
	case proto.OpCloseSession:
		sb.WriteString("closeSession")
	case fsm.OpExpireSession:
		sb.WriteString("expireSession")
		if len(e.Body) == 8 {
			fmt.Fprintf(&sb, " term=%d", binary.BigEndian.Uint64(e.Body))
		}
	case fsm.OpMoveSession:
		fmt.Fprintf(&sb, "moveSession owner=%d", e.Origin)
	case fsm.OpRestore:
		// The body is a whole snapshot: its header says enough.
		fmt.Fprintf(&sb, "restore snapshot of %d bytes", len(e.Body))
		if zxid, digest, ok := fsm.PeekSnapshot(e.Body); ok {
			fmt.Fprintf(&sb, " taken at zxid=0x%x digest=0x%x", zxid, digest)
		} else {
			sb.WriteString(" <not a zkd snapshot: refused when applied>")
		}
	case fsm.OpDeleteExpired:
		fmt.Fprintf(&sb, "deleteExpired %s", e.Path)
	default:
		sb.WriteString(describeRequest(e.Op, e.Body, showData))
	}
	return sb.String()
}

func describeRequest(op proto.OpCode, body []byte, showData bool) string {
	req, ok := proto.NewRequest(op)
	if !ok {
		return fmt.Sprintf("%s <%d-byte body>", op, len(body))
	}
	r := jute.NewReader(body)
	if err := req.Decode(r); err != nil {
		return fmt.Sprintf("%s <undecodable body: %v>", op, err)
	}
	if m, ok := req.(*proto.MultiRequest); ok {
		var sb strings.Builder
		fmt.Fprintf(&sb, "%s %d ops", op, len(m.Ops))
		for i, o := range m.Ops {
			fmt.Fprintf(&sb, "\n    [%d] %s %s", i, o.Type, describeRecord(o.Op, showData))
		}
		return sb.String()
	}
	return op.String() + " " + describeRecord(req, showData)
}

func describeRecord(rec proto.Record, showData bool) string {
	data := func(b []byte) string {
		s := fmt.Sprintf("data=%dB", len(b))
		if showData {
			if len(b) > 64 {
				return s + fmt.Sprintf(" %q...", b[:64])
			}
			s += fmt.Sprintf(" %q", b)
		}
		return s
	}
	switch r := rec.(type) {
	case *proto.CreateRequest:
		return fmt.Sprintf("%s %s %s acl=%s", r.Path, modeName(r.Flags), data(r.Data), aclString(r.ACL))
	case *proto.CreateTTLRequest:
		return fmt.Sprintf("%s %s ttl=%dms %s acl=%s", r.Path, modeName(r.Flags), r.TTL, data(r.Data), aclString(r.ACL))
	case *proto.DeleteRequest:
		return fmt.Sprintf("%s version=%d", r.Path, r.Version)
	case *proto.SetDataRequest:
		return fmt.Sprintf("%s version=%d %s", r.Path, r.Version, data(r.Data))
	case *proto.SetACLRequest:
		return fmt.Sprintf("%s version=%d acl=%s", r.Path, r.Version, aclString(r.ACL))
	case *proto.CheckVersionRequest:
		return fmt.Sprintf("%s version=%d", r.Path, r.Version)
	case *proto.ReconfigRequest:
		return fmt.Sprintf("joining=%q leaving=%q members=%q config=%d", r.JoiningServers, r.LeavingServers, r.NewMembers, r.CurConfigID)
	case nil:
		return "<no body>"
	}
	return fmt.Sprintf("%+v", rec)
}

var modeNames = []string{"persistent", "ephemeral", "persistent_sequential", "ephemeral_sequential",
	"container", "persistent_ttl", "persistent_sequential_ttl"}

func modeName(flags int32) string {
	if flags >= 0 && int(flags) < len(modeNames) {
		return modeNames[flags]
	}
	return fmt.Sprintf("mode(%d)", flags)
}

// aclString renders ACLs as ZooKeeper's getAcl does per entry: scheme:id:cdrwa.
func aclString(acl []proto.ACL) string {
	parts := make([]string, len(acl))
	for i, a := range acl {
		perms := ""
		for _, p := range []struct {
			bit int32
			c   string
		}{{proto.PermCreate, "c"}, {proto.PermDelete, "d"}, {proto.PermRead, "r"}, {proto.PermWrite, "w"}, {proto.PermAdmin, "a"}} {
			if a.Perms&p.bit != 0 {
				perms += p.c
			}
		}
		parts[i] = a.ID.Scheme + ":" + a.ID.ID + ":" + perms
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func formatMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

const snapshotUsage = `usage: zkd snapshot inspect [-tree] [-sessions] FILE
       zkd snapshot verify DIR

inspect prints a summary of one snapshot file (zxid, applied index, term,
sessions, node count, data bytes, distinct ACLs); -tree adds every znode with
a Stat summary, -sessions every session.

verify checks every snapshot file in DIR (dataDir/snap, or the dataDir that
holds it): each header and chunk checksum, the trailer, and that the state
machine stream inside decodes. Exit status 1 names the first bad file and
byte offset; 0 means every snapshot file is intact.

Files are opened read-only; this is safe on a running server.
`

func snapshotTool(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, snapshotUsage)
		return exitUsage
	}
	switch args[0] {
	case "inspect":
		return snapshotInspect(args[1:], stdout, stderr)
	case "verify":
		return snapshotVerify(args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, snapshotUsage)
	return exitUsage
}

// loadedSnapshot is a snapshot file restored into a state machine.
type loadedSnapshot struct {
	meta    storage.SnapshotMeta
	fsm     *fsm.FSM
	payload uint64
}

// loadSnapshot restores a snapshot file into a fresh state machine and reads
// it to the end, so that the trailer is checked too. The error names the
// file and says where it failed.
func loadSnapshot(path string) (*loadedSnapshot, error) {
	r, err := storage.OpenSnapshotFile(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f := fsm.New(fsm.Options{})
	if err := f.Restore(r); err != nil {
		var se *storage.SnapshotError
		if errors.As(err, &se) {
			return nil, se
		}
		return nil, fmt.Errorf("%s: the checksums hold but the state machine stream inside does not decode "+
			"(after %d payload bytes, in the chunk at byte offset %d): %w", path, r.PayloadBytes(), r.ChunkOffset(), err)
	}
	// Restore stops at the stream's own end marker; the file must end there.
	if n, err := io.Copy(io.Discard, r); err != nil {
		return nil, err
	} else if n > 0 {
		return nil, fmt.Errorf("%s: %d payload bytes follow the end of the state machine stream (chunk at byte offset %d)", path, n, r.ChunkOffset())
	}
	return &loadedSnapshot{meta: r.Meta(), fsm: f, payload: r.PayloadBytes()}, nil
}

func snapshotInspect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("zkd snapshot inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, snapshotUsage) }
	showTree := fs.Bool("tree", false, "print every znode with a Stat summary")
	showSessions := fs.Bool("sessions", false, "print every session")
	arg, ok := oneArg(fs, args)
	if !ok {
		return exitUsage
	}
	s, err := loadSnapshot(arg)
	if err != nil {
		fmt.Fprintf(stderr, "zkd snapshot inspect: %v\n%s", err, snapshotAdvice)
		return exitFailure
	}
	t := s.fsm.Tree()
	acls := map[any]bool{}
	ephemerals := 0
	t.Walk(func(n *tree.Node) bool {
		acls[n.ACLID()] = true
		if n.IsEphemeral() {
			ephemerals++
		}
		return true
	})
	sessions := s.fsm.Sessions()
	fmt.Fprintf(stdout, "file        %s\n", arg)
	fmt.Fprintf(stdout, "term        %d\n", s.meta.Term)
	fmt.Fprintf(stdout, "index       %d\n", s.meta.Index)
	fmt.Fprintf(stdout, "members     voters=%v learners=%v\n", s.meta.ConfState.GetVoters(), s.meta.ConfState.GetLearners())
	fmt.Fprintf(stdout, "zxid        0x%x\n", s.fsm.LastZxid())
	fmt.Fprintf(stdout, "applied     %d\n", s.fsm.AppliedIndex())
	fmt.Fprintf(stdout, "sessions    %d\n", len(sessions))
	fmt.Fprintf(stdout, "nodes       %d\n", t.Len())
	fmt.Fprintf(stdout, "ephemerals  %d\n", ephemerals)
	fmt.Fprintf(stdout, "data bytes  %d\n", t.DataBytes())
	fmt.Fprintf(stdout, "acls        %d\n", len(acls))
	fmt.Fprintf(stdout, "payload     %d bytes, checksums verified\n", s.payload)
	if *showSessions {
		for _, ss := range sessions {
			fmt.Fprintf(stdout, "session 0x%x timeout=%dms ephemerals=%d\n", ss.ID, ss.Timeout, len(t.Ephemerals(ss.ID)))
		}
	}
	if *showTree {
		// The tree's own order is not path order; people read path order.
		nodes := make([]*tree.Node, 0, t.Len())
		t.Walk(func(n *tree.Node) bool {
			c := *n // Walk reuses n
			nodes = append(nodes, &c)
			return true
		})
		sort.Slice(nodes, func(i, j int) bool { return nodes[i].Path() < nodes[j].Path() })
		for _, n := range nodes {
			fmt.Fprintln(stdout, describeNode(n))
		}
	}
	return exitOK
}

func describeNode(n *tree.Node) string {
	st := n.Stat()
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s czxid=0x%x mzxid=0x%x pzxid=0x%x version=%d cversion=%d aversion=%d children=%d data=%dB mtime=%s",
		n.Path(), st.Czxid, st.Mzxid, st.Pzxid, st.Version, st.Cversion, st.Aversion, st.NumChildren, st.DataLength, formatMillis(st.Mtime))
	switch {
	case n.IsContainer():
		sb.WriteString(" container")
	case n.IsTTL():
		fmt.Fprintf(&sb, " ttl=%dms", n.TTL())
	case n.IsEphemeral():
		fmt.Fprintf(&sb, " ephemeralOwner=0x%x", st.EphemeralOwner)
	}
	return sb.String()
}

// snapshotAdvice is what to do about a damaged snapshot file.
const snapshotAdvice = `A server skips a damaged snapshot (renaming it *.broken) and starts from an older one plus the log
when the log still reaches back that far; otherwise it refuses to start. Restore the data directory from a
backup, or move it away and let the server rejoin its ensemble from its peers.
`

func snapshotVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("zkd snapshot verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, snapshotUsage) }
	arg, ok := oneArg(fs, args)
	if !ok {
		return exitUsage
	}
	dir, err := findSnapDir(arg)
	if err != nil {
		fmt.Fprintf(stderr, "zkd snapshot verify: %v\n", err)
		return exitFailure
	}
	files, err := storage.ListSnapshotFiles(dir)
	if err != nil {
		fmt.Fprintf(stderr, "zkd snapshot verify: %v\n", err)
		return exitFailure
	}
	bad, checked := 0, 0
	for _, f := range files {
		switch f.State {
		case storage.SnapshotBroken:
			fmt.Fprintf(stdout, "skip     %s (set aside by a server that found it corrupt; never loaded)\n", f.Path)
			continue
		case storage.SnapshotUnfinished:
			fmt.Fprintf(stdout, "skip     %s (unfinished; the next server start deletes it)\n", f.Path)
			continue
		}
		checked++
		s, err := loadSnapshot(f.Path)
		if err != nil {
			bad++
			fmt.Fprintf(stdout, "CORRUPT  %v\n", err)
			if bad == 1 {
				fmt.Fprintf(stderr, "zkd snapshot verify: %v\n", err)
			}
			continue
		}
		fmt.Fprintf(stdout, "ok       %s index=%d term=%d zxid=0x%x nodes=%d sessions=%d payload=%dB\n",
			f.Path, s.meta.Index, s.meta.Term, s.fsm.LastZxid(), s.fsm.Tree().Len(), len(s.fsm.Sessions()), s.payload)
	}
	if checked == 0 {
		fmt.Fprintf(stdout, "no snapshot files in %s (a server that has not yet taken one has none)\n", dir)
	}
	if bad > 0 {
		fmt.Fprintf(stderr, "zkd snapshot verify: %d of %d snapshot file(s) in %s are damaged.\n%s", bad, checked, dir, snapshotAdvice)
		return exitFailure
	}
	return exitOK
}

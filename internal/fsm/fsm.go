package fsm

import (
	"encoding/binary"
	"sort"

	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/internal/tree"
	"github.com/zkd-io/zkd/proto"
)

// Options fix the behaviour of Apply. Every server of an ensemble must use
// the same values, as in ZooKeeper.
type Options struct {
	// ExtendedTypes enables TTL nodes (extendedTypesEnabled).
	ExtendedTypes bool
	// SuperDigest is the super user's digest id, "super:<base64 sha1>".
	SuperDigest string
	// Config is the data of /zookeeper/config: the ensemble's server
	// lines and "version=0", empty for a standalone server.
	Config []byte
}

// Session is a session as the replicated state knows it.
type Session struct {
	ID      int64
	Timeout int32 // milliseconds
	Passwd  []byte
	// Owner is the id of the server the client is connected to. Writes
	// proposed by any other server fail with SessionMoved, as in
	// ZooKeeper. 0 (a session restored from an old snapshot) accepts
	// writes from anywhere.
	Owner uint64
}

// Event is one watch trigger produced by applying an entry.
type Event struct {
	Type int32 // proto.EventNode*
	Path string
}

// Result is what applying one entry produced.
type Result struct {
	Zxid   int64         // the entry's zxid; 0 for entries that carry no transaction
	Err    proto.ErrCode // the error ZooKeeper would reply with
	Resp   proto.Record  // the reply body, nil when there is none
	Events []Event       // watch triggers, in order
	// Closed is the session this entry closed, or 0.
	Closed int64
	// Reason explains Err for internal entries (OpRestore) whose callers
	// are operators rather than clients; "" otherwise.
	Reason string

	// The entry's routing fields, so the owner need not decode it again.
	Origin, ReqID uint64
	Op            proto.OpCode
	Session       int64
	Timeout       int32
}

// FSM is the replicated state: the tree, the sessions and the zxid.
type FSM struct {
	opts     Options
	checker  tree.Checker
	tree     *tree.Tree
	sessions map[int64]*Session

	epoch   int64 // Raft term of the last transaction
	counter int64 // transactions applied in this epoch
	applied uint64
	// restoredAt is the zxid of the last OpRestore applied since this
	// process started (0 if none); not persisted.
	restoredAt int64
}

// RestoredAt returns the zxid of the last restore this process applied, or
// 0. A client that last saw an older zxid holds watches on replaced state:
// the mzxid of a restored node says nothing about what that client read.
func (f *FSM) RestoredAt() int64 { return f.restoredAt }

// New returns the state of a fresh server.
func New(opts Options) *FSM {
	f := &FSM{
		opts:     opts,
		checker:  tree.Checker{SuperDigest: opts.SuperDigest},
		tree:     tree.New(),
		sessions: map[int64]*Session{},
	}
	if len(opts.Config) > 0 {
		f.tree.SetConfig(opts.Config)
	}
	return f
}

// Tree returns the live tree. Callers must hold the owner's lock.
func (f *FSM) Tree() *tree.Tree { return f.tree }

// Checker is the ACL checker configured for this state.
func (f *FSM) Checker() tree.Checker { return f.checker }

// LastZxid is the zxid of the last applied transaction.
func (f *FSM) LastZxid() int64 { return f.epoch<<32 | f.counter }

// Digest is the digest of the tree (see tree.Tree.Digest): servers that
// applied the same log have the same digest.
func (f *FSM) Digest() uint64 { return f.tree.Digest() }

// AppliedIndex is the Raft index of the last applied entry.
func (f *FSM) AppliedIndex() uint64 { return f.applied }

// Session returns the session with id, or nil.
func (f *FSM) Session(id int64) *Session { return f.sessions[id] }

// Sessions returns every session, ordered by id.
func (f *FSM) Sessions() []*Session {
	out := make([]*Session, 0, len(f.sessions))
	for _, s := range f.sessions {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Apply applies one committed log entry. index and term are the entry's Raft
// position; data empty means an entry with no transaction (a new leader's
// first entry). The error is non-nil only for an undecodable entry.
func (f *FSM) Apply(index, term uint64, data []byte) (Result, error) {
	f.applied = index
	if len(data) == 0 {
		return Result{}, nil
	}
	var e Entry
	if err := e.Unmarshal(data); err != nil {
		return Result{}, err
	}
	zxid := f.nextZxid(term)
	var res Result
	if e.Op == OpExpireSession && (len(e.Body) != 8 || binary.BigEndian.Uint64(e.Body) != term) {
		// Proposed by a leader of an earlier term: stale.
		res = Result{Err: proto.ErrBadArguments}
	} else {
		res = f.apply(&e, zxid)
	}
	res.Zxid = zxid
	res.Origin, res.ReqID, res.Op, res.Session, res.Timeout = e.Origin, e.ReqID, e.Op, e.Session, e.Timeout
	return res, nil
}

// nextZxid derives the zxid of the next transaction: the epoch is the Raft
// term, and the counter restarts at each new epoch, as in ZooKeeper.
func (f *FSM) nextZxid(term uint64) int64 {
	if int64(term) != f.epoch {
		f.epoch = int64(term)
		f.counter = 0
	}
	f.counter++
	return f.LastZxid()
}

func (f *FSM) apply(e *Entry, zxid int64) Result {
	switch e.Op {
	case proto.OpCreateSession:
		f.sessions[e.Session] = &Session{ID: e.Session, Timeout: e.Timeout, Passwd: e.Passwd, Owner: e.Origin}
		return Result{}
	case OpMoveSession:
		ss := f.sessions[e.Session]
		if ss == nil {
			return Result{Err: proto.ErrSessionExpired}
		}
		c := *ss // callers of Session may still hold the old record unlocked
		c.Owner = e.Origin
		f.sessions[e.Session] = &c
		return Result{}
	case proto.OpCloseSession, OpExpireSession:
		return f.closeSession(e.Session, zxid)
	case OpRestore:
		return f.restore(e)
	case OpDeleteExpired:
		if e.Session != 0 {
			return Result{Err: proto.ErrBadArguments} // clients may not sweep
		}
		return f.deleteExpired(e, zxid)
	}
	ss := f.sessions[e.Session]
	if ss == nil {
		return Result{Err: proto.ErrSessionExpired}
	}
	if ss.Owner != 0 && ss.Owner != e.Origin {
		// The client has moved to another server; this write came through
		// a connection it left behind.
		return Result{Err: proto.ErrSessionMoved}
	}
	req, ok := proto.NewRequest(e.Op)
	if !ok {
		return Result{Err: proto.ErrUnimplemented}
	}
	if err := req.Decode(jute.NewAliasReader(e.Body)); err != nil {
		return Result{Err: proto.ErrMarshallingError}
	}
	if e.Op == proto.OpMulti {
		return f.multi(e, req.(*proto.MultiRequest), zxid)
	}
	var res Result
	res.Resp, res.Err = f.write(e, e.Op, req, zxid, &res.Events)
	if res.Err != proto.ErrOK {
		res.Resp = nil
	}
	return res
}

// write applies one write op, appending its watch triggers to events.
func (f *FSM) write(e *Entry, op proto.OpCode, req proto.Record, zxid int64, events *[]Event) (proto.Record, proto.ErrCode) {
	switch r := req.(type) {
	case *proto.CreateRequest:
		return f.create(e, op, createArgs{r.Path, r.Data, r.ACL, r.Flags, -1}, zxid, events)
	case *proto.CreateTTLRequest:
		return f.create(e, op, createArgs{r.Path, r.Data, r.ACL, r.Flags, r.TTL}, zxid, events)
	case *proto.DeleteRequest:
		return nil, f.delete(e, r, zxid, events)
	case *proto.SetDataRequest:
		return f.setData(e, r, zxid, events)
	case *proto.SetACLRequest:
		return f.setACL(e, r)
	case *proto.CheckVersionRequest:
		return nil, f.check(e, r)
	case *proto.ReconfigRequest:
		return nil, proto.ErrReconfigDisabled
	}
	return nil, proto.ErrUnimplemented
}

func (f *FSM) closeSession(id int64, zxid int64) Result {
	res := Result{Closed: id}
	for _, p := range f.tree.Ephemerals(id) {
		if n := f.tree.Get(p); n != nil {
			f.tree.Delete(n, zxid)
			res.Events = append(res.Events,
				Event{proto.EventNodeDeleted, p},
				Event{proto.EventNodeChildrenChanged, tree.Parent(p)})
		}
	}
	delete(f.sessions, id)
	return res
}

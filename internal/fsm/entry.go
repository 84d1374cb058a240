package fsm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/proto"
)

// entryVersion is the first byte of every encoded entry, so that the format
// can change without misreading old logs.
const entryVersion = 1

const (
	// OpDeleteExpired is the leader's request to remove an empty container
	// or an expired TTL node (ZooKeeper's deleteContainer).
	OpDeleteExpired = proto.OpDeleteContainer
	// OpMoveSession makes the proposing server the owner of a session whose
	// client has reconnected to it (ZooKeeper's session revalidation with a
	// new owner). It is internal: no client opcode has this value.
	OpMoveSession proto.OpCode = -1000
	// OpExpireSession is the leader's request to close a session whose
	// client went quiet. Its Body is the proposer's term, big-endian; it
	// takes effect only if the entry commits in that term. A leader that
	// was paused and resumed still believes it leads and finds every
	// deadline passed; its expiries, forwarded to the new leader, would
	// otherwise close live sessions.
	OpExpireSession proto.OpCode = -1001
)

// ExpiryBody is the Body of an OpExpireSession proposed in term.
func ExpiryBody(term uint64) []byte { return binary.BigEndian.AppendUint64(nil, term) }

// Entry is one change proposed to the log.
type Entry struct {
	Origin  uint64       // id of the proposing server; routes the result back
	ReqID   uint64       // proposer-local request id
	Session int64        // the client session, 0 for internal entries
	Time    int64        // proposer's wall clock, milliseconds since the epoch
	Op      proto.OpCode // client opcode, OpCreateSession, OpCloseSession, OpDeleteExpired, OpMoveSession, OpExpireSession or OpRestore
	Auth    []proto.ID   // the caller's identities, for ACL checks at apply time
	Body    []byte       // the jute-encoded request record; OpRestore: the snapshot stream
	Timeout int32        // OpCreateSession: negotiated timeout in milliseconds
	Passwd  []byte       // OpCreateSession: the session password
	Path    string       // OpDeleteExpired: the node to remove
}

// ErrBadEntry reports an entry that cannot be decoded. It means the log is
// corrupt or was written by an incompatible version: fatal.
var ErrBadEntry = errors.New("fsm: undecodable log entry")

// Marshal encodes e.
func (e *Entry) Marshal() []byte {
	// One allocation of the right size: the fixed fields, then the
	// variable ones with their length prefixes.
	size := 1 + 4*8 + 4 + 4 + 4 + len(e.Body) + 4 + 4 + len(e.Passwd) + 4 + len(e.Path)
	for _, id := range e.Auth {
		size += 8 + len(id.Scheme) + len(id.ID)
	}
	w := jute.NewWriter(size)
	w.Byte(entryVersion)
	e.encode(w)
	return w.Bytes()
}

func (e *Entry) encode(w *jute.Writer) {
	w.Long(int64(e.Origin))
	w.Long(int64(e.ReqID))
	w.Long(e.Session)
	w.Long(e.Time)
	w.Int(int32(e.Op))
	w.Int(int32(len(e.Auth)))
	for i := range e.Auth {
		e.Auth[i].Encode(w)
	}
	w.Buffer(e.Body)
	w.Int(e.Timeout)
	w.Buffer(e.Passwd)
	w.String(e.Path)
}

// Unmarshal decodes an entry written by Marshal.
func (e *Entry) Unmarshal(b []byte) error {
	if len(b) == 0 || b[0] != entryVersion {
		return fmt.Errorf("%w: unknown version byte", ErrBadEntry)
	}
	// The body aliases b: log entries are never modified, and what is
	// kept from a body (a node's data) is copied where it is kept.
	r := jute.NewAliasReader(b[1:])
	e.Origin = uint64(r.Long())
	e.ReqID = uint64(r.Long())
	e.Session = r.Long()
	e.Time = r.Long()
	e.Op = proto.OpCode(r.Int())
	if n := r.VecLen(); n > 0 {
		e.Auth = make([]proto.ID, n)
		for i := range e.Auth {
			if err := e.Auth[i].Decode(r); err != nil {
				break
			}
		}
	}
	e.Body = r.Buffer()
	e.Timeout = r.Int()
	e.Passwd = bytes.Clone(r.Buffer()) // a session keeps it: do not pin the entry
	e.Path = r.String()
	if err := r.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrBadEntry, err)
	}
	if r.Remaining() != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrBadEntry, r.Remaining())
	}
	return nil
}

package fsm

import (
	"fmt"
	"strings"

	"github.com/zkd-io/zkd/internal/tree"
	"github.com/zkd-io/zkd/proto"
)

type createArgs struct {
	path  string
	data  []byte
	acl   []proto.ACL
	flags int32
	ttl   int64 // -1 when the request carried none
}

// parentOf returns the parent of a path as ZooKeeper's prep step derives it:
// everything before the last slash, "/" for top-level nodes.
func parentOf(path string) (string, bool) {
	i := strings.LastIndexByte(path, '/')
	if i < 0 || strings.IndexByte(path, 0) >= 0 {
		return "", false
	}
	if i == 0 {
		return "/", true
	}
	return path[:i], true
}

func validPath(path string) bool { return proto.ValidatePath(path, false) == nil }

// create follows the order of checks in ZooKeeper's PrepRequestProcessor, so
// that a request breaking several rules gets the same error from both.
func (f *FSM) create(e *Entry, op proto.OpCode, a createArgs, zxid int64, events *[]Event) (proto.Record, proto.ErrCode) {
	mode := a.flags
	if mode < proto.ModePersistent || mode > proto.ModePersistentSequentialWithTTL {
		return nil, proto.ErrBadArguments
	}
	isTTL := mode == proto.ModePersistentWithTTL || mode == proto.ModePersistentSequentialWithTTL
	if isTTL && !f.opts.ExtendedTypes {
		return nil, proto.ErrUnimplemented
	}
	if isTTL && (a.ttl <= 0 || a.ttl > tree.MaxTTL) || !isTTL && a.ttl >= 0 {
		return nil, proto.ErrBadArguments
	}
	parentPath, ok := parentOf(a.path)
	if !ok {
		return nil, proto.ErrBadArguments
	}
	acl, err := tree.FixupACL(a.acl, e.Auth)
	if err != nil {
		return nil, proto.ErrInvalidACL
	}
	parent := f.tree.Get(parentPath)
	if parent == nil {
		return nil, proto.ErrNoNode
	}
	if !f.checker.Allowed(parent.ACL(), proto.PermCreate, e.Auth) {
		return nil, proto.ErrNoAuth
	}
	path := a.path
	sequential := mode == proto.ModePersistentSequential || mode == proto.ModeEphemeralSequential ||
		mode == proto.ModePersistentSequentialWithTTL
	if sequential {
		path = fmt.Sprintf("%s%010d", path, parent.Cversion)
	}
	if !validPath(path) {
		return nil, proto.ErrBadArguments
	}
	if parent.IsEphemeral() {
		// NodeExists comes first, as in ZooKeeper. Other creates learn
		// whether the path exists from tree.Create.
		if f.tree.Has(path) {
			return nil, proto.ErrNodeExists
		}
		return nil, proto.ErrNoChildrenForEphemerals
	}
	// The opcode, not the flags, decides containers and TTL nodes, as in
	// ZooKeeper's prep step: createContainer always makes a container, and
	// plain create with the container flag makes a persistent node.
	var owner int64
	switch {
	case op == proto.OpCreateContainer:
		owner = tree.ContainerOwner
	case op == proto.OpCreateTTL:
		owner = tree.TTLOwner(a.ttl)
	case mode == proto.ModeEphemeral || mode == proto.ModeEphemeralSequential:
		owner = e.Session
	}
	n := f.tree.Create(parent, path, a.data, acl, owner, zxid, e.Time)
	if n == nil {
		return nil, proto.ErrNodeExists
	}
	*events = append(*events, Event{proto.EventNodeCreated, path}, Event{proto.EventNodeChildrenChanged, parentPath})
	if op == proto.OpCreate {
		return &proto.CreateResponse{Path: path}, proto.ErrOK
	}
	return &proto.Create2Response{Path: path, Stat: n.Stat()}, proto.ErrOK
}

// deletable returns the parent of path, or the error ZooKeeper gives for a
// path that can never be deleted. Like ZooKeeper, it does not validate the
// path further: a malformed path names no node, so the lookups that follow
// answer NoNode.
func deletable(path string) (string, proto.ErrCode) {
	if tree.IsSpecial(path) {
		return "", proto.ErrBadArguments
	}
	parent, ok := parentOf(path)
	if !ok {
		return "", proto.ErrBadArguments
	}
	return parent, proto.ErrOK
}

func versionOK(have, want int32) bool { return want == -1 || have == want }

func (f *FSM) delete(e *Entry, r *proto.DeleteRequest, zxid int64, events *[]Event) proto.ErrCode {
	parentPath, code := deletable(r.Path)
	if code != proto.ErrOK {
		return code
	}
	parent := f.tree.Get(parentPath)
	if parent == nil {
		return proto.ErrNoNode
	}
	if !f.checker.Allowed(parent.ACL(), proto.PermDelete, e.Auth) {
		return proto.ErrNoAuth
	}
	n := f.tree.Get(r.Path)
	if n == nil {
		return proto.ErrNoNode
	}
	if !versionOK(n.Version, r.Version) {
		return proto.ErrBadVersion
	}
	if n.NumChildren > 0 {
		return proto.ErrNotEmpty
	}
	f.tree.Delete(n, zxid)
	*events = append(*events, Event{proto.EventNodeDeleted, r.Path}, Event{proto.EventNodeChildrenChanged, parentPath})
	return proto.ErrOK
}

func (f *FSM) setData(e *Entry, r *proto.SetDataRequest, zxid int64, events *[]Event) (proto.Record, proto.ErrCode) {
	if !validPath(r.Path) {
		return nil, proto.ErrBadArguments
	}
	n := f.tree.Get(r.Path)
	if n == nil {
		return nil, proto.ErrNoNode
	}
	if !f.checker.Allowed(n.ACL(), proto.PermWrite, e.Auth) {
		return nil, proto.ErrNoAuth
	}
	if !versionOK(n.Version, r.Version) {
		return nil, proto.ErrBadVersion
	}
	n = f.tree.SetData(n, r.Data, zxid, e.Time)
	*events = append(*events, Event{proto.EventNodeDataChanged, r.Path})
	return &proto.SetDataResponse{Stat: n.Stat()}, proto.ErrOK
}

func (f *FSM) setACL(e *Entry, r *proto.SetACLRequest) (proto.Record, proto.ErrCode) {
	if !validPath(r.Path) {
		return nil, proto.ErrBadArguments
	}
	acl, err := tree.FixupACL(r.ACL, e.Auth)
	if err != nil {
		return nil, proto.ErrInvalidACL
	}
	n := f.tree.Get(r.Path)
	if n == nil {
		return nil, proto.ErrNoNode
	}
	if !f.checker.Allowed(n.ACL(), proto.PermAdmin, e.Auth) {
		return nil, proto.ErrNoAuth
	}
	if !versionOK(n.Aversion, r.Version) {
		return nil, proto.ErrBadVersion
	}
	n = f.tree.SetACL(n, acl)
	return &proto.SetACLResponse{Stat: n.Stat()}, proto.ErrOK
}

func (f *FSM) check(e *Entry, r *proto.CheckVersionRequest) proto.ErrCode {
	if !validPath(r.Path) {
		return proto.ErrBadArguments
	}
	n := f.tree.Get(r.Path)
	if n == nil {
		return proto.ErrNoNode
	}
	if !f.checker.Allowed(n.ACL(), proto.PermRead, e.Auth) {
		return proto.ErrNoAuth
	}
	if !versionOK(n.Version, r.Version) {
		return proto.ErrBadVersion
	}
	return proto.ErrOK
}

// multi applies every op or none. As in ZooKeeper, a failed multi reports
// ErrOK for the ops before the failing one, the failing op's own error, and
// ErrRuntimeInconsistency for the ops after it; the reply header carries no
// error.
func (f *FSM) multi(e *Entry, m *proto.MultiRequest, zxid int64) Result {
	results := make([]proto.MultiResult, len(m.Ops))
	var events []Event
	failed := -1
	f.tree.Begin()
	for i, op := range m.Ops {
		resp, code := f.write(e, op.Type, op.Op, zxid, &events)
		if code != proto.ErrOK {
			failed = i
			results[i] = proto.MultiResult{Type: proto.OpError, Err: code, Resp: &proto.ErrorResponse{Err: code}}
			break
		}
		typ := op.Type
		switch typ {
		case proto.OpCreateTTL, proto.OpCreateContainer:
			typ = proto.OpCreate2 // a multi response has no result type of their own
		case proto.OpCreate2:
			// ZooKeeper answers create2 inside a multi with a plain create
			// result (path only).
			typ = proto.OpCreate
			resp = &proto.CreateResponse{Path: resp.(*proto.Create2Response).Path}
		}
		results[i] = proto.MultiResult{Type: typ, Resp: resp}
	}
	if failed < 0 {
		f.tree.Commit()
		return Result{Resp: &proto.MultiResponse{Results: results}, Events: events}
	}
	f.tree.Rollback()
	for i := range results {
		var code proto.ErrCode
		switch {
		case i == failed:
			continue
		case i > failed:
			code = proto.ErrRuntimeInconsistency
		}
		results[i] = proto.MultiResult{Type: proto.OpError, Err: code, Resp: &proto.ErrorResponse{Err: code}}
	}
	return Result{Resp: &proto.MultiResponse{Results: results}}
}

// deleteExpired removes an empty container or an expired TTL node. The leader
// proposes it from its own scan; apply re-checks, because the node may have
// changed since.
func (f *FSM) deleteExpired(e *Entry, zxid int64) Result {
	n := f.tree.Get(e.Path)
	if n == nil || n.NumChildren > 0 || tree.IsSpecial(e.Path) {
		return Result{Err: proto.ErrNoNode}
	}
	switch {
	case n.IsContainer():
		if n.Cversion <= 0 {
			return Result{Err: proto.ErrBadVersion}
		}
	case n.IsTTL():
		if e.Time-n.Mtime <= n.TTL() {
			return Result{Err: proto.ErrBadVersion}
		}
	default:
		return Result{Err: proto.ErrBadVersion}
	}
	parent := tree.Parent(e.Path)
	f.tree.Delete(n, zxid)
	return Result{Events: []Event{{proto.EventNodeDeleted, e.Path}, {proto.EventNodeChildrenChanged, parent}}}
}

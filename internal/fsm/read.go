package fsm

import (
	"strings"

	"github.com/zkd-io/zkd/internal/tree"
	"github.com/zkd-io/zkd/proto"
)

// Read executes a read-only request for a caller holding ids, against the
// current state. Watches are the caller's business: see WatchOnRead.
func (f *FSM) Read(op proto.OpCode, req proto.Record, session int64, ids []proto.ID) (proto.Record, proto.ErrCode) {
	t := f.tree
	switch r := req.(type) {
	case *proto.ExistsRequest:
		// exists needs no permission in ZooKeeper: a node's existence
		// and Stat are not protected by its ACL.
		if strings.IndexByte(r.Path, 0) >= 0 {
			return nil, proto.ErrBadArguments
		}
		n := f.get(r.Path)
		if n == nil {
			return nil, proto.ErrNoNode
		}
		return &proto.ExistsResponse{Stat: n.Stat()}, proto.ErrOK
	case *proto.GetDataRequest:
		n, code := f.readable(r.Path, proto.PermRead, ids)
		if code != proto.ErrOK {
			return nil, code
		}
		return &proto.GetDataResponse{Data: n.Data(), Stat: n.Stat()}, proto.ErrOK
	case *proto.GetChildrenRequest:
		if _, code := f.readable(r.Path, proto.PermRead, ids); code != proto.ErrOK {
			return nil, code
		}
		return &proto.GetChildrenResponse{Children: nonNil(t.Children(readPath(r.Path)))}, proto.ErrOK
	case *proto.GetChildren2Request:
		n, code := f.readable(r.Path, proto.PermRead, ids)
		if code != proto.ErrOK {
			return nil, code
		}
		return &proto.GetChildren2Response{Children: nonNil(t.Children(n.Path())), Stat: n.Stat()}, proto.ErrOK
	case *proto.GetACLRequest:
		return f.getACL(r, ids)
	case *proto.GetAllChildrenNumberRequest:
		if _, code := f.readable(r.Path, proto.PermRead, ids); code != proto.ErrOK {
			return nil, code
		}
		n := t.CountDescendants(readPath(r.Path))
		if r.Path == "" {
			n = t.Len() // ZooKeeper counts every key below "", the root included
		}
		return &proto.GetAllChildrenNumberResponse{TotalNumber: int32(n)}, proto.ErrOK
	case *proto.GetEphemeralsRequest:
		all := t.Ephemerals(session)
		out := make([]string, 0, len(all))
		prefix := strings.TrimSpace(r.PrefixPath)
		for _, p := range all {
			// ZooKeeper matches a plain string prefix, not a path prefix.
			if prefix == "" || prefix == "/" || strings.HasPrefix(p, r.PrefixPath) {
				out = append(out, p)
			}
		}
		return &proto.GetEphemeralsResponse{Ephemerals: out}, proto.ErrOK
	case *proto.MultiRequest:
		return f.multiRead(r, session, ids), proto.ErrOK
	case *proto.SyncRequest:
		return &proto.SyncResponse{Path: r.Path}, proto.ErrOK
	}
	if op == proto.OpWhoAmI {
		return &proto.WhoAmIResponse{ClientInfo: ClientInfo(ids)}, proto.ErrOK
	}
	return nil, proto.ErrUnimplemented
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// readPath maps the path of a read to the node ZooKeeper looks up: its
// node table holds the root under "" as well as "/".
func readPath(path string) string {
	if path == "" {
		return "/"
	}
	return path
}

func (f *FSM) get(path string) *tree.Node { return f.tree.Get(readPath(path)) }

func (f *FSM) readable(path string, perm int32, ids []proto.ID) (*tree.Node, proto.ErrCode) {
	n := f.get(path)
	if n == nil {
		return nil, proto.ErrNoNode
	}
	if !f.checker.Allowed(n.ACL(), perm, ids) {
		return nil, proto.ErrNoAuth
	}
	return n, proto.ErrOK
}

// getACL needs READ or ADMIN. Without ADMIN the digests are masked, so that a
// reader cannot harvest password hashes.
func (f *FSM) getACL(r *proto.GetACLRequest, ids []proto.ID) (proto.Record, proto.ErrCode) {
	n, code := f.readable(r.Path, proto.PermRead|proto.PermAdmin, ids)
	if code != proto.ErrOK {
		return nil, code
	}
	acl := n.ACL()
	if !f.checker.Allowed(acl, proto.PermAdmin, ids) {
		masked := make([]proto.ACL, len(acl))
		for i, a := range acl {
			masked[i] = a
			if a.ID.Scheme == "digest" {
				user, _, _ := strings.Cut(a.ID.ID, ":")
				masked[i].ID.ID = user + ":x"
			}
		}
		acl = masked
	}
	return &proto.GetACLResponse{ACL: acl, Stat: n.Stat()}, proto.ErrOK
}

// multiRead runs each read independently: a failing op reports its error and
// the others still run, as in ZooKeeper.
func (f *FSM) multiRead(m *proto.MultiRequest, session int64, ids []proto.ID) *proto.MultiResponse {
	out := &proto.MultiResponse{Results: make([]proto.MultiResult, len(m.Ops))}
	for i, op := range m.Ops {
		resp, code := f.Read(op.Type, op.Op, session, ids)
		if code != proto.ErrOK {
			out.Results[i] = proto.MultiResult{Type: proto.OpError, Err: code, Resp: &proto.ErrorResponse{Err: code}}
			continue
		}
		out.Results[i] = proto.MultiResult{Type: op.Type, Resp: resp}
	}
	return out
}

// ClientInfo describes identities as whoAmI reports them: the scheme and the
// user name (the part of a digest id before the colon).
func ClientInfo(ids []proto.ID) []proto.ClientInfo {
	out := make([]proto.ClientInfo, 0, len(ids))
	for _, id := range ids {
		user := id.ID
		if id.Scheme == "digest" {
			user, _, _ = strings.Cut(id.ID, ":")
		}
		out = append(out, proto.ClientInfo{AuthScheme: id.Scheme, User: user})
	}
	return out
}

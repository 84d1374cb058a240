package client

import (
	"context"
	"time"

	"github.com/zkd-io/zkd/proto"
)

// Op is one operation of Multi or MultiRead, built by CreateOp, DeleteOp,
// SetDataOp, CheckOp (Multi) or GetDataOp, GetChildrenOp (MultiRead).
type Op struct {
	typ   proto.OpCode
	path  string
	data  []byte
	acl   []proto.ACL
	mode  CreateMode
	ttl   time.Duration
	ver   int32
	check func() error // argument checks, run before sending
}

// Path returns the op's path.
func (o Op) Path() string { return o.path }

// Type returns the op's opcode.
func (o Op) Type() proto.OpCode { return o.typ }

// CreateOp creates a node (a container for ModeContainer). TTL modes need
// CreateTTLOp.
func CreateOp(path string, data []byte, acl []proto.ACL, mode CreateMode) Op {
	op := Op{typ: proto.OpCreate, path: path, data: data, acl: acl, mode: mode}
	if mode == ModeContainer {
		op.typ = proto.OpCreateContainer
	}
	op.check = func() error {
		if err := checkCreate(op.typ, path, acl, mode); err != nil {
			return err
		}
		if mode.TTL() {
			return badArgs(op.typ, path, "mode %v needs a TTL: use CreateTTLOp", mode)
		}
		return nil
	}
	return op
}

// CreateTTLOp creates a TTL node.
func CreateTTLOp(path string, data []byte, acl []proto.ACL, mode CreateMode, ttl time.Duration) Op {
	op := Op{typ: proto.OpCreateTTL, path: path, data: data, acl: acl, mode: mode, ttl: ttl}
	op.check = func() error {
		if err := checkCreate(op.typ, path, acl, mode); err != nil {
			return err
		}
		if !mode.TTL() {
			return badArgs(op.typ, path, "ttl not valid for mode: %v", mode)
		}
		if ttl < time.Millisecond || ttl > MaxTTL {
			return badArgs(op.typ, path, "ttl must be positive and cannot be larger than: %d", MaxTTL.Milliseconds())
		}
		return nil
	}
	return op
}

// DeleteOp deletes a node if its version matches (-1: any).
func DeleteOp(path string, version int32) Op {
	return Op{typ: proto.OpDelete, path: path, ver: version}
}

// SetDataOp sets a node's data if its version matches (-1: any).
func SetDataOp(path string, data []byte, version int32) Op {
	return Op{typ: proto.OpSetData, path: path, data: data, ver: version}
}

// CheckOp fails the multi unless the node's version matches (-1: the node
// exists).
func CheckOp(path string, version int32) Op {
	return Op{typ: proto.OpCheck, path: path, ver: version}
}

// GetDataOp reads a node's data (MultiRead).
func GetDataOp(path string) Op { return Op{typ: proto.OpGetData, path: path} }

// GetChildrenOp reads a node's children (MultiRead).
func GetChildrenOp(path string) Op { return Op{typ: proto.OpGetChildren, path: path} }

// record builds the wire record with the server path.
func (o Op) record(c *Conn) proto.Record {
	p := c.serverPath(o.path)
	switch o.typ {
	case proto.OpCreate, proto.OpCreateContainer:
		return &proto.CreateRequest{Path: p, Data: o.data, ACL: o.acl, Flags: int32(o.mode)}
	case proto.OpCreateTTL:
		return &proto.CreateTTLRequest{Path: p, Data: o.data, ACL: o.acl, Flags: int32(o.mode), TTL: ttlMillis(o.ttl)}
	case proto.OpDelete:
		return &proto.DeleteRequest{Path: p, Version: o.ver}
	case proto.OpSetData:
		return &proto.SetDataRequest{Path: p, Data: o.data, Version: o.ver}
	case proto.OpCheck:
		return &proto.CheckVersionRequest{Path: p, Version: o.ver}
	case proto.OpGetData:
		return &proto.GetDataRequest{Path: p}
	case proto.OpGetChildren:
		return &proto.GetChildrenRequest{Path: p}
	}
	return nil
}

// OpResult is the result of one op of a multi.
//
// When a Multi fails, every result has Type proto.OpError: the ops before
// the failing one have a nil Err (they were rolled back), the failing one
// its error, the later ones proto.ErrRuntimeInconsistency. In MultiRead each
// result stands alone: a failed read has Type proto.OpError and its Err.
type OpResult struct {
	Type     proto.OpCode // the result's opcode (create results of create2, container and TTL ops are proto.OpCreate2)
	Err      error        // nil, or an *Error matching the op's code
	Path     string       // create: the created path, chroot-relative
	Stat     *proto.Stat  // setData and create2 results
	Data     []byte       // getData
	Children []string     // getChildren
}

// Multi runs write ops (create, delete, setData, check) atomically: all or
// none. On failure it returns the results and the error of the first
// failing op.
func (c *Conn) Multi(ctx context.Context, ops ...Op) ([]OpResult, error) {
	return c.multi(ctx, proto.OpMulti, ops)
}

// MultiRead runs read ops (GetDataOp, GetChildrenOp) in one request and
// returns each op's result, failed ones included; the error reports only
// request-level failures.
func (c *Conn) MultiRead(ctx context.Context, ops ...Op) ([]OpResult, error) {
	return c.multi(ctx, proto.OpMultiRead, ops)
}

func (c *Conn) multi(ctx context.Context, op proto.OpCode, ops []Op) ([]OpResult, error) {
	req := &proto.MultiRequest{Ops: make([]proto.MultiOp, len(ops))}
	for i, o := range ops {
		if proto.IsMultiReadOp(o.typ) != (op == proto.OpMultiRead) || o.record(c) == nil {
			return nil, badArgs(op, o.path, "op %d (%s) not allowed in %s", i, o.typ, op)
		}
		if o.check != nil {
			if err := o.check(); err != nil {
				return nil, err
			}
		} else if err := checkPath(o.typ, o.path, false); err != nil {
			return nil, err
		}
		req.Ops[i] = proto.MultiOp{Type: o.typ, Op: o.record(c)}
	}
	resp := &proto.MultiResponse{}
	if err := c.call(ctx, newRequest(op, "", req, resp)); err != nil {
		return nil, err
	}
	results := make([]OpResult, len(resp.Results))
	var first error
	for i, res := range resp.Results {
		out := OpResult{Type: res.Type}
		path := ""
		if i < len(ops) {
			path = ops[i].path
		}
		switch r := res.Resp.(type) {
		case *proto.CreateResponse:
			out.Path = c.clientPath(r.Path)
		case *proto.Create2Response:
			out.Path, out.Stat = c.clientPath(r.Path), &r.Stat
		case *proto.SetDataResponse:
			out.Stat = &r.Stat
		case *proto.GetDataResponse:
			out.Data, out.Stat = r.Data, &r.Stat
		case *proto.GetChildrenResponse:
			out.Children = r.Children
		}
		if res.Type == proto.OpError && res.Err != proto.ErrOK {
			typ := proto.OpError
			if i < len(ops) {
				typ = ops[i].typ
			}
			out.Err = &Error{Op: typ, Path: path, Code: res.Err}
			if first == nil && op == proto.OpMulti {
				first = out.Err
			}
		}
		results[i] = out
	}
	return results, first
}

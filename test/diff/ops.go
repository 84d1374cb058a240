package diff

import (
	"crypto/sha1"
	"encoding/base64"

	"github.com/zkd-io/zkd/proto"
)

// Typed wrappers around Call, one per opcode, so scenarios read like the
// ZooKeeper API. Data is a string for brevity; requests needing a null
// buffer or vector use Call with a record, or SendRaw.

// Open is world:anyone with every permission (ZooDefs.Ids.OPEN_ACL_UNSAFE).
var Open = []proto.ACL{{Perms: proto.PermAll, ID: proto.WorldAnyone}}

// ACL builds a one-entry ACL list.
func ACL(perms int32, scheme, id string) []proto.ACL {
	return []proto.ACL{{Perms: perms, ID: proto.ID{Scheme: scheme, ID: id}}}
}

func (c *Client) Create(path, data string, acl []proto.ACL, flags int32) Reply {
	return c.Call(proto.OpCreate, &proto.CreateRequest{Path: path, Data: []byte(data), ACL: acl, Flags: flags})
}

func (c *Client) Create2(path, data string, acl []proto.ACL, flags int32) Reply {
	return c.Call(proto.OpCreate2, &proto.CreateRequest{Path: path, Data: []byte(data), ACL: acl, Flags: flags})
}

func (c *Client) CreateContainer(path, data string, acl []proto.ACL) Reply {
	return c.Call(proto.OpCreateContainer, &proto.CreateRequest{Path: path, Data: []byte(data), ACL: acl, Flags: proto.ModeContainer})
}

func (c *Client) CreateTTL(path, data string, acl []proto.ACL, flags int32, ttl int64) Reply {
	return c.Call(proto.OpCreateTTL, &proto.CreateTTLRequest{Path: path, Data: []byte(data), ACL: acl, Flags: flags, TTL: ttl})
}

func (c *Client) Delete(path string, version int32) Reply {
	return c.Call(proto.OpDelete, &proto.DeleteRequest{Path: path, Version: version})
}

func (c *Client) Exists(path string, watch bool) Reply {
	return c.Call(proto.OpExists, &proto.ExistsRequest{Path: path, Watch: watch})
}

func (c *Client) GetData(path string, watch bool) Reply {
	return c.Call(proto.OpGetData, &proto.GetDataRequest{Path: path, Watch: watch})
}

func (c *Client) SetData(path, data string, version int32) Reply {
	return c.Call(proto.OpSetData, &proto.SetDataRequest{Path: path, Data: []byte(data), Version: version})
}

func (c *Client) GetACL(path string) Reply {
	return c.Call(proto.OpGetACL, &proto.GetACLRequest{Path: path})
}

func (c *Client) SetACL(path string, acl []proto.ACL, version int32) Reply {
	return c.Call(proto.OpSetACL, &proto.SetACLRequest{Path: path, ACL: acl, Version: version})
}

func (c *Client) GetChildren(path string, watch bool) Reply {
	return c.Call(proto.OpGetChildren, &proto.GetChildrenRequest{Path: path, Watch: watch})
}

func (c *Client) GetChildren2(path string, watch bool) Reply {
	return c.Call(proto.OpGetChildren2, &proto.GetChildren2Request{Path: path, Watch: watch})
}

func (c *Client) Sync(path string) Reply {
	return c.Call(proto.OpSync, &proto.SyncRequest{Path: path})
}

// Ping sends a ping with the ping xid, as clients do, and records the reply
// in full (unlike Barrier).
func (c *Client) Ping() Reply { return c.CallXid(proto.XidPing, proto.OpPing, nil) }

func (c *Client) Check(path string, version int32) Reply {
	return c.Call(proto.OpCheck, &proto.CheckVersionRequest{Path: path, Version: version})
}

func (c *Client) Multi(ops ...proto.MultiOp) Reply {
	return c.Call(proto.OpMulti, &proto.MultiRequest{Ops: ops})
}

func (c *Client) MultiRead(ops ...proto.MultiOp) Reply {
	return c.Call(proto.OpMultiRead, &proto.MultiRequest{Ops: ops})
}

func (c *Client) CheckWatches(path string, typ int32) Reply {
	return c.Call(proto.OpCheckWatches, &proto.CheckWatchesRequest{Path: path, Type: typ})
}

func (c *Client) RemoveWatches(path string, typ int32) Reply {
	return c.Call(proto.OpRemoveWatches, &proto.RemoveWatchesRequest{Path: path, Type: typ})
}

func (c *Client) GetEphemerals(prefix string) Reply {
	return c.Call(proto.OpGetEphemerals, &proto.GetEphemeralsRequest{PrefixPath: prefix})
}

func (c *Client) GetAllChildrenNumber(path string) Reply {
	return c.Call(proto.OpGetAllChildrenNumber, &proto.GetAllChildrenNumberRequest{Path: path})
}

func (c *Client) AddWatch(path string, mode int32) Reply {
	return c.Call(proto.OpAddWatch, &proto.AddWatchRequest{Path: path, Mode: mode})
}

func (c *Client) WhoAmI() Reply { return c.Call(proto.OpWhoAmI, nil) }

// Auth sends addAuth with the auth xid, as the Java client does.
func (c *Client) Auth(scheme, auth string) Reply {
	return c.CallXid(proto.XidAuth, proto.OpAuth, &proto.AuthPacket{Scheme: scheme, Auth: []byte(auth)})
}

// SetWatches sends setWatches with the xid the Java client uses.
func (c *Client) SetWatches(sw *proto.SetWatches) Reply {
	return c.CallXid(proto.XidSetWatches, proto.OpSetWatches, sw)
}

// SetWatches2 sends setWatches2 with the xid the Java client uses.
func (c *Client) SetWatches2(sw *proto.SetWatches2) Reply {
	return c.CallXid(proto.XidSetWatches, proto.OpSetWatches2, sw)
}

func (c *Client) Reconfig(joining, leaving, members string, configID int64) Reply {
	return c.Call(proto.OpReconfig, &proto.ReconfigRequest{JoiningServers: joining, LeavingServers: leaving, NewMembers: members, CurConfigID: configID})
}

// Multi op builders.

func MCreate(path, data string, acl []proto.ACL, flags int32) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpCreate, Op: &proto.CreateRequest{Path: path, Data: []byte(data), ACL: acl, Flags: flags}}
}

func MCreate2(path, data string, acl []proto.ACL, flags int32) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpCreate2, Op: &proto.CreateRequest{Path: path, Data: []byte(data), ACL: acl, Flags: flags}}
}

func MCreateContainer(path, data string, acl []proto.ACL) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpCreateContainer, Op: &proto.CreateRequest{Path: path, Data: []byte(data), ACL: acl, Flags: proto.ModeContainer}}
}

func MCreateTTL(path, data string, acl []proto.ACL, flags int32, ttl int64) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpCreateTTL, Op: &proto.CreateTTLRequest{Path: path, Data: []byte(data), ACL: acl, Flags: flags, TTL: ttl}}
}

func MDelete(path string, version int32) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpDelete, Op: &proto.DeleteRequest{Path: path, Version: version}}
}

func MSetData(path, data string, version int32) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpSetData, Op: &proto.SetDataRequest{Path: path, Data: []byte(data), Version: version}}
}

func MCheck(path string, version int32) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpCheck, Op: &proto.CheckVersionRequest{Path: path, Version: version}}
}

func MGetData(path string) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpGetData, Op: &proto.GetDataRequest{Path: path}}
}

func MGetChildren(path string) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpGetChildren, Op: &proto.GetChildrenRequest{Path: path}}
}

// DigestID returns the digest-scheme id of user:password, as ZooKeeper's
// DigestAuthenticationProvider.generateDigest computes it:
// user:base64(sha1("user:password")).
func DigestID(user, password string) string {
	sum := sha1.Sum([]byte(user + ":" + password))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

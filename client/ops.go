package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zkd-io/zkd/proto"
)

// MaxTTL is the largest TTL a TTL node may have (EphemeralType.MAX_TTL).
const MaxTTL = time.Duration(0xFFFFFFFFFF) * time.Millisecond

// checkPath validates a client path before anything is sent.
func checkPath(op proto.OpCode, path string, sequential bool) error {
	if err := proto.ValidatePath(path, sequential); err != nil {
		return &Error{Op: op, Path: path, Err: err}
	}
	return nil
}

func badArgs(op proto.OpCode, path, format string, a ...any) error {
	return &Error{Op: op, Path: path, Err: fmt.Errorf("%w: "+format, append([]any{ErrBadArguments}, a...)...)}
}

// checkCreate validates create arguments as ZooKeeper's client does: a
// valid path (with room for the sequence suffix), a known mode and a
// non-empty ACL.
func checkCreate(op proto.OpCode, path string, acl []proto.ACL, mode CreateMode) error {
	if !mode.valid() {
		return badArgs(op, path, "unknown create mode %d", int32(mode))
	}
	if err := checkPath(op, path, mode.Sequential()); err != nil {
		return err
	}
	if len(acl) == 0 {
		return &Error{Op: op, Path: path, Code: proto.ErrInvalidACL}
	}
	return nil
}

// Create creates a znode and returns its path (with the sequence suffix of
// a sequential mode). ModeContainer creates a container (createContainer);
// TTL modes need CreateTTL.
func (c *Conn) Create(ctx context.Context, path string, data []byte, acl []proto.ACL, mode CreateMode) (string, error) {
	op := proto.OpCreate
	var resp proto.Record = &proto.CreateResponse{}
	if mode == ModeContainer {
		op, resp = proto.OpCreateContainer, &proto.Create2Response{}
	}
	if err := checkCreate(op, path, acl, mode); err != nil {
		return "", err
	}
	if mode.TTL() {
		return "", badArgs(op, path, "mode %v needs a TTL: use CreateTTL", mode)
	}
	req := &proto.CreateRequest{Path: c.serverPath(path), Data: data, ACL: acl, Flags: int32(mode)}
	if err := c.call(ctx, newRequest(op, path, req, resp)); err != nil {
		return "", err
	}
	if r, ok := resp.(*proto.Create2Response); ok {
		return c.clientPath(r.Path), nil
	}
	return c.clientPath(resp.(*proto.CreateResponse).Path), nil
}

// Create2 is Create returning the new node's Stat too (create2).
func (c *Conn) Create2(ctx context.Context, path string, data []byte, acl []proto.ACL, mode CreateMode) (string, *proto.Stat, error) {
	op := proto.OpCreate2
	if mode == ModeContainer {
		op = proto.OpCreateContainer
	}
	if err := checkCreate(op, path, acl, mode); err != nil {
		return "", nil, err
	}
	if mode.TTL() {
		return "", nil, badArgs(op, path, "mode %v needs a TTL: use CreateTTL", mode)
	}
	req := &proto.CreateRequest{Path: c.serverPath(path), Data: data, ACL: acl, Flags: int32(mode)}
	resp := &proto.Create2Response{}
	if err := c.call(ctx, newRequest(op, path, req, resp)); err != nil {
		return "", nil, err
	}
	return c.clientPath(resp.Path), &resp.Stat, nil
}

// CreateTTL creates a persistent node that the server deletes once it has
// had no children and no change for ttl (mode ModePersistentWithTTL or
// ModePersistentSequentialWithTTL). Servers need extendedTypesEnabled.
func (c *Conn) CreateTTL(ctx context.Context, path string, data []byte, acl []proto.ACL, mode CreateMode, ttl time.Duration) (string, *proto.Stat, error) {
	op := proto.OpCreateTTL
	if err := checkCreate(op, path, acl, mode); err != nil {
		return "", nil, err
	}
	if !mode.TTL() {
		return "", nil, badArgs(op, path, "ttl not valid for mode: %v", mode)
	}
	if ttl < time.Millisecond || ttl > MaxTTL {
		return "", nil, badArgs(op, path, "ttl must be positive and cannot be larger than: %d", MaxTTL.Milliseconds())
	}
	req := &proto.CreateTTLRequest{Path: c.serverPath(path), Data: data, ACL: acl, Flags: int32(mode), TTL: ttlMillis(ttl)}
	resp := &proto.Create2Response{}
	if err := c.call(ctx, newRequest(op, path, req, resp)); err != nil {
		return "", nil, err
	}
	return c.clientPath(resp.Path), &resp.Stat, nil
}

// Delete deletes a znode if its data version is version (-1: any).
func (c *Conn) Delete(ctx context.Context, path string, version int32) error {
	if err := checkPath(proto.OpDelete, path, false); err != nil {
		return err
	}
	req := &proto.DeleteRequest{Path: c.serverPath(path), Version: version}
	return c.call(ctx, newRequest(proto.OpDelete, path, req, nil))
}

// Exists returns the node's Stat, or nil (and no error) if it does not exist.
func (c *Conn) Exists(ctx context.Context, path string) (*proto.Stat, error) {
	st, _, err := c.exists(ctx, path, false)
	return st, err
}

// ExistsW is Exists leaving a watch: the channel gets NodeCreated (if the
// node did not exist), or NodeDataChanged or NodeDeleted (if it did).
func (c *Conn) ExistsW(ctx context.Context, path string) (*proto.Stat, <-chan Event, error) {
	return c.exists(ctx, path, true)
}

func (c *Conn) exists(ctx context.Context, path string, watch bool) (*proto.Stat, <-chan Event, error) {
	if err := checkPath(proto.OpExists, path, false); err != nil {
		return nil, nil, err
	}
	resp := &proto.ExistsResponse{}
	r := newRequest(proto.OpExists, path, &proto.ExistsRequest{Path: c.serverPath(path), Watch: watch}, resp)
	w := c.oneShot(r, kindExist, path, watch)
	err := c.call(ctx, r)
	var e *Error
	if errors.As(err, &e) && e.Code == proto.ErrNoNode && e.Err == nil {
		// Not an error for exists; a watch was left if asked for.
		return nil, w, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return &resp.Stat, w, nil
}

// oneShot attaches a one-shot watcher to a read when watch is set.
func (c *Conn) oneShot(r *request, k watchKind, path string, watch bool) <-chan Event {
	if !watch {
		return nil
	}
	r.watch = &watcher{kind: k, path: path, ch: make(chan Event, 1)}
	return r.watch.ch
}

// Get returns a node's data and Stat.
func (c *Conn) Get(ctx context.Context, path string) ([]byte, *proto.Stat, error) {
	d, st, _, err := c.get(ctx, path, false)
	return d, st, err
}

// GetW is Get leaving a watch: the channel gets NodeDataChanged or
// NodeDeleted.
func (c *Conn) GetW(ctx context.Context, path string) ([]byte, *proto.Stat, <-chan Event, error) {
	return c.get(ctx, path, true)
}

func (c *Conn) get(ctx context.Context, path string, watch bool) ([]byte, *proto.Stat, <-chan Event, error) {
	if err := checkPath(proto.OpGetData, path, false); err != nil {
		return nil, nil, nil, err
	}
	resp := &proto.GetDataResponse{}
	r := newRequest(proto.OpGetData, path, &proto.GetDataRequest{Path: c.serverPath(path), Watch: watch}, resp)
	w := c.oneShot(r, kindData, path, watch)
	if err := c.call(ctx, r); err != nil {
		return nil, nil, nil, err
	}
	return resp.Data, &resp.Stat, w, nil
}

// Set replaces a node's data if its data version is version (-1: any).
func (c *Conn) Set(ctx context.Context, path string, data []byte, version int32) (*proto.Stat, error) {
	if err := checkPath(proto.OpSetData, path, false); err != nil {
		return nil, err
	}
	resp := &proto.SetDataResponse{}
	req := &proto.SetDataRequest{Path: c.serverPath(path), Data: data, Version: version}
	if err := c.call(ctx, newRequest(proto.OpSetData, path, req, resp)); err != nil {
		return nil, err
	}
	return &resp.Stat, nil
}

// GetACL returns a node's ACL and Stat.
func (c *Conn) GetACL(ctx context.Context, path string) ([]proto.ACL, *proto.Stat, error) {
	if err := checkPath(proto.OpGetACL, path, false); err != nil {
		return nil, nil, err
	}
	resp := &proto.GetACLResponse{}
	if err := c.call(ctx, newRequest(proto.OpGetACL, path, &proto.GetACLRequest{Path: c.serverPath(path)}, resp)); err != nil {
		return nil, nil, err
	}
	return resp.ACL, &resp.Stat, nil
}

// SetACL replaces a node's ACL if its ACL version is version (-1: any).
func (c *Conn) SetACL(ctx context.Context, path string, acl []proto.ACL, version int32) (*proto.Stat, error) {
	if err := checkPath(proto.OpSetACL, path, false); err != nil {
		return nil, err
	}
	if len(acl) == 0 {
		return nil, &Error{Op: proto.OpSetACL, Path: path, Code: proto.ErrInvalidACL}
	}
	resp := &proto.SetACLResponse{}
	req := &proto.SetACLRequest{Path: c.serverPath(path), ACL: acl, Version: version}
	if err := c.call(ctx, newRequest(proto.OpSetACL, path, req, resp)); err != nil {
		return nil, err
	}
	return &resp.Stat, nil
}

// Children returns the names of a node's children, in the server's order
// (unsorted).
func (c *Conn) Children(ctx context.Context, path string) ([]string, error) {
	ch, _, err := c.children(ctx, path, false)
	return ch, err
}

// ChildrenW is Children leaving a watch: the channel gets
// NodeChildrenChanged or NodeDeleted.
func (c *Conn) ChildrenW(ctx context.Context, path string) ([]string, <-chan Event, error) {
	return c.children(ctx, path, true)
}

func (c *Conn) children(ctx context.Context, path string, watch bool) ([]string, <-chan Event, error) {
	if err := checkPath(proto.OpGetChildren, path, false); err != nil {
		return nil, nil, err
	}
	resp := &proto.GetChildrenResponse{}
	r := newRequest(proto.OpGetChildren, path, &proto.GetChildrenRequest{Path: c.serverPath(path), Watch: watch}, resp)
	w := c.oneShot(r, kindChild, path, watch)
	if err := c.call(ctx, r); err != nil {
		return nil, nil, err
	}
	return resp.Children, w, nil
}

// Children2 returns a node's children and its Stat (getChildren2).
func (c *Conn) Children2(ctx context.Context, path string) ([]string, *proto.Stat, error) {
	ch, st, _, err := c.children2(ctx, path, false)
	return ch, st, err
}

// Children2W is Children2 leaving a child watch.
func (c *Conn) Children2W(ctx context.Context, path string) ([]string, *proto.Stat, <-chan Event, error) {
	return c.children2(ctx, path, true)
}

func (c *Conn) children2(ctx context.Context, path string, watch bool) ([]string, *proto.Stat, <-chan Event, error) {
	if err := checkPath(proto.OpGetChildren2, path, false); err != nil {
		return nil, nil, nil, err
	}
	resp := &proto.GetChildren2Response{}
	r := newRequest(proto.OpGetChildren2, path, &proto.GetChildren2Request{Path: c.serverPath(path), Watch: watch}, resp)
	w := c.oneShot(r, kindChild, path, watch)
	if err := c.call(ctx, r); err != nil {
		return nil, nil, nil, err
	}
	return resp.Children, &resp.Stat, w, nil
}

// Sync waits until the server the session is connected to has applied
// every change committed before the call, so that later reads see them.
func (c *Conn) Sync(ctx context.Context, path string) error {
	if err := checkPath(proto.OpSync, path, false); err != nil {
		return err
	}
	return c.call(ctx, newRequest(proto.OpSync, path, &proto.SyncRequest{Path: c.serverPath(path)}, &proto.SyncResponse{}))
}

// GetEphemerals returns the paths of the session's ephemeral nodes whose
// path starts with prefix (a path prefix, not necessarily a node: "/a/b"
// matches "/a/bc"); "/" lists them all. Paths are chroot-relative.
func (c *Conn) GetEphemerals(ctx context.Context, prefix string) ([]string, error) {
	if err := checkPath(proto.OpGetEphemerals, prefix, false); err != nil {
		return nil, err
	}
	resp := &proto.GetEphemeralsResponse{}
	req := &proto.GetEphemeralsRequest{PrefixPath: c.serverPath(prefix)}
	if err := c.call(ctx, newRequest(proto.OpGetEphemerals, prefix, req, resp)); err != nil {
		return nil, err
	}
	out := resp.Ephemerals[:0]
	for _, p := range resp.Ephemerals {
		out = append(out, c.clientPath(p))
	}
	return out, nil
}

// GetAllChildrenNumber returns the number of descendants of a node.
func (c *Conn) GetAllChildrenNumber(ctx context.Context, path string) (int, error) {
	if err := checkPath(proto.OpGetAllChildrenNumber, path, false); err != nil {
		return 0, err
	}
	resp := &proto.GetAllChildrenNumberResponse{}
	req := &proto.GetAllChildrenNumberRequest{Path: c.serverPath(path)}
	if err := c.call(ctx, newRequest(proto.OpGetAllChildrenNumber, path, req, resp)); err != nil {
		return 0, err
	}
	return int(resp.TotalNumber), nil
}

// WhoAmI returns the identities the server has for this session.
func (c *Conn) WhoAmI(ctx context.Context) ([]proto.ClientInfo, error) {
	resp := &proto.WhoAmIResponse{}
	if err := c.call(ctx, newRequest(proto.OpWhoAmI, "", nil, resp)); err != nil {
		return nil, err
	}
	return resp.ClientInfo, nil
}

// AddAuth adds credentials to the session (e.g. scheme "digest", auth
// "user:password") and waits for the server's answer. The credentials are
// re-sent on every reconnect. A rejected credential (AuthFailed) ends the
// session, as in ZooKeeper.
func (c *Conn) AddAuth(ctx context.Context, scheme string, auth []byte) error {
	r := newRequest(proto.OpAuth, "", &proto.AuthPacket{Scheme: scheme, Auth: auth}, nil).setXid(proto.XidAuth)
	c.mu.Lock()
	c.auths = append(c.auths, authInfo{scheme, append([]byte(nil), auth...)})
	c.mu.Unlock()
	return c.call(ctx, r)
}

// AddWatch sets a persistent watch on path (mode AddWatchPersistent: data,
// children and existence events of the node) or a persistent recursive one
// (AddWatchPersistentRecursive: data and existence events of the node and
// of every descendant). The channel gets every event until the watch is
// removed (EventPersistentWatchRemoved, then closed) or the session ends.
func (c *Conn) AddWatch(ctx context.Context, path string, mode AddWatchMode) (<-chan Event, error) {
	if err := checkPath(proto.OpAddWatch, path, false); err != nil {
		return nil, err
	}
	k := kindPersistent
	switch mode {
	case AddWatchPersistent:
	case AddWatchPersistentRecursive:
		k = kindRecursive
	default:
		return nil, badArgs(proto.OpAddWatch, path, "unknown add watch mode %d", int32(mode))
	}
	r := newRequest(proto.OpAddWatch, path, &proto.AddWatchRequest{Path: c.serverPath(path), Mode: int32(mode)}, nil)
	r.watch = &watcher{kind: k, path: path, box: newMailbox(watchBuffer, 0, &c.wg, c.pumpsQuit)}
	if err := c.call(ctx, r); err != nil {
		return nil, err
	}
	return r.watch.box.ch, nil
}

// RemoveWatches removes every watch of type t on path, on the server and
// here (removeAllWatches); each removed channel gets a DataWatchRemoved,
// ChildWatchRemoved or PersistentWatchRemoved event and is closed. With
// local set, the client's watchers are removed even when the server cannot
// be reached or fails. It fails with proto.ErrNoWatcher when there is no
// such watch.
func (c *Conn) RemoveWatches(ctx context.Context, path string, t WatcherType, local bool) error {
	if err := checkPath(proto.OpRemoveWatches, path, false); err != nil {
		return err
	}
	kinds := kindsOf(t)
	if kinds == nil {
		return badArgs(proto.OpRemoveWatches, path, "unknown watcher type %d", int32(t))
	}
	r := newRequest(proto.OpRemoveWatches, path, &proto.RemoveWatchesRequest{Path: c.serverPath(path), Type: int32(t)}, nil)
	r.unwatch = &removal{path: path, kinds: kinds, local: local}
	return c.call(ctx, r)
}

// RemoveWatch removes one watch, given the channel a W read or AddWatch
// returned: the channel gets the matching *WatchRemoved event and is closed.
// The server's watch is removed only when no other watcher of this session
// shares it (otherwise it is only checked, as ZooKeeper's checkWatches).
// It fails with proto.ErrNoWatcher if the watch already fired or was removed.
func (c *Conn) RemoveWatch(ctx context.Context, ch <-chan Event, local bool) error {
	w, shared := c.watches.lookup(ch)
	if w == nil {
		return &Error{Op: proto.OpRemoveWatches, Code: proto.ErrNoWatcher}
	}
	var t WatcherType
	switch w.kind {
	case kindData, kindExist:
		t = WatcherData
	case kindChild:
		t = WatcherChildren
	case kindPersistent:
		t = WatcherPersistent
	case kindRecursive:
		t = WatcherPersistentRecursive
	}
	var r *request
	if shared {
		r = newRequest(proto.OpCheckWatches, w.path, &proto.CheckWatchesRequest{Path: c.serverPath(w.path), Type: int32(t)}, nil)
	} else {
		r = newRequest(proto.OpRemoveWatches, w.path, &proto.RemoveWatchesRequest{Path: c.serverPath(w.path), Type: int32(t)}, nil)
	}
	r.unwatch = &removal{path: w.path, only: w, local: local}
	return c.call(ctx, r)
}

// configNode holds the ensemble configuration; it is outside any chroot.
const configNode = "/zookeeper/config"

// GetConfig returns the ensemble configuration (/zookeeper/config, read
// outside the chroot).
func (c *Conn) GetConfig(ctx context.Context) ([]byte, *proto.Stat, error) {
	d, st, _, err := c.getConfig(ctx, false)
	return d, st, err
}

// GetConfigW is GetConfig leaving a data watch on the configuration.
func (c *Conn) GetConfigW(ctx context.Context) ([]byte, *proto.Stat, <-chan Event, error) {
	return c.getConfig(ctx, true)
}

func (c *Conn) getConfig(ctx context.Context, watch bool) ([]byte, *proto.Stat, <-chan Event, error) {
	resp := &proto.GetDataResponse{}
	r := newRequest(proto.OpGetData, configNode, &proto.GetDataRequest{Path: configNode, Watch: watch}, resp)
	// Events for the config node arrive with its server path; under a
	// chroot the client path is the same string (not below the chroot).
	w := c.oneShot(r, kindData, c.clientPath(configNode), watch)
	if err := c.call(ctx, r); err != nil {
		return nil, nil, nil, err
	}
	return resp.Data, &resp.Stat, w, nil
}

// Reconfig changes the ensemble membership: incrementally (joining and
// leaving, comma-separated "server.N=..." specs and ids) or wholesale
// (newMembers). fromConfig is the config version it applies to (-1: any).
// It returns the new configuration.
func (c *Conn) Reconfig(ctx context.Context, joining, leaving, newMembers string, fromConfig int64) ([]byte, *proto.Stat, error) {
	resp := &proto.GetDataResponse{}
	req := &proto.ReconfigRequest{JoiningServers: joining, LeavingServers: leaving, NewMembers: newMembers, CurConfigID: fromConfig}
	if err := c.call(ctx, newRequest(proto.OpReconfig, "", req, resp)); err != nil {
		return nil, nil, err
	}
	return resp.Data, &resp.Stat, nil
}

package server

import (
	"github.com/zkd-io/zkd/internal/tree"
	"github.com/zkd-io/zkd/internal/watch"
	"github.com/zkd-io/zkd/proto"
)

// authenticate handles an AuthPacket. digest adds user:base64(sha1) (and the
// super identity when it matches the configured super digest); ip adds the
// client's address. Any other scheme fails and, as in ZooKeeper, the
// connection is closed after the AuthFailed reply.
func (c *conn) authenticate(req *request) {
	p := req.rec.(*proto.AuthPacket)
	switch p.Scheme {
	case "digest":
		id := tree.DigestID(string(p.Auth))
		if c.s.opts.SuperDigest != "" && id == c.s.opts.SuperDigest {
			c.addAuth(proto.ID{Scheme: "super", ID: ""})
		}
		c.addAuth(proto.ID{Scheme: "digest", ID: id})
	case "ip":
		c.addAuth(proto.ID{Scheme: "ip", ID: c.ip})
	default:
		c.s.log.Warn("authentication failed: no provider for scheme", "scheme", p.Scheme, "remote", c.remote, "session", hexID(c.session.Load()))
		c.reply(req.xid, 0, proto.ErrAuthFailed, nil)
		c.closeAfterFlush()
		return
	}
	c.reply(req.xid, 0, proto.ErrOK, nil)
}

func (c *conn) addAuth(id proto.ID) {
	for _, have := range c.auth {
		if have == id {
			return
		}
	}
	// Copy on write: entries already proposed keep the slice they carry.
	c.auth = append(append([]proto.ID(nil), c.auth...), id)
}

// setWatches re-registers a reconnecting client's watches and fires the ones
// whose change it missed while away, judged against relativeZxid.
func (c *conn) setWatches(req *request) {
	var rel int64
	var data, exist, child, persistent, recursive []string
	switch r := req.rec.(type) {
	case *proto.SetWatches:
		rel, data, exist, child = r.RelativeZxid, r.DataWatches, r.ExistWatches, r.ChildWatches
	case *proto.SetWatches2:
		rel, data, exist, child = r.RelativeZxid, r.DataWatches, r.ExistWatches, r.ChildWatches
		persistent, recursive = r.PersistentWatches, r.PersistentRecursiveWatches
	}
	s := c.s
	fire := func(typ int32, path string) {
		c.Notify(proto.WatcherEvent{Type: typ, State: proto.StateSyncConnected, Path: path})
	}
	s.mu.RLock()
	t := s.fsm.Tree()
	// A client that last saw a zxid before an admin restore replaced the
	// state cannot judge anything by the restored nodes' zxids: all its
	// data and child watches fire.
	replaced := rel < s.fsm.RestoredAt()
	// A data or child watch whose node changed after rel fires at once
	// (NodeDeleted if it is gone); otherwise it is set again.
	resume := func(paths []string, changed func(*tree.Node) int64, typ int32, k watch.Kind) {
		for _, p := range paths {
			switch n := t.Get(p); {
			case n == nil:
				fire(proto.EventNodeDeleted, p)
			case replaced || changed(n) > rel:
				fire(typ, p)
			default:
				s.watches.Add(p, c, k)
			}
		}
	}
	// ZooKeeper's order: data, exist, child.
	resume(data, func(n *tree.Node) int64 { return n.Mzxid }, proto.EventNodeDataChanged, watch.Data)
	for _, p := range exist {
		if t.Has(p) {
			fire(proto.EventNodeCreated, p)
		} else {
			s.watches.Add(p, c, watch.Data)
		}
	}
	resume(child, func(n *tree.Node) int64 { return n.Pzxid }, proto.EventNodeChildrenChanged, watch.Child)
	for _, p := range persistent {
		s.watches.Add(p, c, watch.Persistent)
	}
	for _, p := range recursive {
		s.watches.Add(p, c, watch.Recursive)
	}
	zxid := s.fsm.LastZxid()
	s.mu.RUnlock()
	c.reply(req.xid, zxid, proto.ErrOK, nil)
}

// watchKinds maps a WatcherType of checkWatches / removeWatches to the
// registry kinds it covers.
func watchKinds(t int32) watch.Kind {
	// ZooKeeper files persistent watches in its child table and data
	// table, and recursive ones in its data table, so Children and Data
	// find them too.
	switch t {
	case proto.WatcherChildren:
		return watch.Child | watch.Persistent
	case proto.WatcherData:
		return watch.Data | watch.Persistent | watch.Recursive
	case proto.WatcherAny:
		return watch.Data | watch.Child | watch.Persistent | watch.Recursive
	case proto.WatcherPersistent:
		return watch.Persistent
	case proto.WatcherPersistentRecursive:
		return watch.Recursive
	}
	return 0
}

func (c *conn) removeWatches(req *request) {
	var path string
	var typ int32
	remove := req.op == proto.OpRemoveWatches
	switch r := req.rec.(type) {
	case *proto.CheckWatchesRequest:
		path, typ = r.Path, r.Type
	case *proto.RemoveWatchesRequest:
		path, typ = r.Path, r.Type
	}
	k := watchKinds(typ)
	var found bool
	if remove {
		found = k != 0 && c.s.watches.Remove(path, c, k)
	} else {
		found = k != 0 && c.s.watches.Has(path, c, k)
	}
	code := proto.ErrOK
	if !found {
		code = proto.ErrNoWatcher
	}
	c.reply(req.xid, c.s.lastZxid(), code, nil)
}

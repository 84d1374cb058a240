package diff

import (
	"fmt"
	"sync"

	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/proto"
)

// Admin is one long-lived, unrecorded session per server that creates the
// per-scenario root nodes. Reusing it keeps session creation and closing out
// of the servers' logs between scenarios.
type Admin struct {
	Addr string

	mu   sync.Mutex
	conn *Conn
	xid  int32
}

// MakeRoot creates path as an open persistent node, reconnecting once if the
// session was lost.
func (a *Admin) MakeRoot(path string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if err = a.createLocked(path); err == nil {
			return nil
		}
		if a.conn != nil {
			a.conn.Close()
			a.conn = nil
		}
	}
	return err
}

func (a *Admin) createLocked(path string) error {
	if a.conn == nil {
		c, err := Dial(a.Addr, writeTimeout)
		if err != nil {
			return err
		}
		resp, err := c.Handshake(&proto.ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16), HasReadOnly: true}, replyTimeout)
		if err != nil {
			c.Close()
			return err
		}
		if resp.SessionID == 0 {
			c.Close()
			return fmt.Errorf("admin session refused: %+v", resp)
		}
		a.conn = c
	}
	a.xid++
	req := &proto.CreateRequest{Path: path, ACL: Open, Flags: proto.ModePersistent}
	if err := a.conn.Send(a.xid, proto.OpCreate, req, writeTimeout); err != nil {
		return err
	}
	for i := 0; i < 100; i++ {
		p, err := a.conn.ReadPacket(replyTimeout)
		if err != nil {
			return err
		}
		if p.Header.Xid != a.xid {
			continue
		}
		if p.Header.Err != proto.ErrOK {
			return fmt.Errorf("create %s: %s", path, p.Header.Err.Name())
		}
		var cr proto.CreateResponse
		if err := cr.Decode(jute.NewReader(p.Body)); err != nil || cr.Path != path {
			return fmt.Errorf("create %s: reply path %q, err %v", path, cr.Path, err)
		}
		return nil
	}
	return fmt.Errorf("create %s: no reply", path)
}

// Close closes the admin session.
func (a *Admin) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn == nil {
		return
	}
	a.xid++
	if a.conn.Send(a.xid, proto.OpCloseSession, nil, writeTimeout) == nil {
		_, _ = a.conn.ReadPacket(closeTimeout)
	}
	a.conn.Close()
	a.conn = nil
}

package diff

import (
	"time"

	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/proto"
)

// Scenarios of the handshake, session life (resume, close, expiry), pings,
// xids and malformed traffic. Both servers run with tickTime 500ms, so the
// negotiated timeout is clamped to [1000, 10000] ms.
var sessionScenarios = []Scenario{
	{Name: "session_timeout_negotiation", Run: func(s *S) {
		// (A timeout of 0 on the wire: session_timeout_zero_on_wire.)
		for _, ms := range []int32{10000, 4000, 1000, 999, 100, -5, 10001, 999999} {
			s.Connect(ConnectOpts{Timeout: ms}).Close()
		}
	}},
	{Name: "session_timeout_zero_on_wire", Run: func(s *S) {
		c := &Client{s: s, Name: "c1"}
		s.clients = append(s.clients, c)
		conn, err := Dial(s.env.Addr, writeTimeout)
		if err != nil {
			c.line("! dial failed")
			c.dead = true
			return
		}
		c.conn = conn
		c.line("connect with timeout=0")
		resp, err := conn.Handshake(&proto.ConnectRequest{Passwd: make([]byte, 16), HasReadOnly: true}, replyTimeout)
		if err != nil {
			c.line("< handshake %s", closedReason(err))
			c.kill("closed", err)
			return
		}
		c.line("< connected %s", s.n.Record(resp))
		c.SessionID, c.Passwd = resp.SessionID, resp.Passwd
		s.sessions[resp.SessionID] = resp.Passwd
		c.Close()
	}},
	{Name: "session_id_shape", Run: func(s *S) {
		// The top byte of a session id is the server id in ZooKeeper. It
		// must not look like the markers that share ephemeralOwner: 0xff
		// is a TTL node and 0x80 (with nothing below) a container, which
		// is why ZooKeeper limits server ids to 254 with extended types.
		for i := 0; i < 3; i++ {
			c := s.Client()
			top := uint64(c.SessionID) >> 56
			s.Note("session %d: nonzero=%v ttl-like=%v container-like=%v", i+1, c.SessionID != 0,
				top == ttlOwnerTop, c.SessionID == containerOwner)
		}
	}},
	{Name: "session_no_readonly_byte", Run: func(s *S) {
		c := s.Connect(ConnectOpts{NoReadOnlyByte: true})
		c.Exists(s.P(""), false)
	}},
	{Name: "session_readonly_requested", Run: func(s *S) {
		// A standalone server is not read-only: the session is a normal one.
		c := s.Connect(ConnectOpts{ReadOnly: true})
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
	}},
	{Name: "session_protocol_version", Run: func(s *S) {
		c := s.Connect(ConnectOpts{ProtocolVersion: 1})
		c.Exists(s.P(""), false)
	}},
	{Name: "session_new_with_nonzero_password", Run: func(s *S) {
		c := s.Connect(ConnectOpts{Passwd: []byte("not zeros at all")})
		c.Exists(s.P(""), false)
		c2 := s.Connect(ConnectOpts{Passwd: []byte{1, 2, 3}})
		c2.Exists(s.P(""), false)
	}},
	{Name: "session_resume_after_drop", Run: func(s *S) {
		c1 := s.Client()
		c1.Create(s.P("/e"), "", Open, proto.ModeEphemeral)
		c1.Drop()
		c2 := s.Connect(ConnectOpts{SessionID: c1.SessionID, Passwd: c1.Passwd, LastZxidSeen: c1.LastZxid})
		c2.Exists(s.P("/e"), false)
		c2.GetEphemerals(s.P(""))
		c2.Create(s.P("/e2"), "", Open, proto.ModeEphemeral)
		c2.Close()
		c3 := s.Client()
		c3.GetChildren(s.P(""), false)
	}},
	{Name: "session_resume_while_connected", Run: func(s *S) {
		// The server closes the session's old connection.
		c1 := s.Client()
		c1.Create(s.P("/e"), "", Open, proto.ModeEphemeral)
		c2 := s.Connect(ConnectOpts{SessionID: c1.SessionID, Passwd: c1.Passwd})
		c2.Exists(s.P("/e"), false)
		c1.ExpectClosed()
		c2.GetEphemerals(s.P(""))
	}},
	{Name: "session_resume_wrong_password", Run: func(s *S) {
		// ZooKeeper 3.8 closes the session's current connection before it
		// checks the password, so a wrong password also disconnects c1.
		c1 := s.Client()
		bad := append([]byte(nil), c1.Passwd...)
		bad[0] ^= 0xff
		c2 := s.Connect(ConnectOpts{SessionID: c1.SessionID, Passwd: bad})
		c2.ExpectClosed()
		c1.Exists(s.P(""), false)
	}},
	{Name: "session_resume_short_password", Run: func(s *S) {
		c1 := s.Client()
		c2 := s.Connect(ConnectOpts{SessionID: c1.SessionID, Passwd: c1.Passwd[:8]})
		c2.ExpectClosed()
		c1.Exists(s.P(""), false)
	}},
	{Name: "session_resume_unknown_id", Run: func(s *S) {
		c := s.Connect(ConnectOpts{SessionID: 0x0badc0ffee, Passwd: make([]byte, 16)})
		c.ExpectClosed()
	}},
	{Name: "session_resume_after_close", Run: func(s *S) {
		c1 := s.Client()
		c1.Close()
		c2 := s.Connect(ConnectOpts{SessionID: c1.SessionID, Passwd: c1.Passwd})
		c2.ExpectClosed()
	}},
	{Name: "session_last_zxid_ahead", Run: func(s *S) {
		// A client that has seen a newer zxid than the server must not be
		// served: ZooKeeper closes the connection without a response.
		c1 := s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c2 := s.Connect(ConnectOpts{LastZxidSeen: c1.LastZxid + 1000})
		c2.ExpectClosed()
		c3 := s.Connect(ConnectOpts{SessionID: c1.SessionID, Passwd: c1.Passwd, LastZxidSeen: 0x7fffffff00000000})
		c3.ExpectClosed()
		c1.Exists(s.P("/a"), false)
	}},
	{Name: "session_last_zxid_current", Run: func(s *S) {
		c1 := s.Client()
		c1.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c2 := s.Connect(ConnectOpts{LastZxidSeen: c1.LastZxid})
		c2.Exists(s.P("/a"), false)
	}},
	{Name: "session_close_removes_ephemerals", Run: func(s *S) {
		c1, c2 := s.Client(), s.Client()
		c1.Create(s.P("/e"), "", Open, proto.ModeEphemeral)
		c1.Create(s.P("/p"), "", Open, proto.ModePersistent)
		c1.Close()
		c2.GetChildren2(s.P(""), false)
	}},
	{Name: "session_close_pipelined", Run: func(s *S) {
		// Requests queued before closeSession are answered first. (What
		// ZooKeeper does with a request sent after closeSession is a race:
		// sometimes SessionExpired, sometimes nothing.)
		c := s.Client()
		c.Send(proto.OpCreate, &proto.CreateRequest{Path: s.P("/a"), ACL: Open})
		c.Send(proto.OpCloseSession, nil)
		c.ExpectClosed()
		c2 := s.Client()
		c2.Exists(s.P("/a"), false)
	}},
	{Name: "session_expiry", Run: func(s *S) {
		c1 := s.Connect(ConnectOpts{Timeout: 1000})
		c1.Create(s.P("/e"), "", Open, proto.ModeEphemeral)
		c2 := s.Client()
		c2.Exists(s.P("/e"), true)
		c1.Drop()
		s.Eventually("ephemeral of the expired session removed", 8*time.Second, func() bool {
			return c2.Exists(s.P("/e"), false).Err == proto.ErrNoNode
		})
		c2.Barrier()
		c3 := s.Connect(ConnectOpts{SessionID: c1.SessionID, Passwd: c1.Passwd})
		c3.ExpectClosed()
	}},
	{Name: "session_kept_alive_by_pings", Run: func(s *S) {
		c1 := s.Connect(ConnectOpts{Timeout: 1000})
		c1.Create(s.P("/e"), "", Open, proto.ModeEphemeral)
		s.Quietly(func() {
			for i := 0; i < 6; i++ {
				time.Sleep(300 * time.Millisecond)
				c1.Ping()
			}
		})
		c1.Exists(s.P("/e"), false)
	}},
	{Name: "ping", Run: func(s *S) {
		c := s.Client()
		c.Ping()
		c.Create(s.P("/a"), "", Open, proto.ModePersistent)
		c.Ping()
		// ZooKeeper answers every ping with the ping xid, whatever the
		// request's xid was.
		c.SendXid(7, proto.OpPing, nil)
		c.Sentinel()
		c.Probe(proto.OpPing, &proto.ExistsRequest{Path: "/ignored"})
	}},
	{Name: "xids_unusual", Run: func(s *S) {
		// The server echoes xids; it does not require them to increase.
		c := s.Client()
		c.CallXid(0, proto.OpExists, &proto.ExistsRequest{Path: s.P("")})
		c.CallXid(-100, proto.OpExists, &proto.ExistsRequest{Path: s.P("")})
		c.CallXid(1<<31-1, proto.OpExists, &proto.ExistsRequest{Path: s.P("")})
		c.CallXid(5, proto.OpCreate, &proto.CreateRequest{Path: s.P("/a"), ACL: Open})
		c.CallXid(5, proto.OpCreate, &proto.CreateRequest{Path: s.P("/b"), ACL: Open})
		c.CallXid(3, proto.OpGetChildren, &proto.GetChildrenRequest{Path: s.P("")})
	}},
	{Name: "xid_reserved_values_for_ops", Run: func(s *S) {
		c := s.Client()
		c.CallXid(proto.XidNotification, proto.OpExists, &proto.ExistsRequest{Path: s.P("")})
		c.Barrier()
		c.CallXid(proto.XidAuth, proto.OpExists, &proto.ExistsRequest{Path: s.P("")})
		c.CallXid(proto.XidSetWatches, proto.OpGetData, &proto.GetDataRequest{Path: s.P("")})
		c.CallXid(proto.XidPing, proto.OpExists, &proto.ExistsRequest{Path: s.P("")})
	}},
	{Name: "malformed_trailing_bytes", Run: func(s *S) {
		c := s.Client()
		body := EncodeRequest(1, proto.OpExists, &proto.ExistsRequest{Path: s.P("")})
		c.SendRawAs("exists with 3 extra bytes", 1, proto.OpExists, append(body, 1, 2, 3))
		c.ClosedOrUsable()
	}},
	{Name: "malformed_no_header", Run: func(s *S) {
		c := s.Client()
		c.SendRaw("frame of 3 bytes", []byte{0, 0, 1})
		c.ClosedOrUsable()
	}},
	{Name: "malformed_empty_frame", Run: func(s *S) {
		c := s.Client()
		c.SendRaw("empty frame", nil)
		c.ClosedOrUsable()
	}},
	{Name: "malformed_negative_length", Run: func(s *S) {
		c := s.Client()
		c.SendBytes("frame length -1", []byte{0xff, 0xff, 0xff, 0xff})
		c.ClosedOrUsable()
	}},
	{Name: "malformed_huge_length", Run: func(s *S) {
		c := s.Client()
		c.SendBytes("frame length 0x7fffffff", []byte{0x7f, 0xff, 0xff, 0xff})
		c.ClosedOrUsable()
	}},
	{Name: "malformed_string_length", Run: func(s *S) {
		c := s.Client()
		w := jute.NewWriter(16)
		w.Int(1000) // path length beyond the frame
		w.Bool(false)
		c.SendRawAs("exists with a path length past the end", 1, proto.OpExists, append(EncodeRequest(1, proto.OpExists, nil), w.Bytes()...))
		c.ClosedOrUsable()
	}},
	{Name: "malformed_handshake_garbage", Run: func(s *S) {
		c := &Client{s: s, Name: "c1"}
		s.clients = append(s.clients, c)
		conn, err := Dial(s.env.Addr, writeTimeout)
		if err != nil {
			c.line("! dial failed")
			c.dead = true
			return
		}
		c.conn = conn
		c.SendRaw("5-byte handshake", []byte{1, 2, 3, 4, 5})
		c.ExpectClosed()
	}},
	{Name: "malformed_request_as_handshake", Run: func(s *S) {
		c := &Client{s: s, Name: "c1"}
		s.clients = append(s.clients, c)
		conn, err := Dial(s.env.Addr, writeTimeout)
		if err != nil {
			c.line("! dial failed")
			c.dead = true
			return
		}
		c.conn = conn
		c.SendRaw("getData before any handshake", EncodeRequest(1, proto.OpGetData, &proto.GetDataRequest{Path: "/"}))
		c.ExpectClosed()
	}},
	{Name: "reconfig_disabled", Run: func(s *S) {
		c := s.Client()
		c.Reconfig("server.5=127.0.0.1:1234:1235;2181", "", "", -1)
		c.Reconfig("", "1", "", -1)
		c.Reconfig("", "", "server.1=127.0.0.1:1:2", 0)
		c.Reconfig("", "", "", -1)
		c.Exists(s.P(""), false)
	}},
	{Name: "reconfig_as_super", Run: func(s *S) {
		c := s.Client()
		c.Auth("digest", s.SuperAuth)
		c.Reconfig("", "", "", -1)
	}},
}

package diff

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/proto"
)

// Record renders a request or response record as normalised text.
func (n *Normalizer) Record(rec proto.Record) string {
	q := strconv.Quote
	switch x := rec.(type) {
	case nil, *proto.Empty:
		return ""
	// Requests.
	case *proto.CreateRequest:
		return fmt.Sprintf("path=%s data=%s acl=%s flags=%d", q(x.Path), Data(x.Data), n.ACLs(x.ACL), x.Flags)
	case *proto.CreateTTLRequest:
		return fmt.Sprintf("path=%s data=%s acl=%s flags=%d ttl=%d", q(x.Path), Data(x.Data), n.ACLs(x.ACL), x.Flags, x.TTL)
	case *proto.DeleteRequest:
		return fmt.Sprintf("path=%s version=%d", q(x.Path), x.Version)
	case *proto.ExistsRequest:
		return fmt.Sprintf("path=%s watch=%v", q(x.Path), x.Watch)
	case *proto.GetDataRequest:
		return fmt.Sprintf("path=%s watch=%v", q(x.Path), x.Watch)
	case *proto.GetChildrenRequest:
		return fmt.Sprintf("path=%s watch=%v", q(x.Path), x.Watch)
	case *proto.GetChildren2Request:
		return fmt.Sprintf("path=%s watch=%v", q(x.Path), x.Watch)
	case *proto.SetDataRequest:
		return fmt.Sprintf("path=%s data=%s version=%d", q(x.Path), Data(x.Data), x.Version)
	case *proto.GetACLRequest:
		return "path=" + q(x.Path)
	case *proto.SetACLRequest:
		return fmt.Sprintf("path=%s acl=%s version=%d", q(x.Path), n.ACLs(x.ACL), x.Version)
	case *proto.SyncRequest:
		return "path=" + q(x.Path)
	case *proto.CheckVersionRequest:
		return fmt.Sprintf("path=%s version=%d", q(x.Path), x.Version)
	case *proto.CheckWatchesRequest:
		return fmt.Sprintf("path=%s type=%d", q(x.Path), x.Type)
	case *proto.RemoveWatchesRequest:
		return fmt.Sprintf("path=%s type=%d", q(x.Path), x.Type)
	case *proto.GetEphemeralsRequest:
		return "prefix=" + q(x.PrefixPath)
	case *proto.GetAllChildrenNumberRequest:
		return "path=" + q(x.Path)
	case *proto.AddWatchRequest:
		return fmt.Sprintf("path=%s mode=%d", q(x.Path), x.Mode)
	case *proto.SetWatches:
		return fmt.Sprintf("relZxid=%s data=%s exist=%s child=%s", n.ZxidNear(x.RelativeZxid),
			quoteList(x.DataWatches), quoteList(x.ExistWatches), quoteList(x.ChildWatches))
	case *proto.SetWatches2:
		return fmt.Sprintf("relZxid=%s data=%s exist=%s child=%s persistent=%s recursive=%s", n.ZxidNear(x.RelativeZxid),
			quoteList(x.DataWatches), quoteList(x.ExistWatches), quoteList(x.ChildWatches),
			quoteList(x.PersistentWatches), quoteList(x.PersistentRecursiveWatches))
	case *proto.AuthPacket:
		return fmt.Sprintf("type=%d scheme=%s auth=%s", x.Type, q(x.Scheme), Data(x.Auth))
	case *proto.ReconfigRequest:
		return fmt.Sprintf("joining=%s leaving=%s members=%s configId=%d", q(x.JoiningServers), q(x.LeavingServers), q(x.NewMembers), x.CurConfigID)
	case *proto.GetSASLRequest:
		return "token=" + Data(x.Token)
	case *proto.MultiRequest:
		parts := make([]string, len(x.Ops))
		for i, op := range x.Ops {
			parts[i] = op.Type.String() + "{" + n.Record(op.Op) + "}"
		}
		return "[" + strings.Join(parts, "; ") + "]"
	// Responses.
	case *proto.CreateResponse:
		return "path=" + q(x.Path)
	case *proto.Create2Response:
		return fmt.Sprintf("path=%s stat=%s", q(x.Path), n.Stat(&x.Stat))
	case *proto.ExistsResponse:
		return "stat=" + n.Stat(&x.Stat)
	case *proto.SetDataResponse:
		return "stat=" + n.Stat(&x.Stat)
	case *proto.SetACLResponse:
		return "stat=" + n.Stat(&x.Stat)
	case *proto.GetDataResponse:
		return fmt.Sprintf("data=%s stat=%s", Data(x.Data), n.Stat(&x.Stat))
	case *proto.GetACLResponse:
		return fmt.Sprintf("acl=%s stat=%s", n.ACLs(x.ACL), n.Stat(&x.Stat))
	case *proto.GetChildrenResponse:
		return "children=" + SortedStrings(x.Children)
	case *proto.GetChildren2Response:
		return fmt.Sprintf("children=%s stat=%s", SortedStrings(x.Children), n.Stat(&x.Stat))
	case *proto.SyncResponse:
		return "path=" + q(x.Path)
	case *proto.GetEphemeralsResponse:
		return "ephemerals=" + SortedStrings(x.Ephemerals)
	case *proto.GetAllChildrenNumberResponse:
		return "total=" + strconv.Itoa(int(x.TotalNumber))
	case *proto.WhoAmIResponse:
		// ZooKeeper keeps a connection's identities in a hash set, so
		// their order means nothing.
		parts := make([]string, len(x.ClientInfo))
		for i, ci := range x.ClientInfo {
			parts[i] = ci.AuthScheme + ":" + ci.User
		}
		sort.Strings(parts)
		return "clientInfo=[" + strings.Join(parts, ", ") + "]"
	case *proto.SetSASLResponse:
		return "token=" + Data(x.Token)
	case *proto.ErrorResponse:
		return "err=" + x.Err.Name()
	case *proto.MultiResponse:
		parts := make([]string, len(x.Results))
		for i, res := range x.Results {
			if res.Type == proto.OpError {
				parts[i] = "error{" + res.Err.Name() + "}"
				continue
			}
			parts[i] = res.Type.String() + "{" + n.Record(res.Resp) + "}"
		}
		return "[" + strings.Join(parts, "; ") + "]"
	case *proto.WatcherEvent:
		return fmt.Sprintf("%s %s path=%s", proto.EventTypeName(x.Type), proto.StateName(x.State), q(x.Path))
	case *proto.ConnectResponse:
		return fmt.Sprintf("proto=%d timeout=%d session=%s passwd=%s ro=%v", x.ProtocolVersion, x.TimeOut,
			n.Session(x.SessionID), passwd(x.Passwd), x.ReadOnly)
	}
	return fmt.Sprintf("%T(%+v)", rec, rec)
}

// passwd shows only what a client can rely on: the length, and whether the
// password is all zeros (ZooKeeper's answer to a refused reconnect).
func passwd(p []byte) string {
	if p == nil {
		return "null"
	}
	for _, b := range p {
		if b != 0 {
			return strconv.Itoa(len(p)) + "B"
		}
	}
	return strconv.Itoa(len(p)) + "B-zero"
}

// newResponse returns the record a successful reply to op carries, or nil
// for ops whose reply is a bare header.
func newResponse(op proto.OpCode) proto.Record {
	switch op {
	case proto.OpCreate:
		return &proto.CreateResponse{}
	case proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
		return &proto.Create2Response{}
	case proto.OpExists:
		return &proto.ExistsResponse{}
	case proto.OpGetData, proto.OpReconfig:
		return &proto.GetDataResponse{}
	case proto.OpSetData:
		return &proto.SetDataResponse{}
	case proto.OpGetACL:
		return &proto.GetACLResponse{}
	case proto.OpSetACL:
		return &proto.SetACLResponse{}
	case proto.OpGetChildren:
		return &proto.GetChildrenResponse{}
	case proto.OpGetChildren2:
		return &proto.GetChildren2Response{}
	case proto.OpSync:
		return &proto.SyncResponse{}
	case proto.OpMulti, proto.OpMultiRead:
		return &proto.MultiResponse{}
	case proto.OpGetEphemerals:
		return &proto.GetEphemeralsResponse{}
	case proto.OpGetAllChildrenNumber:
		return &proto.GetAllChildrenNumberResponse{}
	case proto.OpWhoAmI:
		return &proto.WhoAmIResponse{}
	case proto.OpSasl:
		return &proto.SetSASLResponse{}
	case proto.OpAddWatch:
		// ZooKeeper answers addWatch with an ErrorResponse(0) body.
		return &proto.ErrorResponse{}
	}
	return nil
}

// decodeBody decodes a reply body for op. Error replies usually carry no
// body (multi is the exception); whatever is there is decoded when it can
// be and shown in hex otherwise, so that extra or missing bytes are a
// visible difference rather than silently ignored.
func (n *Normalizer) decodeBody(op proto.OpCode, known bool, body []byte) (proto.Record, string) {
	if len(body) == 0 {
		return nil, ""
	}
	var rec proto.Record
	if known {
		rec = newResponse(op)
	}
	if rec == nil {
		return nil, "body=0x" + hexShort(body)
	}
	r := jute.NewReader(body)
	if e := rec.Decode(r); e != nil {
		return nil, fmt.Sprintf("undecodable %s body (%v)=0x%s", op, e, hexShort(body))
	}
	s := n.Record(rec)
	if r.Remaining() > 0 {
		s += fmt.Sprintf(" +%d trailing bytes", r.Remaining())
	}
	return rec, s
}

func hexShort(b []byte) string {
	const max = 64
	if len(b) > max {
		return fmt.Sprintf("%x...(%d bytes)", b[:max], len(b))
	}
	return fmt.Sprintf("%x", b)
}

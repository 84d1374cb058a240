package proto

import "github.com/zkd-io/zkd/internal/jute"

// ConnectRequest is the first packet of a connection. Java clients since 3.4
// append a readOnly byte; older clients (and some third-party ones) omit it,
// which HasReadOnly records.
type ConnectRequest struct {
	ProtocolVersion int32
	LastZxidSeen    int64
	TimeOut         int32 // requested session timeout, ms
	SessionID       int64 // 0 for a new session
	Passwd          []byte
	ReadOnly        bool
	HasReadOnly     bool // false when the client omitted the trailing byte
}

// Encode writes the record; the readOnly byte is written only if HasReadOnly.
func (x *ConnectRequest) Encode(w *jute.Writer) {
	w.Int(x.ProtocolVersion)
	w.Long(x.LastZxidSeen)
	w.Int(x.TimeOut)
	w.Long(x.SessionID)
	w.Buffer(x.Passwd)
	if x.HasReadOnly {
		w.Bool(x.ReadOnly)
	}
}

// Decode reads the record; the trailing readOnly byte is optional.
func (x *ConnectRequest) Decode(r *jute.Reader) error {
	x.ProtocolVersion = r.Int()
	x.LastZxidSeen = r.Long()
	x.TimeOut = r.Int()
	x.SessionID = r.Long()
	x.Passwd = r.Buffer()
	x.ReadOnly, x.HasReadOnly = false, false
	if r.Err() == nil && r.Remaining() > 0 {
		x.ReadOnly = r.Bool()
		x.HasReadOnly = true
	}
	return r.Err()
}

// ConnectResponse answers a ConnectRequest. TimeOut 0 (with a zero session)
// tells the client its session is expired.
type ConnectResponse struct {
	ProtocolVersion int32
	TimeOut         int32 // negotiated session timeout, ms
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool
}

// Encode writes the record, always including the readOnly byte as
// ZooKeeper servers do.
func (x *ConnectResponse) Encode(w *jute.Writer) {
	w.Int(x.ProtocolVersion)
	w.Int(x.TimeOut)
	w.Long(x.SessionID)
	w.Buffer(x.Passwd)
	w.Bool(x.ReadOnly)
}

// Decode reads the record; the readOnly byte is optional because servers
// before 3.4 do not send it.
func (x *ConnectResponse) Decode(r *jute.Reader) error {
	x.ProtocolVersion = r.Int()
	x.TimeOut = r.Int()
	x.SessionID = r.Long()
	x.Passwd = r.Buffer()
	x.ReadOnly = false
	if r.Err() == nil && r.Remaining() > 0 {
		x.ReadOnly = r.Bool()
	}
	return r.Err()
}

// RequestHeader precedes every request after the handshake.
type RequestHeader struct {
	Xid  int32
	Type OpCode
}

// Encode writes the record.
func (x *RequestHeader) Encode(w *jute.Writer) {
	w.Int(x.Xid)
	w.Int(int32(x.Type))
}

// Decode reads the record.
func (x *RequestHeader) Decode(r *jute.Reader) error {
	x.Xid = r.Int()
	x.Type = OpCode(r.Int())
	return r.Err()
}

// ReplyHeader precedes every response and watch event.
type ReplyHeader struct {
	Xid  int32
	Zxid int64
	Err  ErrCode
}

// Encode writes the record.
func (x *ReplyHeader) Encode(w *jute.Writer) {
	w.Int(x.Xid)
	w.Long(x.Zxid)
	w.Int(int32(x.Err))
}

// Decode reads the record.
func (x *ReplyHeader) Decode(r *jute.Reader) error {
	x.Xid = r.Int()
	x.Zxid = r.Long()
	x.Err = ErrCode(r.Int())
	return r.Err()
}

// AuthPacket is the body of an auth request (xid XidAuth).
type AuthPacket struct {
	Type   int32 // unused, 0
	Scheme string
	Auth   []byte
}

// Encode writes the record.
func (x *AuthPacket) Encode(w *jute.Writer) {
	w.Int(x.Type)
	w.String(x.Scheme)
	w.Buffer(x.Auth)
}

// Decode reads the record.
func (x *AuthPacket) Decode(r *jute.Reader) error {
	x.Type = r.Int()
	x.Scheme = r.String()
	x.Auth = r.Buffer()
	return r.Err()
}

// SetWatches re-registers a client's watches after it reconnects.
type SetWatches struct {
	RelativeZxid int64
	DataWatches  []string
	ExistWatches []string
	ChildWatches []string
}

// Encode writes the record.
func (x *SetWatches) Encode(w *jute.Writer) {
	w.Long(x.RelativeZxid)
	writeStrings(w, x.DataWatches)
	writeStrings(w, x.ExistWatches)
	writeStrings(w, x.ChildWatches)
}

// Decode reads the record.
func (x *SetWatches) Decode(r *jute.Reader) error {
	x.RelativeZxid = r.Long()
	x.DataWatches = readStrings(r)
	x.ExistWatches = readStrings(r)
	x.ChildWatches = readStrings(r)
	return r.Err()
}

// SetWatches2 is SetWatches plus persistent watches (opcode setWatches2).
type SetWatches2 struct {
	RelativeZxid               int64
	DataWatches                []string
	ExistWatches               []string
	ChildWatches               []string
	PersistentWatches          []string
	PersistentRecursiveWatches []string
}

// Encode writes the record.
func (x *SetWatches2) Encode(w *jute.Writer) {
	w.Long(x.RelativeZxid)
	writeStrings(w, x.DataWatches)
	writeStrings(w, x.ExistWatches)
	writeStrings(w, x.ChildWatches)
	writeStrings(w, x.PersistentWatches)
	writeStrings(w, x.PersistentRecursiveWatches)
}

// Decode reads the record.
func (x *SetWatches2) Decode(r *jute.Reader) error {
	x.RelativeZxid = r.Long()
	x.DataWatches = readStrings(r)
	x.ExistWatches = readStrings(r)
	x.ChildWatches = readStrings(r)
	x.PersistentWatches = readStrings(r)
	x.PersistentRecursiveWatches = readStrings(r)
	return r.Err()
}

// WatcherEvent is the body of a notification (xid XidNotification).
type WatcherEvent struct {
	Type  int32 // Event*
	State int32 // State*
	Path  string
}

// Encode writes the record.
func (x *WatcherEvent) Encode(w *jute.Writer) {
	w.Int(x.Type)
	w.Int(x.State)
	w.String(x.Path)
}

// Decode reads the record.
func (x *WatcherEvent) Decode(r *jute.Reader) error {
	x.Type = r.Int()
	x.State = r.Int()
	x.Path = r.String()
	return r.Err()
}

// ErrorResponse is the body of a failed op inside a multi response.
type ErrorResponse struct {
	Err ErrCode
}

// Encode writes the record.
func (x *ErrorResponse) Encode(w *jute.Writer) { w.Int(int32(x.Err)) }

// Decode reads the record.
func (x *ErrorResponse) Decode(r *jute.Reader) error {
	x.Err = ErrCode(r.Int())
	return r.Err()
}

// ClientInfo is one identity of the caller, returned by whoAmI.
type ClientInfo struct {
	AuthScheme string
	User       string
}

// Encode writes the record.
func (x *ClientInfo) Encode(w *jute.Writer) {
	w.String(x.AuthScheme)
	w.String(x.User)
}

// Decode reads the record.
func (x *ClientInfo) Decode(r *jute.Reader) error {
	x.AuthScheme = r.String()
	x.User = r.String()
	return r.Err()
}

// WhoAmIResponse lists the identities of the session.
type WhoAmIResponse struct {
	ClientInfo []ClientInfo
}

// Encode writes the record.
func (x *WhoAmIResponse) Encode(w *jute.Writer) {
	w.VecLen(len(x.ClientInfo))
	for i := range x.ClientInfo {
		x.ClientInfo[i].Encode(w)
	}
}

// Decode reads the record.
func (x *WhoAmIResponse) Decode(r *jute.Reader) error {
	x.ClientInfo = nil
	n := r.VecLenMin(minClientInfoSize)
	if n <= 0 {
		return r.Err()
	}
	v := make([]ClientInfo, n)
	for i := range v {
		if v[i].Decode(r) != nil {
			return r.Err()
		}
	}
	x.ClientInfo = v
	return nil
}

// GetSASLRequest carries a SASL token from the client (opcode sasl).
type GetSASLRequest struct {
	Token []byte
}

// Encode writes the record.
func (x *GetSASLRequest) Encode(w *jute.Writer) { w.Buffer(x.Token) }

// Decode reads the record.
func (x *GetSASLRequest) Decode(r *jute.Reader) error {
	x.Token = r.Buffer()
	return r.Err()
}

// SetSASLResponse carries the server's SASL token back.
type SetSASLResponse struct {
	Token []byte
}

// Encode writes the record.
func (x *SetSASLResponse) Encode(w *jute.Writer) { w.Buffer(x.Token) }

// Decode reads the record.
func (x *SetSASLResponse) Decode(r *jute.Reader) error {
	x.Token = r.Buffer()
	return r.Err()
}

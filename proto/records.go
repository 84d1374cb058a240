package proto

import "github.com/zkd-io/zkd/internal/jute"

// This file holds the request and response records of the znode
// operations, in zookeeper.jute order of use.

// CreateRequest is the body of create, create2 and createContainer.
type CreateRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32 // Mode*
}

// Encode writes the record.
func (x *CreateRequest) Encode(w *jute.Writer) {
	w.String(x.Path)
	w.Buffer(x.Data)
	writeACLs(w, x.ACL)
	w.Int(x.Flags)
}

// Decode reads the record.
func (x *CreateRequest) Decode(r *jute.Reader) error {
	x.Path = r.String()
	x.Data = r.Buffer()
	x.ACL = readACLs(r)
	x.Flags = r.Int()
	return r.Err()
}

// CreateTTLRequest is the body of createTTL.
type CreateTTLRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32
	TTL   int64 // ms
}

// Encode writes the record.
func (x *CreateTTLRequest) Encode(w *jute.Writer) {
	w.String(x.Path)
	w.Buffer(x.Data)
	writeACLs(w, x.ACL)
	w.Int(x.Flags)
	w.Long(x.TTL)
}

// Decode reads the record.
func (x *CreateTTLRequest) Decode(r *jute.Reader) error {
	x.Path = r.String()
	x.Data = r.Buffer()
	x.ACL = readACLs(r)
	x.Flags = r.Int()
	x.TTL = r.Long()
	return r.Err()
}

// CreateResponse answers create with the actual path (sequential suffix
// included).
type CreateResponse struct {
	Path string
}

// Encode writes the record.
func (x *CreateResponse) Encode(w *jute.Writer) { w.String(x.Path) }

// Decode reads the record.
func (x *CreateResponse) Decode(r *jute.Reader) error {
	x.Path = r.String()
	return r.Err()
}

// Create2Response answers create2, createContainer and createTTL.
type Create2Response struct {
	Path string
	Stat Stat
}

// Encode writes the record.
func (x *Create2Response) Encode(w *jute.Writer) {
	w.String(x.Path)
	x.Stat.Encode(w)
}

// Decode reads the record.
func (x *Create2Response) Decode(r *jute.Reader) error {
	x.Path = r.String()
	return x.Stat.Decode(r)
}

// DeleteRequest is the body of delete. Version -1 matches any version.
type DeleteRequest struct {
	Path    string
	Version int32
}

// Encode writes the record.
func (x *DeleteRequest) Encode(w *jute.Writer) {
	w.String(x.Path)
	w.Int(x.Version)
}

// Decode reads the record.
func (x *DeleteRequest) Decode(r *jute.Reader) error {
	x.Path = r.String()
	x.Version = r.Int()
	return r.Err()
}

// ExistsRequest is the body of exists.
type ExistsRequest struct {
	Path  string
	Watch bool
}

// Encode writes the record.
func (x *ExistsRequest) Encode(w *jute.Writer) {
	w.String(x.Path)
	w.Bool(x.Watch)
}

// Decode reads the record.
func (x *ExistsRequest) Decode(r *jute.Reader) error {
	x.Path = r.String()
	x.Watch = r.Bool()
	return r.Err()
}

// ExistsResponse answers exists when the node exists.
type ExistsResponse struct {
	Stat Stat
}

// Encode writes the record.
func (x *ExistsResponse) Encode(w *jute.Writer) { x.Stat.Encode(w) }

// Decode reads the record.
func (x *ExistsResponse) Decode(r *jute.Reader) error { return x.Stat.Decode(r) }

// GetDataRequest is the body of getData.
type GetDataRequest struct {
	Path  string
	Watch bool
}

// Encode writes the record.
func (x *GetDataRequest) Encode(w *jute.Writer) {
	w.String(x.Path)
	w.Bool(x.Watch)
}

// Decode reads the record.
func (x *GetDataRequest) Decode(r *jute.Reader) error {
	x.Path = r.String()
	x.Watch = r.Bool()
	return r.Err()
}

// GetDataResponse answers getData.
type GetDataResponse struct {
	Data []byte
	Stat Stat
}

// Encode writes the record.
func (x *GetDataResponse) Encode(w *jute.Writer) {
	w.Buffer(x.Data)
	x.Stat.Encode(w)
}

// Decode reads the record.
func (x *GetDataResponse) Decode(r *jute.Reader) error {
	x.Data = r.Buffer()
	return x.Stat.Decode(r)
}

// SetDataRequest is the body of setData. Version -1 matches any version.
type SetDataRequest struct {
	Path    string
	Data    []byte
	Version int32
}

// Encode writes the record.
func (x *SetDataRequest) Encode(w *jute.Writer) {
	w.String(x.Path)
	w.Buffer(x.Data)
	w.Int(x.Version)
}

// Decode reads the record.
func (x *SetDataRequest) Decode(r *jute.Reader) error {
	x.Path = r.String()
	x.Data = r.Buffer()
	x.Version = r.Int()
	return r.Err()
}

// SetDataResponse answers setData.
type SetDataResponse struct {
	Stat Stat
}

// Encode writes the record.
func (x *SetDataResponse) Encode(w *jute.Writer) { x.Stat.Encode(w) }

// Decode reads the record.
func (x *SetDataResponse) Decode(r *jute.Reader) error { return x.Stat.Decode(r) }

// GetACLRequest is the body of getACL.
type GetACLRequest struct {
	Path string
}

// Encode writes the record.
func (x *GetACLRequest) Encode(w *jute.Writer) { w.String(x.Path) }

// Decode reads the record.
func (x *GetACLRequest) Decode(r *jute.Reader) error {
	x.Path = r.String()
	return r.Err()
}

// GetACLResponse answers getACL.
type GetACLResponse struct {
	ACL  []ACL
	Stat Stat
}

// Encode writes the record.
func (x *GetACLResponse) Encode(w *jute.Writer) {
	writeACLs(w, x.ACL)
	x.Stat.Encode(w)
}

// Decode reads the record.
func (x *GetACLResponse) Decode(r *jute.Reader) error {
	x.ACL = readACLs(r)
	return x.Stat.Decode(r)
}

// SetACLRequest is the body of setACL. Version is the ACL version (-1 any).
type SetACLRequest struct {
	Path    string
	ACL     []ACL
	Version int32
}

// Encode writes the record.
func (x *SetACLRequest) Encode(w *jute.Writer) {
	w.String(x.Path)
	writeACLs(w, x.ACL)
	w.Int(x.Version)
}

// Decode reads the record.
func (x *SetACLRequest) Decode(r *jute.Reader) error {
	x.Path = r.String()
	x.ACL = readACLs(r)
	x.Version = r.Int()
	return r.Err()
}

// SetACLResponse answers setACL.
type SetACLResponse struct {
	Stat Stat
}

// Encode writes the record.
func (x *SetACLResponse) Encode(w *jute.Writer) { x.Stat.Encode(w) }

// Decode reads the record.
func (x *SetACLResponse) Decode(r *jute.Reader) error { return x.Stat.Decode(r) }

// GetChildrenRequest is the body of getChildren.
type GetChildrenRequest struct {
	Path  string
	Watch bool
}

// Encode writes the record.
func (x *GetChildrenRequest) Encode(w *jute.Writer) {
	w.String(x.Path)
	w.Bool(x.Watch)
}

// Decode reads the record.
func (x *GetChildrenRequest) Decode(r *jute.Reader) error {
	x.Path = r.String()
	x.Watch = r.Bool()
	return r.Err()
}

// GetChildrenResponse answers getChildren with child names (not paths).
type GetChildrenResponse struct {
	Children []string
}

// Encode writes the record.
func (x *GetChildrenResponse) Encode(w *jute.Writer) { writeStrings(w, x.Children) }

// Decode reads the record.
func (x *GetChildrenResponse) Decode(r *jute.Reader) error {
	x.Children = readStrings(r)
	return r.Err()
}

// GetChildren2Request is the body of getChildren2.
type GetChildren2Request struct {
	Path  string
	Watch bool
}

// Encode writes the record.
func (x *GetChildren2Request) Encode(w *jute.Writer) {
	w.String(x.Path)
	w.Bool(x.Watch)
}

// Decode reads the record.
func (x *GetChildren2Request) Decode(r *jute.Reader) error {
	x.Path = r.String()
	x.Watch = r.Bool()
	return r.Err()
}

// GetChildren2Response answers getChildren2.
type GetChildren2Response struct {
	Children []string
	Stat     Stat
}

// Encode writes the record.
func (x *GetChildren2Response) Encode(w *jute.Writer) {
	writeStrings(w, x.Children)
	x.Stat.Encode(w)
}

// Decode reads the record.
func (x *GetChildren2Response) Decode(r *jute.Reader) error {
	x.Children = readStrings(r)
	return x.Stat.Decode(r)
}

// SyncRequest is the body of sync.
type SyncRequest struct {
	Path string
}

// Encode writes the record.
func (x *SyncRequest) Encode(w *jute.Writer) { w.String(x.Path) }

// Decode reads the record.
func (x *SyncRequest) Decode(r *jute.Reader) error {
	x.Path = r.String()
	return r.Err()
}

// SyncResponse answers sync.
type SyncResponse struct {
	Path string
}

// Encode writes the record.
func (x *SyncResponse) Encode(w *jute.Writer) { w.String(x.Path) }

// Decode reads the record.
func (x *SyncResponse) Decode(r *jute.Reader) error {
	x.Path = r.String()
	return r.Err()
}

// CheckVersionRequest is the body of check (used inside multi).
type CheckVersionRequest struct {
	Path    string
	Version int32
}

// Encode writes the record.
func (x *CheckVersionRequest) Encode(w *jute.Writer) {
	w.String(x.Path)
	w.Int(x.Version)
}

// Decode reads the record.
func (x *CheckVersionRequest) Decode(r *jute.Reader) error {
	x.Path = r.String()
	x.Version = r.Int()
	return r.Err()
}

// CheckWatchesRequest is the body of checkWatches.
type CheckWatchesRequest struct {
	Path string
	Type int32 // Watcher*
}

// Encode writes the record.
func (x *CheckWatchesRequest) Encode(w *jute.Writer) {
	w.String(x.Path)
	w.Int(x.Type)
}

// Decode reads the record.
func (x *CheckWatchesRequest) Decode(r *jute.Reader) error {
	x.Path = r.String()
	x.Type = r.Int()
	return r.Err()
}

// RemoveWatchesRequest is the body of removeWatches.
type RemoveWatchesRequest struct {
	Path string
	Type int32 // Watcher*
}

// Encode writes the record.
func (x *RemoveWatchesRequest) Encode(w *jute.Writer) {
	w.String(x.Path)
	w.Int(x.Type)
}

// Decode reads the record.
func (x *RemoveWatchesRequest) Decode(r *jute.Reader) error {
	x.Path = r.String()
	x.Type = r.Int()
	return r.Err()
}

// GetEphemeralsRequest is the body of getEphemerals.
type GetEphemeralsRequest struct {
	PrefixPath string
}

// Encode writes the record.
func (x *GetEphemeralsRequest) Encode(w *jute.Writer) { w.String(x.PrefixPath) }

// Decode reads the record.
func (x *GetEphemeralsRequest) Decode(r *jute.Reader) error {
	x.PrefixPath = r.String()
	return r.Err()
}

// GetEphemeralsResponse answers getEphemerals with full paths.
type GetEphemeralsResponse struct {
	Ephemerals []string
}

// Encode writes the record.
func (x *GetEphemeralsResponse) Encode(w *jute.Writer) { writeStrings(w, x.Ephemerals) }

// Decode reads the record.
func (x *GetEphemeralsResponse) Decode(r *jute.Reader) error {
	x.Ephemerals = readStrings(r)
	return r.Err()
}

// GetAllChildrenNumberRequest is the body of getAllChildrenNumber.
type GetAllChildrenNumberRequest struct {
	Path string
}

// Encode writes the record.
func (x *GetAllChildrenNumberRequest) Encode(w *jute.Writer) { w.String(x.Path) }

// Decode reads the record.
func (x *GetAllChildrenNumberRequest) Decode(r *jute.Reader) error {
	x.Path = r.String()
	return r.Err()
}

// GetAllChildrenNumberResponse answers getAllChildrenNumber.
type GetAllChildrenNumberResponse struct {
	TotalNumber int32
}

// Encode writes the record.
func (x *GetAllChildrenNumberResponse) Encode(w *jute.Writer) { w.Int(x.TotalNumber) }

// Decode reads the record.
func (x *GetAllChildrenNumberResponse) Decode(r *jute.Reader) error {
	x.TotalNumber = r.Int()
	return r.Err()
}

// AddWatchRequest is the body of addWatch.
type AddWatchRequest struct {
	Path string
	Mode int32 // AddWatch*
}

// Encode writes the record.
func (x *AddWatchRequest) Encode(w *jute.Writer) {
	w.String(x.Path)
	w.Int(x.Mode)
}

// Decode reads the record.
func (x *AddWatchRequest) Decode(r *jute.Reader) error {
	x.Path = r.String()
	x.Mode = r.Int()
	return r.Err()
}

// ReconfigRequest is the body of reconfig. Its response is a
// GetDataResponse holding the new configuration.
type ReconfigRequest struct {
	JoiningServers string
	LeavingServers string
	NewMembers     string
	CurConfigID    int64 // -1 to skip the version check
}

// Encode writes the record.
func (x *ReconfigRequest) Encode(w *jute.Writer) {
	w.String(x.JoiningServers)
	w.String(x.LeavingServers)
	w.String(x.NewMembers)
	w.Long(x.CurConfigID)
}

// Decode reads the record.
func (x *ReconfigRequest) Decode(r *jute.Reader) error {
	x.JoiningServers = r.String()
	x.LeavingServers = r.String()
	x.NewMembers = r.String()
	x.CurConfigID = r.Long()
	return r.Err()
}

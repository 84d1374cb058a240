package proto

import "github.com/zkd-io/zkd/internal/jute"

// Stat is the metadata of a znode as shown to clients.
type Stat struct {
	Czxid          int64 // zxid of the create
	Mzxid          int64 // zxid of the last data change
	Ctime          int64 // create time, ms since the epoch
	Mtime          int64 // last data change time, ms since the epoch
	Version        int32 // data version
	Cversion       int32 // children version
	Aversion       int32 // ACL version
	EphemeralOwner int64 // owning session id if ephemeral, else 0
	DataLength     int32
	NumChildren    int32
	Pzxid          int64 // zxid of the last children change
}

// Encode writes the record.
func (x *Stat) Encode(w *jute.Writer) {
	w.Long(x.Czxid)
	w.Long(x.Mzxid)
	w.Long(x.Ctime)
	w.Long(x.Mtime)
	w.Int(x.Version)
	w.Int(x.Cversion)
	w.Int(x.Aversion)
	w.Long(x.EphemeralOwner)
	w.Int(x.DataLength)
	w.Int(x.NumChildren)
	w.Long(x.Pzxid)
}

// Decode reads the record.
func (x *Stat) Decode(r *jute.Reader) error {
	x.Czxid = r.Long()
	x.Mzxid = r.Long()
	x.Ctime = r.Long()
	x.Mtime = r.Long()
	x.Version = r.Int()
	x.Cversion = r.Int()
	x.Aversion = r.Int()
	x.EphemeralOwner = r.Long()
	x.DataLength = r.Int()
	x.NumChildren = r.Int()
	x.Pzxid = r.Long()
	return r.Err()
}

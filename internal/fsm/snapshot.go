package fsm

import (
	"bufio"
	"fmt"
	"io"

	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/internal/tree"
	"github.com/zkd-io/zkd/proto"
)

// The snapshot stream is a sequence of frames (4-byte length, jute body):
// a header, the sessions, then node chunks (tag chunkNodes), parents before
// children, and a last chunk (tag chunkEnd) holding the node count. Storage
// wraps the stream with its own checksums.
const (
	snapMagic      = "zkd-fsm-snapshot"
	snapVersion    = 2 // 2 added session owners and the tree digest
	snapChunkBytes = 256 << 10
	maxSnapFrame   = 64 << 20

	chunkNodes = 1
	chunkEnd   = 2
)

// Snapshot captures the state cheaply and returns a function that serialises
// that capture. The capture is O(sessions): the tree is cloned copy-on-write.
// The returned function may run on another goroutine while Apply continues.
func (f *FSM) Snapshot() func(io.Writer) error {
	nodes := f.tree.Clone()
	sessions := f.Sessions()
	for i, s := range sessions {
		c := *s
		sessions[i] = &c
	}
	epoch, counter, applied, digest := f.epoch, f.counter, f.applied, f.tree.Digest()
	return func(out io.Writer) error {
		// Each frame is built in w behind a 4-byte length placeholder and
		// written to out as it stands: no second copy. out (storage's
		// chunk writer) buffers.
		var w jute.Writer
		w.Int(0)
		flush := func() error {
			w.SetInt(0, int32(w.Len()-4))
			_, err := out.Write(w.Bytes())
			w.Reset()
			w.Int(0)
			return err
		}
		w.String(snapMagic)
		w.Int(snapVersion)
		w.Long(epoch)
		w.Long(counter)
		w.Long(int64(applied))
		w.Long(int64(digest))
		if err := flush(); err != nil {
			return err
		}
		w.Int(int32(len(sessions)))
		for _, s := range sessions {
			w.Long(s.ID)
			w.Int(s.Timeout)
			w.Buffer(s.Passwd)
			w.Long(int64(s.Owner))
		}
		if err := flush(); err != nil {
			return err
		}
		acls := map[any]int32{}
		var count int64
		var werr error
		w.Int(chunkNodes)
		nodes.Walk(func(n *tree.Node) bool {
			// Each distinct ACL list is written once, inline, the first
			// time a node uses it; later nodes refer to it by number.
			id, seen := acls[n.ACLID()]
			if !seen {
				id = int32(len(acls))
				acls[n.ACLID()] = id
				w.Int(-1)
				acl := n.ACL()
				w.Int(int32(len(acl)))
				for i := range acl {
					acl[i].Encode(&w)
				}
			} else {
				w.Int(id)
			}
			w.String(n.Path())
			w.Buffer(n.Data())
			st := n.PersistedStat()
			st.Encode(&w)
			count++
			if w.Len() >= snapChunkBytes {
				if werr = flush(); werr == nil {
					w.Int(chunkNodes)
				}
			}
			return werr == nil
		})
		if werr != nil {
			return werr
		}
		if err := flush(); err != nil {
			return err
		}
		w.Int(chunkEnd)
		w.Long(count)
		return flush()
	}
}

// snapHeader is the first frame of a snapshot stream.
type snapHeader struct {
	version        int32
	epoch, counter int64
	applied        uint64
	digest         uint64 // 0 in version 1
}

func readSnapHeader(r *jute.Reader) (snapHeader, error) {
	var h snapHeader
	if m := r.String(); m != snapMagic {
		return h, fmt.Errorf("snapshot: bad magic %q", m)
	}
	h.version = r.Int()
	if h.version != 1 && h.version != snapVersion {
		return h, fmt.Errorf("snapshot: unsupported version %d", h.version)
	}
	h.epoch, h.counter, h.applied = r.Long(), r.Long(), uint64(r.Long())
	if h.version >= 2 {
		h.digest = uint64(r.Long())
	}
	if r.Err() != nil {
		return h, fmt.Errorf("snapshot: header: %w", r.Err())
	}
	return h, nil
}

// Restore replaces the whole state with a snapshot stream.
func (f *FSM) Restore(in io.Reader) error {
	br := bufio.NewReaderSize(in, 64<<10)
	var buf []byte
	next := func(what string) (*jute.Reader, error) {
		var err error
		buf, err = jute.ReadFrame(br, buf, maxSnapFrame)
		if err != nil {
			return nil, fmt.Errorf("snapshot: reading %s: %w", what, err)
		}
		return jute.NewReader(buf), nil
	}
	r, err := next("header")
	if err != nil {
		return err
	}
	h, err := readSnapHeader(r)
	if err != nil {
		return err
	}
	version, epoch, counter, applied, digest := h.version, h.epoch, h.counter, h.applied, h.digest
	if r, err = next("sessions"); err != nil {
		return err
	}
	sessions := map[int64]*Session{}
	for n := r.VecLen(); n > 0 && r.Err() == nil; n-- {
		s := &Session{ID: r.Long(), Timeout: r.Int(), Passwd: r.Buffer()}
		if version >= 2 {
			s.Owner = uint64(r.Long())
		}
		sessions[s.ID] = s
	}
	if r.Err() != nil {
		return fmt.Errorf("snapshot: sessions: %w", r.Err())
	}
	t := tree.NewEmpty()
	if err := restoreNodes(t, next); err != nil {
		return err
	}
	if version >= 2 && t.Digest() != digest {
		// Every chunk passed its checksum, so the writer itself produced a
		// tree that differs from the one it captured.
		return fmt.Errorf("snapshot: the restored tree's digest %#x differs from the %#x recorded when it was taken", t.Digest(), digest)
	}
	if len(f.opts.Config) > 0 {
		t.SetConfig(f.opts.Config) // a snapshot taken before the servers' configuration changed
	}
	f.tree, f.sessions = t, sessions
	f.epoch, f.counter, f.applied = epoch, counter, applied
	return nil
}

// nodeBatch is one chunk's nodes, decoded, or the error that ended the
// decoding.
type nodeBatch struct {
	nodes []tree.Rec
	acls  [][]proto.ACL
	err   error
}

// restoreNodes reads the node chunks with next and inserts them into t.
// Decoding (checksums, parsing, building each node's record) runs on its
// own goroutine, a chunk ahead of the inserts, which are the other half of
// a restore's work; a restart is that much shorter on two cores.
func restoreNodes(t *tree.Tree, next func(string) (*jute.Reader, error)) error {
	batches := make(chan nodeBatch, 4)
	free := make(chan nodeBatch, 6) // inserted batches, for the decoder to refill
	quit := make(chan struct{})
	decoded := make(chan struct{})
	go func() {
		defer close(decoded)
		defer close(batches)
		decodeNodes(next, free, func(b nodeBatch) bool {
			select {
			case batches <- b:
				return true
			case <-quit:
				return false
			}
		})
	}()
	// The decoder reads the caller's stream: let it finish before returning.
	defer func() { close(quit); <-decoded }()
	var lastParent string // the parent most recently found; siblings arrive together
	for b := range batches {
		if b.err != nil {
			return b.err
		}
		for i, n := range b.nodes {
			path := n.Path()
			if parent := tree.Parent(path); path != "/" && parent != lastParent {
				if !t.Has(parent) {
					return fmt.Errorf("snapshot: node %q arrives before its parent", path)
				}
				lastParent = parent // a view of the node's own record, which never changes
			}
			t.InsertRecord(n, b.acls[i])
		}
		clear(b.nodes)
		clear(b.acls)
		select {
		case free <- nodeBatch{nodes: b.nodes[:0], acls: b.acls[:0]}:
		default:
		}
	}
	return nil
}

// decodeNodes decodes node chunks up to the end chunk and hands each to
// send, which reports false when the inserts have stopped. Batches come
// from free when it has one.
func decodeNodes(next func(string) (*jute.Reader, error), free <-chan nodeBatch, send func(nodeBatch) bool) {
	var acls [][]proto.ACL
	var count int64
	for {
		r, err := next("nodes")
		if err != nil {
			send(nodeBatch{err: err})
			return
		}
		tag := r.Int()
		if tag == chunkEnd {
			if want := r.Long(); want != count || r.Remaining() != 0 {
				send(nodeBatch{err: fmt.Errorf("snapshot: holds %d nodes, its end says %d", count, want)})
			}
			return
		}
		if tag != chunkNodes {
			send(nodeBatch{err: fmt.Errorf("snapshot: unknown chunk tag %d after node %d", tag, count)})
			return
		}
		var b nodeBatch
		select {
		case b = <-free:
		default:
		}
		for r.Remaining() > 0 && r.Err() == nil {
			id := r.Int()
			var acl []proto.ACL
			if id == -1 {
				n := r.VecLen()
				for i := 0; i < n && r.Err() == nil; i++ {
					var a proto.ACL
					_ = a.Decode(r)
					acl = append(acl, a)
				}
				acls = append(acls, acl)
			} else if id >= 0 && int(id) < len(acls) {
				acl = acls[id]
			} else {
				send(nodeBatch{err: fmt.Errorf("snapshot: node %d refers to unknown ACL %d", count, id)})
				return
			}
			// Views into the frame: Record copies both into the node.
			path, data := r.StringView(), r.BufferView()
			var st proto.Stat
			_ = st.Decode(r)
			if r.Err() != nil {
				break
			}
			b.nodes = append(b.nodes, tree.Record(path, data, st))
			b.acls = append(b.acls, acl)
			count++
		}
		if r.Err() != nil {
			send(nodeBatch{err: fmt.Errorf("snapshot: node %d: %w", count, r.Err())})
			return
		}
		if !send(b) {
			return
		}
	}
}

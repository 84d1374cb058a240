package transport

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Wire format. Every frame is a 4-byte big-endian length followed by that
// many bytes (jute framing); the first byte of a frame's payload is its kind.
//
//	hello      'H' magic[4] version[2] connKind[1] fingerprint[32] from[8] to[8] memberText...
//	refuse     'X' reason...
//	raft       'R' proto(raftpb.Message)
//	app        'A' appKind[1] payload...
//	snapHeader 'S' size[8] proto(raftpb.Message of type MsgSnap)
//	snapStatus 'T' 0                 (ok)
//	           'T' 1 reason...       (failed)
//
// A connection starts with one hello each way: the dialer's, then the
// receiver's (acceptance) or a refuse frame (then close). A stream
// connection then carries raft and app frames from dialer to receiver only.
// A snapshot connection carries one snapHeader and exactly size raw bytes
// from dialer to receiver, and one snapStatus back.
//
// The layout of hello up to the version and of refuse must never change, so
// that servers of different protocol versions can still explain a refusal.
const (
	protocolVersion uint16 = 1

	// maxFrame bounds every frame after the handshake. Raft keeps a message
	// near MaxSizePerMsg (1 MiB of entries), but one entry may be larger;
	// 64 MiB leaves room for that without letting a peer make us allocate
	// without limit.
	maxFrame = 64 << 20
	// maxHelloFrame bounds the first frame of a connection, read before we
	// know who is talking. A member list of hundreds of servers fits.
	maxHelloFrame = 64 << 10
	// maxReason bounds a refusal or status reason we send or log.
	maxReason = 8 << 10
	// maxSnapshotSize is a sanity bound on an announced snapshot size (1 TiB).
	maxSnapshotSize = 1 << 40
	// maxAppPayload bounds SendApp payloads: app messages are meant to be small.
	maxAppPayload = 1 << 20
)

var magic = [4]byte{'z', 'k', 'd', 'P'}

const (
	kindHello      byte = 'H'
	kindRefuse     byte = 'X'
	kindRaft       byte = 'R'
	kindApp        byte = 'A'
	kindSnapHeader byte = 'S'
	kindSnapStatus byte = 'T'
)

// connKind says what a connection carries after the handshake.
type connKind byte

const (
	connStream   connKind = 1
	connSnapshot connKind = 2
)

func (k connKind) String() string {
	switch k {
	case connStream:
		return "stream"
	case connSnapshot:
		return "snapshot"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// helloFixed is the size of a hello payload without the member text.
const helloFixed = 1 + 4 + 2 + 1 + sha256.Size + 8 + 8

type hello struct {
	version     uint16
	kind        connKind
	fingerprint [sha256.Size]byte
	from, to    uint64
	members     string
}

// errNotPeer means the first frame is not a zkd peer handshake at all.
var errNotPeer = errors.New("not a zkd peer handshake (bad magic)")

// versionError means the peer speaks a protocol version we do not.
type versionError struct{ got uint16 }

func (e *versionError) Error() string {
	return fmt.Sprintf("protocol version %d is not supported (this server speaks version %d)", e.got, protocolVersion)
}

// beginFrame appends a length placeholder and the kind byte; endFrame fills
// in the length once the payload is appended.
func beginFrame(dst []byte, kind byte) ([]byte, int) {
	start := len(dst)
	return append(dst, 0, 0, 0, 0, kind), start
}

func endFrame(dst []byte, start int) []byte {
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

func appendHello(dst []byte, h hello) []byte {
	dst, start := beginFrame(dst, kindHello)
	dst = append(dst, magic[:]...)
	dst = binary.BigEndian.AppendUint16(dst, h.version)
	dst = append(dst, byte(h.kind))
	dst = append(dst, h.fingerprint[:]...)
	dst = binary.BigEndian.AppendUint64(dst, h.from)
	dst = binary.BigEndian.AppendUint64(dst, h.to)
	dst = append(dst, h.members...)
	return endFrame(dst, start)
}

// decodeHello parses a hello payload. The magic and version are checked
// before anything else so that a later version may change the rest.
func decodeHello(b []byte) (hello, error) {
	var h hello
	if len(b) < 1+4 || b[0] != kindHello || [4]byte(b[1:5]) != magic {
		return h, errNotPeer
	}
	if len(b) < 1+4+2 {
		return h, fmt.Errorf("handshake of %d bytes is too short", len(b))
	}
	h.version = binary.BigEndian.Uint16(b[5:])
	if h.version != protocolVersion {
		return h, &versionError{got: h.version}
	}
	if len(b) < helloFixed {
		return h, fmt.Errorf("handshake of %d bytes is too short (want at least %d)", len(b), helloFixed)
	}
	h.kind = connKind(b[7])
	if h.kind != connStream && h.kind != connSnapshot {
		return h, fmt.Errorf("unknown connection kind %d", b[7])
	}
	copy(h.fingerprint[:], b[8:8+sha256.Size])
	p := 8 + sha256.Size
	h.from = binary.BigEndian.Uint64(b[p:])
	h.to = binary.BigEndian.Uint64(b[p+8:])
	h.members = string(b[helloFixed:])
	return h, nil
}

func appendRefuse(dst []byte, reason string) []byte {
	dst, start := beginFrame(dst, kindRefuse)
	dst = append(dst, truncate(reason, maxReason)...)
	return endFrame(dst, start)
}

// decodeRefuse returns the reason of a refuse frame, bounded for logging.
func decodeRefuse(b []byte) (string, bool) {
	if len(b) < 1 || b[0] != kindRefuse {
		return "", false
	}
	return truncate(string(b[1:]), maxReason), true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

var errFrameTooLarge = errors.New("frame too large")

// appendRaftFrame marshals m straight into dst so a batch costs no
// intermediate buffers.
func appendRaftFrame(dst []byte, m *raftpb.Message) ([]byte, error) {
	dst, start := beginFrame(dst, kindRaft)
	out, err := proto.MarshalOptions{}.MarshalAppend(dst, m)
	if err != nil {
		return dst[:start], err
	}
	if n := len(out) - start - 4; n > maxFrame {
		return out[:start], fmt.Errorf("%w: raft %s of %d bytes exceeds %d", errFrameTooLarge, m.GetType(), n, maxFrame)
	}
	return endFrame(out, start), nil
}

func appendAppFrame(dst []byte, kind uint8, payload []byte) []byte {
	dst, start := beginFrame(dst, kindApp)
	dst = append(dst, kind)
	dst = append(dst, payload...)
	return endFrame(dst, start)
}

// frame is a decoded stream frame.
type frame struct {
	kind    byte
	msg     *raftpb.Message // kindRaft
	appKind uint8           // kindApp
	payload []byte          // kindApp; aliases the input
	reason  string          // kindRefuse
}

// decodeFrame decodes one frame of a stream connection after the handshake.
func decodeFrame(b []byte) (frame, error) {
	if len(b) == 0 {
		return frame{}, errors.New("empty frame")
	}
	f := frame{kind: b[0]}
	switch b[0] {
	case kindRaft:
		f.msg = &raftpb.Message{}
		if err := proto.Unmarshal(b[1:], f.msg); err != nil {
			return frame{}, fmt.Errorf("raft message of %d bytes: %w", len(b)-1, err)
		}
	case kindApp:
		if len(b) < 2 {
			return frame{}, errors.New("app frame without a kind byte")
		}
		f.appKind = b[1]
		f.payload = b[2:]
	case kindRefuse:
		f.reason, _ = decodeRefuse(b)
	default:
		return frame{}, fmt.Errorf("unknown frame kind 0x%02x", b[0])
	}
	return f, nil
}

func appendSnapHeader(dst []byte, m *raftpb.Message, size int64) ([]byte, error) {
	dst, start := beginFrame(dst, kindSnapHeader)
	dst = binary.BigEndian.AppendUint64(dst, uint64(size))
	out, err := proto.MarshalOptions{}.MarshalAppend(dst, m)
	if err != nil {
		return dst[:start], err
	}
	if n := len(out) - start - 4; n > maxFrame {
		return out[:start], fmt.Errorf("%w: snapshot header of %d bytes exceeds %d", errFrameTooLarge, n, maxFrame)
	}
	return endFrame(out, start), nil
}

func decodeSnapHeader(b []byte) (*raftpb.Message, int64, error) {
	if len(b) < 1+8 || b[0] != kindSnapHeader {
		return nil, 0, errors.New("expected a snapshot header frame")
	}
	u := binary.BigEndian.Uint64(b[1:])
	if u > maxSnapshotSize || u > math.MaxInt64 {
		return nil, 0, fmt.Errorf("announced snapshot size %d exceeds %d", u, int64(maxSnapshotSize))
	}
	m := &raftpb.Message{}
	if err := proto.Unmarshal(b[9:], m); err != nil {
		return nil, 0, fmt.Errorf("snapshot message: %w", err)
	}
	if m.GetType() != raftpb.MessageType_MsgSnap {
		return nil, 0, fmt.Errorf("snapshot header carries %s, want MsgSnap", m.GetType())
	}
	return m, int64(u), nil
}

func appendSnapStatus(dst []byte, err error) []byte {
	dst, start := beginFrame(dst, kindSnapStatus)
	if err == nil {
		dst = append(dst, 0)
	} else {
		dst = append(dst, 1)
		dst = append(dst, truncate(err.Error(), maxReason)...)
	}
	return endFrame(dst, start)
}

// decodeSnapStatus returns nil for ok, the receiver's reason otherwise.
func decodeSnapStatus(b []byte) error {
	if len(b) < 2 || b[0] != kindSnapStatus {
		if r, ok := decodeRefuse(b); ok {
			return fmt.Errorf("refused: %s", r)
		}
		return errors.New("malformed snapshot status frame")
	}
	switch b[1] {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("receiver failed: %s", truncate(string(b[2:]), maxReason))
	}
	return fmt.Errorf("unknown snapshot status %d", b[1])
}

// sortedMembers returns a copy of ms ordered by id: the canonical order for
// the fingerprint and the text, so that the order of server.N lines in
// zoo.cfg does not matter.
func sortedMembers(ms []Member) []Member {
	out := slices.Clone(ms)
	slices.SortFunc(out, func(a, b Member) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

// membersText renders a sorted member list for refusal messages, e.g.
// "[1=10.0.0.1:2888 2=10.0.0.2:2888 3=10.0.0.3:2888:observer]".
func membersText(sorted []Member) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, m := range sorted {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatUint(m.ID, 10))
		b.WriteByte('=')
		b.WriteString(m.Addr)
		if m.Observer {
			b.WriteString(":observer")
		}
	}
	b.WriteByte(']')
	return b.String()
}

// fingerprint hashes a sorted member list in an unambiguous binary form
// (id, length-prefixed address, observer flag per member).
func fingerprint(sorted []Member) [sha256.Size]byte {
	var b []byte
	for _, m := range sorted {
		b = binary.BigEndian.AppendUint64(b, m.ID)
		b = binary.BigEndian.AppendUint32(b, uint32(len(m.Addr)))
		b = append(b, m.Addr...)
		if m.Observer {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	return sha256.Sum256(b)
}

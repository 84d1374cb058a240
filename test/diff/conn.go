package diff

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/proto"
)

// maxFrame bounds a frame read from a server. It is above ZooKeeper's default
// jute.maxbuffer (0xfffff) plus headers, so a server that sends a full-size
// znode is still read, while a corrupt length cannot make us allocate much.
const maxFrame = 4 << 20

// ErrTimeout is returned by reads that saw no frame before their deadline.
var ErrTimeout = errors.New("diff: timed out waiting for the server")

// Conn is a raw ZooKeeper protocol connection: it writes and reads frames
// and knows the handshake, nothing more. It has no goroutines: every read
// happens on the caller's goroutine with a deadline, so arrival order is
// exactly the order of ReadPacket results.
type Conn struct {
	nc  net.Conn
	buf []byte
}

// Packet is one frame received after the handshake: its reply header and
// the undecoded bytes that follow it.
type Packet struct {
	Header proto.ReplyHeader
	Body   []byte
}

// Dial opens a TCP connection to addr without sending anything.
func Dial(addr string, timeout time.Duration) (*Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return &Conn{nc: nc}, nil
}

// Close closes the TCP connection (no closeSession is sent).
func (c *Conn) Close() error { return c.nc.Close() }

// WriteFrame sends payload preceded by its length.
func (c *Conn) WriteFrame(payload []byte, timeout time.Duration) error {
	if err := c.nc.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	_, err := c.nc.Write(jute.AppendFrame(nil, payload))
	return err
}

// WriteRaw sends b as is: no length prefix is added, so malformed framing
// can be tested.
func (c *Conn) WriteRaw(b []byte, timeout time.Duration) error {
	if err := c.nc.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	_, err := c.nc.Write(b)
	return err
}

// ReadFrame reads one frame. It returns ErrTimeout when nothing complete
// arrived in time; io.EOF when the server closed the connection cleanly.
// The result is a fresh copy.
func (c *Conn) ReadFrame(timeout time.Duration) ([]byte, error) {
	if err := c.nc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	b, err := jute.ReadFrame(c.nc, c.buf, maxFrame)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, ErrTimeout
		}
		return nil, err
	}
	c.buf = b[:0]
	return append([]byte(nil), b...), nil
}

// Handshake sends req and reads the ConnectResponse.
func (c *Conn) Handshake(req *proto.ConnectRequest, timeout time.Duration) (*proto.ConnectResponse, error) {
	w := jute.NewWriter(64)
	req.Encode(w)
	if err := c.WriteFrame(w.Bytes(), timeout); err != nil {
		return nil, err
	}
	b, err := c.ReadFrame(timeout)
	if err != nil {
		return nil, err
	}
	var resp proto.ConnectResponse
	r := jute.NewReader(b)
	if err := resp.Decode(r); err != nil {
		return nil, fmt.Errorf("decode ConnectResponse (%d bytes %x): %w", len(b), b, err)
	}
	if r.Remaining() != 0 {
		return &resp, fmt.Errorf("ConnectResponse has %d trailing bytes", r.Remaining())
	}
	return &resp, nil
}

// EncodeRequest returns the payload of a request: its header and body (body
// may be nil for requests without one).
func EncodeRequest(xid int32, op proto.OpCode, body proto.Record) []byte {
	w := jute.NewWriter(128)
	h := proto.RequestHeader{Xid: xid, Type: op}
	h.Encode(w)
	if body != nil {
		body.Encode(w)
	}
	return w.Bytes()
}

// Send writes one request frame.
func (c *Conn) Send(xid int32, op proto.OpCode, body proto.Record, timeout time.Duration) error {
	return c.WriteFrame(EncodeRequest(xid, op, body), timeout)
}

// ReadPacket reads one frame and splits off its reply header.
func (c *Conn) ReadPacket(timeout time.Duration) (Packet, error) {
	b, err := c.ReadFrame(timeout)
	if err != nil {
		return Packet{}, err
	}
	r := jute.NewReader(b)
	var p Packet
	if err := p.Header.Decode(r); err != nil {
		return Packet{}, fmt.Errorf("frame of %d bytes %x has no reply header: %w", len(b), b, err)
	}
	p.Body = b[len(b)-r.Remaining():]
	return p, nil
}

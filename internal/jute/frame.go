package jute

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Framing errors; ReadFrame wraps them with the offending length.
var (
	// ErrFrameTooLarge means a frame's length prefix exceeds the maximum
	// (ZooKeeper's jute.maxbuffer).
	ErrFrameTooLarge = errors.New("jute: frame too large")
	// ErrNegativeFrame means a frame's length prefix is negative.
	ErrNegativeFrame = errors.New("jute: negative frame length")
)

// ReadFrame reads one frame (a 4-byte big-endian length, then that many
// bytes) from r. It reuses buf when it is large enough, so the returned slice
// may alias buf and is valid only until the next call with the same buf.
// The length is checked against max before anything is allocated. An EOF
// before the first byte returns io.EOF; inside a frame, io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader, buf []byte, max int) ([]byte, error) {
	// Read the length into buf itself: a local array would escape to the
	// heap through the io.Reader interface and cost an allocation per frame.
	if cap(buf) < 4 {
		buf = make([]byte, 4, 512)
	}
	hdr := buf[:4]
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(hdr))
	if n < 0 {
		return nil, fmt.Errorf("%w: length %d", ErrNegativeFrame, n)
	}
	if int64(n) > int64(max) {
		return nil, fmt.Errorf("%w: length %d exceeds maximum %d", ErrFrameTooLarge, n, max)
	}
	if cap(buf) >= int(n) {
		buf = buf[:n]
	} else {
		buf = make([]byte, n)
	}
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// AppendFrame appends payload to dst preceded by its 4-byte big-endian length.
func AppendFrame(dst []byte, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

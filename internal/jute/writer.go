package jute

import "encoding/binary"

// Writer appends jute primitives to a growing byte slice. Reset keeps the
// capacity, so a Writer reused per response encodes without allocating.
type Writer struct {
	b []byte
}

// NewWriter returns a Writer whose buffer starts with capacity size.
func NewWriter(size int) *Writer { return &Writer{b: make([]byte, 0, size)} }

// Byte appends one raw byte (no length prefix).
func (w *Writer) Byte(v byte) { w.b = append(w.b, v) }

// Int appends a big-endian int32.
func (w *Writer) Int(v int32) { w.b = binary.BigEndian.AppendUint32(w.b, uint32(v)) }

// Long appends a big-endian int64.
func (w *Writer) Long(v int64) { w.b = binary.BigEndian.AppendUint64(w.b, uint64(v)) }

// Bool appends one byte, 1 for true and 0 for false.
func (w *Writer) Bool(v bool) {
	var c byte
	if v {
		c = 1
	}
	w.b = append(w.b, c)
}

// Buffer appends a length-prefixed buffer; nil encodes as the null buffer
// (-1), a non-nil empty slice as length 0.
func (w *Writer) Buffer(v []byte) {
	if v == nil {
		w.Int(-1)
		return
	}
	w.Int(int32(len(v)))
	w.b = append(w.b, v...)
}

// String appends a length-prefixed string. "" encodes as length 0, never as
// null, matching what Java clients send for an empty string.
func (w *Writer) String(v string) {
	w.Int(int32(len(v)))
	w.b = append(w.b, v...)
}

// VecLen appends a vector count; pass -1 for a null vector.
func (w *Writer) VecLen(n int) { w.Int(int32(n)) }

// Bytes returns the encoded bytes. They alias the Writer's buffer and are
// valid until the next write or Reset.
func (w *Writer) Bytes() []byte { return w.b }

// Len returns the number of bytes written.
func (w *Writer) Len() int { return len(w.b) }

// Reset empties the Writer and keeps its capacity.
func (w *Writer) Reset() { w.b = w.b[:0] }

// SetInt overwrites the int32 at byte offset off; used to patch a length
// prefix (e.g. a frame header) after the body is written. It does nothing
// if off is out of range.
func (w *Writer) SetInt(off int, v int32) {
	if off < 0 || off+4 > len(w.b) {
		return
	}
	binary.BigEndian.PutUint32(w.b[off:], uint32(v))
}

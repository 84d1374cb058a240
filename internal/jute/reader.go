package jute

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"
)

// Sentinel errors. Decoding errors wrap one of them so callers can classify
// a bad packet with errors.Is.
var (
	// ErrShort means the input ended before the value being read.
	ErrShort = errors.New("jute: input too short")
	// ErrNegativeLength means a length or count was negative but not -1 (null).
	ErrNegativeLength = errors.New("jute: negative length")
	// ErrTooLarge means a length or count exceeds what the input can hold.
	ErrTooLarge = errors.New("jute: length exceeds remaining input")
)

// Reader decodes jute primitives from a byte slice. The first error is
// sticky: later reads return zero values and Err keeps reporting it.
type Reader struct {
	b     []byte
	off   int
	err   error
	alias bool // Buffer returns views of b (NewAliasReader)
}

// NewReader returns a Reader over b. The Reader never modifies b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// NewAliasReader returns a Reader over b whose Buffer results alias b
// instead of copying it: for input that is never modified or reused while
// what is decoded from it is in use (a write's own copy of its request, a
// committed log entry), so the bytes are not copied once more per decode.
func NewAliasReader(b []byte) *Reader { return &Reader{b: b, alias: true} }

// Reset points r at b and clears any error, so a Reader can be reused per
// packet without allocating.
func (r *Reader) Reset(b []byte) { *r = Reader{b: b} }

// Err returns the first error met, or nil.
func (r *Reader) Err() error { return r.err }

// Remaining returns the number of unread bytes (0 after an error).
func (r *Reader) Remaining() int {
	if r.err != nil {
		return 0
	}
	return len(r.b) - r.off
}

// Fail records err as the Reader's error unless one is already set; records
// use it to report semantic problems (e.g. an unknown op in a multi).
func (r *Reader) Fail(err error) {
	if r.err == nil && err != nil {
		r.err = err
	}
}

// need reports whether n more bytes are available, failing with ErrShort if not.
func (r *Reader) need(n int, what string) bool {
	if r.err != nil {
		return false
	}
	if len(r.b)-r.off < n {
		r.err = fmt.Errorf("%w: reading %s needs %d bytes, %d left", ErrShort, what, n, len(r.b)-r.off)
		return false
	}
	return true
}

// Int reads a big-endian int32.
func (r *Reader) Int() int32 {
	if !r.need(4, "int") {
		return 0
	}
	v := int32(binary.BigEndian.Uint32(r.b[r.off:]))
	r.off += 4
	return v
}

// Long reads a big-endian int64.
func (r *Reader) Long() int64 {
	if !r.need(8, "long") {
		return 0
	}
	v := int64(binary.BigEndian.Uint64(r.b[r.off:]))
	r.off += 8
	return v
}

// Bool reads one byte; any non-zero value is true, as in Java's DataInput.
func (r *Reader) Bool() bool {
	if !r.need(1, "bool") {
		return false
	}
	v := r.b[r.off] != 0
	r.off++
	return v
}

// length reads an int32 length prefix. It returns -1 for null, and fails for
// other negative values and for lengths larger than the remaining input
// divided by minElem (each element occupies at least minElem bytes).
func (r *Reader) length(what string, minElem int) int {
	n := r.Int()
	if r.err != nil {
		return 0
	}
	if n == -1 {
		return -1
	}
	if n < 0 {
		r.err = fmt.Errorf("%w: %s length %d", ErrNegativeLength, what, n)
		return 0
	}
	if minElem < 1 {
		minElem = 1
	}
	if rem := len(r.b) - r.off; int64(n)*int64(minElem) > int64(rem) {
		r.err = fmt.Errorf("%w: %s length %d, %d bytes left", ErrTooLarge, what, n, rem)
		return 0
	}
	return int(n)
}

// Buffer reads a length-prefixed byte buffer; it returns nil for the null
// buffer (-1) and a non-nil empty slice for length 0. The result is a copy,
// so callers may keep it after the input buffer is reused for the next frame
// (unless the Reader came from NewAliasReader).
func (r *Reader) Buffer() []byte {
	if r.alias {
		return r.BufferView()
	}
	n := r.length("buffer", 1)
	if r.err != nil || n < 0 {
		return nil
	}
	src := r.b[r.off : r.off+n]
	// make+copy of len(src) is compiled without zeroing the new slice.
	v := make([]byte, len(src))
	copy(v, src)
	r.off += n
	return v
}

// BufferView is Buffer without the copy: the result aliases the input and is
// valid only as long as the input is. Use it for bytes that are inspected
// and dropped (e.g. comparing against well-known strings), never for bytes
// kept in a record that outlives the frame.
func (r *Reader) BufferView() []byte {
	n := r.length("buffer", 1)
	if r.err != nil || n < 0 {
		return nil
	}
	v := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return v
}

// String reads a length-prefixed UTF-8 string; the null string (-1) reads as
// "". The bytes are copied (string conversion), so the result never aliases
// the input. Beware: the name makes *Reader a fmt.Stringer, so printing a
// Reader with fmt consumes a string from it; print Remaining/Err instead.
func (r *Reader) String() string {
	n := r.length("string", 1)
	if r.err != nil || n <= 0 {
		return ""
	}
	v := string(r.b[r.off : r.off+n])
	r.off += n
	return v
}

// StringView is String without the copy: the result aliases the input, so
// it must not be kept past the input's lifetime, nor the input changed
// while it is in use. It is for strings that are inspected, or copied
// elsewhere, at once (restoring a snapshot's paths into the tree).
func (r *Reader) StringView() string {
	b := r.BufferView()
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// VecLen reads a vector count: -1 for a null vector. A count larger than the
// remaining bytes fails with ErrTooLarge, since every element takes at least
// one byte; callers may therefore allocate the count safely.
func (r *Reader) VecLen() int { return r.length("vector", 1) }

// VecLenMin is VecLen for vectors whose elements take at least minElem bytes
// each (e.g. 4 for a vector of strings), a tighter bound before allocating.
func (r *Reader) VecLenMin(minElem int) int { return r.length("vector", minElem) }

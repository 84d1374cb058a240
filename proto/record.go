package proto

import "github.com/zkd-io/zkd/internal/jute"

// Record is a jute record. Encode appends the record to w and cannot fail;
// Decode reads the record from r and returns r's first error.
type Record interface {
	Encode(w *jute.Writer)
	Decode(r *jute.Reader) error
}

// Empty is the body of requests that carry none (ping, closeSession,
// whoAmI): it encodes and decodes zero bytes.
type Empty struct{}

// Encode writes nothing.
func (*Empty) Encode(*jute.Writer) {}

// Decode reads nothing.
func (*Empty) Decode(r *jute.Reader) error { return r.Err() }

// Minimum encoded sizes of vector elements, used to bound a vector's count
// by the remaining input before allocating the slice.
const (
	minStringSize     = 4  // int32 length
	minACLSize        = 12 // perms + two string lengths
	minClientInfoSize = 8  // two string lengths
	statSize          = 68 // 6 longs + 5 ints
)

// writeStrings writes a vector of strings; nil writes an empty vector.
func writeStrings(w *jute.Writer, v []string) {
	w.VecLen(len(v))
	for _, s := range v {
		w.String(s)
	}
}

// readStrings reads a vector of strings; null and empty both give nil.
func readStrings(r *jute.Reader) []string {
	n := r.VecLenMin(minStringSize)
	if n <= 0 {
		return nil
	}
	v := make([]string, n)
	for i := range v {
		v[i] = r.String()
		if r.Err() != nil {
			return nil
		}
	}
	return v
}

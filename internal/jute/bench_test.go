package jute

import (
	"bytes"
	"testing"

	"github.com/zkd-io/zkd/internal/allocguard"
)

// The codec's primitives on the request path: each is a benchmark and an
// allocation budget. Buffer copies what it reads (one allocation);
// BufferView shows what that copy costs.
var allocCases = []allocguard.Case{
	{Name: "WriterString", Budget: 0, Prepare: func(testing.TB, int) func() {
		var w Writer
		return func() {
			w.Reset()
			w.String("/some/znode/path")
			w.Buffer(make([]byte, 0))
			w.Long(42)
		}
	}},
	{Name: "ReaderBuffer1K", Budget: 1, Bytes: 1024, Prepare: func(tb testing.TB, _ int) func() {
		return readBufferCase(tb, (*Reader).Buffer)
	}},
	{Name: "ReadFrame", Budget: 0, Prepare: func(tb testing.TB, _ int) func() {
		stream := AppendFrame(nil, make([]byte, 128))
		src := bytes.NewReader(stream)
		buf := make([]byte, 0, 4096)
		return func() {
			src.Reset(stream)
			if _, err := ReadFrame(src, buf, 1<<20); err != nil {
				tb.Fatal(err)
			}
		}
	}},
	{Name: "ReaderBufferView1K", Budget: 0, Bytes: 1024, Prepare: func(tb testing.TB, _ int) func() {
		return readBufferCase(tb, (*Reader).BufferView)
	}},
}

func TestAllocBudgets(t *testing.T) { allocguard.Check(t, allocCases) }

func readBufferCase(tb testing.TB, read func(*Reader) []byte) func() {
	var w Writer
	w.Buffer(make([]byte, 1024))
	in := w.Bytes()
	var r Reader
	return func() {
		r.Reset(in)
		if read(&r) == nil {
			tb.Fatal("nil")
		}
	}
}

func BenchmarkWriterString(b *testing.B)       { allocguard.Bench(b, allocCases[0]) }
func BenchmarkReaderBuffer1K(b *testing.B)     { allocguard.Bench(b, allocCases[1]) }
func BenchmarkReadFrame(b *testing.B)          { allocguard.Bench(b, allocCases[2]) }
func BenchmarkReaderBufferView1K(b *testing.B) { allocguard.Bench(b, allocCases[3]) }

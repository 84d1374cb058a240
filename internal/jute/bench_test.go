package jute

import (
	"bytes"
	"testing"
)

func BenchmarkWriterString(b *testing.B) {
	b.ReportAllocs()
	var w Writer
	for b.Loop() {
		w.Reset()
		w.String("/some/znode/path")
		w.Buffer(make([]byte, 0))
		w.Long(42)
	}
}

func BenchmarkReaderBuffer1K(b *testing.B) {
	var w Writer
	w.Buffer(make([]byte, 1024))
	in := w.Bytes()
	b.ReportAllocs()
	b.SetBytes(1024)
	var r Reader
	for b.Loop() {
		r.Reset(in)
		if r.Buffer() == nil {
			b.Fatal("nil")
		}
	}
}

func BenchmarkReadFrame(b *testing.B) {
	stream := AppendFrame(nil, make([]byte, 128))
	src := bytes.NewReader(stream)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(stream)
		if _, err := ReadFrame(src, buf, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReaderBufferView1K shows what the copy in Buffer costs.
func BenchmarkReaderBufferView1K(b *testing.B) {
	var w Writer
	w.Buffer(make([]byte, 1024))
	in := w.Bytes()
	b.ReportAllocs()
	b.SetBytes(1024)
	var r Reader
	for b.Loop() {
		r.Reset(in)
		if r.BufferView() == nil {
			b.Fatal("nil")
		}
	}
}

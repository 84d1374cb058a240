package proto

import (
	"testing"

	"github.com/zkd-io/zkd/internal/jute"
)

func BenchmarkEncodeGetDataResponse(b *testing.B) {
	resp := &GetDataResponse{Data: make([]byte, 128), Stat: sampleStat}
	hdr := &ReplyHeader{Xid: 1, Zxid: 2}
	var w jute.Writer
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		hdr.Encode(&w)
		resp.Encode(&w)
	}
}

func BenchmarkEncodeGetChildrenResponse(b *testing.B) {
	resp := &GetChildrenResponse{Children: []string{"lock-0000000001", "lock-0000000002", "lock-0000000003", "lock-0000000004"}}
	var w jute.Writer
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		resp.Encode(&w)
	}
}

func BenchmarkEncodeMultiResponse(b *testing.B) {
	resp := sampleMultiResponse()
	var w jute.Writer
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		resp.Encode(&w)
	}
}

func benchDecode(b *testing.B, in Record, fresh func() Record) {
	data := encode(in)
	var r jute.Reader
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r.Reset(data)
		if err := fresh().Decode(&r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeCreateRequest(b *testing.B) {
	benchDecode(b, &CreateRequest{Path: "/app/locks/lock-", Data: make([]byte, 64), ACL: OpenACLUnsafe, Flags: ModeEphemeralSequential},
		func() Record { return &CreateRequest{} })
}

func BenchmarkDecodeSetDataRequest(b *testing.B) {
	benchDecode(b, &SetDataRequest{Path: "/app/config", Data: make([]byte, 1024), Version: 3},
		func() Record { return &SetDataRequest{} })
}

func BenchmarkDecodeGetDataRequest(b *testing.B) {
	benchDecode(b, &GetDataRequest{Path: "/app/config", Watch: true}, func() Record { return &GetDataRequest{} })
}

func BenchmarkDecodeMultiRequest(b *testing.B) {
	benchDecode(b, sampleMultiRequest(), func() Record { return &MultiRequest{} })
}

func BenchmarkDecodeRequestHeader(b *testing.B) {
	data := encode(&RequestHeader{Xid: 5, Type: OpGetData})
	var r jute.Reader
	var h RequestHeader
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(data)
		if err := h.Decode(&r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidatePath(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidatePath("/app/service/instances/node-0000000042", false); err != nil {
			b.Fatal(err)
		}
	}
}

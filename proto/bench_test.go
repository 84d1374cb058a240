package proto

import (
	"testing"

	"github.com/zkd-io/zkd/internal/allocguard"
	"github.com/zkd-io/zkd/internal/jute"
)

// The codec's cases on the request path: each is a benchmark and an
// allocation budget. Encoding into a reused writer allocates nothing;
// decoding allocates the request's strings and buffers.
var allocCases = []allocguard.Case{
	{Name: "EncodeGetDataResponse", Budget: 0, Prepare: func(testing.TB, int) func() {
		resp := &GetDataResponse{Data: make([]byte, 128), Stat: sampleStat}
		hdr := &ReplyHeader{Xid: 1, Zxid: 2}
		var w jute.Writer
		return func() {
			w.Reset()
			hdr.Encode(&w)
			resp.Encode(&w)
		}
	}},
	{Name: "EncodeGetChildrenResponse", Budget: 0, Prepare: func(testing.TB, int) func() {
		return encodeCase(&GetChildrenResponse{Children: []string{"lock-0000000001", "lock-0000000002", "lock-0000000003", "lock-0000000004"}})
	}},
	{Name: "EncodeMultiResponse", Budget: 0, Prepare: func(testing.TB, int) func() { return encodeCase(sampleMultiResponse()) }},
	{Name: "DecodeCreateRequest", Budget: 4, Prepare: decodeCase(&CreateRequest{Path: "/app/locks/lock-", Data: make([]byte, 64), ACL: OpenACLUnsafe, Flags: ModeEphemeralSequential},
		func() Record { return &CreateRequest{} })},
	{Name: "DecodeSetDataRequest", Budget: 3, Prepare: decodeCase(&SetDataRequest{Path: "/app/config", Data: make([]byte, 1024), Version: 3},
		func() Record { return &SetDataRequest{} })},
	{Name: "DecodeGetDataRequest", Budget: 2, Prepare: decodeCase(&GetDataRequest{Path: "/app/config", Watch: true}, func() Record { return &GetDataRequest{} })},
	{Name: "DecodeMultiRequest", Budget: 25, Prepare: decodeCase(sampleMultiRequest(), func() Record { return &MultiRequest{} })},
	{Name: "DecodeRequestHeader", Budget: 0, Prepare: func(tb testing.TB, _ int) func() {
		data := encode(&RequestHeader{Xid: 5, Type: OpGetData})
		var r jute.Reader
		var h RequestHeader
		return func() {
			r.Reset(data)
			if err := h.Decode(&r); err != nil {
				tb.Fatal(err)
			}
		}
	}},
	{Name: "ValidatePath", Budget: 0, Prepare: func(tb testing.TB, _ int) func() {
		return func() {
			if err := ValidatePath("/app/service/instances/node-0000000042", false); err != nil {
				tb.Fatal(err)
			}
		}
	}},
}

func TestAllocBudgets(t *testing.T) { allocguard.Check(t, allocCases) }

func encodeCase(resp Record) func() {
	var w jute.Writer
	return func() {
		w.Reset()
		resp.Encode(&w)
	}
}

func decodeCase(in Record, fresh func() Record) func(testing.TB, int) func() {
	return func(tb testing.TB, _ int) func() {
		data := encode(in)
		var r jute.Reader
		return func() {
			r.Reset(data)
			if err := fresh().Decode(&r); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

func BenchmarkEncodeGetDataResponse(b *testing.B)     { allocguard.Bench(b, allocCases[0]) }
func BenchmarkEncodeGetChildrenResponse(b *testing.B) { allocguard.Bench(b, allocCases[1]) }
func BenchmarkEncodeMultiResponse(b *testing.B)       { allocguard.Bench(b, allocCases[2]) }
func BenchmarkDecodeCreateRequest(b *testing.B)       { allocguard.Bench(b, allocCases[3]) }
func BenchmarkDecodeSetDataRequest(b *testing.B)      { allocguard.Bench(b, allocCases[4]) }
func BenchmarkDecodeGetDataRequest(b *testing.B)      { allocguard.Bench(b, allocCases[5]) }
func BenchmarkDecodeMultiRequest(b *testing.B)        { allocguard.Bench(b, allocCases[6]) }
func BenchmarkDecodeRequestHeader(b *testing.B)       { allocguard.Bench(b, allocCases[7]) }
func BenchmarkValidatePath(b *testing.B)              { allocguard.Bench(b, allocCases[8]) }

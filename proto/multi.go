package proto

import (
	"errors"
	"fmt"

	"github.com/zkd-io/zkd/internal/jute"
)

// ErrBadMulti is wrapped by every multi decoding error that is not a jute
// length error: an unknown op or result type, or read and write ops mixed
// in one request (which ZooKeeper's decoder rejects too).
var ErrBadMulti = errors.New("proto: malformed multi")

// MultiHeader precedes each op of a multi request and each result of a
// multi response; a header with Done set ends the list.
type MultiHeader struct {
	Type OpCode
	Done bool
	Err  ErrCode
}

// Encode writes the record.
func (x *MultiHeader) Encode(w *jute.Writer) {
	w.Int(int32(x.Type))
	w.Bool(x.Done)
	w.Int(int32(x.Err))
}

// Decode reads the record.
func (x *MultiHeader) Decode(r *jute.Reader) error {
	x.Type = OpCode(r.Int())
	x.Done = r.Bool()
	x.Err = ErrCode(r.Int())
	return r.Err()
}

const multiHeaderSize = 9

// multiEnd is the header that terminates both op and result lists.
var multiEnd = MultiHeader{Type: -1, Done: true, Err: -1}

// MultiOp is one op of a multi request. Op's type depends on Type:
// *CreateRequest for create, create2 and createContainer; *CreateTTLRequest
// for createTTL; *DeleteRequest; *SetDataRequest; *CheckVersionRequest for
// check; *GetChildrenRequest and *GetDataRequest for multiRead.
type MultiOp struct {
	Type OpCode
	Op   Record
}

// MultiRequest is the body of multi (write ops only) and multiRead
// (getChildren and getData only).
type MultiRequest struct {
	Ops []MultiOp
}

// newMultiOp returns an empty record for an op allowed inside a multi.
func newMultiOp(t OpCode) Record {
	switch t {
	case OpCreate, OpCreate2, OpCreateContainer:
		return &CreateRequest{}
	case OpCreateTTL:
		return &CreateTTLRequest{}
	case OpDelete:
		return &DeleteRequest{}
	case OpSetData:
		return &SetDataRequest{}
	case OpCheck:
		return &CheckVersionRequest{}
	case OpGetChildren:
		return &GetChildrenRequest{}
	case OpGetData:
		return &GetDataRequest{}
	}
	return nil
}

// IsMultiReadOp reports whether t is a read op allowed in multiRead.
func IsMultiReadOp(t OpCode) bool { return t == OpGetChildren || t == OpGetData }

// Encode writes each op as a header {type, false, -1} and its record, then
// the end header. An op whose Op is nil or of the wrong type is encoded as
// an empty record of the right type, and an op of an unknown type as a bare
// header, so Encode never panics; Decode is what validates.
func (x *MultiRequest) Encode(w *jute.Writer) {
	for i := range x.Ops {
		op := &x.Ops[i]
		h := MultiHeader{Type: op.Type, Done: false, Err: -1}
		h.Encode(w)
		rec := op.Op
		if !multiOpOK(op.Type, rec) {
			// An unknown type gets no body (nil); a known one an empty record.
			rec = newMultiOp(op.Type)
		}
		if rec != nil {
			rec.Encode(w)
		}
	}
	multiEnd.Encode(w)
}

// Decode reads ops until the end header. An unknown op type, or read ops
// mixed with write ops, fails with an error wrapping ErrBadMulti.
func (x *MultiRequest) Decode(r *jute.Reader) error {
	x.Ops = nil
	var h MultiHeader
	reads, writes := 0, 0
	// Every iteration consumes at least a header, so the loop is bounded by
	// the input length.
	for h.Decode(r) == nil && !h.Done {
		rec := newMultiOp(h.Type)
		if rec == nil {
			r.Fail(fmt.Errorf("%w: invalid op type %d (%s) in multi request", ErrBadMulti, int32(h.Type), h.Type))
			break
		}
		if IsMultiReadOp(h.Type) {
			reads++
		} else {
			writes++
		}
		if reads > 0 && writes > 0 {
			r.Fail(fmt.Errorf("%w: mixing read and write ops in one multi request", ErrBadMulti))
			break
		}
		if rec.Decode(r) != nil {
			break
		}
		x.Ops = append(x.Ops, MultiOp{Type: h.Type, Op: rec})
	}
	if r.Err() != nil {
		x.Ops = nil
	}
	return r.Err()
}

// MultiResult is one result of a multi response. Resp's type depends on
// Type: *CreateResponse for create; *Create2Response for create2 (ZooKeeper
// also answers createContainer and createTTL with create2 results);
// nil for delete and check; *SetDataResponse; *GetChildrenResponse and
// *GetDataResponse for multiRead; *ErrorResponse for OpError. Err is the
// code of an OpError result and ErrOK otherwise.
type MultiResult struct {
	Type OpCode
	Err  ErrCode
	Resp Record
}

// MultiResponse is the body of the reply to multi and multiRead.
type MultiResponse struct {
	Results []MultiResult
}

// newMultiResult returns an empty response record for a result type, and
// whether the type is valid in a multi response (delete and check are valid
// with no record).
func newMultiResult(t OpCode) (Record, bool) {
	switch t {
	case OpCreate:
		return &CreateResponse{}, true
	case OpCreate2:
		return &Create2Response{}, true
	case OpDelete, OpCheck:
		return nil, true
	case OpSetData:
		return &SetDataResponse{}, true
	case OpGetChildren:
		return &GetChildrenResponse{}, true
	case OpGetData:
		return &GetDataResponse{}, true
	case OpError:
		return &ErrorResponse{}, true
	}
	return nil, false
}

// Encode writes each result as a header {type, false, err} and its record,
// then the end header. For OpError results both the header and the
// ErrorResponse carry Err. A nil or mistyped Resp is encoded as an empty
// record of the right type, and a result of an unknown type as a bare header.
func (x *MultiResponse) Encode(w *jute.Writer) {
	for i := range x.Results {
		res := &x.Results[i]
		h := MultiHeader{Type: res.Type}
		if res.Type == OpError {
			h.Err = res.Err
		}
		h.Encode(w)
		if res.Type == OpError {
			w.Int(int32(res.Err))
			continue
		}
		if res.Type == OpDelete || res.Type == OpCheck {
			continue // no body
		}
		rec := res.Resp
		if !multiResultOK(res.Type, rec) {
			// An unknown type gets no body (nil); a known one an empty record.
			rec, _ = newMultiResult(res.Type)
		}
		if rec != nil {
			rec.Encode(w)
		}
	}
	multiEnd.Encode(w)
}

// Decode reads results until the end header. An unknown result type fails
// with an error wrapping ErrBadMulti. For OpError results Err is taken from
// the ErrorResponse body, as ZooKeeper's client does.
func (x *MultiResponse) Decode(r *jute.Reader) error {
	x.Results = nil
	var h MultiHeader
	for h.Decode(r) == nil && !h.Done {
		rec, ok := newMultiResult(h.Type)
		if !ok {
			r.Fail(fmt.Errorf("%w: invalid type %d (%s) in multi response", ErrBadMulti, int32(h.Type), h.Type))
			break
		}
		res := MultiResult{Type: h.Type, Resp: rec}
		if rec != nil && rec.Decode(r) != nil {
			break
		}
		if e, isErr := rec.(*ErrorResponse); isErr {
			res.Err = e.Err
		}
		x.Results = append(x.Results, res)
	}
	if r.Err() != nil {
		x.Results = nil
	}
	return r.Err()
}

// multiOpOK reports whether rec is a non-nil record of the type a multi
// op of type t carries. It does not allocate, keeping Encode allocation-free.
func multiOpOK(t OpCode, rec Record) bool {
	switch t {
	case OpCreate, OpCreate2, OpCreateContainer:
		v, ok := rec.(*CreateRequest)
		return ok && v != nil
	case OpCreateTTL:
		v, ok := rec.(*CreateTTLRequest)
		return ok && v != nil
	case OpDelete:
		v, ok := rec.(*DeleteRequest)
		return ok && v != nil
	case OpSetData:
		v, ok := rec.(*SetDataRequest)
		return ok && v != nil
	case OpCheck:
		v, ok := rec.(*CheckVersionRequest)
		return ok && v != nil
	case OpGetChildren:
		v, ok := rec.(*GetChildrenRequest)
		return ok && v != nil
	case OpGetData:
		v, ok := rec.(*GetDataRequest)
		return ok && v != nil
	}
	return false
}

// multiResultOK is multiOpOK for the records of multi results.
func multiResultOK(t OpCode, rec Record) bool {
	switch t {
	case OpCreate:
		v, ok := rec.(*CreateResponse)
		return ok && v != nil
	case OpCreate2:
		v, ok := rec.(*Create2Response)
		return ok && v != nil
	case OpSetData:
		v, ok := rec.(*SetDataResponse)
		return ok && v != nil
	case OpGetChildren:
		v, ok := rec.(*GetChildrenResponse)
		return ok && v != nil
	case OpGetData:
		v, ok := rec.(*GetDataResponse)
		return ok && v != nil
	}
	return false
}

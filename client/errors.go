package client

import (
	"errors"
	"strings"

	"github.com/zkd-io/zkd/proto"
)

// Local errors. Server answers are proto.ErrCode values; see Error.
var (
	// ErrClosed is returned by requests made after Close, and by requests
	// still in flight when Close was called.
	ErrClosed = errors.New("zk: client closed")
	// ErrResponseTooLarge fails a request whose reply is larger than the
	// maximum buffer size (WithMaxBufferSize). The reply is skipped and the
	// session goes on.
	ErrResponseTooLarge = errors.New("zk: response larger than the maximum buffer size")
	// ErrBadConnectString is wrapped by every connect string parse error.
	ErrBadConnectString = errors.New("zk: bad connect string")
	// ErrBadArguments is wrapped by errors about arguments rejected before
	// anything is sent (an unknown create mode, a TTL on a non-TTL mode...).
	// Invalid paths fail with errors matching proto.ErrInvalidPath.
	ErrBadArguments = errors.New("zk: bad arguments")
	// ErrBadReply means the server sent a reply the client cannot decode;
	// the request fails, and the connection is dropped when the stream can
	// no longer be trusted.
	ErrBadReply = errors.New("zk: malformed reply")
)

// Error is the error of a failed request. It matches (errors.Is) its Code,
// a ZooKeeper error code such as proto.ErrNoNode, and its Err, a local cause
// such as ErrClosed, ErrResponseTooLarge or a context error.
type Error struct {
	Op   proto.OpCode  // the request's opcode
	Path string        // the request's path as the caller gave it; "" if none
	Code proto.ErrCode // the server's (or the session's) error code; ErrOK if local
	Err  error         // the local cause, or nil
}

// Error returns "zk: <op> <path>: <message>", e.g. "zk: getData /a: NoNode".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("zk: ")
	b.WriteString(e.Op.String())
	if e.Path != "" {
		b.WriteString(" ")
		b.WriteString(e.Path)
	}
	b.WriteString(": ")
	switch {
	case e.Err != nil && e.Code != proto.ErrOK:
		b.WriteString(e.Code.Error() + ": " + e.Err.Error())
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString(e.Code.Error())
	}
	return b.String()
}

// Unwrap returns the code (unless ErrOK) and the local cause.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Code != proto.ErrOK {
		errs = append(errs, e.Code)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// CodeOf returns the ZooKeeper error code carried by err: ErrOK for nil,
// the Code of an *Error or a bare proto.ErrCode, and ErrSystemError for any
// other error.
func CodeOf(err error) proto.ErrCode {
	if err == nil {
		return proto.ErrOK
	}
	var e *Error
	if errors.As(err, &e) && e.Code != proto.ErrOK {
		return e.Code
	}
	var c proto.ErrCode
	if errors.As(err, &c) {
		return c
	}
	return proto.ErrSystemError
}

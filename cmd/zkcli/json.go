package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// result is one command's outcome. Commands fill it as they print their
// text; in -json mode it is printed instead, as one line (the shapes are
// in the package doc). Fields a command does not set are left out.
type result struct {
	Command string `json:"command"`
	Path    string `json:"path,omitempty"`
	// Data is the node's data as a JSON string, or null for null data;
	// bytes that are not UTF-8 go to DataBase64 instead, so no byte is
	// lost.
	Data         json.RawMessage  `json:"data,omitempty"`
	DataBase64   string           `json:"dataBase64,omitempty"`
	Stat         *statJSON        `json:"stat,omitempty"`
	Children     []string         `json:"children,omitzero"`
	Paths        []string         `json:"paths,omitzero"`
	ACL          []aclJSON        `json:"acl,omitzero"`
	TotalNumber  *int             `json:"totalNumber,omitempty"`
	Mode         string           `json:"mode,omitempty"`
	ClientInfo   []clientInfoJSON `json:"clientInfo,omitzero"`
	Config       *string          `json:"config,omitempty"`
	Quota        map[string]int64 `json:"quota,omitempty"`
	Usage        map[string]int64 `json:"usage,omitempty"`
	History      []historyJSON    `json:"history,omitzero"`
	PrintWatches string           `json:"printwatches,omitempty"`
	Server       string           `json:"server,omitempty"`
	Version      string           `json:"version,omitempty"`
	Help         string           `json:"help,omitempty"`
	Warnings     []string         `json:"warnings,omitempty"`
	Error        string           `json:"error,omitempty"`
	Message      string           `json:"message,omitempty"`
}

// statJSON is a Stat with the field names of ZooKeeper's Stat record
// (zookeeper.jute), in its order; times are milliseconds since the epoch.
type statJSON struct {
	Czxid          int64 `json:"czxid"`
	Mzxid          int64 `json:"mzxid"`
	Ctime          int64 `json:"ctime"`
	Mtime          int64 `json:"mtime"`
	Version        int32 `json:"version"`
	Cversion       int32 `json:"cversion"`
	Aversion       int32 `json:"aversion"`
	EphemeralOwner int64 `json:"ephemeralOwner"`
	DataLength     int32 `json:"dataLength"`
	NumChildren    int32 `json:"numChildren"`
	Pzxid          int64 `json:"pzxid"`
}

type aclJSON struct {
	Scheme string `json:"scheme"`
	ID     string `json:"id"`
	Perms  string `json:"perms"` // zkCli.sh's letters, cdrwa order
}

type clientInfoJSON struct {
	AuthScheme string `json:"authScheme"`
	User       string `json:"user"`
}

type historyJSON struct {
	Index int    `json:"index"`
	Line  string `json:"line"`
}

// eventJSON is a watch event printed in -json mode.
type eventJSON struct {
	Event struct {
		Type  string `json:"type"`
		State string `json:"state"`
		Path  string `json:"path"`
	} `json:"event"`
}

func (r *result) setStat(st *proto.Stat) {
	if st == nil {
		return
	}
	r.Stat = &statJSON{st.Czxid, st.Mzxid, st.Ctime, st.Mtime, st.Version, st.Cversion, st.Aversion,
		st.EphemeralOwner, st.DataLength, st.NumChildren, st.Pzxid}
}

func (r *result) setData(data []byte) {
	switch {
	case data == nil:
		r.Data = json.RawMessage("null")
	case utf8.Valid(data):
		r.Data = bytes.TrimSuffix(marshal(string(data)), []byte("\n"))
	default:
		r.DataBase64 = base64.StdEncoding.EncodeToString(data)
	}
}

func (r *result) setACL(acl []proto.ACL) {
	r.ACL = make([]aclJSON, len(acl))
	for i, a := range acl {
		r.ACL[i] = aclJSON{a.ID.Scheme, a.ID.ID, permString(a.Perms)}
	}
}

// fail records an error. zkCli.sh reports some failures without failing
// the command (exit code 0); those come here directly, the others through
// setError.
func (r *result) fail(code proto.ErrCode, msg string) {
	r.Error, r.Message = code.Name(), msg
}

func (r *result) setError(err error) { r.fail(errCode(err), err.Error()) }

// warn records a message zkCli.sh prints on stderr without failing.
func (r *result) warn(msg string) { r.Warnings = append(r.Warnings, msg) }

// warnWriter turns stderr lines into the result's warnings in -json mode.
type warnWriter struct{ r *result }

func (w warnWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.r.warn(l)
	}
	return len(p), nil
}

// errCode names a failed command's error with the closest ZooKeeper code:
// the server's code, or for errors found before anything was sent
// (usage, bad options, invalid paths) BADARGUMENTS.
func errCode(err error) proto.ErrCode {
	var ce *cliError
	if errors.As(err, &ce) {
		return ce.code
	}
	var pe *parseError
	switch code := client.CodeOf(err); {
	case code != proto.ErrSystemError:
		return code
	case errors.As(err, &pe), errors.Is(err, proto.ErrInvalidPath), errors.Is(err, client.ErrBadArguments):
		return proto.ErrBadArguments
	case errors.Is(err, context.DeadlineExceeded):
		return proto.ErrOperationTimeout
	case errors.Is(err, client.ErrClosed):
		return proto.ErrConnectionLoss
	case errors.Is(err, client.ErrResponseTooLarge), errors.Is(err, client.ErrBadReply):
		return proto.ErrMarshallingError
	}
	return proto.ErrSystemError
}

// marshal encodes v as compact JSON without HTML escaping (data is shown
// as stored, "<" included).
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only unsupported types fail, and results hold none.
		return []byte(`{"error":"SYSTEMERROR","message":` + string(marshalString(err.Error())) + "}\n")
	}
	return b.Bytes()
}

func marshalString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// emit prints one JSON object as one line on stdout.
func (sh *shell) emit(v any) {
	b := marshal(v)
	sh.stdout.Write(b)
}

// printEventJSON prints a node watch event. Session state changes are not
// printed in -json mode: a one-shot command would otherwise start with a
// SyncConnected object, and a lost session shows in the errors of the
// commands that follow.
func (sh *shell) printEventJSON(ev client.Event) {
	if ev.Type == client.EventNone {
		return
	}
	var e eventJSON
	e.Event.Type, e.Event.State, e.Event.Path = ev.Type.String(), ev.State.String(), ev.Path
	sh.emit(&e)
}

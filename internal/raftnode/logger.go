package raftnode

import (
	"fmt"
	"log/slog"
)

// raftLogger routes etcd raft's log calls to slog. raft expects Fatal and
// Panic not to return (they report broken invariants), so both panic after
// logging.
type raftLogger struct{ l *slog.Logger }

func (r *raftLogger) Debug(v ...any)                 { r.l.Debug(fmt.Sprint(v...)) }
func (r *raftLogger) Debugf(format string, v ...any) { r.l.Debug(fmt.Sprintf(format, v...)) }
func (r *raftLogger) Info(v ...any)                  { r.l.Info(fmt.Sprint(v...)) }
func (r *raftLogger) Infof(format string, v ...any) {
	if routineInfo[format] {
		r.l.Debug(fmt.Sprintf(format, v...))
		return
	}
	r.l.Info(fmt.Sprintf(format, v...))
}
func (r *raftLogger) Warning(v ...any) { r.l.Warn(fmt.Sprint(v...)) }
func (r *raftLogger) Warningf(format string, v ...any) {
	r.l.Warn(fmt.Sprintf(format, v...))
}
func (r *raftLogger) Error(v ...any)                 { r.l.Error(fmt.Sprint(v...)) }
func (r *raftLogger) Errorf(format string, v ...any) { r.l.Error(fmt.Sprintf(format, v...)) }
func (r *raftLogger) Fatal(v ...any)                 { r.die(fmt.Sprint(v...)) }
func (r *raftLogger) Fatalf(format string, v ...any) { r.die(fmt.Sprintf(format, v...)) }
func (r *raftLogger) Panic(v ...any)                 { r.die(fmt.Sprint(v...)) }
func (r *raftLogger) Panicf(format string, v ...any) { r.die(fmt.Sprintf(format, v...)) }

// routineInfo holds the formats of raft's Info messages that zkd logs at
// debug level instead: they come many times a second under load and say
// nothing is wrong.
//
// With asynchronous storage writes, raft attaches its last index to every
// append response, also to those of Readies that carried only a new
// HardState, so that a response dropped after a term change cannot leave
// entries unstable forever. The response of the Ready with the entries
// marks them stable; the next one then finds them gone from the unstable
// log and says so: on a standalone server under 32 writing sessions, about
// one line per 25 writes.
var routineInfo = map[string]bool{
	"entry at index %d missing from unstable log; ignoring": true,
}

func (r *raftLogger) die(msg string) {
	r.l.Error("raft invariant violated", "msg", msg)
	panic("raft: " + msg)
}

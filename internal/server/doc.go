// Package server owns the client side of zkd: the listener, each
// connection's read and write loops, the per-session request pipeline, the
// handshake, four-letter words, and the adapter that feeds committed log
// entries to the state machine and routes results back to waiting clients.
//
// It never changes state except through the Raft log: writes are proposed
// and answered only after they are applied. Reads are served from the local
// tree, after the session's earlier writes.
package server

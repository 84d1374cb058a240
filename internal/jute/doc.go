// Package jute owns the wire primitives of ZooKeeper's jute encoding: big-endian
// int32/int64, one-byte booleans, length-prefixed buffers and strings, counted
// vectors, and the 4-byte length framing of client packets.
//
// Every length read from the wire is checked against the bytes that remain
// before anything is allocated, so a hostile or truncated input costs at most
// its own size. A Reader keeps the first error it meets (sticky) and returns
// zero values afterwards; decoding never panics on any input. This package
// must never know about ZooKeeper records or opcodes: those live in proto.
package jute

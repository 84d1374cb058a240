//go:build !failpoints || !linux

package storage

// noteSynced is the failpoint hook after a WAL write (see
// FailpointSyncedFile). Without the failpoints tag, or off Linux (the
// lookup in failpoint_on.go needs /proc/self/fd), it does nothing and
// compiles away.
func noteSynced(walDir string, synced bool) {}

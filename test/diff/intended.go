package diff

// Intended maps a scenario name to the reason zkd deliberately answers
// differently from Apache ZooKeeper. The differential test reports such a
// scenario as an intended difference instead of failing it, and fails when
// an entry no longer differs (so the table cannot go stale).
//
// Only the lead adds entries, after deciding that the difference is a
// choice and not a zkd bug; an entry must never hide a bug. The README's
// compatibility section lists the same reasons.
var Intended = map[string]string{
	// ZooKeeper 3.8 never answers a successful check sent on its own (the
	// client waits forever); zkd answers it. Failed checks match.
	"check_standalone":              checkReply,
	"acl_noauth_each_perm":          checkReply,
	"watch_not_fired_by_failed_ops": checkReply,

	// ZooKeeper answers an unknown opcode with Unimplemented (zxid -1) and
	// then closes the connection; zkd sends the same reply and keeps the
	// connection usable, as zkd's core issue requires.
	"opcode_unused_10":      unknownOpcode,
	"opcode_unassigned_999": unknownOpcode,
	"opcode_negative_7":     unknownOpcode,
	"opcode_notification_0": unknownOpcode,
	"opcode_error_op":       unknownOpcode,

	// ZooKeeper 3.8 keeps a single watch mode per path and connection: a
	// later one-shot watch turns a persistent watch into a one-shot one, and
	// a recursive addWatch replaces a persistent one. zkd keeps every watch
	// as it was registered.
	"watch_persistent_with_oneshot_same_path":  oneMode,
	"watch_persistent_and_recursive_same_path": oneMode,

	// Watcher types Persistent (4) and PersistentRecursive (5) in
	// checkWatches/removeWatches are ZooKeeper 3.9 additions; 3.8 rejects
	// them with MarshallingError.
	"watch_removewatches_persistent": persistentTypes,
	"watch_checkwatches":             persistentTypes,
	"setwatches2_persistent":         persistentTypes,

	// ZooKeeper 3.8's checkWatches reports a watch held by another session
	// on the same path; zkd checks the caller's own watches, which is what
	// the call is documented to do.
	"watch_checkwatches_other_session": "checkWatches only sees the caller's own watches",

	// A watch set through the empty path "": ZooKeeper resolves reads of ""
	// to the root but files the watch under "" and does not find it again
	// with checkWatches(""); zkd finds it.
	"fresh_empty_path_reads": "checkWatches(\"\") finds a watch set through the empty path",
}

const (
	checkReply      = "a successful standalone check is answered (ZooKeeper 3.8 never replies)"
	unknownOpcode   = "the connection stays open after an unknown opcode"
	oneMode         = "watches of different modes on one path coexist (ZooKeeper 3.8 keeps one mode)"
	persistentTypes = "watcher types 4 and 5 (3.9) are accepted by check/removeWatches"
)

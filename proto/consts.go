package proto

// The enums below are untyped constants so they fit the int32 fields of the
// records (Flags, Perms, Type, State, Mode) without conversions.

// Reserved xids: requests and replies with these xids are not ordinary
// client calls (ClientCnxn).
const (
	XidNotification = -1 // server-pushed watch event
	XidPing         = -2
	XidAuth         = -4 // AuthPacket
	XidSetWatches   = -8 // SetWatches / SetWatches2 after a reconnect
)

// Create modes: the Flags of a create request (CreateMode.toFlag).
const (
	ModePersistent                  = 0
	ModeEphemeral                   = 1
	ModePersistentSequential        = 2
	ModeEphemeralSequential         = 3
	ModeContainer                   = 4
	ModePersistentWithTTL           = 5
	ModePersistentSequentialWithTTL = 6
)

// Permission bits of an ACL (ZooDefs.Perms).
const (
	PermRead   = 1 << 0
	PermWrite  = 1 << 1
	PermCreate = 1 << 2
	PermDelete = 1 << 3
	PermAdmin  = 1 << 4
	PermAll    = PermRead | PermWrite | PermCreate | PermDelete | PermAdmin
)

// Watch event types (Watcher.Event.EventType).
const (
	EventNone                   = -1
	EventNodeCreated            = 1
	EventNodeDeleted            = 2
	EventNodeDataChanged        = 3
	EventNodeChildrenChanged    = 4
	EventDataWatchRemoved       = 5
	EventChildWatchRemoved      = 6
	EventPersistentWatchRemoved = 7
)

// Session states carried by watch events (Watcher.Event.KeeperState).
// StateClosed is only generated locally by clients.
const (
	StateDisconnected      = 0
	StateSyncConnected     = 3
	StateAuthFailed        = 4
	StateConnectedReadOnly = 5
	StateSaslAuthenticated = 6
	StateExpired           = -112
	StateClosed            = 7
)

// Watcher types of checkWatches/removeWatches (Watcher.WatcherType).
const (
	WatcherChildren            = 1
	WatcherData                = 2
	WatcherAny                 = 3
	WatcherPersistent          = 4
	WatcherPersistentRecursive = 5
)

// Modes of an addWatch request (ZooDefs.AddWatchModes).
const (
	AddWatchPersistent          = 0
	AddWatchPersistentRecursive = 1
)

// EventTypeName returns the Java name of a watch event type ("NodeCreated").
func EventTypeName(t int32) string {
	switch t {
	case EventNone:
		return "None"
	case EventNodeCreated:
		return "NodeCreated"
	case EventNodeDeleted:
		return "NodeDeleted"
	case EventNodeDataChanged:
		return "NodeDataChanged"
	case EventNodeChildrenChanged:
		return "NodeChildrenChanged"
	case EventDataWatchRemoved:
		return "DataWatchRemoved"
	case EventChildWatchRemoved:
		return "ChildWatchRemoved"
	case EventPersistentWatchRemoved:
		return "PersistentWatchRemoved"
	}
	return "EventType(" + itoa(int64(t)) + ")"
}

// StateName returns the Java name of a session state ("SyncConnected").
func StateName(s int32) string {
	switch s {
	case StateDisconnected:
		return "Disconnected"
	case StateSyncConnected:
		return "SyncConnected"
	case StateAuthFailed:
		return "AuthFailed"
	case StateConnectedReadOnly:
		return "ConnectedReadOnly"
	case StateSaslAuthenticated:
		return "SaslAuthenticated"
	case StateExpired:
		return "Expired"
	case StateClosed:
		return "Closed"
	}
	return "KeeperState(" + itoa(int64(s)) + ")"
}

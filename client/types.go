package client

import (
	"strconv"
	"time"

	"github.com/zkd-io/zkd/proto"
)

// State is a session state (Watcher.Event.KeeperState).
type State int32

// Session states reported by Events and State.
const (
	StateDisconnected      State = proto.StateDisconnected
	StateSyncConnected     State = proto.StateSyncConnected
	StateAuthFailed        State = proto.StateAuthFailed
	StateConnectedReadOnly State = proto.StateConnectedReadOnly
	StateExpired           State = proto.StateExpired
	StateClosed            State = proto.StateClosed
)

// String returns the Java name ("SyncConnected").
func (s State) String() string { return proto.StateName(int32(s)) }

// Connected reports whether requests can be served in this state.
func (s State) Connected() bool { return s == StateSyncConnected || s == StateConnectedReadOnly }

// Final reports whether the session is over for good (expired, auth
// failed or closed): no request can succeed any more.
func (s State) Final() bool {
	return s == StateExpired || s == StateAuthFailed || s == StateClosed
}

// EventType is the type of a watch event (Watcher.Event.EventType).
type EventType int32

// Event types.
const (
	EventNone                   EventType = proto.EventNone
	EventNodeCreated            EventType = proto.EventNodeCreated
	EventNodeDeleted            EventType = proto.EventNodeDeleted
	EventNodeDataChanged        EventType = proto.EventNodeDataChanged
	EventNodeChildrenChanged    EventType = proto.EventNodeChildrenChanged
	EventDataWatchRemoved       EventType = proto.EventDataWatchRemoved
	EventChildWatchRemoved      EventType = proto.EventChildWatchRemoved
	EventPersistentWatchRemoved EventType = proto.EventPersistentWatchRemoved
)

// String returns the Java name ("NodeCreated").
func (t EventType) String() string { return proto.EventTypeName(int32(t)) }

// Event is a watch event or, with Type EventNone, a session state change.
type Event struct {
	Type  EventType
	State State
	Path  string // client path (chroot stripped); "" for session events
	Zxid  int64  // zxid of the reply carrying a server event; 0 otherwise
	Err   error  // why a watch ended: ErrClosed, proto.ErrSessionExpired, proto.ErrAuthFailed
}

// String formats the event as ZooKeeper's WatchedEvent.toString does:
// "WatchedEvent state:SyncConnected type:NodeCreated path:/a".
func (e Event) String() string {
	p := e.Path
	if e.Type == EventNone && p == "" {
		p = "null"
	}
	return "WatchedEvent state:" + e.State.String() + " type:" + e.Type.String() + " path:" + p
}

// CreateMode is the mode of a new znode (CreateMode).
type CreateMode int32

// Create modes.
const (
	ModePersistent                  CreateMode = proto.ModePersistent
	ModeEphemeral                   CreateMode = proto.ModeEphemeral
	ModePersistentSequential        CreateMode = proto.ModePersistentSequential
	ModeEphemeralSequential         CreateMode = proto.ModeEphemeralSequential
	ModeContainer                   CreateMode = proto.ModeContainer
	ModePersistentWithTTL           CreateMode = proto.ModePersistentWithTTL
	ModePersistentSequentialWithTTL CreateMode = proto.ModePersistentSequentialWithTTL
)

// Sequential reports whether the server appends a counter to the name.
func (m CreateMode) Sequential() bool {
	return m == ModePersistentSequential || m == ModeEphemeralSequential || m == ModePersistentSequentialWithTTL
}

// Ephemeral reports whether the node dies with the session.
func (m CreateMode) Ephemeral() bool { return m == ModeEphemeral || m == ModeEphemeralSequential }

// TTL reports whether the mode takes a time to live.
func (m CreateMode) TTL() bool {
	return m == ModePersistentWithTTL || m == ModePersistentSequentialWithTTL
}

func (m CreateMode) valid() bool { return m >= ModePersistent && m <= ModePersistentSequentialWithTTL }

// String returns the Java name ("EPHEMERAL_SEQUENTIAL").
func (m CreateMode) String() string {
	switch m {
	case ModePersistent:
		return "PERSISTENT"
	case ModeEphemeral:
		return "EPHEMERAL"
	case ModePersistentSequential:
		return "PERSISTENT_SEQUENTIAL"
	case ModeEphemeralSequential:
		return "EPHEMERAL_SEQUENTIAL"
	case ModeContainer:
		return "CONTAINER"
	case ModePersistentWithTTL:
		return "PERSISTENT_WITH_TTL"
	case ModePersistentSequentialWithTTL:
		return "PERSISTENT_SEQUENTIAL_WITH_TTL"
	}
	return "CreateMode(" + strconv.Itoa(int(m)) + ")"
}

// WatcherType selects the watches RemoveWatches removes (Watcher.WatcherType).
type WatcherType int32

// Watcher types.
const (
	WatcherChildren            WatcherType = proto.WatcherChildren
	WatcherData                WatcherType = proto.WatcherData
	WatcherAny                 WatcherType = proto.WatcherAny
	WatcherPersistent          WatcherType = proto.WatcherPersistent
	WatcherPersistentRecursive WatcherType = proto.WatcherPersistentRecursive
)

// AddWatchMode is the mode of AddWatch (AddWatchMode).
type AddWatchMode int32

// AddWatch modes.
const (
	AddWatchPersistent          AddWatchMode = proto.AddWatchPersistent
	AddWatchPersistentRecursive AddWatchMode = proto.AddWatchPersistentRecursive
)

// String returns the Java name ("PERSISTENT_RECURSIVE").
func (m AddWatchMode) String() string {
	switch m {
	case AddWatchPersistent:
		return "PERSISTENT"
	case AddWatchPersistentRecursive:
		return "PERSISTENT_RECURSIVE"
	}
	return "AddWatchMode(" + strconv.Itoa(int(m)) + ")"
}

// ttlMillis converts a TTL for the wire; ZooKeeper takes whole milliseconds.
func ttlMillis(d time.Duration) int64 { return d.Milliseconds() }

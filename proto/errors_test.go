package proto

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrCode(t *testing.T) {
	tests := []struct {
		code      ErrCode
		value     int32
		msg, name string
	}{
		{ErrOK, 0, "ok", "OK"},
		{ErrSystemError, -1, "SystemError", "SYSTEMERROR"},
		{ErrRuntimeInconsistency, -2, "RuntimeInconsistency", "RUNTIMEINCONSISTENCY"},
		{ErrDataInconsistency, -3, "DataInconsistency", "DATAINCONSISTENCY"},
		{ErrConnectionLoss, -4, "ConnectionLoss", "CONNECTIONLOSS"},
		{ErrMarshallingError, -5, "MarshallingError", "MARSHALLINGERROR"},
		{ErrUnimplemented, -6, "Unimplemented", "UNIMPLEMENTED"},
		{ErrOperationTimeout, -7, "OperationTimeout", "OPERATIONTIMEOUT"},
		{ErrBadArguments, -8, "BadArguments", "BADARGUMENTS"},
		{ErrUnknownSession, -12, "Unknown error UNKNOWNSESSION", "UNKNOWNSESSION"},
		{ErrNewConfigNoQuorum, -13, "NewConfigNoQuorum", "NEWCONFIGNOQUORUM"},
		{ErrReconfigInProgress, -14, "ReconfigInProgress", "RECONFIGINPROGRESS"},
		{ErrAPIError, -100, "APIError", "APIERROR"},
		{ErrNoNode, -101, "NoNode", "NONODE"},
		{ErrNoAuth, -102, "NoAuth", "NOAUTH"},
		{ErrBadVersion, -103, "BadVersion", "BADVERSION"},
		{ErrNoChildrenForEphemerals, -108, "NoChildrenForEphemerals", "NOCHILDRENFOREPHEMERALS"},
		{ErrNodeExists, -110, "NodeExists", "NODEEXISTS"},
		{ErrNotEmpty, -111, "Directory not empty", "NOTEMPTY"},
		{ErrSessionExpired, -112, "Session expired", "SESSIONEXPIRED"},
		{ErrInvalidCallback, -113, "Invalid callback", "INVALIDCALLBACK"},
		{ErrInvalidACL, -114, "InvalidACL", "INVALIDACL"},
		{ErrAuthFailed, -115, "AuthFailed", "AUTHFAILED"},
		{ErrSessionMoved, -118, "Session moved", "SESSIONMOVED"},
		{ErrNotReadOnly, -119, "Not a read-only call", "NOTREADONLY"},
		{ErrEphemeralOnLocalSession, -120, "Ephemeral node on local session", "EPHEMERALONLOCALSESSION"},
		{ErrNoWatcher, -121, "No such watcher", "NOWATCHER"},
		{ErrRequestTimeout, -122, "Unknown error REQUESTTIMEOUT", "REQUESTTIMEOUT"},
		{ErrReconfigDisabled, -123, "Reconfig is disabled", "RECONFIGDISABLED"},
		{ErrSessionClosedRequireSaslAuth, -124, "Session closed because client failed to authenticate", "SESSIONCLOSEDREQUIRESASLAUTH"},
		{ErrQuotaExceeded, -125, "Quota has exceeded", "QUOTAEXCEEDED"},
		{ErrThrottled, -127, "Op throttled due to high load", "THROTTLEDOP"},
	}
	if len(tests) != len(codes) {
		t.Errorf("table has %d codes, package has %d", len(tests), len(codes))
	}
	for _, tc := range tests {
		if int32(tc.code) != tc.value {
			t.Errorf("%s: got value %d, want %d", tc.name, int32(tc.code), tc.value)
		}
		if got := tc.code.Error(); got != tc.msg {
			t.Errorf("%d.Error(): got %q, want %q", tc.value, got, tc.msg)
		}
		if got := tc.code.Name(); got != tc.name {
			t.Errorf("%d.Name(): got %q, want %q", tc.value, got, tc.name)
		}
		if !tc.code.Known() {
			t.Errorf("%d.Known(): got false, want true", tc.value)
		}
	}
	if got := ErrCode(-999).Error(); got != "Unknown error -999" {
		t.Errorf("unknown code: got %q, want %q", got, "Unknown error -999")
	}
	if ErrCode(-999).Known() {
		t.Errorf("Known(-999): got true, want false")
	}
	if ErrOK.Err() != nil {
		t.Errorf("ErrOK.Err(): got %v, want nil", ErrOK.Err())
	}
	wrapped := fmt.Errorf("delete /a: %w", ErrNoNode.Err())
	var code ErrCode
	if !errors.Is(wrapped, ErrNoNode) || !errors.As(wrapped, &code) || code != ErrNoNode {
		t.Errorf("errors.Is/As through wrapping: got %v, want NoNode", code)
	}
}

func TestOpCodeString(t *testing.T) {
	tests := []struct {
		op   OpCode
		want string
	}{
		{OpCreate, "create"}, {OpGetChildren2, "getChildren2"}, {OpMultiRead, "multiRead"},
		{OpWhoAmI, "whoAmI"}, {OpCloseSession, "closeSession"}, {OpError, "error"}, {OpCode(10), "unknown(10)"},
	}
	for _, tc := range tests {
		if got := tc.op.String(); got != tc.want {
			t.Errorf("OpCode(%d).String(): got %q, want %q", int32(tc.op), got, tc.want)
		}
	}
}

func TestEnumNames(t *testing.T) {
	if got := EventTypeName(EventPersistentWatchRemoved); got != "PersistentWatchRemoved" {
		t.Errorf("got %q, want PersistentWatchRemoved", got)
	}
	if got := EventTypeName(99); got != "EventType(99)" {
		t.Errorf("got %q, want EventType(99)", got)
	}
	if got := StateName(StateExpired); got != "Expired" {
		t.Errorf("got %q, want Expired", got)
	}
	if got := StateName(2); got != "KeeperState(2)" {
		t.Errorf("got %q, want KeeperState(2)", got)
	}
	if PermAll != 31 {
		t.Errorf("PermAll: got %d, want 31", PermAll)
	}
}

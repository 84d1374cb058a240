package proto

import "strconv"

// ErrCode is a ZooKeeper error code (KeeperException.Code) as carried in
// ReplyHeader.Err. It implements error so it can be returned and matched
// with errors.Is / errors.As; note that ErrOK is a non-nil error value, so
// convert with Err before returning it as an error.
type ErrCode int32

// Error codes. Codes above ErrAPIError (and below 0) are system errors,
// codes at or below it are API errors.
const (
	ErrOK                           ErrCode = 0
	ErrSystemError                  ErrCode = -1
	ErrRuntimeInconsistency         ErrCode = -2
	ErrDataInconsistency            ErrCode = -3
	ErrConnectionLoss               ErrCode = -4
	ErrMarshallingError             ErrCode = -5
	ErrUnimplemented                ErrCode = -6
	ErrOperationTimeout             ErrCode = -7
	ErrBadArguments                 ErrCode = -8
	ErrUnknownSession               ErrCode = -12
	ErrNewConfigNoQuorum            ErrCode = -13
	ErrReconfigInProgress           ErrCode = -14
	ErrAPIError                     ErrCode = -100
	ErrNoNode                       ErrCode = -101
	ErrNoAuth                       ErrCode = -102
	ErrBadVersion                   ErrCode = -103
	ErrNoChildrenForEphemerals      ErrCode = -108
	ErrNodeExists                   ErrCode = -110
	ErrNotEmpty                     ErrCode = -111
	ErrSessionExpired               ErrCode = -112
	ErrInvalidCallback              ErrCode = -113
	ErrInvalidACL                   ErrCode = -114
	ErrAuthFailed                   ErrCode = -115
	ErrSessionMoved                 ErrCode = -118
	ErrNotReadOnly                  ErrCode = -119
	ErrEphemeralOnLocalSession      ErrCode = -120
	ErrNoWatcher                    ErrCode = -121
	ErrRequestTimeout               ErrCode = -122
	ErrReconfigDisabled             ErrCode = -123
	ErrSessionClosedRequireSaslAuth ErrCode = -124
	ErrQuotaExceeded                ErrCode = -125
	ErrThrottled                    ErrCode = -127
)

type codeInfo struct {
	name string // Java enum constant
	msg  string // KeeperException.getCodeMessage
}

// codes mirrors KeeperException.Code and getCodeMessage. UNKNOWNSESSION and
// REQUESTTIMEOUT have no case in getCodeMessage, so Java prints
// "Unknown error " + the enum name for them; we do the same.
var codes = map[ErrCode]codeInfo{
	ErrOK:                           {"OK", "ok"},
	ErrSystemError:                  {"SYSTEMERROR", "SystemError"},
	ErrRuntimeInconsistency:         {"RUNTIMEINCONSISTENCY", "RuntimeInconsistency"},
	ErrDataInconsistency:            {"DATAINCONSISTENCY", "DataInconsistency"},
	ErrConnectionLoss:               {"CONNECTIONLOSS", "ConnectionLoss"},
	ErrMarshallingError:             {"MARSHALLINGERROR", "MarshallingError"},
	ErrUnimplemented:                {"UNIMPLEMENTED", "Unimplemented"},
	ErrOperationTimeout:             {"OPERATIONTIMEOUT", "OperationTimeout"},
	ErrBadArguments:                 {"BADARGUMENTS", "BadArguments"},
	ErrUnknownSession:               {"UNKNOWNSESSION", "Unknown error UNKNOWNSESSION"},
	ErrNewConfigNoQuorum:            {"NEWCONFIGNOQUORUM", "NewConfigNoQuorum"},
	ErrReconfigInProgress:           {"RECONFIGINPROGRESS", "ReconfigInProgress"},
	ErrAPIError:                     {"APIERROR", "APIError"},
	ErrNoNode:                       {"NONODE", "NoNode"},
	ErrNoAuth:                       {"NOAUTH", "NoAuth"},
	ErrBadVersion:                   {"BADVERSION", "BadVersion"},
	ErrNoChildrenForEphemerals:      {"NOCHILDRENFOREPHEMERALS", "NoChildrenForEphemerals"},
	ErrNodeExists:                   {"NODEEXISTS", "NodeExists"},
	ErrNotEmpty:                     {"NOTEMPTY", "Directory not empty"},
	ErrSessionExpired:               {"SESSIONEXPIRED", "Session expired"},
	ErrInvalidCallback:              {"INVALIDCALLBACK", "Invalid callback"},
	ErrInvalidACL:                   {"INVALIDACL", "InvalidACL"},
	ErrAuthFailed:                   {"AUTHFAILED", "AuthFailed"},
	ErrSessionMoved:                 {"SESSIONMOVED", "Session moved"},
	ErrNotReadOnly:                  {"NOTREADONLY", "Not a read-only call"},
	ErrEphemeralOnLocalSession:      {"EPHEMERALONLOCALSESSION", "Ephemeral node on local session"},
	ErrNoWatcher:                    {"NOWATCHER", "No such watcher"},
	ErrRequestTimeout:               {"REQUESTTIMEOUT", "Unknown error REQUESTTIMEOUT"},
	ErrReconfigDisabled:             {"RECONFIGDISABLED", "Reconfig is disabled"},
	ErrSessionClosedRequireSaslAuth: {"SESSIONCLOSEDREQUIRESASLAUTH", "Session closed because client failed to authenticate"},
	ErrQuotaExceeded:                {"QUOTAEXCEEDED", "Quota has exceeded"},
	ErrThrottled:                    {"THROTTLEDOP", "Op throttled due to high load"},
}

// Error returns ZooKeeper's message for the code (getCodeMessage), e.g.
// "NoNode" or "Session expired"; codes Java does not know give
// "Unknown error N".
func (e ErrCode) Error() string {
	if c, ok := codes[e]; ok {
		return c.msg
	}
	return "Unknown error " + strconv.Itoa(int(e))
}

// Name returns the Java enum constant name (e.g. "NONODE"), or
// "ErrCode(N)" for an unknown code.
func (e ErrCode) Name() string {
	if c, ok := codes[e]; ok {
		return c.name
	}
	return "ErrCode(" + strconv.Itoa(int(e)) + ")"
}

// Known reports whether the code is one of KeeperException.Code.
func (e ErrCode) Known() bool {
	_, ok := codes[e]
	return ok
}

// Err returns nil for ErrOK and e otherwise, so a reply's code can be
// returned as an error safely.
func (e ErrCode) Err() error {
	if e == ErrOK {
		return nil
	}
	return e
}

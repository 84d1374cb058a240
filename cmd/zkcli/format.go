package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// printStat prints a Stat as zkCli.sh's StatPrinter does.
func printStat(w io.Writer, st *proto.Stat) {
	fmt.Fprintf(w, "cZxid = 0x%x\n", uint64(st.Czxid))
	fmt.Fprintf(w, "ctime = %s\n", javaDate(st.Ctime))
	fmt.Fprintf(w, "mZxid = 0x%x\n", uint64(st.Mzxid))
	fmt.Fprintf(w, "mtime = %s\n", javaDate(st.Mtime))
	fmt.Fprintf(w, "pZxid = 0x%x\n", uint64(st.Pzxid))
	fmt.Fprintf(w, "cversion = %d\n", st.Cversion)
	fmt.Fprintf(w, "dataVersion = %d\n", st.Version)
	fmt.Fprintf(w, "aclVersion = %d\n", st.Aversion)
	fmt.Fprintf(w, "ephemeralOwner = 0x%x\n", uint64(st.EphemeralOwner))
	fmt.Fprintf(w, "dataLength = %d\n", st.DataLength)
	fmt.Fprintf(w, "numChildren = %d\n", st.NumChildren)
}

// javaDate formats milliseconds since the epoch like java.util.Date's
// toString, in the local time zone: "Sat Nov 21 19:36:27 UTC 2026".
func javaDate(ms int64) string {
	return time.UnixMilli(ms).Format("Mon Jan 02 15:04:05 MST 2006")
}

// permString is ZKUtil.getPermString: the permission letters in cdrwa order.
func permString(perms int32) string {
	var b strings.Builder
	for _, p := range []struct {
		bit int32
		c   byte
	}{{proto.PermCreate, 'c'}, {proto.PermDelete, 'd'}, {proto.PermRead, 'r'}, {proto.PermWrite, 'w'}, {proto.PermAdmin, 'a'}} {
		if perms&p.bit != 0 {
			b.WriteByte(p.c)
		}
	}
	return b.String()
}

// aclString prints an ACL entry as zkCli.sh's getAcl does: jute's CSV
// rendering of the Id record ("'world,'anyone" and a newline), then ": "
// and the permissions.
func aclString(a proto.ACL) string {
	return "'" + csvString(a.ID.Scheme) + ",'" + csvString(a.ID.ID) + "\n: " + permString(a.Perms)
}

// csvString escapes a string as jute's CSV output does.
func csvString(s string) string {
	r := strings.NewReplacer("\x00", "%00", "\n", "%0A", "\r", "%0D", ",", "%2C", "}", "%7D", "%", "%25")
	return r.Replace(s)
}

// parseACL parses "scheme:id:perm,..." as zkCli.sh's AclParser does: a
// malformed entry or an unknown permission letter is reported on errw and
// skipped.
func parseACL(s string, errw io.Writer) []proto.ACL {
	var acl []proto.ACL
	for _, a := range strings.Split(s, ",") {
		first, last := strings.IndexByte(a, ':'), strings.LastIndexByte(a, ':')
		if first < 0 || first == last {
			fmt.Fprintf(errw, "%s does not have the form scheme:id:perm\n", a)
			continue
		}
		var perms int32
		for _, c := range []byte(a[last+1:]) {
			switch c {
			case 'r':
				perms |= proto.PermRead
			case 'w':
				perms |= proto.PermWrite
			case 'c':
				perms |= proto.PermCreate
			case 'd':
				perms |= proto.PermDelete
			case 'a':
				perms |= proto.PermAdmin
			default:
				fmt.Fprintf(errw, "Unknown perm type: %c\n", c)
			}
		}
		acl = append(acl, proto.ACL{Perms: perms, ID: proto.ID{Scheme: a[:first], ID: a[first+1 : last]}})
	}
	return acl
}

// keeperMessage is KeeperException.getMessage: "KeeperErrorCode = NoNode
// for /a" (no " for" part without a path).
func keeperMessage(code proto.ErrCode, path string) string {
	if path == "" {
		return "KeeperErrorCode = " + code.Error()
	}
	return "KeeperErrorCode = " + code.Error() + " for " + path
}

// cliMessage is the text zkCli.sh prints for a failed command
// (CliWrapperException): a friendly sentence for the common codes, the
// KeeperException message otherwise, and the bare message of a local error
// (an invalid path prints ZooKeeper's own text).
func cliMessage(err error) string {
	var e *client.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	if e.Code == proto.ErrOK {
		if e.Err != nil {
			return e.Err.Error()
		}
		return err.Error()
	}
	path := e.Path
	if path == "" {
		path = "null"
	}
	switch e.Code {
	case proto.ErrNoNode:
		return "Node does not exist: " + path
	case proto.ErrNoChildrenForEphemerals:
		return "Ephemerals cannot have children: " + path
	case proto.ErrNodeExists:
		return "Node already exists: " + path
	case proto.ErrNotEmpty:
		return "Node not empty: " + path
	case proto.ErrNotReadOnly:
		return "Not a read-only call: " + path
	case proto.ErrInvalidACL:
		return "Acl is not valid : " + path
	case proto.ErrNoAuth:
		return "Insufficient permission : " + path
	case proto.ErrBadArguments:
		return "Arguments are not valid : " + path
	case proto.ErrBadVersion:
		return "version No is not valid : " + path
	case proto.ErrReconfigInProgress:
		return "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)"
	case proto.ErrNewConfigNoQuorum:
		return "No quorum of new config is connected and up-to-date with the leader of last committed config - try invoking reconfiguration after new servers are connected and synced"
	case proto.ErrQuotaExceeded:
		return "Quota has exceeded : " + path
	}
	return keeperMessage(e.Code, e.Path)
}

// listString is Java's List.toString: "[a, b]".
func listString(items []string) string { return "[" + strings.Join(items, ", ") + "]" }

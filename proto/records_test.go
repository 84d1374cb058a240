package proto

import (
	"errors"
	"reflect"
	"testing"

	"github.com/zkd-io/zkd/internal/jute"
)

var sampleStat = Stat{
	Czxid: 0x100000001, Mzxid: 0x100000002, Ctime: 1700000000000, Mtime: 1700000000001,
	Version: 3, Cversion: 4, Aversion: 5, EphemeralOwner: 0x1234, DataLength: 6, NumChildren: 7, Pzxid: 0x100000003,
}

var sampleACL = []ACL{
	{Perms: PermAll, ID: WorldAnyone},
	{Perms: PermRead | PermWrite, ID: ID{Scheme: "digest", ID: "user:hash="}},
}

// recordCase is one record value used by the round-trip, truncation and
// fuzz-seed tests; optionalTail is how many trailing bytes may be missing
// while Decode still succeeds (ConnectRequest/Response readOnly byte).
type recordCase struct {
	name         string
	rec          Record
	fresh        func() Record
	optionalTail int
}

func recordCases() []recordCase {
	return []recordCase{
		{"ID", &ID{"ip", "10.0.0.1"}, func() Record { return &ID{} }, 0},
		{"ACL", &sampleACL[1], func() Record { return &ACL{} }, 0},
		{"Stat", &sampleStat, func() Record { return &Stat{} }, 0},
		{"ConnectRequest", &ConnectRequest{ProtocolVersion: 0, LastZxidSeen: 99, TimeOut: 30000, SessionID: 5, Passwd: make([]byte, 16), ReadOnly: true, HasReadOnly: true}, func() Record { return &ConnectRequest{} }, 1},
		{"ConnectResponse", &ConnectResponse{TimeOut: 30000, SessionID: 5, Passwd: []byte("0123456789abcdef"), ReadOnly: true}, func() Record { return &ConnectResponse{} }, 1},
		{"RequestHeader", &RequestHeader{Xid: 7, Type: OpGetData}, func() Record { return &RequestHeader{} }, 0},
		{"ReplyHeader", &ReplyHeader{Xid: 7, Zxid: 1 << 33, Err: ErrNoNode}, func() Record { return &ReplyHeader{} }, 0},
		{"AuthPacket", &AuthPacket{Scheme: "digest", Auth: []byte("u:p")}, func() Record { return &AuthPacket{} }, 0},
		{"SetWatches", &SetWatches{RelativeZxid: 10, DataWatches: []string{"/a"}, ExistWatches: []string{"/b", "/c"}, ChildWatches: []string{"/"}}, func() Record { return &SetWatches{} }, 0},
		{"SetWatches2", &SetWatches2{RelativeZxid: 10, DataWatches: []string{"/a"}, ExistWatches: []string{"/b"}, ChildWatches: []string{"/c"}, PersistentWatches: []string{"/d"}, PersistentRecursiveWatches: []string{"/e", "/f"}}, func() Record { return &SetWatches2{} }, 0},
		{"WatcherEvent", &WatcherEvent{Type: EventNodeDataChanged, State: StateSyncConnected, Path: "/x"}, func() Record { return &WatcherEvent{} }, 0},
		{"ErrorResponse", &ErrorResponse{Err: ErrBadVersion}, func() Record { return &ErrorResponse{} }, 0},
		{"ClientInfo", &ClientInfo{AuthScheme: "ip", User: "127.0.0.1"}, func() Record { return &ClientInfo{} }, 0},
		{"WhoAmIResponse", &WhoAmIResponse{ClientInfo: []ClientInfo{{"ip", "127.0.0.1"}, {"digest", "bob"}}}, func() Record { return &WhoAmIResponse{} }, 0},
		{"GetSASLRequest", &GetSASLRequest{Token: []byte{1, 2, 3}}, func() Record { return &GetSASLRequest{} }, 0},
		{"SetSASLResponse", &SetSASLResponse{Token: []byte{4}}, func() Record { return &SetSASLResponse{} }, 0},
		{"CreateRequest", &CreateRequest{Path: "/a/b", Data: []byte("data"), ACL: sampleACL, Flags: ModeEphemeralSequential}, func() Record { return &CreateRequest{} }, 0},
		{"CreateRequestNullData", &CreateRequest{Path: "/a", ACL: OpenACLUnsafe}, func() Record { return &CreateRequest{} }, 0},
		{"CreateTTLRequest", &CreateTTLRequest{Path: "/t", Data: []byte{}, ACL: OpenACLUnsafe, Flags: ModePersistentWithTTL, TTL: 60000}, func() Record { return &CreateTTLRequest{} }, 0},
		{"CreateResponse", &CreateResponse{Path: "/a/b0000000001"}, func() Record { return &CreateResponse{} }, 0},
		{"Create2Response", &Create2Response{Path: "/a", Stat: sampleStat}, func() Record { return &Create2Response{} }, 0},
		{"DeleteRequest", &DeleteRequest{Path: "/a", Version: -1}, func() Record { return &DeleteRequest{} }, 0},
		{"ExistsRequest", &ExistsRequest{Path: "/a", Watch: true}, func() Record { return &ExistsRequest{} }, 0},
		{"ExistsResponse", &ExistsResponse{Stat: sampleStat}, func() Record { return &ExistsResponse{} }, 0},
		{"GetDataRequest", &GetDataRequest{Path: "/a", Watch: true}, func() Record { return &GetDataRequest{} }, 0},
		{"GetDataResponse", &GetDataResponse{Data: []byte("hello"), Stat: sampleStat}, func() Record { return &GetDataResponse{} }, 0},
		{"SetDataRequest", &SetDataRequest{Path: "/a", Data: []byte("v2"), Version: 3}, func() Record { return &SetDataRequest{} }, 0},
		{"SetDataResponse", &SetDataResponse{Stat: sampleStat}, func() Record { return &SetDataResponse{} }, 0},
		{"GetACLRequest", &GetACLRequest{Path: "/a"}, func() Record { return &GetACLRequest{} }, 0},
		{"GetACLResponse", &GetACLResponse{ACL: sampleACL, Stat: sampleStat}, func() Record { return &GetACLResponse{} }, 0},
		{"SetACLRequest", &SetACLRequest{Path: "/a", ACL: sampleACL, Version: 1}, func() Record { return &SetACLRequest{} }, 0},
		{"SetACLResponse", &SetACLResponse{Stat: sampleStat}, func() Record { return &SetACLResponse{} }, 0},
		{"GetChildrenRequest", &GetChildrenRequest{Path: "/", Watch: true}, func() Record { return &GetChildrenRequest{} }, 0},
		{"GetChildrenResponse", &GetChildrenResponse{Children: []string{"a", "b", "zookeeper"}}, func() Record { return &GetChildrenResponse{} }, 0},
		{"GetChildren2Request", &GetChildren2Request{Path: "/x"}, func() Record { return &GetChildren2Request{} }, 0},
		{"GetChildren2Response", &GetChildren2Response{Children: []string{"c"}, Stat: sampleStat}, func() Record { return &GetChildren2Response{} }, 0},
		{"SyncRequest", &SyncRequest{Path: "/s"}, func() Record { return &SyncRequest{} }, 0},
		{"SyncResponse", &SyncResponse{Path: "/s"}, func() Record { return &SyncResponse{} }, 0},
		{"CheckVersionRequest", &CheckVersionRequest{Path: "/c", Version: 9}, func() Record { return &CheckVersionRequest{} }, 0},
		{"CheckWatchesRequest", &CheckWatchesRequest{Path: "/c", Type: WatcherData}, func() Record { return &CheckWatchesRequest{} }, 0},
		{"RemoveWatchesRequest", &RemoveWatchesRequest{Path: "/c", Type: WatcherAny}, func() Record { return &RemoveWatchesRequest{} }, 0},
		{"GetEphemeralsRequest", &GetEphemeralsRequest{PrefixPath: "/e"}, func() Record { return &GetEphemeralsRequest{} }, 0},
		{"GetEphemeralsResponse", &GetEphemeralsResponse{Ephemerals: []string{"/e/1", "/e/2"}}, func() Record { return &GetEphemeralsResponse{} }, 0},
		{"GetAllChildrenNumberRequest", &GetAllChildrenNumberRequest{Path: "/"}, func() Record { return &GetAllChildrenNumberRequest{} }, 0},
		{"GetAllChildrenNumberResponse", &GetAllChildrenNumberResponse{TotalNumber: 42}, func() Record { return &GetAllChildrenNumberResponse{} }, 0},
		{"AddWatchRequest", &AddWatchRequest{Path: "/w", Mode: AddWatchPersistentRecursive}, func() Record { return &AddWatchRequest{} }, 0},
		{"ReconfigRequest", &ReconfigRequest{JoiningServers: "server.4=h:2888:3888;2181", LeavingServers: "2", NewMembers: "", CurConfigID: -1}, func() Record { return &ReconfigRequest{} }, 0},
		{"MultiHeader", &MultiHeader{Type: OpCreate, Done: false, Err: -1}, func() Record { return &MultiHeader{} }, 0},
		{"MultiRequest", sampleMultiRequest(), func() Record { return &MultiRequest{} }, 0},
		{"MultiReadRequest", sampleMultiReadRequest(), func() Record { return &MultiRequest{} }, 0},
		{"MultiResponse", sampleMultiResponse(), func() Record { return &MultiResponse{} }, 0},
	}
}

func encode(rec Record) []byte {
	var w jute.Writer
	rec.Encode(&w)
	return w.Bytes()
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range recordCases() {
		t.Run(tc.name, func(t *testing.T) {
			b := encode(tc.rec)
			got := tc.fresh()
			r := jute.NewReader(b)
			if err := got.Decode(r); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if r.Remaining() != 0 {
				t.Errorf("got %d bytes left, want 0", r.Remaining())
			}
			if !reflect.DeepEqual(got, tc.rec) {
				t.Errorf("got %+v, want %+v", got, tc.rec)
			}
		})
	}
}

// TestTruncated decodes every strict prefix of every record: all must fail
// (except where only an optional trailing field is missing), none may panic.
func TestTruncated(t *testing.T) {
	for _, tc := range recordCases() {
		t.Run(tc.name, func(t *testing.T) {
			b := encode(tc.rec)
			for n := 0; n < len(b); n++ {
				err := tc.fresh().Decode(jute.NewReader(b[:n]))
				optional := n >= len(b)-tc.optionalTail
				if optional && err != nil {
					t.Errorf("prefix %d/%d: got %v, want success (optional tail)", n, len(b), err)
				}
				if !optional && err == nil {
					t.Errorf("prefix %d/%d: got nil error, want failure", n, len(b))
				}
			}
		})
	}
}

func TestNullAndEmpty(t *testing.T) {
	// A null vector (-1) and a null buffer decode to nil; nil vectors encode
	// as empty, nil buffers as null.
	var w jute.Writer
	w.VecLen(-1)
	var gc GetChildrenResponse
	if err := gc.Decode(jute.NewReader(w.Bytes())); err != nil || gc.Children != nil {
		t.Errorf("null vector: got %v %v, want nil nil", gc.Children, err)
	}
	if got := encode(&GetChildrenResponse{}); string(got) != "\x00\x00\x00\x00" {
		t.Errorf("nil vector: got % x, want 00 00 00 00", got)
	}
	if got := encode(&GetDataResponse{}); string(got[:4]) != "\xff\xff\xff\xff" {
		t.Errorf("nil data: got % x, want ff ff ff ff prefix", got[:4])
	}
	var gd GetDataResponse
	if err := gd.Decode(jute.NewReader(encode(&GetDataResponse{Data: []byte{}}))); err != nil || gd.Data == nil {
		t.Errorf("empty data: got %v %v, want non-nil empty", gd.Data, err)
	}
}

func TestBadLengths(t *testing.T) {
	be := func(v int32) []byte { var w jute.Writer; w.Int(v); return w.Bytes() }
	tests := []struct {
		name string
		in   []byte
		rec  Record
		want error
	}{
		{"negative path", be(-2), &GetDataRequest{}, jute.ErrNegativeLength},
		{"huge path", be(1 << 30), &GetDataRequest{}, jute.ErrTooLarge},
		{"negative acl count", append(append(be(1), '/'), append(be(-1), be(-5)...)...), &CreateRequest{}, jute.ErrNegativeLength},
		{"huge acl count", append(append(be(1), '/'), append(be(-1), be(1<<30)...)...), &CreateRequest{}, jute.ErrTooLarge},
		// 10 ACLs need at least 120 bytes; 40 are present.
		{"acl count vs min size", append(append(be(1), '/'), append(append(be(-1), be(10)...), make([]byte, 40)...)...), &CreateRequest{}, jute.ErrTooLarge},
		{"huge children", be(0x7fffffff), &GetChildrenResponse{}, jute.ErrTooLarge},
		{"children count vs min size", append(be(3), make([]byte, 11)...), &GetChildrenResponse{}, jute.ErrTooLarge},
		{"negative data", append(append(be(1), '/'), be(-3)...), &SetDataRequest{}, jute.ErrNegativeLength},
		{"negative passwd", append(make([]byte, 24), be(-7)...), &ConnectRequest{}, jute.ErrNegativeLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.rec.Decode(jute.NewReader(tc.in)); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestConnectRequestReadOnly(t *testing.T) {
	base := ConnectRequest{ProtocolVersion: 0, LastZxidSeen: 1, TimeOut: 4000, SessionID: 0, Passwd: make([]byte, 16)}
	without := encode(&base)
	withRO := append(append([]byte{}, without...), 1)
	tests := []struct {
		name              string
		in                []byte
		wantRO, wantHasRO bool
	}{
		{"old client", without, false, false},
		{"readOnly true", withRO, true, true},
		{"readOnly false", append(append([]byte{}, without...), 0), false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got ConnectRequest
			if err := got.Decode(jute.NewReader(tc.in)); err != nil {
				t.Fatal(err)
			}
			if got.ReadOnly != tc.wantRO || got.HasReadOnly != tc.wantHasRO {
				t.Errorf("got ReadOnly=%v HasReadOnly=%v, want %v %v", got.ReadOnly, got.HasReadOnly, tc.wantRO, tc.wantHasRO)
			}
			if got.TimeOut != 4000 || got.LastZxidSeen != 1 || len(got.Passwd) != 16 {
				t.Errorf("got %+v, want fields of %+v", got, base)
			}
		})
	}
	// Encoding honours HasReadOnly.
	if got := encode(&ConnectRequest{ReadOnly: true}); len(got) != len(encode(&ConnectRequest{}))+0 {
		t.Errorf("HasReadOnly=false: got %d bytes, want no readOnly byte", len(got))
	}
	// The response always carries the byte.
	if got, want := len(encode(&ConnectResponse{})), 4+4+8+4+1; got != want {
		t.Errorf("ConnectResponse: got %d bytes, want %d", got, want)
	}
}

func TestKnownEncoding(t *testing.T) {
	// GetDataRequest{"/a", true} as a Java client sends it.
	got := encode(&GetDataRequest{Path: "/a", Watch: true})
	want := []byte{0, 0, 0, 2, '/', 'a', 1}
	if string(got) != string(want) {
		t.Errorf("GetDataRequest: got % x, want % x", got, want)
	}
	got = encode(&ReplyHeader{Xid: -1, Zxid: -1, Err: ErrOK})
	want = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}
	if string(got) != string(want) {
		t.Errorf("ReplyHeader: got % x, want % x", got, want)
	}
	if n := len(encode(&Stat{})); n != statSize {
		t.Errorf("Stat: got %d bytes, want %d", n, statSize)
	}
}

func TestNewRequest(t *testing.T) {
	tests := []struct {
		op   OpCode
		want Record
		ok   bool
	}{
		{OpCreate, &CreateRequest{}, true},
		{OpCreate2, &CreateRequest{}, true},
		{OpCreateContainer, &CreateRequest{}, true},
		{OpCreateTTL, &CreateTTLRequest{}, true},
		{OpDelete, &DeleteRequest{}, true},
		{OpExists, &ExistsRequest{}, true},
		{OpGetData, &GetDataRequest{}, true},
		{OpSetData, &SetDataRequest{}, true},
		{OpGetACL, &GetACLRequest{}, true},
		{OpSetACL, &SetACLRequest{}, true},
		{OpGetChildren, &GetChildrenRequest{}, true},
		{OpGetChildren2, &GetChildren2Request{}, true},
		{OpSync, &SyncRequest{}, true},
		{OpCheck, &CheckVersionRequest{}, true},
		{OpMulti, &MultiRequest{}, true},
		{OpMultiRead, &MultiRequest{}, true},
		{OpReconfig, &ReconfigRequest{}, true},
		{OpCheckWatches, &CheckWatchesRequest{}, true},
		{OpRemoveWatches, &RemoveWatchesRequest{}, true},
		{OpAuth, &AuthPacket{}, true},
		{OpSetWatches, &SetWatches{}, true},
		{OpSetWatches2, &SetWatches2{}, true},
		{OpSasl, &GetSASLRequest{}, true},
		{OpGetEphemerals, &GetEphemeralsRequest{}, true},
		{OpGetAllChildrenNumber, &GetAllChildrenNumberRequest{}, true},
		{OpAddWatch, &AddWatchRequest{}, true},
		{OpPing, &Empty{}, true},
		{OpCloseSession, &Empty{}, true},
		{OpWhoAmI, &Empty{}, true},
		{OpNotification, nil, false},
		{OpCreateSession, nil, false},
		{OpDeleteContainer, nil, false},
		{OpError, nil, false},
		{OpCode(10), nil, false},
		{OpCode(9999), nil, false},
	}
	for _, tc := range tests {
		got, ok := NewRequest(tc.op)
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("NewRequest(%v): got %T %v, want %T %v", tc.op, got, ok, tc.want, tc.ok)
		}
	}
	// Fresh each time: two calls never share a record.
	a, _ := NewRequest(OpGetData)
	b, _ := NewRequest(OpGetData)
	if a == b {
		t.Errorf("NewRequest returned the same record twice")
	}
}

// TestFieldOrder pins the wire order of the multi-field records against
// zookeeper.jute, written out with jute primitives field by field.
func TestFieldOrder(t *testing.T) {
	tests := []struct {
		name string
		rec  Record
		want func(w *jute.Writer)
	}{
		{"Stat", &Stat{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, func(w *jute.Writer) {
			w.Long(1) // czxid
			w.Long(2) // mzxid
			w.Long(3) // ctime
			w.Long(4) // mtime
			w.Int(5)  // version
			w.Int(6)  // cversion
			w.Int(7)  // aversion
			w.Long(8) // ephemeralOwner
			w.Int(9)  // dataLength
			w.Int(10) // numChildren
			w.Long(11)
		}},
		{"CreateTTLRequest", &CreateTTLRequest{Path: "/p", Data: []byte("d"), ACL: []ACL{{Perms: 31, ID: ID{"world", "anyone"}}}, Flags: 5, TTL: 9}, func(w *jute.Writer) {
			w.String("/p")
			w.Buffer([]byte("d"))
			w.VecLen(1)
			w.Int(31)
			w.String("world")
			w.String("anyone")
			w.Int(5)
			w.Long(9)
		}},
		{"ConnectRequest", &ConnectRequest{ProtocolVersion: 1, LastZxidSeen: 2, TimeOut: 3, SessionID: 4, Passwd: []byte{5}, ReadOnly: true, HasReadOnly: true}, func(w *jute.Writer) {
			w.Int(1)
			w.Long(2)
			w.Int(3)
			w.Long(4)
			w.Buffer([]byte{5})
			w.Bool(true)
		}},
		{"ConnectResponse", &ConnectResponse{ProtocolVersion: 1, TimeOut: 2, SessionID: 3, Passwd: []byte{4}}, func(w *jute.Writer) {
			w.Int(1)
			w.Int(2)
			w.Long(3)
			w.Buffer([]byte{4})
			w.Bool(false)
		}},
		{"SetDataRequest", &SetDataRequest{Path: "/p", Data: []byte("d"), Version: 7}, func(w *jute.Writer) {
			w.String("/p")
			w.Buffer([]byte("d"))
			w.Int(7)
		}},
		{"SetACLRequest", &SetACLRequest{Path: "/p", Version: 7}, func(w *jute.Writer) {
			w.String("/p")
			w.VecLen(0)
			w.Int(7)
		}},
		{"GetChildren2Response", &GetChildren2Response{Children: []string{"a"}}, func(w *jute.Writer) {
			w.VecLen(1)
			w.String("a")
			(&Stat{}).Encode(w)
		}},
		{"WatcherEvent", &WatcherEvent{Type: 1, State: 3, Path: "/p"}, func(w *jute.Writer) {
			w.Int(1)
			w.Int(3)
			w.String("/p")
		}},
		{"AuthPacket", &AuthPacket{Type: 0, Scheme: "digest", Auth: []byte("a:b")}, func(w *jute.Writer) {
			w.Int(0)
			w.String("digest")
			w.Buffer([]byte("a:b"))
		}},
		{"ReconfigRequest", &ReconfigRequest{"j", "l", "n", 4}, func(w *jute.Writer) {
			w.String("j")
			w.String("l")
			w.String("n")
			w.Long(4)
		}},
		{"MultiHeader", &MultiHeader{Type: OpCheck, Done: true, Err: ErrNoNode}, func(w *jute.Writer) {
			w.Int(13)
			w.Bool(true)
			w.Int(-101)
		}},
	}
	for _, tc := range tests {
		var want jute.Writer
		tc.want(&want)
		if got := encode(tc.rec); string(got) != string(want.Bytes()) {
			t.Errorf("%s: got % x, want % x", tc.name, got, want.Bytes())
		}
	}
}

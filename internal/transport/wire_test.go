package transport

import (
	"bytes"
	"errors"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/zkd-io/zkd/internal/jute"
)

func TestMembersTextAndFingerprint(t *testing.T) {
	a := []Member{{ID: 3, Addr: "10.0.0.3:2888", Observer: true}, {ID: 1, Addr: "10.0.0.1:2888"}, {ID: 2, Addr: "10.0.0.2:2888"}}
	b := []Member{a[1], a[2], a[0]}
	if got, want := membersText(sortedMembers(a)), "[1=10.0.0.1:2888 2=10.0.0.2:2888 3=10.0.0.3:2888:observer]"; got != want {
		t.Fatalf("membersText: got %q, want %q", got, want)
	}
	if fingerprint(sortedMembers(a)) != fingerprint(sortedMembers(b)) {
		t.Fatal("fingerprint depends on the order of server.N lines, want it not to")
	}
	tests := []struct {
		name string
		ms   []Member
	}{
		{"observer flag", []Member{a[1], a[2], {ID: 3, Addr: "10.0.0.3:2888"}}},
		{"address", []Member{a[1], a[2], {ID: 3, Addr: "10.0.0.4:2888", Observer: true}}},
		{"id", []Member{a[1], a[2], {ID: 4, Addr: "10.0.0.3:2888", Observer: true}}},
		{"member missing", []Member{a[1], a[2]}},
		// Address bytes that would run into the next id without the length prefix.
		{"ambiguous split", []Member{{ID: 1, Addr: "10.0.0.1:2888\x00"}, a[2], a[0]}},
	}
	for _, tc := range tests {
		if fingerprint(sortedMembers(tc.ms)) == fingerprint(sortedMembers(a)) {
			t.Errorf("%s: got the same fingerprint for different lists, want different", tc.name)
		}
	}
}

func TestHelloRoundTrip(t *testing.T) {
	ms := []Member{{ID: 1, Addr: "a:1"}, {ID: 2, Addr: "b:2"}}
	for _, h := range []hello{helloFor(ms, 1, 2), {version: protocolVersion, kind: connSnapshot, from: 9, to: 8}} {
		frame := appendHello([]byte("prefix"), h)
		b, err := jute.ReadFrame(bytes.NewReader(frame[len("prefix"):]), nil, maxHelloFrame)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeHello(b)
		if err != nil || got != h {
			t.Fatalf("got %+v, %v; want %+v", got, err, h)
		}
	}
	var ve *versionError
	bad := helloFor(ms, 1, 2)
	bad.version = 2
	if _, err := decodeHello(appendHello(nil, bad)[4:]); !errors.As(err, &ve) || ve.got != 2 {
		t.Fatalf("version 2: got %v, want a versionError for 2", err)
	}
}

func TestStreamFrames(t *testing.T) {
	var buf []byte
	buf, err := appendRaftFrame(buf, appMsgTo(1, 2, 3))
	if err != nil {
		t.Fatal(err)
	}
	buf = appendAppFrame(buf, 9, []byte("liveness"))
	buf = appendAppFrame(buf, 1, nil)
	buf = appendRefuse(buf, "go away")
	r := bytes.NewReader(buf)
	var got []frame
	for {
		b, err := jute.ReadFrame(r, nil, maxFrame)
		if err != nil {
			break
		}
		f, err := decodeFrame(b)
		if err != nil {
			t.Fatal(err)
		}
		f.payload = bytes.Clone(f.payload)
		got = append(got, f)
	}
	if len(got) != 4 {
		t.Fatalf("got %d frames, want 4", len(got))
	}
	if !proto.Equal(got[0].msg, appMsgTo(1, 2, 3)) {
		t.Fatalf("raft frame: got %v, want the message sent", got[0].msg)
	}
	if got[1].appKind != 9 || string(got[1].payload) != "liveness" || got[2].appKind != 1 || len(got[2].payload) != 0 {
		t.Fatalf("app frames: got %+v %+v", got[1], got[2])
	}
	if got[3].kind != kindRefuse || got[3].reason != "go away" {
		t.Fatalf("refuse frame: got %+v", got[3])
	}
}

func TestSnapFrames(t *testing.T) {
	hdr, err := appendSnapHeader(nil, snapMsg(1, 2, 77), 12345)
	if err != nil {
		t.Fatal(err)
	}
	m, size, err := decodeSnapHeader(hdr[4:])
	if err != nil || size != 12345 || m.GetSnapshot().GetMetadata().GetIndex() != 77 {
		t.Fatalf("got %v size %d err %v, want index 77 size 12345", m, size, err)
	}
	if _, _, err := decodeSnapHeader(mustHeader(t, appMsgTo(1, 2, 1), 1)[4:]); err == nil {
		t.Fatal("header carrying MsgApp: got no error, want one")
	}
	huge := mustHeader(t, snapMsg(1, 2, 1), 1)
	huge[5] = 0xff // size byte 0: far beyond maxSnapshotSize
	if _, _, err := decodeSnapHeader(huge[4:]); err == nil {
		t.Fatal("header with a huge size: got no error, want one")
	}
	if err := decodeSnapStatus(appendSnapStatus(nil, nil)[4:]); err != nil {
		t.Fatalf("ok status: got %v, want nil", err)
	}
	if err := decodeSnapStatus(appendSnapStatus(nil, errors.New("disk full"))[4:]); err == nil || err.Error() != "receiver failed: disk full" {
		t.Fatalf("failed status: got %v, want 'receiver failed: disk full'", err)
	}
}

func mustHeader(t *testing.T, m *raftpb.Message, size int64) []byte {
	t.Helper()
	b, err := appendSnapHeader(nil, m, size)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzFrames feeds arbitrary bytes through the framing and every frame
// decoder: nothing may panic, and a hello that decodes re-encodes the same.
func FuzzFrames(f *testing.F) {
	ms := []Member{{ID: 1, Addr: "127.0.0.1:2888"}, {ID: 2, Addr: "127.0.0.1:2889", Observer: true}}
	seed := appendHello(nil, helloFor(ms, 1, 2))
	seed, _ = appendRaftFrame(seed, appMsgTo(1, 2, 3))
	seed = appendAppFrame(seed, 4, []byte("x"))
	seed, _ = appendSnapHeader(seed, snapMsg(1, 2, 5), 10)
	seed = appendSnapStatus(seed, errors.New("no"))
	seed = appendRefuse(seed, "why")
	f.Add(seed)
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 1, 'H'})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		var buf []byte
		for range 64 {
			b, err := jute.ReadFrame(r, buf, maxHelloFrame)
			if err != nil {
				return
			}
			buf = b[:0]
			if h, err := decodeHello(b); err == nil {
				if again := appendHello(nil, h); !bytes.Equal(again[4:], b) {
					t.Fatalf("hello %x re-encodes as %x", b, again[4:])
				}
			}
			decodeFrame(b)
			decodeRefuse(b)
			decodeSnapHeader(b)
			decodeSnapStatus(b)
		}
	})
}

package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/zkd-io/zkd/internal/jute"
)

// soloNode starts transport 1 of a three-member ensemble whose members 2 and
// 3 are played by the test over raw connections (nothing listens at their
// addresses, so 1's own dials fail and retry quietly).
func soloNode(t *testing.T) (*node, []Member) {
	t.Helper()
	lns := []net.Listener{listen(t), listen(t), listen(t)}
	ms := membersOf(lns)
	lns[1].Close()
	lns[2].Close()
	return startNode(t, 1, ms, lns[0], newRecHandler()), ms
}

func helloFor(ms []Member, from, to uint64) hello {
	sorted := sortedMembers(ms)
	return hello{version: protocolVersion, kind: connStream, fingerprint: fingerprint(sorted),
		from: from, to: to, members: membersText(sorted)}
}

func rawDial(t *testing.T, tr *Transport) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", tr.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(waitTimeout))
	t.Cleanup(func() { c.Close() })
	return c
}

func mustRaftFrame(t *testing.T, m *raftpb.Message) []byte {
	t.Helper()
	b, err := appendRaftFrame(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawHandshake opens an accepted stream from peer 2 to transport 1.
func rawHandshake(t *testing.T, n *node, ms []Member) net.Conn {
	t.Helper()
	c := rawDial(t, n.tr)
	if _, err := c.Write(appendHello(nil, helloFor(ms, 2, 1))); err != nil {
		t.Fatal(err)
	}
	b, err := jute.ReadFrame(c, nil, maxHelloFrame)
	if err != nil {
		t.Fatalf("reading handshake reply: %v", err)
	}
	h, err := decodeHello(b)
	if err != nil || h.from != 1 || h.to != 2 {
		t.Fatalf("handshake reply: got %+v, %v; want a hello from 1 to 2", h, err)
	}
	return c
}

// expectClosed reads until the peer closes c, failing if it sends a frame
// other than a refusal or keeps it open.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("connection still open, want it closed")
	}
}

func TestHandshakeRefusals(t *testing.T) {
	checkGoroutines(t)
	n, ms := soloNode(t)
	other := append(append([]Member(nil), ms...), Member{ID: 4, Addr: "127.0.0.1:9", Observer: true})

	badVersion := helloFor(ms, 2, 1)
	badVersion.version = 9
	snapKindOnly := helloFor(ms, 2, 1)
	snapKindOnly.kind = 7
	tests := []struct {
		name  string
		frame []byte
		want  string // in the refusal and the log
	}{
		{"unknown sender", appendHello(nil, helloFor(ms, 9, 1)), "server id 9 is not a member of this ensemble [1="},
		{"wrong receiver", appendHello(nil, helloFor(ms, 2, 3)), "connection meant for server 3 reached server 1"},
		{"own id", appendHello(nil, helloFor(ms, 1, 1)), "two servers have the same myid"},
		{"different member list", appendHello(nil, helloFor(other, 2, 1)),
			fmt.Sprintf("peer 2 has a different server list: theirs %s ours %s: every server's zoo.cfg must list the same server.N lines",
				membersText(sortedMembers(other)), membersText(sortedMembers(ms)))},
		{"unsupported version", appendHello(nil, badVersion), "protocol version 9 is not supported (this server speaks version 1)"},
		{"unknown connection kind", appendHello(nil, snapKindOnly), "unknown connection kind 7"},
		{"bad magic", jute.AppendFrame(nil, []byte("Hnope0123456789")), "not a zkd peer handshake"},
		{"short hello", jute.AppendFrame(nil, appendHello(nil, helloFor(ms, 2, 1))[4:30]), "too short"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := rawDial(t, n.tr)
			// A raft message right behind the hello must not be delivered.
			if _, err := c.Write(append(tc.frame, mustRaftFrame(t, appMsgTo(2, 1, 1))...)); err != nil {
				t.Fatal(err)
			}
			b, err := jute.ReadFrame(c, nil, maxHelloFrame)
			if err != nil {
				t.Fatalf("got %v, want a refusal frame", err)
			}
			reason, ok := decodeRefuse(b)
			if !ok || !strings.Contains(reason, tc.want) {
				t.Fatalf("got frame %q, want a refusal containing %q", b, tc.want)
			}
			expectClosed(t, c)
			n.logs.wait(t, "refused peer connection", tc.want)
		})
	}
	expectNoSteps(t, n.h)

	// Refusals are logged once per peer and reason, not per attempt.
	for range 3 {
		c := rawDial(t, n.tr)
		c.Write(appendHello(nil, helloFor(ms, 9, 1)))
		jute.ReadFrame(c, nil, maxHelloFrame)
		expectClosed(t, c)
	}
	if got := n.logs.count("server id 9 is not a member"); got != 1 {
		t.Fatalf("got %d log lines for a repeated refusal, want 1", got)
	}

	// Control: the same exchange with a valid hello is accepted and delivered.
	c := rawHandshake(t, n, ms)
	c.Write(mustRaftFrame(t, appMsgTo(2, 1, 5)))
	if got := recvSteps(t, n.h, 1)[0].GetIndex(); got != 5 {
		t.Fatalf("got index %d, want 5", got)
	}
}

// TestMemberListMismatch: two real transports with different server lists
// refuse each other, both log why naming both lists, and deliver nothing.
func TestMemberListMismatch(t *testing.T) {
	checkGoroutines(t)
	lns := []net.Listener{listen(t), listen(t)}
	ms1 := membersOf(lns)
	ms2 := append(membersOf(lns), Member{ID: 3, Addr: "127.0.0.1:9", Observer: true})
	a := startNode(t, 1, ms1, lns[0], newRecHandler())
	b := startNode(t, 2, ms2, lns[1], newRecHandler())
	text1, text2 := membersText(sortedMembers(ms1)), membersText(sortedMembers(ms2))
	const hint = "every server's zoo.cfg must list the same server.N lines"
	// Each side refuses the other's dial and sees its own dial refused.
	a.logs.wait(t, "refused peer connection", "peer 2 has a different server list: theirs "+text2+" ours "+text1)
	a.logs.wait(t, "peer connection refused", "peer 1 has a different server list", hint)
	b.logs.wait(t, "refused peer connection", "peer 1 has a different server list: theirs "+text1+" ours "+text2)
	b.logs.wait(t, "peer connection refused", "peer 2 has a different server list", hint)
	if a.tr.Connected(2) || b.tr.Connected(1) {
		t.Fatal("got a connection between mismatched ensembles, want none")
	}
	a.tr.Send([]*raftpb.Message{appMsgTo(1, 2, 1)})
	b.tr.Send([]*raftpb.Message{appMsgTo(2, 1, 1)})
	expectUnreachable(t, a.h, 2)
	expectUnreachable(t, b.h, 1)
	expectNoSteps(t, a.h)
	expectNoSteps(t, b.h)
}

// TestDialerChecksReply: the dialer refuses a reply from the wrong server,
// e.g. an address in server.N that reaches another member.
func TestDialerChecksReply(t *testing.T) {
	checkGoroutines(t)
	lns := []net.Listener{listen(t), listen(t), listen(t)}
	ms := membersOf(lns)
	lns[2].Close()
	impostor := lns[1] // answers at 2's address, as server 3
	n := startNode(t, 1, ms, lns[0], newRecHandler())
	done := make(chan string, 1)
	go func() {
		var got string
		defer func() { done <- got }()
		c, err := impostor.Accept()
		if err != nil {
			got = err.Error()
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(waitTimeout))
		if _, err := jute.ReadFrame(c, nil, maxHelloFrame); err != nil {
			got = err.Error()
			return
		}
		c.Write(appendHello(nil, helloFor(ms, 3, 1)))
		b, err := jute.ReadFrame(c, nil, maxHelloFrame)
		if err != nil {
			got = err.Error()
			return
		}
		got, _ = decodeRefuse(b)
	}()
	got := <-done
	impostor.Close()
	const want = "server 3 answered at the address of server 2"
	if !strings.Contains(got, want) {
		t.Fatalf("impostor got %q, want a refusal containing %q", got, want)
	}
	n.logs.wait(t, "peer connection refused", "peer=2", "refused the reply of peer 2", want)
	if n.tr.Connected(2) {
		t.Fatal("Connected(2): got true after refusing the reply, want false")
	}
}

func TestGarbageRefused(t *testing.T) {
	checkGoroutines(t)
	n, ms := soloNode(t)
	random := make([]byte, 4096)
	rand.NewChaCha8([32]byte{7}).Read(random)
	random[0] = 0x7f // a huge positive length
	// ZooKeeper's quorum protocol opens with its version, a negative long.
	zkQuorum := binary.BigEndian.AppendUint64(nil, 0xffffffffffff0000)
	zkQuorum = binary.BigEndian.AppendUint64(zkQuorum, 2)
	tests := []struct {
		name  string
		input []byte
		want  string // refusal reason; "" = closed without one
	}{
		{"http request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "not a zkd peer handshake"},
		{"random bytes", random, "not a zkd peer handshake"},
		{"empty frame", []byte{0, 0, 0, 0}, "not a zkd peer handshake"},
		{"negative length", []byte{0xff, 0xff, 0xff, 0xff, 1, 2}, "not a zkd peer handshake"},
		{"zookeeper quorum peer", zkQuorum, "not a zkd peer handshake"},
		{"truncated frame", []byte{0, 0, 0, 100, 'H', 'z'}, ""},
		{"nothing", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := rawDial(t, n.tr)
			c.Write(tc.input)
			c.(*net.TCPConn).CloseWrite()
			b, err := jute.ReadFrame(c, nil, maxHelloFrame)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("got frame %q, want the connection closed", b)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want a refusal", err)
			}
			if reason, ok := decodeRefuse(b); !ok || !strings.Contains(reason, tc.want) {
				t.Fatalf("got frame %q, want a refusal containing %q", b, tc.want)
			}
			expectClosed(t, c)
		})
	}
	expectNoSteps(t, n.h)
	c := rawHandshake(t, n, ms)
	c.Write(mustRaftFrame(t, appMsgTo(2, 1, 1)))
	recvSteps(t, n.h, 1)
}

// TestBadFramesAfterHandshake: an accepted peer that sends an oversized or
// malformed frame is cut off with a log naming it; the transport lives on.
func TestBadFramesAfterHandshake(t *testing.T) {
	checkGoroutines(t)
	n, ms := soloNode(t)
	tests := []struct {
		name  string
		input []byte
		log   []string
	}{
		{"oversized", binary.BigEndian.AppendUint32(nil, maxFrame+1),
			[]string{"size out of bounds", "peer=2", fmt.Sprint(maxFrame + 1)}},
		{"negative length", binary.BigEndian.AppendUint32(nil, 0x80000000),
			[]string{"size out of bounds", "peer=2", "-2147483648"}},
		{"unknown kind", jute.AppendFrame(nil, []byte("Zzz")), []string{"bad frame from peer", "peer=2", "0x5a"}},
		{"corrupt raft message", jute.AppendFrame(nil, []byte{kindRaft, 0xff, 0xff, 0xff}), []string{"bad frame from peer", "peer=2"}},
		{"app frame without kind", jute.AppendFrame(nil, []byte{kindApp}), []string{"bad frame from peer", "app frame without a kind"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := rawHandshake(t, n, ms)
			c.Write(tc.input)
			expectClosed(t, c)
			n.logs.wait(t, tc.log...)
		})
	}
	expectNoSteps(t, n.h)

	// A message with the wrong sender is dropped, the stream stays up.
	c := rawHandshake(t, n, ms)
	c.Write(mustRaftFrame(t, appMsgTo(3, 1, 1)))
	c.Write(mustRaftFrame(t, appMsgTo(2, 1, 2)))
	if got := recvSteps(t, n.h, 1)[0]; got.GetFrom() != 2 || got.GetIndex() != 2 {
		t.Fatalf("got index %d from %d first, want index 2 from 2", got.GetIndex(), got.GetFrom())
	}
	n.logs.wait(t, "wrong sender or receiver", "from=3")

	// Raft relays proposals and ReadIndex requests with the originator in
	// From: those pass if the originator is a member.
	c.Write(mustRaftFrame(t, raftMsg(raftpb.MessageType_MsgReadIndex, 9, 1, 3)))
	c.Write(mustRaftFrame(t, raftMsg(raftpb.MessageType_MsgReadIndex, 3, 1, 4)))
	if got := recvSteps(t, n.h, 1)[0]; got.GetFrom() != 3 || got.GetIndex() != 4 {
		t.Fatalf("relayed ReadIndex: got index %d from %d, want index 4 from 3 (and nothing from non-member 9)", got.GetIndex(), got.GetFrom())
	}
}

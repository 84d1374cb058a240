package server

import (
	"sync"
	"testing"
	"time"

	"github.com/zkd-io/zkd/internal/jute"
	"github.com/zkd-io/zkd/proto"
)

// A session closed while another connection is resuming it (between the
// handshake's validity check and its registration as the session's
// connection) must not be reported connected: nothing would ever close
// that connection, and its client would sit on a dead session for good.
// kazoo's "expire by closing from a second connection" met this on a
// 3-server ensemble, where the window spans a moveSession commit.
func TestResumeRacingCloseReportsExpired(t *testing.T) {
	s := startServer(t)
	victim := dialRaw(t, s)
	vr := victim.handshake(proto.ConnectRequest{})
	var once sync.Once
	hookErr := make(chan string, 1)
	testHookBeforeAttach = func(hs *Server, id int64) {
		if hs != s || id != vr.SessionID {
			return
		}
		once.Do(func() {
			// The victim closes its own session in the window.
			var h jute.Writer
			hdr := proto.RequestHeader{Xid: 1, Type: proto.OpCloseSession}
			hdr.Encode(&h)
			if _, err := victim.nc.Write(jute.AppendFrame(nil, h.Bytes())); err != nil {
				hookErr <- err.Error()
				return
			}
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				hs.mu.RLock()
				gone := hs.fsm.Session(id) == nil
				hs.mu.RUnlock()
				if gone {
					return
				}
				time.Sleep(time.Millisecond)
			}
			hookErr <- "the close was not applied within 5s"
		})
	}
	t.Cleanup(func() { testHookBeforeAttach = nil })

	impostor := dialRaw(t, s)
	got := impostor.handshake(proto.ConnectRequest{SessionID: vr.SessionID, Passwd: vr.Passwd})
	select {
	case e := <-hookErr:
		t.Fatal(e)
	default:
	}
	if got.TimeOut != 0 || got.SessionID != 0 {
		t.Fatalf("resuming a session closed during the handshake: got timeout %d session 0x%x, want 0 and 0 (expired)", got.TimeOut, got.SessionID)
	}
	if !impostor.closed(2 * time.Second) {
		t.Error("the connection told its session expired was left open")
	}
}

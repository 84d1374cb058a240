package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zkd-io/zkd/client"
)

// Keys as a terminal sends them.
const (
	keyTab   = "\t"
	keyEnter = "\r"
	keyUpArr = "\x1b[A"
	keyCtrlD = "\x04"
)

// editSession is a shell on a line editor driven through a pipe, as the
// terminal would drive it.
type editSession struct {
	t    *testing.T
	sh   *shell
	keys *io.PipeWriter
	out  *safeBuffer // everything the terminal wrote
	hist string      // the history file
	done chan struct{}
}

func startEditSession(t *testing.T, addr string) *editSession {
	t.Helper()
	s := &editSession{t: t, out: &safeBuffer{}, hist: filepath.Join(t.TempDir(), "hist"), done: make(chan struct{})}
	h, err := loadHistory(s.hist, 100)
	if err != nil {
		t.Fatal(err)
	}
	in, keys := io.Pipe()
	s.keys = keys
	ed := newEditor(struct {
		io.Reader
		io.Writer
	}{in, s.out}, h)
	s.sh = newShell(ed.t, ed.t, 10*time.Second, false)
	s.sh.connect(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.sh.conn.WaitConnected(ctx); err != nil {
		t.Fatalf("connect: %v", err)
	}
	go func() {
		defer close(s.done)
		s.sh.editLoop(ed)
		h.Close()
	}()
	t.Cleanup(func() {
		keys.Close()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Errorf("edit loop still running 10s after its input ended")
		}
		s.sh.close()
	})
	return s
}

// typeKeys sends keys; they are handled in order, each command running
// before the keys after it are read.
func (s *editSession) typeKeys(keys ...string) {
	s.t.Helper()
	if _, err := io.WriteString(s.keys, strings.Join(keys, "")); err != nil {
		s.t.Fatalf("typing: %v", err)
	}
}

// waitOutput waits until the terminal output holds want n times.
func (s *editSession) waitOutput(want string, n int) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(s.out.String(), want) < n {
		if time.Now().After(deadline) {
			s.t.Fatalf("terminal output holds %q %d times, want %d; output:\n%q", want, strings.Count(s.out.String(), want), n, s.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEditLoop drives the line editor as a user at a terminal would:
// completion of a command and of paths on the live session, the candidate
// list, history recall with Up, a watch event arriving at the prompt, and
// the history file.
func TestEditLoop(t *testing.T) {
	addr := startZkd(t)
	s := startEditSession(t, addr)
	s.typeKeys("crea", keyTab, "/cmp-one data1", keyEnter)
	s.waitOutput("Created /cmp-one", 1)
	s.typeKeys("create /cmp-two", keyEnter,
		"get /cmp-o", keyTab, keyEnter, // completes to /cmp-one
		"ls /cmp-", keyTab, keyEnter, // two candidates: listed, not completed
		keyUpArr, keyUpArr, keyEnter) // get /cmp-one again
	s.waitOutput("\r\ndata1\r\n", 2)
	s.waitOutput("cmp-one  cmp-two", 1)
	s.waitOutput("Node does not exist: /cmp-", 1)

	// A watch event arriving while the prompt waits is printed above it,
	// and the prompt is drawn again.
	s.typeKeys("get -w /cmp-one", keyEnter)
	s.waitOutput("\r\ndata1\r\n", 3)
	s.waitOutput("(CONNECTED) 6] ", 1) // the prompt after it
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	other, err := client.Connect(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Set(ctx, "/cmp-one", []byte("data2"), -1); err != nil {
		t.Fatal(err)
	}
	s.waitOutput("type:NodeDataChanged path:/cmp-one", 1)
	got := s.out.String()
	if i := strings.LastIndex(got, "NodeDataChanged"); !strings.Contains(got[i:], "(CONNECTED) 6] ") {
		t.Errorf("no prompt drawn after the watch event; output after it: %q", got[i:])
	}
	if strings.Contains(got, "\n") && strings.Count(got, "\r\n") < strings.Count(got, "\n") {
		t.Errorf("terminal output has bare newlines (raw mode needs \\r\\n): %q", got)
	}

	s.typeKeys(keyCtrlD)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("Ctrl-D on an empty line did not end the loop; output:\n%q", s.out.String())
	}
	b, err := os.ReadFile(s.hist)
	if err != nil {
		t.Fatal(err)
	}
	want := "create /cmp-one data1\ncreate /cmp-two\nget /cmp-one\nls /cmp-\nget /cmp-one\nget -w /cmp-one\n"
	if string(b) != want {
		t.Errorf("history file: got %q, want %q", b, want)
	}
}

// TestEditLoopQuit checks that quit ends the loop, and that completion
// without a session lists nothing and does not block.
func TestEditLoopQuit(t *testing.T) {
	s := startEditSession(t, startZkd(t))
	s.typeKeys("close", keyEnter, "ls /z", keyTab, keyEnter)
	s.waitOutput("Not connected", 1)
	s.typeKeys("qu", keyTab, keyEnter)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("quit did not end the loop; output:\n%q", s.out.String())
	}
	if got := s.out.String(); strings.Contains(got, "/zookeeper") {
		t.Errorf("completed a path on a closed session: %q", got)
	}
}

package raftnode

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/raft/v3/raftpb"
)

func TestMain(m *testing.M) {
	// Smaller preallocated WAL segments keep the tests' disk use low.
	wal.SegmentSizeBytes = 4 << 20
	os.Exit(m.Run())
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	if _, ok := t.(*testing.B); ok {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func testConfig(t testing.TB, dir string) Config {
	return Config{
		ID:           1,
		Peers:        []uint64{1},
		WALDir:       filepath.Join(dir, "wal"),
		SnapDir:      filepath.Join(dir, "snap"),
		TickInterval: 10 * time.Millisecond,
		Logger:       testLogger(t),
	}
}

// rec is one applied entry as the toy state machine saw it.
type rec struct {
	Index, Term uint64
	Data        []byte
}

// listSM is an append-only list of applied entries; its snapshot is the
// list encoded. Waiters are keyed by entry data, as the real fsm keys them
// by request id.
type listSM struct {
	mu          sync.Mutex
	ents        []rec
	applyCalls  int
	restoredAt  uint64
	waiters     map[string]chan struct{}
	snapBlock   chan struct{} // when set, serializers wait for it to close
	snapErr     error
	snapEndless bool // serializers write until the writer fails
}

func newListSM() *listSM { return &listSM{waiters: map[string]chan struct{}{}} }

func (s *listSM) Apply(e *raftpb.Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applyCalls++
	s.ents = append(s.ents, rec{e.GetIndex(), e.GetTerm(), bytes.Clone(e.GetData())})
	if ch, ok := s.waiters[string(e.GetData())]; ok && len(e.GetData()) > 0 {
		close(ch)
		delete(s.waiters, string(e.GetData()))
	}
}

func (s *listSM) Snapshot() (func(io.Writer) error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snapErr != nil {
		return nil, s.snapErr
	}
	captured := slices.Clone(s.ents) // records are never modified, so a shallow copy is a point-in-time view
	block := s.snapBlock
	if s.snapEndless {
		return func(w io.Writer) error {
			buf := make([]byte, 4096)
			for {
				if _, err := w.Write(buf); err != nil {
					return err
				}
			}
		}, nil
	}
	return func(w io.Writer) error {
		if block != nil {
			<-block
		}
		var b []byte
		b = binary.BigEndian.AppendUint64(b, uint64(len(captured)))
		for _, r := range captured {
			b = binary.BigEndian.AppendUint64(b, r.Index)
			b = binary.BigEndian.AppendUint64(b, r.Term)
			b = binary.BigEndian.AppendUint32(b, uint32(len(r.Data)))
			b = append(b, r.Data...)
		}
		_, err := w.Write(b)
		return err
	}, nil
}

func (s *listSM) Restore(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(b) < 8 {
		return errors.New("short snapshot")
	}
	n := binary.BigEndian.Uint64(b)
	b = b[8:]
	var ents []rec
	for range n {
		if len(b) < 20 {
			return errors.New("short snapshot record")
		}
		r := rec{Index: binary.BigEndian.Uint64(b), Term: binary.BigEndian.Uint64(b[8:])}
		l := binary.BigEndian.Uint32(b[16:])
		b = b[20:]
		if uint64(len(b)) < uint64(l) {
			return errors.New("short snapshot data")
		}
		r.Data, b = b[:l], b[l:]
		ents = append(ents, r)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ents = ents
	if len(ents) > 0 {
		s.restoredAt = ents[len(ents)-1].Index
	}
	return nil
}

func (s *listSM) snapshotOf() []rec {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ents)
}

// data returns the non-empty payloads in apply order.
func (s *listSM) data() []string {
	var out []string
	for _, r := range s.snapshotOf() {
		if len(r.Data) > 0 {
			out = append(out, string(r.Data))
		}
	}
	return out
}

func (s *listSM) register(data string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	s.waiters[data] = ch
	return ch
}

// proposeWait proposes data and waits until it is applied.
func proposeWait(t testing.TB, n *Node, sm *listSM, data string) {
	t.Helper()
	ch := sm.register(data)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Propose(ctx, []byte(data)); err != nil {
		t.Fatalf("Propose(%q): %v", data, err)
	}
	select {
	case <-ch:
	case <-ctx.Done():
		t.Fatalf("%q not applied within 10s", data)
	}
}

// proposeConcurrently has workers proposers each propose per entries
// ("w<k>-<i>"), in order, each waiting for its entry to be applied.
func proposeConcurrently(t testing.TB, n *Node, sm *listSM, workers, per int) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for _, p := range payloads(fmt.Sprintf("w%d", w), per) {
				proposeWait(t, n, sm, p)
			}
		})
	}
	wg.Wait()
}

func mustStart(t testing.TB, cfg Config, sm StateMachine) *Node {
	t.Helper()
	n, err := Start(cfg, sm)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(n.Stop) // Stop may be called again: a test that forgets it leaves no raft loop behind
	return n
}

// eventually polls cond for up to d; for conditions with no notification
// (file counts, goroutine counts).
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkNoLeak waits for the goroutine count to return to base.
func checkNoLeak(t testing.TB, base int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		got := runtime.NumGoroutine()
		if got <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("got %d goroutines after Stop, want <= %d:\n%s", got, base, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func snapFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "snap-*.snap"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func payloads(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%05d", prefix, i)
	}
	return out
}

package chaos

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/zkd-io/zkd/client"
	"github.com/zkd-io/zkd/proto"
)

// These tests feed hand-made histories to every checker: each wrong one
// must be caught (so the checks can fail) and each right one, including
// the legal effects of unknown outcomes, must pass.

// hb builds a history op by op; times are in arbitrary units.
type hb struct{ ops []op }

func (b *hb) add(proc int, f, key string, in any, call, ret int64, res outcome, out any, errText string) *hb {
	if res == unknown && ret >= 0 {
		ret = -1 // never returned
	}
	b.ops = append(b.ops, op{ID: len(b.ops), Proc: proc, F: f, Key: key, In: in, Call: call, Return: ret, Outcome: res, Out: out, Err: errText})
	return b
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want outcome
	}{
		{"nil", nil, ok},
		{"NoNode", &client.Error{Op: proto.OpGetData, Code: proto.ErrNoNode}, fail},
		{"BadVersion", &client.Error{Op: proto.OpSetData, Code: proto.ErrBadVersion}, fail},
		{"NodeExists", &client.Error{Op: proto.OpCreate, Code: proto.ErrNodeExists}, fail},
		{"ConnectionLoss", &client.Error{Op: proto.OpCreate, Code: proto.ErrConnectionLoss}, unknown},
		{"SessionExpired", &client.Error{Op: proto.OpCreate, Code: proto.ErrSessionExpired}, unknown},
		{"OperationTimeout", &client.Error{Op: proto.OpCreate, Code: proto.ErrOperationTimeout}, unknown},
		{"deadline", &client.Error{Op: proto.OpCreate, Err: context.DeadlineExceeded}, unknown},
		{"closed", &client.Error{Op: proto.OpCreate, Err: client.ErrClosed}, unknown},
		{"bare", errors.New("something"), unknown},
	}
	for _, tt := range tests {
		if got := classify(tt.err); got != tt.want {
			t.Errorf("%s: classify(%v) = %s, want %s", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestRegisterChecker(t *testing.T) {
	const k = "/k"
	v := func(ver int32, val string) regOut { return regOut{Exists: true, Ver: ver, Val: val} }
	tests := []struct {
		name  string
		build func(b *hb)
		legal bool
	}{
		{"sequential", func(b *hb) {
			b.add(0, "create", k, regIn{Val: "a"}, 0, 1, ok, v(0, "a"), "").
				add(0, "write", k, regIn{Val: "b", Ver: -1}, 2, 3, ok, v(1, "b"), "").
				add(1, "read", k, nil, 4, 5, ok, v(1, "b"), "").
				add(1, "cas", k, regIn{Val: "c", Ver: 0}, 6, 7, fail, nil, "zk: setData /k: "+proto.ErrBadVersion.Error())
		}, true},
		{"stale read", func(b *hb) {
			b.add(0, "create", k, regIn{Val: "a"}, 0, 1, ok, v(0, "a"), "").
				add(0, "write", k, regIn{Val: "b", Ver: -1}, 2, 3, ok, v(1, "b"), "").
				add(1, "read", k, nil, 4, 5, ok, v(0, "a"), "")
		}, false},
		{"read of an absent key after its create", func(b *hb) {
			b.add(0, "create", k, regIn{Val: "a"}, 0, 1, ok, v(0, "a"), "").
				add(1, "read", k, nil, 2, 3, ok, regOut{}, "NoNode")
		}, false},
		{"two cas from one version", func(b *hb) {
			b.add(0, "create", k, regIn{Val: "a"}, 0, 1, ok, v(0, "a"), "").
				add(0, "cas", k, regIn{Val: "b", Ver: 0}, 2, 3, ok, v(1, "b"), "").
				add(1, "cas", k, regIn{Val: "c", Ver: 0}, 4, 5, ok, v(1, "c"), "")
		}, false},
		{"a value nobody wrote", func(b *hb) {
			b.add(0, "create", k, regIn{Val: "a"}, 0, 1, ok, v(0, "a"), "").
				add(1, "read", k, nil, 2, 3, ok, v(1, "zzz"), "")
		}, false},
		{"bad version refused although it matched", func(b *hb) {
			b.add(0, "create", k, regIn{Val: "a"}, 0, 1, ok, v(0, "a"), "").
				add(0, "cas", k, regIn{Val: "b", Ver: 0}, 2, 3, fail, nil, "zk: setData /k: "+proto.ErrBadVersion.Error())
		}, false},
		{"unknown write seen later", func(b *hb) {
			b.add(0, "create", k, regIn{Val: "a"}, 0, 1, ok, v(0, "a"), "").
				add(0, "write", k, regIn{Val: "b", Ver: -1}, 2, -1, unknown, nil, "ConnectionLoss").
				add(1, "read", k, nil, 10, 11, ok, v(0, "a"), "").
				add(1, "read", k, nil, 12, 13, ok, v(1, "b"), "")
		}, true},
		{"unknown write never seen", func(b *hb) {
			b.add(0, "create", k, regIn{Val: "a"}, 0, 1, ok, v(0, "a"), "").
				add(0, "cas", k, regIn{Val: "b", Ver: 0}, 2, -1, unknown, nil, "ConnectionLoss").
				add(1, "read", k, nil, 10, 11, ok, v(0, "a"), "")
		}, true},
		{"unknown write seen, then unseen", func(b *hb) {
			b.add(0, "create", k, regIn{Val: "a"}, 0, 1, ok, v(0, "a"), "").
				add(0, "write", k, regIn{Val: "b", Ver: -1}, 2, -1, unknown, nil, "ConnectionLoss").
				add(1, "read", k, nil, 10, 11, ok, v(1, "b"), "").
				add(1, "read", k, nil, 12, 13, ok, v(0, "a"), "")
		}, false},
		{"unknown write seen before it began", func(b *hb) {
			b.add(0, "create", k, regIn{Val: "a"}, 0, 1, ok, v(0, "a"), "").
				add(1, "read", k, nil, 2, 3, ok, v(1, "b"), "").
				add(0, "write", k, regIn{Val: "b", Ver: -1}, 4, -1, unknown, nil, "ConnectionLoss")
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &hb{}
			tt.build(b)
			res := checkRegister(b.ops, 10*time.Second)
			if len(res.timedOut) > 0 {
				t.Fatalf("porcupine timed out on %v", res.timedOut)
			}
			if got := len(res.illegal) == 0; got != tt.legal {
				t.Fatalf("linearizable = %v, want %v", got, tt.legal)
			}
			if !tt.legal {
				if len(res.around[k]) == 0 {
					t.Errorf("no ops picked to show for the illegal history")
				}
				var html strings.Builder
				if err := porcupine.Visualize(registerModel, res.infos[k], &html); err != nil || !strings.Contains(html.String(), "<html") {
					t.Errorf("visualization: err %v, %d bytes of HTML", err, html.Len())
				}
			}
		})
	}
}

// problems asserts that a checker found a problem mentioning want, or
// none when want is "".
func problems(t *testing.T, name string, got []string, want string) {
	t.Helper()
	if want == "" {
		if len(got) > 0 {
			t.Errorf("%s: got problems %q, want none", name, got)
		}
		return
	}
	for _, p := range got {
		if strings.Contains(p, want) {
			return
		}
	}
	t.Errorf("%s: got problems %q, want one mentioning %q", name, got, want)
}

func TestSetChecker(t *testing.T) {
	b := (&hb{}).add(0, "add", "a", nil, 0, 1, ok, nil, "").
		add(1, "add", "b", nil, 0, -1, unknown, nil, "").
		add(2, "add", "c", nil, 0, 1, fail, nil, "NodeExists")
	tests := []struct {
		name  string
		final []string
		want  string
	}{
		{"all there", []string{"a", "b"}, ""},
		{"unknown absent", []string{"a"}, ""},
		{"acknowledged lost", []string{"b"}, "acknowledged adds missing"},
		{"never added", []string{"a", "zz"}, "never added"},
		{"failed add present", []string{"a", "c"}, "whose add failed"},
	}
	for _, tt := range tests {
		problems(t, tt.name, checkSet(b.ops, tt.final), tt.want)
	}
}

// The long mode's summary counts lost acknowledged writes from the set
// checker's problems.
func TestLostCountFromProblems(t *testing.T) {
	b := (&hb{}).add(0, "add", "a", nil, 0, 1, ok, nil, "").
		add(1, "add", "b", nil, 0, 1, ok, nil, "").
		add(2, "add", "c", nil, 0, 1, ok, nil, "")
	r := &run{}
	for _, p := range checkSet(b.ops, []string{"b"}) {
		r.noteLost(p)
	}
	r.noteLost("3 events for /k before a read") // not a loss
	if r.lost != 2 {
		t.Errorf("lost acknowledged writes: got %d, want 2", r.lost)
	}
}

func TestIDsChecker(t *testing.T) {
	p := idsParent(0)
	path := func(n int) string { return fmt.Sprintf("%s/id-%010d", p, n) }
	tests := []struct {
		name string
		b    *hb
		want string
	}{
		{"increasing", (&hb{}).add(0, "create", p, "t0", 0, 1, ok, path(1), "").add(1, "create", p, "t1", 2, 3, ok, path(2), ""), ""},
		{"concurrent, any order", (&hb{}).add(0, "create", p, "t0", 0, 5, ok, path(2), "").add(1, "create", p, "t1", 1, 3, ok, path(1), ""), ""},
		{"duplicate", (&hb{}).add(0, "create", p, "t0", 0, 5, ok, path(1), "").add(1, "create", p, "t1", 1, 3, ok, path(1), ""), "handed out twice"},
		{"decreasing in real time", (&hb{}).add(0, "create", p, "t0", 0, 1, ok, path(5), "").add(1, "create", p, "t1", 2, 3, ok, path(4), ""), "lower or equal"},
	}
	for _, tt := range tests {
		problems(t, tt.name, checkIDs(tt.b.ops), tt.want)
	}

	b := (&hb{}).add(0, "create", p, "t0", 0, 1, ok, path(1), "").
		add(1, "create", p, "t1", 0, -1, unknown, nil, "").
		add(2, "create", p, "t2", 0, 1, fail, nil, "")
	finals := []struct {
		name  string
		final map[string]string
		want  string
	}{
		{"with the unknown one", map[string]string{path(1): "t0", path(2): "t1"}, ""},
		{"lost", map[string]string{path(2): "t1"}, "acknowledged creates missing"},
		{"wrong data", map[string]string{path(1): "t1"}, "which was told"},
		{"failed create present", map[string]string{path(1): "t0", path(3): "t2"}, "failed create"},
		{"created twice", map[string]string{path(1): "t0", path(2): "t1", path(3): "t1"}, "created twice"},
	}
	for _, tt := range finals {
		problems(t, tt.name, checkIDsFinal(b.ops, tt.final, true), tt.want)
	}
}

func TestCounterChecker(t *testing.T) {
	names := func(tag string, n, k int) []string {
		var out []string
		for i := 0; i < k; i++ {
			out = append(out, counterName(tag, n, i))
		}
		return out
	}
	b := (&hb{}).add(0, "add", "c0-0", 3, 0, 1, ok, nil, "").
		add(1, "add", "c1-0", 2, 0, -1, unknown, nil, "").
		add(2, "add", "c2-0", 1, 0, 1, fail, nil, "")
	all := append(names("c0-0", 3, 3), names("c1-0", 2, 2)...)
	finals := []struct {
		name  string
		final []string
		want  string
	}{
		{"unknown applied", all, ""},
		{"unknown not applied", names("c0-0", 3, 3), ""},
		{"acknowledged partial", names("c0-0", 3, 2), "missing or partial"},
		{"unknown partial", append(names("c0-0", 3, 3), names("c1-0", 2, 1)...), "missing or partial"},
		{"failed present", append(names("c0-0", 3, 3), names("c2-0", 1, 1)...), "failed adds present"},
		{"stranger", append(names("c0-0", 3, 3), "x_1_0"), "children of no add"},
	}
	for _, tt := range finals {
		problems(t, tt.name, checkCounterFinal(b.ops, tt.final), tt.want)
	}

	reads := []struct {
		name string
		read counterOut
		want string
	}{
		{"fine", countChildren(names("c0-0", 3, 3)), ""},
		{"partial multi", countChildren(names("c0-0", 3, 2)), "only part of multis"},
		{"too few", counterOut{Count: 2}, "acknowledged before it began"},
		{"too many", counterOut{Count: 9}, "more than"},
	}
	for _, tt := range reads {
		rb := (&hb{}).add(0, "add", "c0-0", 3, 0, 1, ok, nil, "").
			add(1, "add", "c1-0", 2, 0, -1, unknown, nil, "").
			add(3, "read", "", nil, 5, 6, ok, tt.read, "")
		problems(t, tt.name, checkCounterReads(rb.ops), tt.want)
	}
}

func TestQueueChecker(t *testing.T) {
	item := func(n int) string { return fmt.Sprintf("item-%010d", n) }
	path := func(n int) string { return queueRoot + "/" + item(n) }
	base := func() *hb {
		return (&hb{}).add(0, "enqueue", "", "v1", 0, 1, ok, path(1), "").
			add(0, "enqueue", "", "v2", 2, 3, ok, path(2), "").
			add(0, "enqueue", "", "v3", 4, 5, ok, path(3), "")
	}
	deq := func(b *hb, n int, headVer int32, res outcome) *hb {
		return b.add(1, "dequeue", item(n), deqIn{Item: item(n), HeadVer: headVer, Value: fmt.Sprintf("v%d", n)}, 10+int64(headVer)*2, 11+int64(headVer)*2, res, nil, "")
	}
	tests := []struct {
		name      string
		b         *hb
		remaining map[string]string
		headVer   int32
		want      string
	}{
		{"in order", deq(deq(base(), 1, 0, ok), 2, 1, ok), map[string]string{path(3): "v3"}, 2, ""},
		{"unknown dequeue applied", deq(deq(base(), 1, 0, ok), 2, 1, unknown), map[string]string{path(3): "v3"}, 2, ""},
		{"lost", deq(base(), 1, 0, ok), map[string]string{path(3): "v3"}, 1, "neither dequeued nor still queued"},
		{"twice", deq(deq(base(), 1, 0, ok), 1, 1, ok), map[string]string{path(2): "v2", path(3): "v3"}, 2, "dequeued twice"},
		{"out of order", deq(deq(base(), 2, 0, ok), 1, 1, ok), map[string]string{path(3): "v3"}, 2, "out of order"},
		{"same head version", deq(deq(base(), 1, 0, ok), 2, 0, ok), map[string]string{path(3): "v3"}, 1, "two dequeues succeeded"},
		{"dequeued still there", deq(base(), 1, 0, ok), map[string]string{path(1): "v1", path(2): "v2", path(3): "v3"}, 1, "which was dequeued"},
		{"phantom", base(), map[string]string{path(1): "v1", path(2): "v2", path(3): "v3", path(4): "v9"}, 0, "never (possibly) enqueued"},
		{"head version", deq(base(), 1, 0, ok), map[string]string{path(2): "v2", path(3): "v3"}, 3, "head version 3"},
	}
	for _, tt := range tests {
		problems(t, tt.name, checkQueue(tt.b.ops, tt.remaining, tt.headVer), tt.want)
	}
}

func TestSessionChecker(t *testing.T) {
	obs := func(own string, names ...string) observation { return observation{Session: own, Names: names} }
	life := func() *hb {
		return (&hb{}).add(0, "create", "sa-0", "a", 0, 1, ok, nil, "").
			add(0, "ping", "a", nil, 10, 11, ok, nil, "").
			add(0, "abandon", "a", nil, 12, 20, ok, nil, "")
	}
	tests := []struct {
		name string
		b    *hb
		want string
	}{
		{"fine", life().
			add(1, "sync-read", "server.1", "o", 2, 3, ok, obs("o", "sa-0"), "").
			add(1, "read", "server.1", "o", 14, 15, ok, obs("o", "sa-0"), "").
			add(1, "sync-read", "server.1", "o", 21, 22, ok, obs("o"), ""), ""},
		{"reappears", life().
			add(1, "read", "server.1", "o", 2, 3, ok, obs("o", "sa-0"), "").
			add(1, "read", "server.1", "o", 14, 15, ok, obs("o"), "").
			add(1, "read", "server.1", "o", 16, 17, ok, obs("o", "sa-0"), ""), "reappeared"},
		{"other observer sessions may lag", life().
			add(1, "read", "server.1", "o", 14, 15, ok, obs("o"), "").
			add(2, "read", "server.2", "p", 16, 17, ok, obs("p", "sa-0"), ""), ""},
		{"visible after the end", life().
			add(1, "sync-read", "server.1", "o", 21, 22, ok, obs("o", "sa-0"), ""), "after the end of session a was confirmed"},
		{"missing while alive", life().
			add(1, "sync-read", "server.1", "o", 2, 3, ok, obs("o"), ""), "does not list it"},
	}
	for _, tt := range tests {
		problems(t, tt.name, checkSessions(tt.b.ops), tt.want)
	}
}

func TestWatchChecker(t *testing.T) {
	observe := func(pre, base, vers []int32, evPre, evEnd []int, bad string) *hb {
		return (&hb{}).add(0, "observe", "", observeIn{Pre: pre, Base: base}, 0, 1, ok, observeOut{Vers: vers, EventsPre: evPre, EventsEnd: evEnd, Bad: bad}, "")
	}
	tests := []struct {
		name string
		b    *hb
		want string
	}{
		{"exact", observe([]int32{3, 5}, []int32{3, 5}, []int32{6, 5}, []int{3, 0}, []int{3, 0}, ""), ""},
		{"change during setup", observe([]int32{3, 5}, []int32{4, 5}, []int32{6, 5}, []int{3, 0}, []int{3, 0}, ""), ""},
		{"missed", observe([]int32{3, 5}, []int32{3, 5}, []int32{6, 7}, []int{3, 1}, []int{3, 1}, ""), "not notified before the new data was read"},
		{"duplicated", observe([]int32{3, 5}, []int32{3, 5}, []int32{6, 5}, []int{4, 0}, []int{4, 0}, ""), "duplicated or spurious"},
		{"wrong event", observe([]int32{3, 5}, []int32{3, 5}, []int32{3, 5}, []int{0, 0}, []int{0, 0}, "unexpected event NodeCreated"), "unexpected event"},
		{"probe fired", (&hb{}).add(0, "probe", watchKey(0), probeIn{Armed: 3}, 0, 1, ok, probeOut{Ver: 4, Fired: true, Event: client.EventNodeDataChanged.String()}, ""), ""},
		{"probe not fired", (&hb{}).add(0, "probe", watchKey(0), probeIn{Armed: 3}, 0, 1, ok, probeOut{Ver: 4}, ""), "before the watch set at version 3 fired"},
		{"probe wrong type", (&hb{}).add(0, "probe", watchKey(0), probeIn{Armed: 3}, 0, 1, ok, probeOut{Ver: 4, Fired: true, Event: client.EventNodeDeleted.String()}, ""), "fired with"},
	}
	for _, tt := range tests {
		problems(t, tt.name, checkWatch(tt.b.ops), tt.want)
	}

	w := (&hb{}).add(0, "write", watchKey(0), int32(0), 0, 1, ok, nil, "").
		add(0, "write", watchKey(0), int32(1), 2, -1, unknown, nil, "").
		add(1, "write", watchKey(1), int32(0), 0, 1, fail, nil, "")
	finals := []struct {
		name string
		vers []int32
		want string
	}{
		{"unknown applied", []int32{2, 0}, ""},
		{"unknown not applied", []int32{1, 0}, ""},
		{"acknowledged lost", []int32{0, 0}, "was acknowledged"},
		{"refused applied", []int32{1, 1}, "more than"},
	}
	for _, tt := range finals {
		problems(t, tt.name, checkWatchFinal(w.ops, tt.vers), tt.want)
	}
}

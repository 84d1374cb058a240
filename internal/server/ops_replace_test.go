package server

import (
	"fmt"
	"testing"

	"github.com/go-zookeeper/zk"
)

// TestReplaceMachineKeepsID follows docs/operations.md, "Replacing a
// machine": a member moves to a new address with an empty data directory
// and the same id; the others restart one at a time with the new address.
// The moved member must catch up and the ensemble keep every write.
func TestReplaceMachineKeepsID(t *testing.T) {
	e := startEnsemble(t, 3, 0)
	c, _ := connect(t, e.servers[0])
	for i := range 20 {
		if _, err := c.Create(fmt.Sprintf("/before-%02d", i), []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()

	const moved = 2
	e.stop(moved)
	newPort := freePorts(t, 1)[0]
	for _, o := range e.opts {
		o.Servers[moved].QuorumPort = newPort
	}
	fresh := t.TempDir()
	e.opts[moved].DataDir, e.opts[moved].DataLogDir = fresh, fresh

	if err := e.start(moved); err != nil {
		t.Fatal(err)
	}
	for i := range e.servers {
		if i == moved {
			continue
		}
		e.stop(i)
		if err := e.start(i); err != nil {
			t.Fatal(err)
		}
	}
	e.waitLeader()
	e.converge()

	c2, _ := connect(t, e.servers[moved])
	kids, _, err := c2.Children("/")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(kids); got != 21 { // 20 + /zookeeper
		t.Errorf("children of / on the moved server: got %d, want 21", got)
	}
	if _, err := c2.Create("/after", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Errorf("write through the moved server: %v", err)
	}
	e.converge()
}

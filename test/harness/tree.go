package harness

import (
	"fmt"
	"sync"

	"github.com/go-zookeeper/zk"
)

// Znode is one node as WalkTree read it.
type Znode struct {
	Path      string
	Data      []byte
	Stat      *zk.Stat // from getData
	Children  []string
	ChildStat *zk.Stat // the Stat that came with the children list
}

// WalkTree reads every znode under / with getData and getChildren, 16
// requests in flight, and calls fn with each one, one call at a time. The
// tree must not change meanwhile. It returns the first read error.
func WalkTree(c *zk.Conn, fn func(Znode)) error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, 16)
	)
	var visit func(p string)
	visit = func(p string) {
		defer wg.Done()
		sem <- struct{}{}
		data, st, err := c.Get(p)
		var kids []string
		var cst *zk.Stat
		if err == nil {
			kids, cst, err = c.Children(p)
		}
		<-sem
		mu.Lock()
		if err != nil {
			if first == nil {
				first = fmt.Errorf("reading %s: %w", p, err)
			}
			mu.Unlock()
			return
		}
		fn(Znode{Path: p, Data: data, Stat: st, Children: kids, ChildStat: cst})
		mu.Unlock()
		for _, k := range kids {
			wg.Add(1)
			go visit(JoinPath(p, k))
		}
	}
	wg.Add(1)
	visit("/")
	wg.Wait()
	return first
}

// JoinPath is parent/name, without doubling the root's slash.
func JoinPath(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}

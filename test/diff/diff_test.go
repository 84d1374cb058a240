package diff

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkd-io/zkd/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

var (
	flagA      = flag.String("diff.a", harness.KindZooKeeper, "reference server kind (zookeeper or zkd)")
	flagB      = flag.String("diff.b", harness.KindZkd, "server kind compared with -diff.a; the same kind twice checks that transcripts are stable")
	flagShow   = flag.Bool("diff.show", false, "log every transcript, not only differing ones")
	flagDump   = flag.String("diff.dump", "", "directory to write every transcript to (NAME.KIND.txt)")
	flagBudget = flag.Duration("diff.budget", 120*time.Second, "time after which the remaining scenarios fail without running")
)

// superUser is the identity configured as superDigest on both servers.
const superUser, superPassword = "super", "diff-super-secret"

// serverOptions are the same for both kinds. A short tick makes the minimum
// session timeout 1s, so the expiry scenario is quick; container and TTL
// sweeps run every 200ms (ZooKeeper reads that from a JVM property, zkd from
// zoo.cfg; each ignores the other's form).
func serverOptions() []harness.Option {
	return []harness.Option{
		harness.WithTickTime(500 * time.Millisecond),
		harness.WithConfig("DigestAuthenticationProvider.superDigest", DigestID(superUser, superPassword)),
		harness.WithConfig("znode.container.checkIntervalMs", "200"),
		harness.WithJVMOptions("-Dznode.container.checkIntervalMs=200"),
	}
}

type side struct {
	kind  string
	label string // "a" or "b": part of root names, so one server can host both runs
	srv   *harness.Server
	admin *Admin
}

func startSide(t *testing.T, kind, label string) *side {
	t.Helper()
	srv := harness.Start(t, kind, serverOptions()...)
	s := &side{kind: kind, label: label, srv: srv, admin: &Admin{Addr: srv.Addr}}
	t.Cleanup(s.admin.Close)
	return s
}

func (sd *side) env(t *testing.T, idx int, name string, deadline time.Time) Env {
	return Env{
		Addr:      sd.srv.Addr,
		Root:      fmt.Sprintf("/diff%s-%03d-%s", sd.label, idx, name),
		Logf:      func(f string, a ...any) { t.Logf(sd.kind+": "+f, a...) },
		MakeRoot:  sd.admin.MakeRoot,
		SuperAuth: superUser + ":" + superPassword,
		Deadline:  deadline,
	}
}

// TestDifferential runs every scenario against two servers (by default
// Apache ZooKeeper and zkd) and compares the normalised transcripts.
func TestDifferential(t *testing.T) {
	scenarios := All()
	if err := checkScenarios(scenarios); err != nil {
		t.Fatal(err)
	}
	kindA, kindB := *flagA, *flagB
	same := kindA == kindB
	a := startSide(t, kindA, "a")
	b := a
	if !same {
		b = startSide(t, kindB, "b")
	} else {
		b = &side{kind: kindB, label: "b", srv: a.srv, admin: a.admin}
	}
	nameA, nameB := kindA, kindB
	if same {
		nameA, nameB = kindA+" (run 1)", kindB+" (run 2)"
	}
	deadline := time.Now().Add(*flagBudget)
	for i, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			if time.Now().After(deadline) {
				t.Fatalf("not run: the -diff.budget of %v is spent", *flagBudget)
			}
			sa, sb := a, b
			if sc.Fresh {
				sa = startSide(t, kindA, "a")
				sb = startSide(t, kindB, "b")
			}
			envA, envB := sa.env(t, i, sc.Name, deadline), sb.env(t, i, sc.Name, deadline)
			var ta, tb []string
			if sa.srv == sb.srv {
				ta = Run(sc, envA)
				tb = Run(sc, envB)
			} else {
				var wg sync.WaitGroup
				wg.Add(2)
				go func() { defer wg.Done(); ta = Run(sc, envA) }()
				go func() { defer wg.Done(); tb = Run(sc, envB) }()
				wg.Wait()
			}
			report(t, sc.Name, nameA, nameB, ta, tb)
		})
	}
}

func report(t *testing.T, name, nameA, nameB string, ta, tb []string) {
	t.Helper()
	if *flagDump != "" {
		for _, x := range []struct {
			kind  string
			lines []string
		}{{nameA, ta}, {nameB, tb}} {
			file := filepath.Join(*flagDump, name+"."+strings.ReplaceAll(strings.ReplaceAll(x.kind, " ", ""), "(", "-")+".txt")
			file = strings.ReplaceAll(file, ")", "")
			if err := os.WriteFile(file, []byte(strings.Join(x.lines, "\n")+"\n"), 0o644); err != nil {
				t.Errorf("dump: %v", err)
			}
		}
	}
	if *flagShow {
		t.Logf("%s:\n%s", nameA, strings.Join(ta, "\n"))
		if !equalLines(ta, tb) {
			t.Logf("%s:\n%s", nameB, strings.Join(tb, "\n"))
		}
	}
	d := LineDiff(ta, tb, nameA, nameB)
	reason, intended := Intended[name]
	switch {
	case d == "" && intended:
		t.Errorf("listed as an intended difference (%s) but the transcripts are equal: remove it from Intended", reason)
	case d == "":
	case intended:
		t.Logf("intended difference (%s):\n%s", reason, d)
	default:
		t.Errorf("transcripts differ (- %s, + %s):\n%s", nameA, nameB, d)
	}
}

// checkScenarios rejects duplicate or empty names and missing bodies: the
// name is the key of Intended and of the subtest.
func checkScenarios(all []Scenario) error {
	seen := map[string]bool{}
	for i, sc := range all {
		switch {
		case sc.Name == "" || strings.ContainsAny(sc.Name, " /"):
			return fmt.Errorf("scenario %d: name %q must be non-empty without spaces or slashes", i, sc.Name)
		case seen[sc.Name]:
			return fmt.Errorf("scenario %q defined twice", sc.Name)
		case sc.Run == nil:
			return fmt.Errorf("scenario %q has no Run", sc.Name)
		}
		seen[sc.Name] = true
	}
	return nil
}

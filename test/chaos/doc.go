// Package chaos holds zkd's Jepsen-style tests: a 3- or 5-server zkd
// ensemble of real processes (started through test/harness), several
// clients of this module's client package driving workloads against it, a
// nemesis injecting faults meanwhile, and checkers that judge the recorded
// histories.
//
// Every operation is recorded at invocation and at completion as ok (the
// server acknowledged it), fail (the server definitely refused it: NoNode,
// BadVersion, NodeExists...) or unknown (connection loss, timeout, session
// expiry: it may or may not have been applied, and is checked as possibly
// applied at any time after its invocation).
//
// Workloads (each on its own subtree, all running together in one run):
//
//	register    read (sync+getData) / setData / versioned setData (CAS) on
//	            independent keys; linearizability checked with porcupine
//	set         unique creates; every acknowledged element is in the final read
//	unique-ids  sequential creates; no duplicate, increasing per parent in real time
//	counter     multi of N creates; reads never see part of a multi, final
//	            count between the acknowledged sum and that plus the unknown ones
//	queue       enqueue by sequential create, dequeue by multi(check, setData
//	            of a head znode, delete first child); total-queue and FIFO checks
//	session     ephemerals of closed or expired sessions vanish on every
//	            server and never reappear
//	watch       persistent watches see every change once, before the changed
//	            data can be read; one-shot watches fire before a newer version
//	            is read
//
// Nemeses: kill -9 of a random server, of the leader, of all servers;
// SIGSTOP of the leader for longer than the session timeout; iptables
// partitions (random halves, isolated leader, bridge, one-way); tc netem
// delays (without netem in the kernel, delays inside zkd's transport,
// set through a failpoints-build control file); damage to
// one stopped server's newest WAL segment or snapshot, or its whole data
// dir, after which it must refuse to start with a message naming the damage
// or rejoin cleanly; a power loss on one server of any role (lose-unsynced:
// SIGKILL, then every WAL byte written after its last fsync is zeroed and
// newer segments removed, see unsynced_test.go). A run that injected no
// fault fails: it would prove nothing about them. After every run the faults
// are healed and every server must report the same zxid and tree digest
// (srvr Zxid, mntr zk_tree_digest), and the workload checks read through
// every server.
//
// The zkd binary is built with -tags failpoints (TestMain adds it to
// ZKD_BUILD_FLAGS): internal/storage then records, after every WAL fsync,
// where the synced part of the log ends (storage.FailpointSyncedFile),
// which is what lose-unsynced cuts back to. A ZKD_BINARY from outside must
// be built with the tag, or that nemesis fails the run.
//
// Not covered here: losing un-fsynced data outside the WAL (snapshot files
// are fsynced before they are renamed into use), losing directory changes
// that were not followed by a directory fsync, and a power loss on several
// servers at once.
//
// Every run's operations, faults, violations and lost acknowledged writes
// are summed in a table logged at the end (make chaos-long writes it to
// chaos-summary.md).
//
// The package owns only its tests, the iptables chains it creates (named
// zkdchaos-<pid>-<n>) and the tc qdisc it adds to lo while a delay is
// active. It must never leave a process, rule, qdisc or temporary directory
// behind (except the failure artifacts it names), never touch iptables or tc
// state it did not create, and never pass when a history is wrong.
//
// Modes and environment knobs:
//
//	(default)            short mode: a few bounded runs with fixed, logged seeds,
//	                     under about two minutes on two cores
//	ZKD_CHAOS=ci         every nemesis alone for 25s, fixed seeds (about seven
//	                     minutes; .ci/run runs it after the short mode)
//	ZKD_CHAOS=long       more, longer runs, 3 and 5 servers, time-based seeds
//	ZKD_CHAOS_DURATION=d long mode: repeat the runs until d (e.g. 2h) has passed
//	ZKD_CHAOS_SUMMARY=f  write the summary table to file f
//	ZKD_CHAOS_SEED=N     seed every run with N (replay a logged seed)
//	ZKD_CHAOS_RUN=name   only the runs whose name contains name
//	ZKD_CHAOS_DIR=dir    write every run's histories and server logs under dir
//	                     (by default they are written only when a run fails,
//	                     to a new directory named in the failure message)
//	CI=true              missing root, iptables or tc fails instead of skipping
package chaos

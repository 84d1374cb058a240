// Command compare runs the same workloads against Apache ZooKeeper
// (Debian's 3.8 package, run with java directly) and zkd (built from this
// module), standalone and as 3-server ensembles on loopback, and writes a
// markdown table of throughput, latency, server CPU per operation, memory
// and fsyncs, with the zkd/ZooKeeper ratios and the targets of issue 8;
// then, standalone, each kind's memory with -footprint znodes and the time
// it takes to serve them again after a restart:
//
//	go run ./bench/compare                       # ~20 minutes on 2 cores
//	go run ./bench/compare -rounds 5 -duration 10s -topologies standalone
//	go run ./bench/compare -workloads create,get,watch,session -raw runs.json
//
// Every run starts fresh servers with fresh data dirs (under -dir, on the
// same disk for both), alternates which server goes first, and stops them
// before the next run. It owns the processes and directories it creates and
// nothing else: it must never leave a server running (each is killed if
// compare dies) and never touch a data dir it did not make. Linux only: it
// reads /proc.
package main

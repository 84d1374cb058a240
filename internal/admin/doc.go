// Package admin owns zkd's operations endpoints over HTTP: ZooKeeper 3.9's
// AdminServer (/commands and /commands/<name>, JSON replies shaped like
// ZooKeeper's, including the authenticated, rate-limited snapshot and
// restore commands), Prometheus metrics on /metrics, and the health probes
// /healthz and /readyz.
//
// Metrics use the Prometheus text exposition format (client_golang), the
// format ZooKeeper's PrometheusMetricsProvider serves on
// metricsProvider.httpPort, so existing ZooKeeper dashboards and alerts keep
// working: metrics ZooKeeper exports keep its names (znode_count,
// readlatency, ...), zkd's own carry a zkd_ prefix.
//
// The package reads the server only through Source and the optional
// interfaces next to it, at request or scrape time; it keeps no copy of
// server state. It must never change replicated state by itself: the only
// command that does, restore, is delegated to Snapshotter, and it never
// trusts proxy headers (X-Forwarded-For) for authentication.
package admin

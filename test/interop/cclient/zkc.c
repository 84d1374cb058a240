/*
 * zkc drives Apache ZooKeeper's C client (libzookeeper_mt) through its
 * synchronous and asynchronous APIs against the server(s) named on the
 * command line and prints one line per result: a transcript that the Go
 * test (test/interop, TestEnsemble .../c) normalises and compares between
 * Apache ZooKeeper and zkd.
 *
 *   zkc host:port[,host:port...] /root
 *
 * Every check also states what ZooKeeper answers: a line "UNEXPECTED ..."
 * follows any result that differs, so the reference run proves the
 * program tests what it claims to. Exit status: 0 when all results were as
 * expected, 1 otherwise, 2 when the program could not run at all.
 *
 * Only the main thread prints. Watcher and completion callbacks run on the
 * client's completion thread and queue their lines ("notes"); the main
 * thread waits for an expected number of them and prints them in arrival
 * order, so the transcript does not depend on thread timing. Every wait is
 * bounded (WAIT_SECONDS).
 */
/* The synchronous API exists only in the multi-threaded library. */
#define THREADED
#include <zookeeper/zookeeper.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAIT_SECONDS 15
#define MAX_NOTES 256
#define SESSION_TIMEOUT_MS 10000

static int failures;
static char root[256];
/* The session ids of handles A and B, so Stat.ephemeralOwner prints as
 * "A" or "B" (anything else, like a TTL marker, prints as is). */
static long long sid[2];

/* ---- output ---------------------------------------------------------- */

static void out(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void unexpected(const char *fmt, ...) {
    va_list ap;
    printf("UNEXPECTED ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    failures++;
}

/* rel turns an absolute path under root into "<root>/..." so the
 * transcript does not depend on the root the test picked. */
static const char *rel(const char *path, char *buf, size_t n) {
    size_t r = strlen(root);
    if (path && strncmp(path, root, r) == 0 && (path[r] == '/' || path[r] == 0)) {
        snprintf(buf, n, "<root>%s", path + r);
    } else {
        snprintf(buf, n, "%s", path ? path : "(null)");
    }
    return buf;
}

static const char *rcname(int rc) {
    static char other[32];
    switch (rc) {
    case ZOK: return "ZOK";
    case ZSYSTEMERROR: return "ZSYSTEMERROR";
    case ZRUNTIMEINCONSISTENCY: return "ZRUNTIMEINCONSISTENCY";
    case ZDATAINCONSISTENCY: return "ZDATAINCONSISTENCY";
    case ZCONNECTIONLOSS: return "ZCONNECTIONLOSS";
    case ZMARSHALLINGERROR: return "ZMARSHALLINGERROR";
    case ZUNIMPLEMENTED: return "ZUNIMPLEMENTED";
    case ZOPERATIONTIMEOUT: return "ZOPERATIONTIMEOUT";
    case ZBADARGUMENTS: return "ZBADARGUMENTS";
    case ZINVALIDSTATE: return "ZINVALIDSTATE";
    case ZAPIERROR: return "ZAPIERROR";
    case ZNONODE: return "ZNONODE";
    case ZNOAUTH: return "ZNOAUTH";
    case ZBADVERSION: return "ZBADVERSION";
    case ZNOCHILDRENFOREPHEMERALS: return "ZNOCHILDRENFOREPHEMERALS";
    case ZNODEEXISTS: return "ZNODEEXISTS";
    case ZNOTEMPTY: return "ZNOTEMPTY";
    case ZSESSIONEXPIRED: return "ZSESSIONEXPIRED";
    case ZINVALIDCALLBACK: return "ZINVALIDCALLBACK";
    case ZINVALIDACL: return "ZINVALIDACL";
    case ZAUTHFAILED: return "ZAUTHFAILED";
    case ZCLOSING: return "ZCLOSING";
    case ZNOTHING: return "ZNOTHING";
    case ZSESSIONMOVED: return "ZSESSIONMOVED";
    case ZNOWATCHER: return "ZNOWATCHER";
    }
    snprintf(other, sizeof other, "rc=%d", rc);
    return other;
}

static const char *typename(int type) {
    if (type == ZOO_CREATED_EVENT) return "CREATED";
    if (type == ZOO_DELETED_EVENT) return "DELETED";
    if (type == ZOO_CHANGED_EVENT) return "CHANGED";
    if (type == ZOO_CHILD_EVENT) return "CHILD";
    if (type == ZOO_SESSION_EVENT) return "SESSION";
    if (type == ZOO_NOTWATCHING_EVENT) return "NOTWATCHING";
    return "UNKNOWN";
}

static const char *statename(int state) {
    if (state == ZOO_CONNECTED_STATE) return "CONNECTED";
    if (state == ZOO_CONNECTING_STATE) return "CONNECTING";
    if (state == ZOO_ASSOCIATING_STATE) return "ASSOCIATING";
    if (state == ZOO_EXPIRED_SESSION_STATE) return "EXPIRED";
    if (state == ZOO_AUTH_FAILED_STATE) return "AUTH_FAILED";
    if (state == ZOO_READONLY_STATE) return "READONLY";
    if (state == 0) return "CLOSED";
    return "UNKNOWN";
}

/* stat renders every Stat field; the Go side replaces zxids, times and
 * session ids with stable names. */
static const char *stat(const struct Stat *s, char *buf, size_t n) {
    if (!s) {
        snprintf(buf, n, "stat=null");
        return buf;
    }
    char owner[32];
    if (s->ephemeralOwner != 0 && s->ephemeralOwner == sid[0]) {
        snprintf(owner, sizeof owner, "A");
    } else if (s->ephemeralOwner != 0 && s->ephemeralOwner == sid[1]) {
        snprintf(owner, sizeof owner, "B");
    } else {
        snprintf(owner, sizeof owner, "0x%llx", (long long)s->ephemeralOwner);
    }
    snprintf(buf, n,
             "czxid=0x%llx mzxid=0x%llx pzxid=0x%llx ctime=%lld mtime=%lld "
             "version=%d cversion=%d aversion=%d ephemeralOwner=%s "
             "dataLength=%d numChildren=%d",
             (long long)s->czxid, (long long)s->mzxid, (long long)s->pzxid,
             (long long)s->ctime, (long long)s->mtime, s->version, s->cversion,
             s->aversion, owner, s->dataLength, s->numChildren);
    return buf;
}

/* expect prints "what -> RC" and flags a result other than want. */
static int expect(const char *what, int rc, int want) {
    out("%s -> %s", what, rcname(rc));
    if (rc != want) {
        unexpected("%s: got %s, want %s", what, rcname(rc), rcname(want));
    }
    return rc;
}

static void expect_true(const char *what, int ok) {
    out("%s: %s", what, ok ? "yes" : "no");
    if (!ok) {
        unexpected("%s: got no, want yes", what);
    }
}

static void expect_str(const char *what, const char *got, const char *want) {
    out("%s = %s", what, got);
    if (strcmp(got, want) != 0) {
        unexpected("%s: got %s, want %s", what, got, want);
    }
}

/* ---- notes from callbacks ---------------------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char *notes[MAX_NOTES];
static int nnotes;
static int connected[2];
static int syncs_done;

static void note(const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&mu);
    if (nnotes < MAX_NOTES) {
        notes[nnotes++] = strdup(buf);
    }
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void deadline_in(struct timespec *ts, int seconds) {
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += seconds;
}

/* flush waits until at least want notes were queued, prints every queued
 * note and reports a shortfall. */
static void flush(int want, const char *what) {
    struct timespec ts;
    int i, got;
    deadline_in(&ts, WAIT_SECONDS);
    pthread_mutex_lock(&mu);
    while (nnotes < want) {
        if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT) {
            break;
        }
    }
    got = nnotes;
    for (i = 0; i < nnotes; i++) {
        out("  %s", notes[i]);
        free(notes[i]);
    }
    nnotes = 0;
    pthread_mutex_unlock(&mu);
    if (got != want) {
        unexpected("%s: got %d callbacks, want %d", what, got, want);
    }
}

/* The global watcher of each handle: session events only change state
 * (their timing is the client's, so they are not printed); a node event
 * here would come from a watch set with watch=1. */
static void global_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    char p[512];
    int h = (int)(long)ctx;
    (void)zh;
    if (type == ZOO_SESSION_EVENT) {
        pthread_mutex_lock(&mu);
        connected[h] = state == ZOO_CONNECTED_STATE;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
        if (state != ZOO_CONNECTED_STATE && state != ZOO_CONNECTING_STATE &&
            state != ZOO_ASSOCIATING_STATE) {
            note("session %c %s", 'A' + h, statename(state));
        }
        return;
    }
    note("default-watch %c %s %s %s", 'A' + h, typename(type), statename(state), rel(path, p, sizeof p));
}

/* watch is the watcher of zoo_w* calls; ctx names the watch. */
static void watch(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    char p[512];
    (void)zh;
    note("watch %s %s %s %s", (const char *)ctx, typename(type), statename(state), rel(path, p, sizeof p));
}

static zhandle_t *connect_handle(const char *hosts, int h) {
    struct timespec ts;
    zhandle_t *zh = zookeeper_init(hosts, global_watcher, SESSION_TIMEOUT_MS, 0, (void *)(long)h, 0);
    if (!zh) {
        fprintf(stderr, "zookeeper_init(%s): %s\n", hosts, strerror(errno));
        exit(2);
    }
    deadline_in(&ts, WAIT_SECONDS);
    pthread_mutex_lock(&mu);
    while (!connected[h]) {
        if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT) {
            break;
        }
    }
    pthread_mutex_unlock(&mu);
    if (!connected[h]) {
        fprintf(stderr, "handle %c: no session with %s within %ds\n", 'A' + h, hosts, WAIT_SECONDS);
        exit(2);
    }
    sid[h] = zoo_client_id(zh)->client_id;
    return zh;
}

/* ---- async completions (they note, in completion order) ------------------ */

static void void_done(int rc, const void *data) {
    note("%s -> %s", (const char *)data, rcname(rc));
}

static void string_done(int rc, const char *value, const void *data) {
    char p[512];
    note("%s -> %s %s", (const char *)data, rcname(rc), rc == ZOK ? rel(value, p, sizeof p) : "");
}

static void string_stat_done(int rc, const char *value, const struct Stat *st, const void *data) {
    char p[512], s[512];
    note("%s -> %s %s %s", (const char *)data, rcname(rc), rc == ZOK ? rel(value, p, sizeof p) : "",
         rc == ZOK ? stat(st, s, sizeof s) : "");
}

static void stat_done(int rc, const struct Stat *st, const void *data) {
    char s[512];
    note("%s -> %s %s", (const char *)data, rcname(rc), rc == ZOK ? stat(st, s, sizeof s) : "");
}

static void data_done(int rc, const char *value, int len, const struct Stat *st, const void *data) {
    char s[512];
    note("%s -> %s data=%.*s %s", (const char *)data, rcname(rc), rc == ZOK && value ? len : 0,
         rc == ZOK && value ? value : "", rc == ZOK ? stat(st, s, sizeof s) : "");
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *children(const struct String_vector *v, char *buf, size_t n) {
    int i;
    size_t off = 0;
    char **names = calloc(v->count ? v->count : 1, sizeof *names);
    for (i = 0; i < v->count; i++) {
        names[i] = v->data[i];
    }
    /* The server returns children in no particular order. */
    qsort(names, v->count, sizeof *names, cmp_str);
    buf[0] = 0;
    off += snprintf(buf + off, n - off, "[");
    for (i = 0; i < v->count && off < n; i++) {
        off += snprintf(buf + off, n - off, "%s%s", i ? ", " : "", names[i]);
    }
    if (off < n) {
        snprintf(buf + off, n - off, "]");
    }
    free(names);
    return buf;
}

static void strings_stat_done(int rc, const struct String_vector *v, const struct Stat *st, const void *data) {
    char c[1024], s[512];
    note("%s -> %s %s %s", (const char *)data, rcname(rc), rc == ZOK ? children(v, c, sizeof c) : "",
         rc == ZOK ? stat(st, s, sizeof s) : "");
}

static const char *acls(const struct ACL_vector *v, char *buf, size_t n) {
    int i;
    size_t off = 0;
    buf[0] = 0;
    for (i = 0; i < v->count && off < n; i++) {
        off += snprintf(buf + off, n - off, "%s%s:%s:%d", i ? "," : "", v->data[i].id.scheme,
                        v->data[i].id.id, v->data[i].perms);
    }
    return buf;
}

static void acl_done(int rc, struct ACL_vector *v, struct Stat *st, const void *data) {
    char a[1024], s[512];
    note("%s -> %s %s %s", (const char *)data, rcname(rc), rc == ZOK ? acls(v, a, sizeof a) : "",
         rc == ZOK ? stat(st, s, sizeof s) : "");
}

static void sync_done(int rc, const char *value, const void *data) {
    (void)value;
    (void)data;
    pthread_mutex_lock(&mu);
    if (rc == ZOK) {
        syncs_done++;
    } else {
        syncs_done = -1000;
    }
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* barrier does a sync on zh and waits for its completion. Watch events
 * and completions of one handle are delivered in order, so every event the
 * server queued for zh before the sync's reply has been noted when it
 * returns. It notes nothing itself. */
static void barrier(zhandle_t *zh, const char *path) {
    struct timespec ts;
    int want, rc;
    pthread_mutex_lock(&mu);
    want = syncs_done + 1;
    pthread_mutex_unlock(&mu);
    rc = zoo_async(zh, path, sync_done, 0);
    if (rc != ZOK) {
        unexpected("sync %s: %s", path, rcname(rc));
        return;
    }
    deadline_in(&ts, WAIT_SECONDS);
    pthread_mutex_lock(&mu);
    while (syncs_done < want && syncs_done >= 0) {
        if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT) {
            break;
        }
    }
    rc = syncs_done >= want;
    pthread_mutex_unlock(&mu);
    if (!rc) {
        unexpected("sync %s: no completion within %ds", path, WAIT_SECONDS);
    }
}

/* ---- helpers ------------------------------------------------------------------ */

static char *P(const char *suffix) {
    static char bufs[8][512];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s%s", root, suffix);
    return b;
}

static void remove_tree(zhandle_t *zh, const char *path) {
    struct String_vector v;
    int i;
    if (zoo_get_children(zh, path, 0, &v) != ZOK) {
        return;
    }
    for (i = 0; i < v.count; i++) {
        char child[1024];
        snprintf(child, sizeof child, "%s/%s", path, v.data[i]);
        remove_tree(zh, child);
    }
    deallocate_String_vector(&v);
    zoo_delete(zh, path, -1);
}

/* ---- the scenario ------------------------------------------------------------- */

static void sync_api(zhandle_t *a, zhandle_t *b) {
    char name[512], r[512], s[512], buf[256];
    int len, rc;
    struct Stat st, st2;
    struct String_vector v;
    struct ACL_vector acl;

    out("## synchronous API: create");
    expect("create <root>", zoo_create(a, root, "r", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, name, sizeof name), ZOK);
    expect_str("created", rel(name, r, sizeof r), "<root>");
    expect("create <root> again", zoo_create(a, root, "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, 0, 0), ZNODEEXISTS);
    expect("create <root>/missing/child", zoo_create(a, P("/missing/child"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, 0, 0), ZNONODE);
    expect("create <root>/p", zoo_create(a, P("/p"), "v0", 2, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, name, sizeof name), ZOK);
    rc = expect("create2 <root>/p2", zoo_create2(a, P("/p2"), "two", 3, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, name, sizeof name, &st), ZOK);
    if (rc == ZOK) {
        out("  %s %s", rel(name, r, sizeof r), stat(&st, s, sizeof s));
        expect_true("  create2 stat: czxid == mzxid == pzxid", st.czxid == st.mzxid && st.mzxid == st.pzxid);
        expect_true("  create2 stat: ctime == mtime", st.ctime == st.mtime);
    }
    expect("create null data <root>/null", zoo_create(a, P("/null"), NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, 0, 0), ZOK);
    expect("create sequential <root>/s-", zoo_create(a, P("/s-"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL, name, sizeof name), ZOK);
    expect_str("  name", rel(name, r, sizeof r), "<root>/s-0000000003");
    expect("create sequential <root>/s-", zoo_create(a, P("/s-"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL, name, sizeof name), ZOK);
    expect_str("  name", rel(name, r, sizeof r), "<root>/s-0000000004");
    expect("create ephemeral <root>/e", zoo_create(a, P("/e"), "eph", 3, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, 0, 0), ZOK);
    expect("create <root>/e/child", zoo_create(a, P("/e/child"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, 0, 0), ZNOCHILDRENFOREPHEMERALS);
    expect("create ephemeral sequential <root>/es-", zoo_create(a, P("/es-"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL_SEQUENTIAL, name, sizeof name), ZOK);
    expect_str("  name", rel(name, r, sizeof r), "<root>/es-0000000006");
    expect("create container <root>/c", zoo_create(a, P("/c"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_CONTAINER, 0, 0), ZOK);
    expect("create ttl <root>/ttl", zoo_create_ttl(a, P("/ttl"), "t", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_WITH_TTL, 3600000, 0, 0), ZOK);
    expect("create ttl 0 <root>/ttl0", zoo_create_ttl(a, P("/ttl0"), "t", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_WITH_TTL, 0, 0, 0), ZBADARGUMENTS);
    expect("create sequential ttl <root>/sttl-", zoo_create_ttl(a, P("/sttl-"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL_WITH_TTL, 3600000, name, sizeof name), ZOK);
    expect_str("  name", rel(name, r, sizeof r), "<root>/sttl-0000000009");
    /* B may be connected to another server than A: sync first, as a
     * correct client must before reading another session's writes. */
    barrier(b, root);
    if (expect("exists <root>/e", zoo_exists(b, P("/e"), 0, &st), ZOK) == ZOK) {
        expect_true("  ephemeralOwner is A's session", st.ephemeralOwner == zoo_client_id(a)->client_id);
    }
    if (expect("exists <root>/ttl", zoo_exists(a, P("/ttl"), 0, &st), ZOK) == ZOK) {
        out("  %s", stat(&st, s, sizeof s));
    }
    if (expect("exists <root>/c", zoo_exists(a, P("/c"), 0, &st), ZOK) == ZOK) {
        out("  %s", stat(&st, s, sizeof s));
    }

    out("## synchronous API: read, write, delete");
    len = sizeof buf;
    if (expect("get <root>/p", zoo_get(a, P("/p"), 0, buf, &len, &st), ZOK) == ZOK) {
        out("  data=%.*s %s", len, buf, stat(&st, s, sizeof s));
    }
    len = sizeof buf;
    if (expect("get <root>/null", zoo_get(a, P("/null"), 0, buf, &len, &st), ZOK) == ZOK) {
        out("  len=%d dataLength=%d", len, st.dataLength);
    }
    len = sizeof buf;
    expect("get <root>/missing", zoo_get(a, P("/missing"), 0, buf, &len, &st), ZNONODE);
    expect("set <root>/p version 0", zoo_set(a, P("/p"), "v1", 2, 0), ZOK);
    expect("set <root>/p version 0 again", zoo_set(a, P("/p"), "vx", 2, 0), ZBADVERSION);
    if (expect("set2 <root>/p any version", zoo_set2(a, P("/p"), "v2", 2, -1, &st), ZOK) == ZOK) {
        out("  %s", stat(&st, s, sizeof s));
        expect_true("  mzxid > czxid", st.mzxid > st.czxid);
    }
    expect("set <root>/missing", zoo_set(a, P("/missing"), "x", 1, -1), ZNONODE);
    barrier(b, root);
    len = sizeof buf;
    if (expect("get <root>/p from B", zoo_get(b, P("/p"), 0, buf, &len, &st2), ZOK) == ZOK) {
        out("  data=%.*s version=%d", len, buf, st2.version);
    }
    expect("exists <root>/missing", zoo_exists(a, P("/missing"), 0, &st), ZNONODE);
    if (expect("get_children2 <root>", zoo_get_children2(a, root, 0, &v, &st), ZOK) == ZOK) {
        char c[1024];
        out("  %s numChildren=%d cversion=%d", children(&v, c, sizeof c), st.numChildren, st.cversion);
        deallocate_String_vector(&v);
    }
    expect("delete <root>/p version 9", zoo_delete(a, P("/p"), 9), ZBADVERSION);
    expect("delete <root>", zoo_delete(a, root, -1), ZNOTEMPTY);
    expect("delete <root>/missing", zoo_delete(a, P("/missing"), -1), ZNONODE);
    expect("delete <root>/s-0000000003 version 0", zoo_delete(a, P("/s-0000000003"), 0), ZOK);
    if (expect("exists <root>", zoo_exists(a, root, 0, &st2), ZOK) == ZOK) {
        out("  cversion=%d numChildren=%d", st2.cversion, st2.numChildren);
        expect_true("  pzxid > czxid", st2.pzxid > st2.czxid);
    }

    out("## synchronous API: watches (A watches, B writes)");
    len = sizeof buf;
    expect("wget <root>/p by A", zoo_wget(a, P("/p"), watch, "data-p", buf, &len, &st), ZOK);
    expect("wexists <root>/new by A", zoo_wexists(a, P("/new"), watch, "exists-new", &st), ZNONODE);
    expect("wget_children <root>/p2 by A", zoo_wget_children(a, P("/p2"), watch, "children-p2", &v), ZOK);
    deallocate_String_vector(&v);
    expect("set <root>/p by B", zoo_set(b, P("/p"), "v3", 2, -1), ZOK);
    flush(1, "data watch");
    expect("set <root>/p by B again", zoo_set(b, P("/p"), "v4", 2, -1), ZOK);
    expect("create <root>/new by B", zoo_create(b, P("/new"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, 0, 0), ZOK);
    flush(1, "exists watch");
    expect("create <root>/p2/x by B", zoo_create(b, P("/p2/x"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, 0, 0), ZOK);
    flush(1, "child watch");
    /* A delete fires the node's data/exists watches before its parent's
     * child watch, in one transaction. */
    expect("wexists <root>/new by A", zoo_wexists(a, P("/new"), watch, "exists-new-2", &st), ZOK);
    expect("wget_children <root> by A", zoo_wget_children(a, root, watch, "children-root", &v), ZOK);
    deallocate_String_vector(&v);
    len = sizeof buf;
    expect("get watch=1 <root>/new by A", zoo_get(a, P("/new"), 1, buf, &len, &st), ZOK);
    expect("delete <root>/new by B", zoo_delete(b, P("/new"), -1), ZOK);
    flush(3, "delete watches");
    /* One-shot: the fired watches are gone. */
    expect("create <root>/new by B", zoo_create(b, P("/new"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, 0, 0), ZOK);
    expect("set <root>/p by B", zoo_set(b, P("/p"), "v5", 2, -1), ZOK);
    barrier(b, root);
    barrier(a, root);
    flush(0, "no more events");
    len = sizeof buf;
    expect("wget <root>/p by A", zoo_wget(a, P("/p"), watch, "to-remove", buf, &len, &st), ZOK);
    expect("remove_watches data <root>/p", zoo_remove_watches(a, P("/p"), ZWATCHTYPE_DATA, watch, "to-remove", 0), ZOK);
    barrier(a, root);
    flush(0, "watch removal");
    expect("remove_watches data <root>/p again", zoo_remove_watches(a, P("/p"), ZWATCHTYPE_DATA, watch, "to-remove", 0), ZNOWATCHER);
    expect("remove_all_watches <root>/missing", zoo_remove_all_watches(a, P("/missing"), ZWATCHTYPE_ANY, 0), ZNOWATCHER);
    expect("set <root>/p by B", zoo_set(b, P("/p"), "v6", 2, -1), ZOK);
    barrier(b, root);
    barrier(a, root);
    flush(0, "removed watch stays silent");

    out("## synchronous API: multi");
    {
        zoo_op_t ops[5];
        zoo_op_result_t res[5];
        char n0[256], n4[256];
        struct Stat setst;
        int i;
        zoo_create_op_init(&ops[0], P("/m1"), "m", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, n0, sizeof n0);
        zoo_set_op_init(&ops[1], P("/p"), "multi", 5, 6, &setst);
        zoo_check_op_init(&ops[2], P("/p"), 7);
        zoo_delete_op_init(&ops[3], P("/m1"), 0);
        zoo_create_op_init(&ops[4], P("/ms-"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL, n4, sizeof n4);
        if (expect("multi create,set,check,delete,create-seq", zoo_multi(a, 5, ops, res), ZOK) == ZOK) {
            for (i = 0; i < 5; i++) {
                out("  result %d: %s", i, rcname(res[i].err));
            }
            expect_str("  create name", rel(n0, r, sizeof r), "<root>/m1");
            out("  set stat: %s", stat(&setst, s, sizeof s));
            expect_str("  sequential name", rel(n4, r, sizeof r), "<root>/ms-0000000013");
        }
        zoo_create_op_init(&ops[0], P("/m2"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, 0, 0);
        zoo_set_op_init(&ops[1], P("/p"), "no", 2, -1, 0);
        zoo_check_op_init(&ops[2], P("/p"), 99);
        zoo_create_op_init(&ops[3], P("/m3"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, 0, 0);
        if (expect("multi failing at check", zoo_multi(a, 4, ops, res), ZBADVERSION) == ZBADVERSION) {
            for (i = 0; i < 4; i++) {
                out("  result %d: %s", i, rcname(res[i].err));
            }
        }
        expect("exists <root>/m2 (rolled back)", zoo_exists(a, P("/m2"), 0, &st), ZNONODE);
        len = sizeof buf;
        if (expect("get <root>/p (unchanged)", zoo_get(a, P("/p"), 0, buf, &len, &st), ZOK) == ZOK) {
            out("  data=%.*s version=%d", len, buf, st.version);
        }
        zoo_delete_op_init(&ops[0], P("/missing"), -1);
        if (expect("multi delete missing", zoo_multi(a, 1, ops, res), ZNONODE) == ZNONODE) {
            out("  result 0: %s", rcname(res[0].err));
        }
    }

    out("## synchronous API: ACLs and digest auth");
    expect("create creator-all without auth", zoo_create(b, P("/noauth"), "", 0, &ZOO_CREATOR_ALL_ACL, ZOO_PERSISTENT, 0, 0), ZINVALIDACL);
    expect("add_auth digest alice:secret on A", zoo_add_auth(a, "digest", "alice:secret", 12, 0, 0), ZOK);
    expect("create <root>/secret creator-all", zoo_create(a, P("/secret"), "s", 1, &ZOO_CREATOR_ALL_ACL, ZOO_PERSISTENT, 0, 0), ZOK);
    if (expect("get_acl <root>/secret", zoo_get_acl(a, P("/secret"), &acl, &st), ZOK) == ZOK) {
        char al[512];
        out("  %s aversion=%d", acls(&acl, al, sizeof al), st.aversion);
        expect_str("  acl", al, "digest:alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=:31");
        deallocate_ACL_vector(&acl);
    }
    barrier(b, root);
    len = sizeof buf;
    expect("get <root>/secret by B", zoo_get(b, P("/secret"), 0, buf, &len, &st), ZNOAUTH);
    expect("get_acl <root>/secret by B", zoo_get_acl(b, P("/secret"), &acl, &st), ZNOAUTH);
    expect("exists <root>/secret by B", zoo_exists(b, P("/secret"), 0, &st), ZOK);
    expect("set_acl <root>/secret version 5", zoo_set_acl(a, P("/secret"), 5, &ZOO_READ_ACL_UNSAFE), ZBADVERSION);
    expect("set_acl <root>/secret version 0 world:anyone:r", zoo_set_acl(a, P("/secret"), 0, &ZOO_READ_ACL_UNSAFE), ZOK);
    barrier(b, root);
    len = sizeof buf;
    expect("get <root>/secret by B", zoo_get(b, P("/secret"), 0, buf, &len, &st), ZOK);
    expect("set <root>/secret by B", zoo_set(b, P("/secret"), "x", 1, -1), ZNOAUTH);
    expect("set <root>/secret by A", zoo_set(a, P("/secret"), "x", 1, -1), ZNOAUTH);
    expect("set_acl <root>/secret by A (no ADMIN left)", zoo_set_acl(a, P("/secret"), -1, &ZOO_OPEN_ACL_UNSAFE), ZNOAUTH);
    expect("add_auth digest alice:wrong on B", zoo_add_auth(b, "digest", "alice:wrong", 11, 0, 0), ZOK);
    expect("create <root>/secret/c by B", zoo_create(b, P("/secret/c"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, 0, 0), ZNOAUTH);
    expect("delete <root>/secret by A (parent allows delete)", zoo_delete(a, P("/secret"), -1), ZOK);
    {
        struct ACL one[] = {{ZOO_PERM_READ | ZOO_PERM_WRITE, {"digest", "bob:ikIaKsbtGweaHnb/jKn7OHqbunM="}}};
        struct ACL_vector bob = {1, one};
        expect("create <root>/bobs digest:bob rw", zoo_create(a, P("/bobs"), "b", 1, &bob, ZOO_PERSISTENT, 0, 0), ZOK);
        len = sizeof buf;
        expect("get <root>/bobs by A", zoo_get(a, P("/bobs"), 0, buf, &len, &st), ZNOAUTH);
        expect("add_auth digest bob:pw on B", zoo_add_auth(b, "digest", "bob:pw", 6, 0, 0), ZOK);
        barrier(b, root);
        len = sizeof buf;
        expect("get <root>/bobs by B", zoo_get(b, P("/bobs"), 0, buf, &len, &st), ZOK);
        expect("set <root>/bobs by B", zoo_set(b, P("/bobs"), "bb", 2, -1), ZOK);
        expect("set_acl <root>/bobs by B (no ADMIN)", zoo_set_acl(b, P("/bobs"), -1, &ZOO_OPEN_ACL_UNSAFE), ZNOAUTH);
    }
}

static void async_api(zhandle_t *a, zhandle_t *b) {
    zoo_op_t ops[3];
    /* Written by the completion thread; static so they outlive any
     * early return while a completion is still pending. */
    static zoo_op_result_t res[3];
    static char n0[256];

    out("## asynchronous API: pipelined requests complete in order");
    zoo_acreate(a, P("/a1"), "one", 3, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, string_done, "acreate <root>/a1");
    zoo_acreate(a, P("/a1"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, string_done, "acreate <root>/a1 again");
    zoo_acreate2(a, P("/a2"), "two", 3, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, string_stat_done, "acreate2 ephemeral <root>/a2");
    zoo_aset(a, P("/a1"), "uno", 3, 0, stat_done, "aset <root>/a1 version 0");
    zoo_aset(a, P("/a1"), "x", 1, 0, stat_done, "aset <root>/a1 version 0 again");
    zoo_aget(a, P("/a1"), 0, data_done, "aget <root>/a1");
    zoo_aexists(a, P("/a1"), 0, stat_done, "aexists <root>/a1");
    zoo_aexists(a, P("/a9"), 0, stat_done, "aexists <root>/a9");
    zoo_aget_children2(a, P("/p2"), 0, strings_stat_done, "aget_children2 <root>/p2");
    zoo_aget_acl(a, P("/a1"), acl_done, "aget_acl <root>/a1");
    zoo_aset_acl(a, P("/a1"), 0, &ZOO_READ_ACL_UNSAFE, void_done, "aset_acl <root>/a1 version 0");
    /* Not a set of /a1 here: Apache ZooKeeper checks a request that is
     * pipelined behind a setACL against the old ACL (its pending change
     * record keeps it), so the answer would depend on timing. */
    zoo_aset(a, P("/bobs"), "y", 1, -1, stat_done, "aset <root>/bobs without bob's auth");
    zoo_adelete(a, P("/a1"), 5, void_done, "adelete <root>/a1 version 5");
    zoo_adelete(a, P("/a1"), -1, void_done, "adelete <root>/a1");
    zoo_adelete(a, P("/a1"), -1, void_done, "adelete <root>/a1 again");
    zoo_async(a, P("/a2"), string_done, "async <root>/a2");
    flush(16, "pipelined completions");

    out("## asynchronous API: multi");
    zoo_create_op_init(&ops[0], P("/am"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, n0, sizeof n0);
    zoo_create_op_init(&ops[1], P("/am/x"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, 0, 0);
    zoo_delete_op_init(&ops[2], P("/am/x"), 0);
    zoo_amulti(a, 3, ops, res, void_done, "amulti create,create-child,delete-child");
    flush(1, "amulti");
    out("  results: %s %s %s", rcname(res[0].err), rcname(res[1].err), rcname(res[2].err));
    zoo_create_op_init(&ops[0], P("/am2"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, 0, 0);
    zoo_create_op_init(&ops[1], P("/am"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, 0, 0);
    zoo_amulti(a, 2, ops, res, void_done, "amulti create,create-existing");
    flush(1, "amulti failing");
    out("  results: %s %s", rcname(res[0].err), rcname(res[1].err));

    out("## asynchronous API: watches");
    zoo_awget(a, P("/am"), watch, "awget-am", data_done, "awget <root>/am");
    zoo_awexists(a, P("/aw"), watch, "awexists-aw", stat_done, "awexists <root>/aw");
    zoo_awget_children2(a, P("/am"), watch, "awchildren-am", strings_stat_done, "awget_children2 <root>/am");
    flush(3, "watch registrations");
    expect("set <root>/am by B", zoo_set(b, P("/am"), "z", 1, -1), ZOK);
    flush(1, "async data watch");
    expect("create <root>/aw by B", zoo_create(b, P("/aw"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, 0, 0), ZOK);
    flush(1, "async exists watch");
    expect("create <root>/am/k by B", zoo_create(b, P("/am/k"), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, 0, 0), ZOK);
    flush(1, "async child watch");
}

int main(int argc, char **argv) {
    zhandle_t *a, *b;
    struct Stat st;
    char s[512];

    if (argc != 3 || argv[2][0] != '/') {
        fprintf(stderr, "usage: %s host:port[,host:port...] /root\n", argv[0]);
        return 2;
    }
    snprintf(root, sizeof root, "%s", argv[2]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);

    a = connect_handle(argv[1], 0);
    b = connect_handle(argv[1], 1);
    out("# zkc: two sessions A and B");

    sync_api(a, b);
    async_api(a, b);

    out("## closing A removes its ephemerals");
    expect("close A", zookeeper_close(a), ZOK);
    barrier(b, root);
    expect("exists <root>/e", zoo_exists(b, P("/e"), 0, &st), ZNONODE);
    expect("exists <root>/a2", zoo_exists(b, P("/a2"), 0, &st), ZNONODE);
    if (expect("exists <root>", zoo_exists(b, root, 0, &st), ZOK) == ZOK) {
        out("  %s", stat(&st, s, sizeof s));
    }
    flush(0, "events after close");

    remove_tree(b, root);
    expect("exists <root> after cleanup", zoo_exists(b, root, 0, &st), ZNONODE);
    zookeeper_close(b);
    out("# zkc: %d unexpected results", failures);
    return failures ? 1 : 0;
}

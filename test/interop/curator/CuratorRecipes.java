import static java.util.concurrent.TimeUnit.MILLISECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.api.transaction.OperationType;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.atomic.PromotedToLock;
import org.apache.curator.framework.recipes.barriers.DistributedBarrier;
import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.TreeCache;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.curator.framework.recipes.queue.DistributedQueue;
import org.apache.curator.framework.recipes.queue.QueueBuilder;
import org.apache.curator.framework.recipes.queue.QueueConsumer;
import org.apache.curator.framework.recipes.queue.QueueSerializer;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.framework.recipes.watch.PersistentWatcher;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.ServiceProvider;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.data.Stat;

/** The checks CuratorCheck runs, in order; see CuratorCheck for the output. */
final class CuratorRecipes extends CuratorCheck {
    /** Session timeout of clients whose sessions a check expires: short, so the server expires them quickly. */
    static final int SHORT_SESSION = 2000;
    /** Session timeout of clients that must survive a leader election. */
    static final int LONG_SESSION = 15000;

    static Map<String, Check> all() {
        Map<String, Check> m = new LinkedHashMap<>();
        m.put("create2-stat", CuratorRecipes::create2Stat);
        m.put("transaction", CuratorRecipes::transaction);
        m.put("mutex-leader-kill", CuratorLocks::mutex);
        m.put("read-write-lock", CuratorLocks::readWriteLock);
        m.put("semaphore-v2", CuratorLocks::semaphore);
        m.put("leader-latch", CuratorLocks::leaderLatch);
        m.put("leader-selector", CuratorLocks::leaderSelector);
        m.put("latch-leader-kill", CuratorFailover::leaderLatch);
        m.put("barrier", CuratorRecipes::barrier);
        m.put("double-barrier", CuratorRecipes::doubleBarrier);
        m.put("queue", CuratorRecipes::queue);
        m.put("shared-count", CuratorRecipes::sharedCount);
        m.put("atomic-long", CuratorRecipes::atomicLong);
        m.put("shared-count-leader-kill", CuratorFailover::sharedCount);
        m.put("atomic-long-leader-kill", CuratorFailover::atomicLong);
        m.put("curator-cache", CuratorRecipes::curatorCache);
        m.put("tree-cache", CuratorRecipes::treeCache);
        m.put("persistent-node", CuratorRecipes::persistentNode);
        m.put("persistent-watcher", CuratorRecipes::persistentWatcher);
        m.put("service-discovery", CuratorRecipes::serviceDiscovery);
        return m;
    }

    /** create with storingStatIn (create2): the Stat is the node's. */
    static void create2Stat() throws Exception {
        CuratorFramework c = client(LONG_SESSION);
        Stat st = new Stat();
        String p = c.create().creatingParentsIfNeeded().storingStatIn(st).forPath("/curator/create2/a", bytes("hello"));
        check(p.equals("/curator/create2/a"), "create2 path: got %s, want /curator/create2/a", p);
        check(st.getCzxid() != 0 && st.getCzxid() == st.getMzxid() && st.getCzxid() == st.getPzxid()
                && st.getCtime() > 0 && st.getCtime() == st.getMtime() && st.getVersion() == 0
                && st.getDataLength() == 5 && st.getNumChildren() == 0 && st.getEphemeralOwner() == 0,
                "create2 stat: got %s, want czxid=mzxid=pzxid, ctime=mtime, version 0, dataLength 5", st);
        Stat read = c.checkExists().forPath(p);
        check(st.equals(read), "create2 stat %s differs from exists stat %s", st, read);

        Stat es = new Stat();
        String q = c.create().storingStatIn(es).withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath("/curator/create2/e-");
        check(q.equals("/curator/create2/e-0000000001"), "ephemeral sequential create2: got %s, want /curator/create2/e-0000000001", q);
        check(es.getEphemeralOwner() == session(c), "ephemeral create2 stat owner: got %x, want %x", es.getEphemeralOwner(), session(c));

        Stat ts = new Stat();
        c.create().withTtl(60000).storingStatIn(ts).withMode(CreateMode.PERSISTENT_WITH_TTL).forPath("/curator/create2/ttl");
        check(ts.getCzxid() != 0 && ts.getVersion() == 0, "ttl create2 stat: got %s", ts);
        try {
            c.create().storingStatIn(new Stat()).forPath(p);
            check(false, "create2 of an existing node succeeded, want NodeExists");
        } catch (KeeperException.NodeExistsException expected) {
            // as ZooKeeper answers
        }
        Stat parent = c.checkExists().forPath("/curator/create2");
        check(parent.getNumChildren() == 3 && parent.getCversion() == 3,
                "parent after 3 creates: got numChildren %d cversion %d, want 3 and 3", parent.getNumChildren(), parent.getCversion());
        c.delete().deletingChildrenIfNeeded().forPath("/curator/create2");
    }

    /** Curator transactions (multi): results per op, all-or-nothing. */
    static void transaction() throws Exception {
        CuratorFramework c = client(LONG_SESSION);
        String d = "/curator/tx";
        c.create().creatingParentsIfNeeded().forPath(d + "/x", bytes("x0"));
        List<CuratorTransactionResult> r = c.transaction().forOperations(
                c.transactionOp().create().forPath(d + "/new", bytes("n")),
                c.transactionOp().setData().withVersion(0).forPath(d + "/x", bytes("x1")),
                c.transactionOp().check().withVersion(1).forPath(d + "/x"),
                c.transactionOp().create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath(d + "/s-"),
                c.transactionOp().delete().forPath(d + "/new"));
        check(r.size() == 5, "transaction: got %d results, want 5", r.size());
        check(r.get(0).getType() == OperationType.CREATE && (d + "/new").equals(r.get(0).getResultPath()),
                "result 0: got %s %s, want CREATE %s/new", r.get(0).getType(), r.get(0).getResultPath(), d);
        check(r.get(1).getType() == OperationType.SET_DATA && r.get(1).getResultStat() != null && r.get(1).getResultStat().getVersion() == 1,
                "result 1: got %s %s, want SET_DATA version 1", r.get(1).getType(), r.get(1).getResultStat());
        check(r.get(2).getType() == OperationType.CHECK, "result 2: got %s, want CHECK", r.get(2).getType());
        check((d + "/s-0000000002").equals(r.get(3).getResultPath()), "result 3: got %s, want %s/s-0000000002", r.get(3).getResultPath(), d);
        check(r.get(4).getType() == OperationType.DELETE, "result 4: got %s, want DELETE", r.get(4).getType());
        check(c.checkExists().forPath(d + "/new") == null, "%s/new exists after the transaction deleted it", d);

        try {
            c.transaction().forOperations(
                    c.transactionOp().create().forPath(d + "/b"),
                    c.transactionOp().check().withVersion(9).forPath(d + "/x"),
                    c.transactionOp().create().forPath(d + "/c"));
            check(false, "a transaction with a failing check succeeded");
        } catch (KeeperException.BadVersionException e) {
            List<Integer> codes = new ArrayList<>();
            for (OpResult o : e.getResults()) {
                codes.add(o instanceof OpResult.ErrorResult ? ((OpResult.ErrorResult) o).getErr() : 1);
            }
            check(codes.equals(Arrays.asList(0, -103, -2)), "failed transaction results: got %s, want [0, -103, -2]", codes);
        }
        check(c.checkExists().forPath(d + "/b") == null && c.checkExists().forPath(d + "/c") == null,
                "a failed transaction left %s/b or %s/c behind", d, d);
        check("x1".equals(str(c.getData().forPath(d + "/x"))), "x after the failed transaction: got %s, want x1", str(c.getData().forPath(d + "/x")));
        c.delete().deletingChildrenIfNeeded().forPath(d);
    }

    static void barrier() throws Exception {
        String path = "/curator/barrier";
        CuratorFramework a = client(LONG_SESSION), b = client(LONG_SESSION);
        DistributedBarrier set = new DistributedBarrier(a, path);
        set.setBarrier();
        sync(b, path);
        DistributedBarrier wait = new DistributedBarrier(b, path);
        check(!wait.waitOnBarrier(300, MILLISECONDS), "waitOnBarrier passed a set barrier");
        ExecutorService ex = Executors.newSingleThreadExecutor();
        try {
            Future<Boolean> passed = ex.submit(() -> wait.waitOnBarrier(WAIT, SECONDS));
            Thread.sleep(300);
            check(!passed.isDone(), "waiter passed before the barrier was removed");
            set.removeBarrier();
            check(passed.get(WAIT + 5, SECONDS), "waiter did not pass after the barrier was removed");
        } finally {
            ex.shutdownNow();
        }
        check(wait.waitOnBarrier(1, SECONDS), "waitOnBarrier blocked with no barrier");
    }

    static void doubleBarrier() throws Exception {
        String path = "/curator/dbarrier";
        final int n = 3;
        List<CuratorFramework> cs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            cs.add(client(LONG_SESSION));
        }
        ExecutorService ex = Executors.newFixedThreadPool(n);
        AtomicInteger entered = new AtomicInteger(), left = new AtomicInteger();
        CountDownLatch mayLeave = new CountDownLatch(1);
        try {
            List<Future<Boolean>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                CuratorFramework c = cs.get(i);
                fs.add(ex.submit(() -> {
                    DistributedDoubleBarrier db = new DistributedDoubleBarrier(c, path, n);
                    if (!db.enter(WAIT, SECONDS)) {
                        return false;
                    }
                    entered.incrementAndGet();
                    mayLeave.await(WAIT, SECONDS);
                    boolean ok = db.leave(WAIT, SECONDS);
                    left.incrementAndGet();
                    return ok;
                }));
                if (i < n - 1) {
                    Thread.sleep(300);
                    check(entered.get() == 0, "%d entered a double barrier for %d with only %d members", entered.get(), n, i + 1);
                }
            }
            await("all members entered", () -> entered.get() == n);
            mayLeave.countDown();
            for (Future<Boolean> f : fs) {
                check(f.get(WAIT + 5, SECONDS), "a member timed out entering or leaving");
            }
            check(left.get() == n, "members that left: got %d, want %d", left.get(), n);
        } finally {
            ex.shutdownNow();
        }
    }

    /** DistributedQueue with a lock path: every item consumed exactly once. */
    static void queue() throws Exception {
        String path = "/curator/queue/items", lockPath = "/curator/queue/locks";
        final int producers = 2, items = 20;
        Map<String, Integer> consumed = new ConcurrentHashMap<>();
        QueueSerializer<String> ser = new QueueSerializer<String>() {
            public byte[] serialize(String item) {
                return bytes(item);
            }

            public String deserialize(byte[] b) {
                return str(b);
            }
        };
        List<DistributedQueue<String>> qs = new ArrayList<>();
        for (int i = 0; i < producers; i++) {
            QueueConsumer<String> consumer = new QueueConsumer<String>() {
                public void consumeMessage(String item) {
                    consumed.merge(item, 1, Integer::sum);
                }

                public void stateChanged(CuratorFramework c, ConnectionState s) {
                }
            };
            DistributedQueue<String> q = closeLater(QueueBuilder.builder(client(LONG_SESSION), consumer, ser, path).lockPath(lockPath).buildQueue());
            q.start();
            qs.add(q);
        }
        Set<String> want = new TreeSet<>();
        for (int i = 0; i < producers; i++) {
            for (int k = 0; k < items; k++) {
                String item = "p" + i + "-" + k;
                want.add(item);
                qs.get(i).put(item);
            }
        }
        await("every item consumed", () -> consumed.size() >= want.size());
        Thread.sleep(200);
        check(new TreeSet<>(consumed.keySet()).equals(want), "consumed items: got %s, want %s", new TreeSet<>(consumed.keySet()), want);
        Map<String, Integer> dups = new TreeMap<>();
        consumed.forEach((k, v) -> {
            if (v != 1) {
                dups.put(k, v);
            }
        });
        check(dups.isEmpty(), "items consumed more than once: %s", dups);
    }

    /** SharedCount: versioned increments from 3 sessions lose nothing. */
    static void sharedCount() throws Exception {
        String path = "/curator/sharedcount";
        final int clients = 3, each = 15;
        List<SharedCount> counts = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            SharedCount sc = closeLater(new SharedCount(client(LONG_SESSION), path, 0));
            sc.start();
            counts.add(sc);
        }
        ExecutorService ex = Executors.newFixedThreadPool(clients);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (SharedCount sc : counts) {
                fs.add(ex.submit(() -> {
                    for (int k = 0; k < each; k++) {
                        long deadline = System.nanoTime() + SECONDS.toNanos(WAIT);
                        while (true) {
                            VersionedValue<Integer> v = sc.getVersionedValue();
                            if (sc.trySetCount(v, v.getValue() + 1)) {
                                break;
                            }
                            check(System.nanoTime() < deadline, "trySetCount kept failing for %ds", WAIT);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get(CHECK_LIMIT - 20, SECONDS);
            }
        } finally {
            ex.shutdownNow();
        }
        await("every SharedCount sees " + clients * each, () -> counts.stream().allMatch(sc -> sc.getCount() == clients * each));
    }

    /** DistributedAtomicLong: concurrent increments get distinct, gapless values. */
    static void atomicLong() throws Exception {
        String path = "/curator/atomiclong";
        final int clients = 3, each = 15;
        Set<Long> seen = ConcurrentHashMap.newKeySet();
        List<String> problems = new CopyOnWriteArrayList<>();
        ExecutorService ex = Executors.newFixedThreadPool(clients);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                CuratorFramework c = client(LONG_SESSION);
                fs.add(ex.submit(() -> {
                    DistributedAtomicLong n = new DistributedAtomicLong(c, path, new RetryNTimes(50, 10),
                            PromotedToLock.builder().lockPath(path + "-lock").retryPolicy(new RetryNTimes(50, 10)).build());
                    for (int k = 0; k < each; k++) {
                        AtomicValue<Long> v = n.increment();
                        if (!v.succeeded()) {
                            problems.add("increment did not succeed");
                        } else if (v.postValue() != v.preValue() + 1 || !seen.add(v.postValue())) {
                            problems.add("increment " + v.preValue() + " -> " + v.postValue());
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get(CHECK_LIMIT - 20, SECONDS);
            }
        } finally {
            ex.shutdownNow();
        }
        check(problems.isEmpty(), "atomic increments: %s", problems);
        Set<Long> want = new TreeSet<>();
        for (long v = 1; v <= clients * each; v++) {
            want.add(v);
        }
        check(new TreeSet<>(seen).equals(want), "values the increments produced: got %s, want 1..%d", new TreeSet<>(seen), clients * each);
    }

    /** Bursts of creates, sets and deletes; the caches converge on the tree. */
    static void curatorCache() throws Exception {
        String root = "/curator/cache";
        CuratorFramework w = client(LONG_SESSION), r = client(LONG_SESSION);
        w.create().creatingParentsIfNeeded().forPath(root, bytes("root"));
        sync(r, root);
        CuratorCache cache = closeLater(CuratorCache.build(r, root));
        CountDownLatch initialized = new CountDownLatch(1);
        cache.listenable().addListener(new org.apache.curator.framework.recipes.cache.CuratorCacheListener() {
            public void event(Type type, ChildData oldData, ChildData data) {
            }

            public void initialized() {
                initialized.countDown();
            }
        });
        cache.start();
        check(initialized.await(WAIT, SECONDS), "CuratorCache did not initialize within %ds", WAIT);
        for (int round = 0; round < 2; round++) {
            burst(w, root, round);
            Map<String, String> want = tree(w, root);
            await("CuratorCache converged after burst " + round, () -> cacheView(cache).equals(want));
        }
    }

    static Map<String, String> cacheView(CuratorCache cache) {
        Map<String, String> out = new TreeMap<>();
        cache.stream().forEach(d -> out.put(d.getPath(), str(d.getData())));
        return out;
    }

    @SuppressWarnings("deprecation") // TreeCache: still shipped and used; CuratorCache is checked too
    static void treeCache() throws Exception {
        String root = "/curator/treecache";
        CuratorFramework w = client(LONG_SESSION), r = client(LONG_SESSION);
        w.create().creatingParentsIfNeeded().forPath(root, bytes("root"));
        sync(r, root);
        TreeCache cache = closeLater(TreeCache.newBuilder(r, root).build());
        CountDownLatch initialized = new CountDownLatch(1);
        cache.getListenable().addListener((c, ev) -> {
            if (ev.getType() == org.apache.curator.framework.recipes.cache.TreeCacheEvent.Type.INITIALIZED) {
                initialized.countDown();
            }
        });
        cache.start();
        check(initialized.await(WAIT, SECONDS), "TreeCache did not initialize within %ds", WAIT);
        for (int round = 0; round < 2; round++) {
            burst(w, root, round);
            Map<String, String> want = tree(w, root);
            await("TreeCache converged after burst " + round, () -> treeView(cache, root).equals(want));
        }
    }

    @SuppressWarnings("deprecation")
    static Map<String, String> treeView(TreeCache cache, String root) {
        Map<String, String> out = new TreeMap<>();
        ChildData d = cache.getCurrentData(root);
        if (d == null) {
            return out;
        }
        out.put(root, str(d.getData()));
        Map<String, ChildData> children = cache.getCurrentChildren(root);
        if (children != null) {
            for (String name : children.keySet()) {
                out.putAll(treeView(cache, root + "/" + name));
            }
        }
        return out;
    }

    /** A burst of changes under root, as fast as the client sends them. */
    static void burst(CuratorFramework w, String root, int round) throws Exception {
        if (round == 0) {
            for (int i = 0; i < 30; i++) {
                w.create().inBackground().forPath(root + "/n" + i, bytes("v" + i));
            }
            sync(w, root); // background creates are done
            for (int i = 0; i < 10; i++) {
                w.create().inBackground().forPath(root + "/n" + i + "/c", bytes("child" + i));
                w.setData().inBackground().forPath(root + "/n" + (10 + i), bytes("changed" + i));
                w.delete().inBackground().forPath(root + "/n" + (20 + i));
            }
        } else {
            for (int i = 0; i < 10; i++) {
                // Explicit child first: a background recursive delete is
                // several round trips that a later sync does not wait for.
                w.delete().inBackground().forPath(root + "/n" + i + "/c");
                w.delete().inBackground().forPath(root + "/n" + i);
                w.setData().inBackground().forPath(root + "/n" + (10 + i), bytes("again" + i));
            }
            w.setData().inBackground().forPath(root, bytes("root2"));
        }
        sync(w, root);
    }

    /**
     * An ephemeral PersistentNode: gone when its owner is cut off long
     * enough for the session to expire, back under a new session when the
     * owner reconnects.
     */
    static void persistentNode() throws Exception {
        String path = "/curator/pnode/me";
        Proxy proxy = new Proxy();
        CuratorFramework owner = clientVia(proxy, SHORT_SESSION), watcher = client(LONG_SESSION);
        owner.create().creatingParentsIfNeeded().forPath("/curator/pnode");
        PersistentNode node = closeLater(new PersistentNode(owner, CreateMode.EPHEMERAL, false, path, bytes("alive")));
        node.start();
        check(node.waitForInitialCreate(WAIT, SECONDS), "PersistentNode not created within %ds", WAIT);
        long first = session(owner);
        sync(watcher, path);
        Stat st = watcher.checkExists().forPath(path);
        check(st != null && st.getEphemeralOwner() == first, "ephemeral PersistentNode: got %s, want owner %x", st, first);
        proxy.cut();
        await("the cut-off owner's ephemeral removed when its session expired", () -> {
            try {
                sync(watcher, path);
                return watcher.checkExists().forPath(path) == null;
            } catch (Exception e) {
                return false;
            }
        });
        proxy.heal();
        await("PersistentNode recreated by the new session", () -> {
            try {
                long now = session(owner);
                sync(watcher, path);
                Stat s = watcher.checkExists().forPath(path);
                return now != first && s != null && s.getEphemeralOwner() == now;
            } catch (Exception e) {
                return false;
            }
        });
        check("alive".equals(str(watcher.getData().forPath(path))), "PersistentNode data after recreation: got %s, want alive", str(watcher.getData().forPath(path)));
        node.close();
        sync(watcher, path);
        check(watcher.checkExists().forPath(path) == null, "PersistentNode still there after close");
    }

    /**
     * Persistent watches (addWatch): recursive and not, repeated, in order.
     * Each has its own session: the client library hands a connection's
     * events to every matching watcher, so one session would mix them.
     */
    static void persistentWatcher() throws Exception {
        String root = "/curator/pwatch";
        CuratorFramework w = client(LONG_SESSION), r = client(LONG_SESSION), rf = client(LONG_SESSION);
        w.create().creatingParentsIfNeeded().forPath(root + "/flat");
        sync(r, root);
        sync(rf, root);
        List<String> rec = new CopyOnWriteArrayList<>(), flat = new CopyOnWriteArrayList<>();
        PersistentWatcher pr = closeLater(new PersistentWatcher(r, root, true));
        pr.getListenable().addListener(ev -> rec.add(ev.getType() + " " + ev.getPath()));
        PersistentWatcher pf = closeLater(new PersistentWatcher(rf, root + "/flat", false));
        pf.getListenable().addListener(ev -> flat.add(ev.getType() + " " + ev.getPath()));
        CountDownLatch reset = new CountDownLatch(2);
        pr.getResetListenable().addListener(reset::countDown);
        pf.getResetListenable().addListener(reset::countDown);
        pr.start();
        pf.start();
        check(reset.await(WAIT, SECONDS), "persistent watches not set within %ds", WAIT);

        w.create().forPath(root + "/a", bytes("1"));
        w.create().forPath(root + "/a/b", bytes("2"));
        w.setData().forPath(root + "/a/b", bytes("3"));
        w.setData().forPath(root + "/a/b", bytes("4"));
        w.delete().forPath(root + "/a/b");
        w.create().forPath(root + "/flat/x");
        w.setData().forPath(root + "/flat", bytes("f1"));
        w.setData().forPath(root + "/flat", bytes("f2"));
        w.delete().forPath(root + "/flat/x");
        sync(r, root);
        sync(rf, root);
        List<String> wantRec = Arrays.asList(
                "NodeCreated " + root + "/a",
                "NodeCreated " + root + "/a/b",
                "NodeDataChanged " + root + "/a/b",
                "NodeDataChanged " + root + "/a/b",
                "NodeDeleted " + root + "/a/b",
                "NodeCreated " + root + "/flat/x",
                "NodeDataChanged " + root + "/flat",
                "NodeDataChanged " + root + "/flat",
                "NodeDeleted " + root + "/flat/x");
        List<String> wantFlat = Arrays.asList(
                "NodeChildrenChanged " + root + "/flat",
                "NodeDataChanged " + root + "/flat",
                "NodeDataChanged " + root + "/flat",
                "NodeChildrenChanged " + root + "/flat");
        await("recursive watch events", () -> rec.size() >= wantRec.size());
        await("persistent watch events", () -> flat.size() >= wantFlat.size());
        sync(r, root);
        sync(rf, root);
        Thread.sleep(100);
        check(rec.equals(wantRec), "persistent recursive watch on %s: got %s, want %s", root, rec, wantRec);
        check(flat.equals(wantFlat), "persistent watch on %s/flat: got %s, want %s", root, flat, wantFlat);
    }

    /** ServiceDiscovery: register, query, unregister; a lost session's instances go. */
    static void serviceDiscovery() throws Exception {
        String base = "/curator/discovery";
        Proxy proxy = new Proxy();
        CuratorFramework reg = clientVia(proxy, SHORT_SESSION), q = client(LONG_SESSION);
        ServiceDiscovery<Void> d1 = ServiceDiscoveryBuilder.builder(Void.class).client(reg).basePath(base).build();
        d1.start();
        ServiceInstance<Void> i1 = ServiceInstance.<Void>builder().name("svc").id("i1").address("10.0.0.1").port(1001).build();
        ServiceInstance<Void> i2 = ServiceInstance.<Void>builder().name("svc").id("i2").address("10.0.0.2").port(1002).build();
        d1.registerService(i1);
        d1.registerService(i2);

        ServiceDiscovery<Void> d2 = closeLater(ServiceDiscoveryBuilder.builder(Void.class).client(q).basePath(base).build());
        d2.start();
        sync(q, base);
        check(sorted(d2.queryForNames()).equals(Set.of("svc")), "queryForNames: got %s, want [svc]", d2.queryForNames());
        check(ids(d2.queryForInstances("svc")).equals(Set.of("i1", "i2")), "queryForInstances: got %s, want [i1, i2]", ids(d2.queryForInstances("svc")));
        ServiceInstance<Void> got = d2.queryForInstance("svc", "i1");
        check(got != null && "10.0.0.1".equals(got.getAddress()) && got.getPort() == 1001, "queryForInstance i1: got %s", got);
        ServiceProvider<Void> p = closeLater(d2.serviceProviderBuilder().serviceName("svc").build());
        p.start();
        await("provider sees both instances", () -> count(p) == 2);
        check(p.getInstance() != null, "provider getInstance: got null");

        d1.unregisterService(i2);
        await("provider sees the unregistered instance go", () -> count(p) == 1);
        check(ids(d2.queryForInstances("svc")).equals(Set.of("i1")), "after unregister: got %s, want [i1]", ids(d2.queryForInstances("svc")));

        // The registrant is cut off for good: the servers expire its
        // session and the ephemeral instance node goes.
        long start = System.nanoTime();
        proxy.cut();
        await("provider sees the cut-off registrant's instance go", () -> count(p) == 0);
        sync(q, base);
        check(d2.queryForInstances("svc").isEmpty(), "instances after the registrant's session expired: got %s, want none", ids(d2.queryForInstances("svc")));
        long ms = (System.nanoTime() - start) / 1_000_000;
        check(ms >= SHORT_SESSION / 2, "the cut-off registrant's instance went after %dms, before its %dms session could expire", ms, SHORT_SESSION);
    }

    static Set<String> ids(Collection<ServiceInstance<Void>> is) {
        Set<String> out = new TreeSet<>();
        for (ServiceInstance<Void> i : is) {
            out.add(i.getId());
        }
        return out;
    }

    static int count(ServiceProvider<Void> p) {
        try {
            return p.getAllInstances().size();
        } catch (Exception e) {
            return -1;
        }
    }
}

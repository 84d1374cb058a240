import static java.util.concurrent.TimeUnit.MILLISECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;

/**
 * The mutual-exclusion checks: locks, the semaphore and leader election,
 * including a leader kill and cut-off (expired) sessions.
 */
final class CuratorLocks extends CuratorCheck {
    /**
     * InterProcessMutex in 4 sessions; the leader is killed while one of
     * them holds the lock. Nobody else may get it meanwhile, in this
     * process or in the servers' view (a versioned counter).
     */
    static void mutex() throws Exception {
        final int clients = 4, rounds = 6, killAt = clients * rounds / 3;
        final String lock = "/curator/mutex/lock", counter = "/curator/mutex/counter";
        List<CuratorFramework> cs = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            cs.add(client(CuratorRecipes.LONG_SESSION));
        }
        cs.get(0).create().creatingParentsIfNeeded().forPath(counter, bytes("0"));
        AtomicInteger holders = new AtomicInteger(), acquired = new AtomicInteger();
        List<String> problems = new CopyOnWriteArrayList<>();
        ExecutorService ex = Executors.newFixedThreadPool(clients);
        List<Future<?>> fs = new ArrayList<>();
        for (CuratorFramework c : cs) {
            fs.add(ex.submit(() -> {
                InterProcessMutex m = new InterProcessMutex(c, lock);
                for (int r = 0; r < rounds; r++) {
                    if (!m.acquire(60, SECONDS)) {
                        problems.add("acquire timed out after 60s");
                        return null;
                    }
                    int n = holders.incrementAndGet();
                    try {
                        if (n != 1) {
                            problems.add(n + " holders at once");
                        }
                        if (acquired.incrementAndGet() == killAt) {
                            action("kill-leader"); // while holding the lock
                        }
                        String err = incrementUnderLock(c, counter);
                        if (err != null) {
                            problems.add(err);
                        }
                        Thread.sleep(20);
                    } finally {
                        holders.decrementAndGet();
                        m.release();
                    }
                }
                return null;
            }));
        }
        try {
            for (Future<?> f : fs) {
                f.get(CHECK_LIMIT - 20, SECONDS);
            }
        } finally {
            ex.shutdownNow();
            action("restore");
        }
        check(problems.isEmpty(), "mutual exclusion: %s", problems);
        sync(cs.get(1), counter);
        String v = str(cs.get(1).getData().forPath(counter));
        check(String.valueOf(clients * rounds).equals(v), "counter after %d locked increments: got %s", clients * rounds, v);
        // Curator creates the lock's parent as a container: empty, it may
        // already be gone.
        Stat parent = cs.get(1).checkExists().forPath(lock);
        check(parent == null || parent.getNumChildren() == 0, "lock nodes left: %s", parent == null ? "none" : cs.get(1).getChildren().forPath(lock));
    }

    /** Adds one under the lock with a versioned set; returns a problem or null. */
    static String incrementUnderLock(CuratorFramework c, String path) throws Exception {
        Stat st = new Stat();
        long v = Long.parseLong(str(c.getData().storingStatIn(st).forPath(path)));
        try {
            c.setData().withVersion(st.getVersion()).forPath(path, bytes(String.valueOf(v + 1)));
            return null;
        } catch (KeeperException.BadVersionException e) {
            // Curator retries a set whose connection dropped; if the first
            // attempt was applied the retry sees our own version bump.
            Stat now = new Stat();
            long got = Long.parseLong(str(c.getData().storingStatIn(now).forPath(path)));
            if (got == v + 1 && now.getVersion() == st.getVersion() + 1) {
                return null;
            }
            return "counter changed from " + v + " (version " + st.getVersion() + ") to " + got + " (version " + now.getVersion() + ") while the lock was held";
        }
    }

    static void readWriteLock() throws Exception {
        String path = "/curator/rwlock";
        CuratorFramework a = client(CuratorRecipes.LONG_SESSION), b = client(CuratorRecipes.LONG_SESSION), w = client(CuratorRecipes.LONG_SESSION);
        InterProcessReadWriteLock la = new InterProcessReadWriteLock(a, path);
        InterProcessReadWriteLock lb = new InterProcessReadWriteLock(b, path);
        InterProcessReadWriteLock lw = new InterProcessReadWriteLock(w, path);
        // Locks belong to the thread that took them: the writer has its own.
        ExecutorService writer = Executors.newSingleThreadExecutor();
        try {
            check(la.readLock().acquire(WAIT, SECONDS), "first reader did not get the read lock");
            check(lb.readLock().acquire(WAIT, SECONDS), "second reader did not get the read lock while the first held it");
            check(!writer.submit(() -> lw.writeLock().acquire(300, MILLISECONDS)).get(WAIT, SECONDS), "writer got the lock while two readers held it");
            Future<Boolean> wf = writer.submit(() -> lw.writeLock().acquire(WAIT, SECONDS));
            Thread.sleep(300);
            la.readLock().release();
            Thread.sleep(300);
            check(!wf.isDone(), "writer got the lock while the second reader still held it");
            lb.readLock().release();
            check(wf.get(WAIT + 5, SECONDS), "writer did not get the lock after the readers left");
            check(!la.readLock().acquire(300, MILLISECONDS), "a reader got the lock while the writer held it");
            // Downgrade: the writer takes the read lock, then drops the write lock.
            check(writer.submit(() -> lw.readLock().acquire(WAIT, SECONDS)).get(WAIT + 5, SECONDS), "writer could not take the read lock");
            writer.submit(() -> {
                lw.writeLock().release();
                return null;
            }).get(WAIT, SECONDS);
            check(la.readLock().acquire(WAIT, SECONDS), "reader blocked after the writer downgraded to a read lock");
            check(!lb.writeLock().acquire(300, MILLISECONDS), "another writer got the lock while two readers held it");
            la.readLock().release();
            writer.submit(() -> {
                lw.readLock().release();
                return null;
            }).get(WAIT, SECONDS);
            check(lb.writeLock().acquire(WAIT, SECONDS), "writer blocked with no one holding the lock");
            lb.writeLock().release();
        } finally {
            writer.shutdownNow();
        }
    }

    static void semaphore() throws Exception {
        String path = "/curator/semaphore";
        List<InterProcessSemaphoreV2> sems = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            sems.add(new InterProcessSemaphoreV2(client(CuratorRecipes.LONG_SESSION), path, 2));
        }
        Lease l1 = sems.get(0).acquire(WAIT, SECONDS), l2 = sems.get(1).acquire(WAIT, SECONDS);
        check(l1 != null && l2 != null, "the first two leases of 2 were not granted");
        check(sems.get(2).acquire(300, MILLISECONDS) == null, "a third lease was granted with 2 of 2 out");
        Collection<String> nodes = sems.get(3).getParticipantNodes();
        check(nodes.size() == 2, "participant nodes with 2 leases out: got %s, want 2", nodes);
        ExecutorService ex = Executors.newCachedThreadPool();
        try {
            Future<Lease> waiting = ex.submit(() -> sems.get(2).acquire(WAIT, SECONDS));
            Thread.sleep(200);
            check(!waiting.isDone(), "a waiting lease was granted with 2 of 2 out");
            sems.get(0).returnLease(l1);
            Lease l3 = waiting.get(WAIT + 5, SECONDS);
            check(l3 != null, "the waiting lease was not granted after one was returned");
            sems.get(1).returnLease(l2);
            sems.get(2).returnLease(l3);

            // Contention: never more than 2 at once.
            AtomicInteger inside = new AtomicInteger(), max = new AtomicInteger(), done = new AtomicInteger();
            List<Future<?>> fs = new ArrayList<>();
            for (InterProcessSemaphoreV2 s : sems) {
                fs.add(ex.submit(() -> {
                    for (int r = 0; r < 5; r++) {
                        Lease l = s.acquire(WAIT, SECONDS);
                        check(l != null, "lease not granted within %ds under contention", WAIT);
                        int n = inside.incrementAndGet();
                        max.accumulateAndGet(n, Math::max);
                        Thread.sleep(15);
                        inside.decrementAndGet();
                        done.incrementAndGet();
                        s.returnLease(l);
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get(CHECK_LIMIT - 20, SECONDS);
            }
            check(max.get() <= 2 && done.get() == 20, "semaphore of 2 under contention: got at most %d holders and %d leases, want <= 2 and 20", max.get(), done.get());
        } finally {
            ex.shutdownNow();
        }
    }

    /**
     * Exactly one latch leads. The leader is cut off (its proxy drops the
     * connection): it gives up leadership at once, the servers expire its
     * session after the timeout, and only then another latch leads. Back
     * online it rejoins as a follower. Never two leaders at once.
     */
    static void leaderLatch() throws Exception {
        String path = "/curator/latch";
        List<Proxy> proxies = new ArrayList<>();
        List<CuratorFramework> cs = new ArrayList<>();
        List<LeaderLatch> latches = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Proxy p = new Proxy();
            proxies.add(p);
            CuratorFramework c = clientVia(p, CuratorRecipes.SHORT_SESSION);
            cs.add(c);
            LeaderLatch l = closeLater(new LeaderLatch(c, path, "latch-" + i));
            latches.add(l);
            l.start();
        }
        AtomicInteger maxLeaders = new AtomicInteger();
        Thread sampler = watchLeaders(latches, maxLeaders);
        try {
            await("one latch leading", () -> leaders(latches).size() == 1);
            int first = leaders(latches).get(0);
            String id = latches.get((first + 1) % 3).getLeader().getId();
            check(id.equals("latch-" + first), "getLeader from another latch: got %s, want latch-%d", id, first);
            long cutAt = System.nanoTime();
            proxies.get(first).cut();
            try {
                await("another latch leading after the leader was cut off",
                        () -> leaders(latches).size() == 1 && leaders(latches).get(0) != first);
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; " + describe(latches, cs.get((first + 1) % 3), path));
            }
            long ms = (System.nanoTime() - cutAt) / 1_000_000;
            check(ms >= CuratorRecipes.SHORT_SESSION / 2, "a new latch led %dms after the old leader was cut off; its %dms session cannot have expired yet", ms, CuratorRecipes.SHORT_SESSION);
            int second = leaders(latches).get(0);
            proxies.get(first).heal();
            await("the cut-off latch rejoined", () -> {
                try {
                    return latches.get(second).getParticipants().size() == 3;
                } catch (Exception e) {
                    return false;
                }
            });
            Thread.sleep(300);
            check(leaders(latches).equals(List.of(second)), "leaders after the old leader rejoined: got %s, want [%d]; %s",
                    leaders(latches), second, describe(latches, cs.get(second), path));
        } finally {
            sampler.interrupt();
            sampler.join();
        }
        check(maxLeaders.get() == 1, "latches leading at the same time: got up to %d, want 1", maxLeaders.get());
    }

    static String describe(List<LeaderLatch> latches, CuratorFramework c, String path) {
        StringBuilder b = new StringBuilder("leaders " + leaders(latches));
        for (LeaderLatch l : latches) {
            b.append(", ").append(l.getId()).append(' ').append(l.getState()).append(" path ").append(l.getOurPath());
        }
        try {
            b.append(", nodes ").append(sorted(c.getChildren().forPath(path)));
        } catch (Exception e) {
            b.append(", nodes: ").append(e);
        }
        return b.toString();
    }

    static List<Integer> leaders(List<LeaderLatch> latches) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < latches.size(); i++) {
            if (latches.get(i).hasLeadership()) {
                out.add(i);
            }
        }
        return out;
    }

    static Thread watchLeaders(List<LeaderLatch> latches, AtomicInteger max) {
        Thread t = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                max.accumulateAndGet(leaders(latches).size(), Math::max);
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "latch-sampler");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * LeaderSelector with autoRequeue: leadership passes on when the leader
     * gives it up and when it is cut off (and its session expires), one
     * leader at a time.
     */
    static void leaderSelector() throws Exception {
        String path = "/curator/selector";
        AtomicInteger leading = new AtomicInteger(), maxLeading = new AtomicInteger();
        List<String> history = new CopyOnWriteArrayList<>();
        Set<Integer> resign = ConcurrentHashMap.newKeySet();
        List<Proxy> proxies = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            final int me = i;
            Proxy p = new Proxy();
            proxies.add(p);
            CuratorFramework c = clientVia(p, CuratorRecipes.SHORT_SESSION);
            LeaderSelector s = closeLater(new LeaderSelector(c, path, new LeaderSelectorListenerAdapter() {
                @Override
                public void takeLeadership(CuratorFramework client) throws Exception {
                    maxLeading.accumulateAndGet(leading.incrementAndGet(), Math::max);
                    history.add("s" + me);
                    try {
                        while (!resign.remove(me)) {
                            Thread.sleep(5); // interrupted when the connection is suspended or lost
                        }
                    } finally {
                        leading.decrementAndGet();
                    }
                }
            }));
            s.setId("s" + i);
            s.autoRequeue();
            s.start();
        }
        await("a first leader", () -> history.size() == 1);
        int first = history.get(0).charAt(1) - '0';
        resign.add(first);
        await("a second leader after the first resigned", () -> history.size() == 2);
        check(!history.get(1).equals(history.get(0)), "leadership went back to the resigning %s", history.get(0));
        int second = history.get(1).charAt(1) - '0';
        proxies.get(second).cut(); // the adapter cancels its leadership on SUSPENDED
        await("a third leader after the second was cut off", () -> history.size() >= 3);
        check(!history.get(2).equals(history.get(1)), "leadership stayed with %s after it was cut off", history.get(1));
        proxies.get(second).heal();
        check(maxLeading.get() == 1, "selectors leading at the same time: got up to %d, want 1 (history %s)", maxLeading.get(), history);
    }
}

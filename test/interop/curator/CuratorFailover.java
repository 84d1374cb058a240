import static java.util.concurrent.TimeUnit.SECONDS;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.atomic.PromotedToLock;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryNTimes;

/**
 * Leader election and the counters while the ensemble's leader is killed
 * and restarted. Election keeps at most one leader at any moment. A counter
 * holds every acknowledged increment; it may hold one more for each
 * increment whose outcome a connection loss hid (Curator retries a set
 * that may already have been applied), so the checks bound the count by
 * the connection losses the clients saw.
 */
final class CuratorFailover extends CuratorCheck {
    /** Counts the client's connection losses (SUSPENDED or LOST) in n. */
    static CuratorFramework countingLosses(CuratorFramework c, AtomicInteger n) {
        c.getConnectionStateListenable().addListener((client, st) -> {
            if (st == ConnectionState.SUSPENDED || st == ConnectionState.LOST) {
                n.incrementAndGet();
            }
        });
        return c;
    }

    /** Runs action("restore") once, if a kill was asked for. */
    static final class Restorer {
        private final AtomicBoolean killed = new AtomicBoolean();

        void kill() throws Exception {
            if (killed.compareAndSet(false, true)) {
                action("kill-leader");
            }
        }

        void restore() throws Exception {
            if (killed.compareAndSet(true, false)) {
                action("restore");
            }
        }
    }

    /** LeaderLatch, 3 latches: one leads before, during and after a leader kill, never two. */
    static void leaderLatch() throws Exception {
        String path = "/curator/latch-kill";
        List<LeaderLatch> latches = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            LeaderLatch l = closeLater(new LeaderLatch(client(CuratorRecipes.LONG_SESSION), path, "latch-" + i));
            latches.add(l);
            l.start();
        }
        AtomicInteger maxLeaders = new AtomicInteger();
        Thread sampler = CuratorLocks.watchLeaders(latches, maxLeaders);
        Restorer r = new Restorer();
        try {
            await("one latch leading", () -> CuratorLocks.leaders(latches).size() == 1);
            r.kill();
            await("one latch leading while the leader is down", () -> CuratorLocks.leaders(latches).size() == 1);
            r.restore();
            await("one latch leading after the restart", () -> CuratorLocks.leaders(latches).size() == 1);
        } finally {
            sampler.interrupt();
            sampler.join();
            r.restore();
        }
        check(maxLeaders.get() == 1, "latches leading at the same time: got up to %d, want 1", maxLeaders.get());
    }

    /** SharedCount, 3 clients x 15 increments; the leader is killed a third of the way. */
    static void sharedCount() throws Exception {
        String path = "/curator/sharedcount-kill";
        final int clients = 3, each = 15, killAt = clients * each / 3;
        AtomicInteger losses = new AtomicInteger(), unknown = new AtomicInteger(), acked = new AtomicInteger();
        List<SharedCount> counts = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            SharedCount sc = closeLater(new SharedCount(countingLosses(client(CuratorRecipes.LONG_SESSION), losses), path, 0));
            sc.start();
            counts.add(sc);
        }
        Restorer r = new Restorer();
        ExecutorService ex = Executors.newFixedThreadPool(clients);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (SharedCount sc : counts) {
                fs.add(ex.submit(() -> {
                    for (int k = 0; k < each; k++) {
                        long deadline = System.nanoTime() + SECONDS.toNanos(WAIT);
                        while (true) {
                            VersionedValue<Integer> v = sc.getVersionedValue();
                            try {
                                if (sc.trySetCount(v, v.getValue() + 1)) {
                                    break;
                                }
                            } catch (Exception e) {
                                unknown.incrementAndGet(); // the set may have been applied
                                Thread.sleep(50);
                            }
                            check(System.nanoTime() < deadline, "trySetCount kept failing for %ds", WAIT);
                        }
                        if (acked.incrementAndGet() == killAt) {
                            r.kill();
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
            r.restore();
        }
        CuratorFramework reader = client(CuratorRecipes.LONG_SESSION);
        sync(reader, path);
        int got = ByteBuffer.wrap(reader.getData().forPath(path)).getInt();
        int want = clients * each, slack = losses.get() + unknown.get();
        check(got >= want && got <= want + slack, "count after %d acknowledged increments and %d connection losses or failed sets: got %d, want %d..%d",
                want, slack, got, want, want + slack);
        await("every SharedCount sees " + got, () -> counts.stream().allMatch(sc -> sc.getCount() == got));
    }

    /** DistributedAtomicLong, 3 clients x 15 increments; the leader is killed a third of the way. */
    static void atomicLong() throws Exception {
        String path = "/curator/atomiclong-kill";
        final int clients = 3, each = 15, killAt = clients * each / 3;
        AtomicInteger losses = new AtomicInteger(), unknown = new AtomicInteger(), attempts = new AtomicInteger();
        Set<Long> seen = ConcurrentHashMap.newKeySet();
        List<String> problems = new CopyOnWriteArrayList<>();
        Restorer r = new Restorer();
        ExecutorService ex = Executors.newFixedThreadPool(clients);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                CuratorFramework c = countingLosses(client(CuratorRecipes.LONG_SESSION), losses);
                fs.add(ex.submit(() -> {
                    DistributedAtomicLong n = new DistributedAtomicLong(c, path, new RetryNTimes(50, 10),
                            PromotedToLock.builder().lockPath(path + "-lock").retryPolicy(new RetryNTimes(50, 10)).build());
                    for (int k = 0; k < each; k++) {
                        try {
                            AtomicValue<Long> v = n.increment();
                            if (!v.succeeded()) {
                                unknown.incrementAndGet();
                            } else if (v.postValue() != v.preValue() + 1 || !seen.add(v.postValue())) {
                                problems.add("increment " + v.preValue() + " -> " + v.postValue());
                            }
                        } catch (Exception e) {
                            unknown.incrementAndGet(); // may have been applied
                        }
                        if (attempts.incrementAndGet() == killAt) {
                            r.kill();
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
            r.restore();
        }
        check(problems.isEmpty(), "atomic increments (two increments reporting one value break atomicity): %s", problems);
        check(!seen.isEmpty(), "no increment succeeded");
        CuratorFramework reader = client(CuratorRecipes.LONG_SESSION);
        sync(reader, path);
        long last = new DistributedAtomicLong(reader, path, new RetryNTimes(5, 100)).get().postValue();
        long max = new TreeSet<>(seen).last();
        int slack = losses.get() + unknown.get();
        check(last >= max && last - seen.size() <= slack,
                "final value %d after %d acknowledged increments (highest %d) and %d connection losses or failed increments: want %d..%d",
                last, seen.size(), max, slack, Math.max(max, seen.size()), seen.size() + slack);
    }
}

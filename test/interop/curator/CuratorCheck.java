import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;

/**
 * CuratorCheck runs Apache Curator's recipes (Debian's libcurator-*-java on
 * the ZooKeeper 3.8 Java client) against the ensemble named by args[0] and
 * prints one line per check:
 *
 *   PASS name
 *   FAIL name: what happened, "got ..., want ..."
 *
 * then "DONE passed=N failed=M". args[1], if given, runs only the checks
 * whose names contain it.
 *
 * A check that needs a server killed prints "ACTION kill-leader" (or
 * "ACTION restore") and waits for the Go test to answer "done" on stdin.
 *
 * The checks live in CuratorRecipes and CuratorLocks; this class runs them, each
 * bounded in time, and owns the clients they open.
 */
public class CuratorCheck {
    /** Bound for any single wait in a check, in seconds. */
    static final int WAIT = 20;
    /** Bound for a whole check, in seconds. */
    static final int CHECK_LIMIT = 120;

    static String connect;
    static final List<Closeable> open = new CopyOnWriteArrayList<>();
    static final BlockingQueue<String> replies = new LinkedBlockingQueue<>();

    interface Check {
        void run() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: CuratorCheck host:port[,host:port...] [check-name-filter]");
            System.exit(2);
        }
        connect = args[0];
        String only = args.length > 1 ? args[1] : "";
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    replies.add(line.trim());
                }
            } catch (Exception e) {
                replies.add("stdin: " + e);
            }
        }, "stdin");
        reader.setDaemon(true);
        reader.start();

        Map<String, Check> checks = CuratorRecipes.all();
        int passed = 0, failed = 0;
        ExecutorService runner = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "check");
            t.setDaemon(true);
            return t;
        });
        for (Map.Entry<String, Check> e : checks.entrySet()) {
            if (!e.getKey().contains(only)) {
                continue;
            }
            long start = System.nanoTime();
            Future<?> f = runner.submit(() -> {
                e.getValue().run();
                return null;
            });
            String failure = null;
            try {
                f.get(CHECK_LIMIT, SECONDS);
            } catch (TimeoutException te) {
                f.cancel(true);
                failure = "did not finish within " + CHECK_LIMIT + "s";
            } catch (java.util.concurrent.ExecutionException ee) {
                Throwable c = ee.getCause();
                failure = c instanceof AssertionError ? c.getMessage() : c.toString();
                if (!(c instanceof AssertionError)) {
                    c.printStackTrace();
                }
            }
            closeAll();
            long ms = (System.nanoTime() - start) / 1_000_000;
            if (failure == null) {
                passed++;
                System.out.println("PASS " + e.getKey() + " (" + ms + "ms)");
            } else {
                failed++;
                System.out.println("FAIL " + e.getKey() + ": " + failure.replace('\n', ' ') + " (" + ms + "ms)");
            }
            System.out.flush();
        }
        System.out.println("DONE passed=" + passed + " failed=" + failed);
        System.out.flush();
        // Recipes leave daemon and non-daemon threads behind; the result is out.
        System.exit(0);
    }

    /** Opens a started, connected client; closed when the check ends. */
    static CuratorFramework client(int sessionMs) throws Exception {
        CuratorFramework c = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .sessionTimeoutMs(sessionMs)
                .connectionTimeoutMs(15000)
                .retryPolicy(new ExponentialBackoffRetry(100, 29, 1000))
                .build();
        open.add(c);
        c.start();
        check(c.blockUntilConnected(WAIT, SECONDS), "no connection to %s within %ds", connect, WAIT);
        return c;
    }

    /** Registers a recipe to be closed (before the clients) when the check ends. */
    static <T extends Closeable> T closeLater(T c) {
        open.add(0, c);
        return c;
    }

    static void closeAll() {
        for (Closeable c : open) {
            try {
                c.close();
            } catch (Exception | AssertionError e) {
                // A recipe whose client is already gone may complain; the
                // check's result is decided.
            }
        }
        open.clear();
    }

    /** Asks the Go test to do something to the ensemble and waits for it. */
    static synchronized void action(String what) throws Exception {
        System.out.println("ACTION " + what);
        System.out.flush();
        String reply = replies.poll(90, SECONDS);
        check("done".equals(reply), "action %s: got reply %s, want done", what, reply);
    }

    /** The session id of a client's current ZooKeeper handle. */
    static long session(CuratorFramework c) throws Exception {
        return c.getZookeeperClient().getZooKeeper().getSessionId();
    }

    /**
     * Opens a client that reaches the ensemble through its own Proxy, so a
     * check can cut it off: the client is disconnected at once (Curator
     * reports SUSPENDED) and the servers expire its session after the
     * timeout, as a partition or a dead process would make them.
     */
    static CuratorFramework clientVia(Proxy p, int sessionMs) throws Exception {
        CuratorFramework c = CuratorFrameworkFactory.builder()
                .connectString(p.address())
                // Otherwise Curator reads the servers' client addresses from
                // /zookeeper/config and reconnects around the proxy.
                .ensembleTracker(false)
                .sessionTimeoutMs(sessionMs)
                .connectionTimeoutMs(15000)
                .retryPolicy(new ExponentialBackoffRetry(100, 29, 1000))
                .build();
        open.add(c);
        c.start();
        check(c.blockUntilConnected(WAIT, SECONDS), "no connection through the proxy within %ds", WAIT);
        return c;
    }

    /**
     * A TCP proxy on the loopback interface in front of the ensemble. Each
     * client connection goes to the next server in turn. cut() closes every
     * connection and refuses new ones until heal().
     */
    static final class Proxy implements Closeable {
        private final ServerSocket listener;
        private final String[] servers;
        private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
        private final AtomicInteger next = new AtomicInteger();
        private volatile boolean cut;

        Proxy() throws Exception {
            servers = connect.split(",");
            listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            open.add(this);
            Thread t = new Thread(this::acceptLoop, "proxy-accept");
            t.setDaemon(true);
            t.start();
        }

        String address() {
            return "127.0.0.1:" + listener.getLocalPort();
        }

        void cut() {
            cut = true;
            for (Socket s : sockets) {
                closeQuietly(s);
            }
        }

        void heal() {
            cut = false;
        }

        @Override
        public void close() {
            cut();
            closeQuietly(listener);
        }

        private void acceptLoop() {
            while (!listener.isClosed()) {
                Socket in;
                try {
                    in = listener.accept();
                } catch (Exception e) {
                    return;
                }
                if (cut) {
                    closeQuietly(in);
                    continue;
                }
                Socket out = null;
                for (int i = 0; i < servers.length && out == null; i++) {
                    String[] hp = servers[Math.floorMod(next.getAndIncrement(), servers.length)].split(":");
                    try {
                        Socket s = new Socket();
                        s.connect(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])), 1000);
                        out = s;
                    } catch (Exception e) {
                        // that server is down: try the next
                    }
                }
                if (out == null) {
                    closeQuietly(in);
                    continue;
                }
                sockets.add(in);
                sockets.add(out);
                pump(in, out);
                pump(out, in);
            }
        }

        private void pump(Socket from, Socket to) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[65536];
                try {
                    InputStream r = from.getInputStream();
                    OutputStream w = to.getOutputStream();
                    int n;
                    while ((n = r.read(buf)) > 0) {
                        w.write(buf, 0, n);
                    }
                } catch (Exception e) {
                    // closed by cut() or by either end
                } finally {
                    closeQuietly(from);
                    closeQuietly(to);
                    sockets.remove(from);
                    sockets.remove(to);
                }
            }, "proxy-pump");
            t.setDaemon(true);
            t.start();
        }

        private static void closeQuietly(Closeable c) {
            try {
                c.close();
            } catch (Exception e) {
                // already closed
            }
        }
    }

    /** Makes the client's server catch up with the leader. */
    static void sync(CuratorFramework c, String path) throws Exception {
        CountDownLatch done = new CountDownLatch(1);
        c.sync().inBackground((client, event) -> done.countDown()).forPath(path);
        check(done.await(WAIT, SECONDS), "sync %s: no answer within %ds", path, WAIT);
    }

    static void check(boolean ok, String format, Object... args) {
        if (!ok) {
            throw new AssertionError(String.format(format, args));
        }
    }

    /** Polls cond every 10ms until it holds or WAIT seconds pass. */
    static void await(String what, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + SECONDS.toNanos(WAIT);
        while (!cond.getAsBoolean()) {
            check(System.nanoTime() < deadline, "%s: not within %ds", what, WAIT);
            Thread.sleep(10);
        }
    }

    static byte[] bytes(String s) {
        return s.getBytes(UTF_8);
    }

    static String str(byte[] b) {
        return b == null ? null : new String(b, UTF_8);
    }

    /** The whole subtree under path as path -> data, read through c. */
    static Map<String, String> tree(CuratorFramework c, String path) throws Exception {
        Map<String, String> out = new TreeMap<>();
        walk(c, path, out);
        return out;
    }

    private static void walk(CuratorFramework c, String path, Map<String, String> out) throws Exception {
        out.put(path, str(c.getData().forPath(path)));
        List<String> children = new ArrayList<>(c.getChildren().forPath(path));
        Collections.sort(children);
        for (String ch : children) {
            walk(c, path + "/" + ch, out);
        }
    }

    static Set<String> sorted(Collection<String> c) {
        return new TreeSet<>(c);
    }
}

package io.flotilla.bench;

import io.flotilla.multiraft.InMemoryStateMachine;
import io.flotilla.multiraft.MultiRaftConfig;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.multiraft.ProposalListener;
import io.flotilla.multiraft.TransportPeerSender;
import io.flotilla.raft.ProposeResult;
import io.flotilla.transport.PeerTransport;
import io.flotilla.transport.TransportConfig;
import io.flotilla.wal.NioWalFileSystem;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalCacheBudget;
import io.flotilla.wal.WalCacheConfig;
import io.flotilla.wal.WalConfig;
import io.flotilla.wal.WalWriterConfig;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Load and idle cost of the multi-group runtime: 3 nodes in one JVM, each with its own real
 * write-ahead log (a scratch directory) and Netty transport on loopback, the in-memory state
 * machine. Load: {@code --inflight} proposals of {@code --entry-bytes} kept in flight over all
 * groups, reporting committed entries/s, commit latency percentiles (propose → applied on the
 * leader), entries per fsync, messages per flush, CPU per committed entry and threads per node.
 * Idle: groups created, left to go quiescent, then CPU and heap per group replica are measured.
 *
 * <pre>
 * bench/run --main RuntimeBench [--groups 1,64,1024] [--idle-groups 1000,10000] [--seconds 10]
 *     [--inflight 512] [--entry-bytes 128] [--workers cores/3] [--dir /tmp] [--mode load|idle|both]
 *     [--wal-cache-entries 1024]
 * </pre>
 */
public final class RuntimeBench {
    private static final Pattern NODE_THREAD = Pattern.compile("^flotilla-([a-z-]+?)-(\\d+)(?:-.*)?$");

    private final Path dir;
    private final int workers;
    private final WalCacheConfig cache;
    private final TreeMap<Long, MultiRaftNode> nodes = new TreeMap<>();
    /** Nodes 1..3 by id, for the proposer's hot path (a TreeMap lookup per proposal showed in profiles). */
    private final MultiRaftNode[] byId = new MultiRaftNode[4];
    private final TreeMap<Long, Wal> wals = new TreeMap<>();
    private final TreeMap<Long, PeerTransport> transports = new TreeMap<>();

    private RuntimeBench(Path dir, int workers, WalCacheConfig cache) {
        this.cache = cache;
        this.dir = dir;
        this.workers = workers;
    }

    public static void main(String[] argv) throws Exception {
        BenchArgs args = new BenchArgs(argv, Set.of("help"));
        if (args.flag("help")) {
            System.out.println("bench/run --main RuntimeBench [--groups 1,64,1024] [--idle-groups 1000,10000] [--seconds 10]"
                    + " [--inflight 512] [--entry-bytes 128] [--workers cores/3] [--dir /tmp] [--mode load|idle|both] [--wal-cache-entries 1024]");
            return;
        }
        List<Integer> loadGroups = ints(args.string("groups", "1,64,1024"));
        List<Integer> idleGroups = ints(args.string("idle-groups", "1000,10000"));
        double seconds = args.seconds("seconds", 10, 1, 600);
        int inflight = args.integer("inflight", 512, 1, 1 << 16);
        int entryBytes = args.integer("entry-bytes", 128, 1, 1 << 20);
        // The three nodes share this machine's cores, so each gets a third of them (at least one worker).
        int workers = args.integer("workers", Math.max(1, Runtime.getRuntime().availableProcessors() / 3), 1, 64);
        String mode = args.string("mode", "both");
        WalCacheConfig cache = new WalCacheConfig(args.integer("wal-cache-entries", WalCacheConfig.DEFAULT_MAX_ENTRIES, 0, 1 << 20),
                WalCacheConfig.DEFAULT_MAX_BYTES);
        Path parent = Path.of(args.string("dir", System.getProperty("java.io.tmpdir")));
        args.rejectUnused();

        System.out.println(BenchEnv.setupLine());
        System.out.printf("3 nodes in one JVM, Netty over loopback, one WAL per node, %d workers per node, in-memory state machine%n%n",
                workers);
        if (!mode.equals("idle")) {
            System.out.println("| groups | committed entries/s | p50 ms | p99 ms | p99.9 ms | entries/fsync | messages/flush"
                    + " | CPU µs/entry | threads/node | load |");
            System.out.println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
            for (int groups : loadGroups) {
                Path scratch = BenchEnv.createScratch(parent, "flotilla-runtime-bench");
                RuntimeBench b = new RuntimeBench(scratch, workers, cache);
                try {
                    b.load(groups, seconds, inflight, entryBytes);
                } finally {
                    b.close();
                    BenchEnv.deleteTree(scratch);
                }
            }
            System.out.println();
        }
        if (!mode.equals("load")) {
            System.out.println("| groups | replicas | idle CPU (cores) | heap bytes per replica | awake groups | threads/node | load |");
            System.out.println("|---:|---:|---:|---:|---:|---:|---|");
            for (int groups : idleGroups) {
                Path scratch = BenchEnv.createScratch(parent, "flotilla-runtime-idle");
                RuntimeBench b = new RuntimeBench(scratch, workers, cache);
                try {
                    b.idle(groups, seconds);
                } finally {
                    b.close();
                    BenchEnv.deleteTree(scratch);
                }
            }
        }
    }

    private static List<Integer> ints(String csv) {
        List<Integer> out = new ArrayList<>();
        for (String s : csv.split(",")) {
            if (!s.isBlank()) {
                out.add(Integer.parseInt(s.trim()));
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- cluster

    private void startCluster(int groups) throws Exception {
        int[] ports = new int[4];
        for (int i = 1; i <= 3; i++) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                ports[i] = s.getLocalPort();
            }
        }
        for (long id = 1; id <= 3; id++) {
            WalConfig wc = WalConfig.of(dir.resolve("node" + id), 1, id);
            Wal wal = Wal.open(new NioWalFileSystem(), wc, WalWriterConfig.defaults(wc), cache,
                    new WalCacheBudget(256L << 20));
            TransportPeerSender sender = new TransportPeerSender();
            MultiRaftNode node = new MultiRaftNode(new MultiRaftConfig(id, workers, 10, 20, 3, 1 << 16, 1 << 16, 1000), wal,
                    new InMemoryStateMachine(), sender);
            TransportConfig tc = TransportConfig.of(1, id, ports[(int) id]);
            for (long peer = 1; peer <= 3; peer++) {
                if (peer != id) {
                    tc = tc.withPeer(peer, new InetSocketAddress("127.0.0.1", ports[(int) peer]));
                }
            }
            PeerTransport transport = PeerTransport.start(tc, sender);
            sender.connect(transport, node);
            wals.put(id, wal);
            nodes.put(id, node);
            byId[(int) id] = node;
            transports.put(id, transport);
            node.start();
        }
        for (long g = 1; g <= groups; g++) {
            for (MultiRaftNode node : nodes.values()) {
                while (!node.createGroup(g, 1, 2, 3)) {
                    LockSupport.parkNanos(1_000_000);
                }
            }
        }
        waitUntil(() -> leaders() == groups, 120, "every group elects a leader");
    }

    private int leaders() {
        int n = 0;
        for (MultiRaftNode node : nodes.values()) {
            n += node.leaderGroups();
        }
        return n;
    }

    private void close() throws Exception {
        for (PeerTransport t : transports.values()) {
            t.close();
        }
        for (MultiRaftNode n : nodes.values()) {
            n.close();
        }
        for (Wal w : wals.values()) {
            w.close();
        }
    }

    // ---------------------------------------------------------------- load

    private void load(int groups, double seconds, int inflight, int entryBytes) throws Exception {
        startCluster(groups);
        byte[] payload = new byte[entryBytes];
        Semaphore window = new Semaphore(inflight);
        Recorder latency = new Recorder(3);
        AtomicLong committed = new AtomicLong();
        AtomicLongArray leaderOf = new AtomicLongArray(groups + 1);
        for (int g = 1; g <= groups; g++) {
            leaderOf.set(g, 1);
        }
        long warmupNs = 2_000_000_000L;
        long startNs = System.nanoTime();
        long endNs = startNs + warmupNs + (long) (seconds * 1e9);
        Snapshot before = null;
        long measuredFromNs = 0;
        long committedAtStart = 0;
        long next = 0;
        while (System.nanoTime() < endNs) {
            if (before == null && System.nanoTime() - startNs >= warmupNs) {
                before = snapshot();
                measuredFromNs = System.nanoTime();
                committedAtStart = committed.get();
                latency.reset();
            }
            if (!window.tryAcquire(10, TimeUnit.MILLISECONDS)) {
                continue;
            }
            int group = (int) (next++ % groups) + 1;
            propose(group, payload, System.nanoTime(), leaderOf, window, latency, committed);
        }
        Snapshot after = snapshot();
        double elapsedS = (System.nanoTime() - measuredFromNs) / 1e9;
        long entries = committed.get() - committedAtStart;
        Histogram h = latency.getIntervalHistogram();
        double entriesPerFsync = (double) (after.walEntries - before.walEntries) / Math.max(1, after.walForces - before.walForces);
        double messagesPerFlush = (double) (after.messagesSent - before.messagesSent) / Math.max(1, after.flushes - before.flushes);
        double cpuUsPerEntry = (after.cpuNs - before.cpuNs) / 1e3 / Math.max(1, entries);
        System.out.printf("| %d | %,.0f | %.2f | %.2f | %.2f | %.1f | %.1f | %.1f | %s | %s |%n", groups, entries / elapsedS,
                h.getValueAtPercentile(50) / 1e6, h.getValueAtPercentile(99) / 1e6, h.getValueAtPercentile(99.9) / 1e6,
                entriesPerFsync, messagesPerFlush, cpuUsPerEntry, threadsPerNode(), BenchEnv.load1());
        // Let proposals in flight finish before shutting down.
        window.tryAcquire(inflight, 10, TimeUnit.SECONDS);
    }

    private void propose(int group, byte[] payload, long callNs, AtomicLongArray leaderOf, Semaphore window,
            Recorder latency, AtomicLong committed) {
        MultiRaftNode node = byId[(int) leaderOf.get(group)];
        node.propose(group, payload, new ProposalListener() {
            @Override
            public void onApplied(long groupId, long index) {
                latency.recordValue(Math.max(1, System.nanoTime() - callNs));
                committed.incrementAndGet();
                window.release();
            }

            @Override
            public void onRefused(long groupId, ProposeResult result, long leaderHint) {
                long guess = leaderOf.get(group);
                leaderOf.compareAndSet(group, guess, leaderHint != 0 ? leaderHint : guess % 3 + 1);
                window.release();
            }

            @Override
            public void onOutcomeUnknown(long groupId, long index) {
                window.release();
            }

            @Override
            public void onBusy(long groupId) {
                window.release();
            }
        });
    }

    private record Snapshot(long cpuNs, long walEntries, long walForces, long messagesSent, long flushes) {
    }

    private Snapshot snapshot() {
        long entries = 0;
        long forces = 0;
        for (Wal w : wals.values()) {
            entries += w.stats().entries();
            forces += w.stats().forces();
        }
        long messages = 0;
        long flushes = 0;
        for (PeerTransport t : transports.values()) {
            messages += t.stats().messagesSent();
            flushes += t.stats().flushes();
        }
        return new Snapshot(processCpuNs(), entries, forces, messages, flushes);
    }

    // ---------------------------------------------------------------- idle

    private void idle(int groups, double seconds) throws Exception {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        System.gc();
        long heapBefore = memory.getHeapMemoryUsage().getUsed();
        startCluster(groups);
        waitUntil(() -> awake() == 0, 120, "every group quiescent (awake now: " + awake() + ")");
        System.gc();
        long heapAfter = memory.getHeapMemoryUsage().getUsed();
        // Let JIT compilation and GC from the setup settle: the figure is the steady idle cost.
        LockSupport.parkNanos(5_000_000_000L);
        long cpuBefore = processCpuNs();
        java.util.Map<String, Long> threadsBefore = threadCpuNs();
        long t0 = System.nanoTime();
        LockSupport.parkNanos((long) (seconds * 1e9));
        double cores = (processCpuNs() - cpuBefore) / (double) (System.nanoTime() - t0);
        topThreads = describeTopThreads(threadsBefore, threadCpuNs(), System.nanoTime() - t0);
        int replicas = 3 * groups;
        System.out.printf("| %d | %d | %.4f | %,d | %d | %s | %s |%n", groups, replicas, cores,
                (heapAfter - heapBefore) / replicas, awake(), threadsPerNode(), BenchEnv.load1());
        System.out.println("  busiest threads: " + topThreads);
    }

    private String topThreads = "";

    private static java.util.Map<String, Long> threadCpuNs() {
        java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        java.util.Map<String, Long> out = new java.util.HashMap<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            long ns = mx.getThreadCpuTime(t.getId());
            if (ns >= 0) {
                out.merge(t.getName(), ns, Long::sum);
            }
        }
        return out;
    }

    private static String describeTopThreads(java.util.Map<String, Long> before, java.util.Map<String, Long> after, long wallNs) {
        List<java.util.Map.Entry<String, Long>> deltas = new ArrayList<>();
        for (java.util.Map.Entry<String, Long> e : after.entrySet()) {
            deltas.add(java.util.Map.entry(e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0L)));
        }
        deltas.sort((a, b) -> Long.compare(b.getValue(), a.getValue()));
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < Math.min(5, deltas.size()); i++) {
            b.append(String.format("%s %.4f, ", deltas.get(i).getKey(), deltas.get(i).getValue() / (double) wallNs));
        }
        return b.toString();
    }

    private int awake() {
        int n = 0;
        for (MultiRaftNode node : nodes.values()) {
            n += node.awakeGroups();
        }
        return n;
    }

    // ---------------------------------------------------------------- helpers

    private static long processCpuNs() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** Threads named for a node ("flotilla-<role>-<node>..."), as "n1/n2/n3". */
    private static String threadsPerNode() {
        int[] perNode = new int[4];
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            Matcher m = NODE_THREAD.matcher(t.getName());
            if (m.matches()) {
                int node = Integer.parseInt(m.group(2));
                if (node >= 1 && node <= 3) {
                    perNode[node]++;
                }
            }
        }
        return perNode[1] + "/" + perNode[2] + "/" + perNode[3];
    }

    private static void waitUntil(BooleanSupplier condition, int timeoutS, String what) {
        long deadline = System.nanoTime() + timeoutS * 1_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out after " + timeoutS + " s waiting until " + what);
            }
            LockSupport.parkNanos(10_000_000);
        }
    }
}

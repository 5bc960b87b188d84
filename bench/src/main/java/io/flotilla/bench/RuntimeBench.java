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
import java.io.IOException;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Load and idle cost of the multi-group runtime: 3 nodes in one JVM, each with its own real
 * write-ahead log (a scratch directory) and Netty transport on loopback, the in-memory state
 * machine. Runs on the main thread; the nodes' workers, log threads and event loops call back into
 * the load generator's counters.
 *
 * <p>Load rows: for each group count, a fresh cluster gets {@code --inflight} proposals of
 * {@code --entry-bytes} kept in flight over all its groups. It first warms up in windows until
 * throughput is stable (two consecutive windows agree within {@code --warmup-tolerance} percent
 * and the JIT compiler has settled, or {@code --warmup-max} passes), then measures
 * {@code --runs} runs and reports the median and range of each figure: committed entries/s,
 * commit latency percentiles (propose → applied on the leader), entries per fsync, messages per
 * flush and CPU per committed entry. Because every row warms up until it is steady, its figures do
 * not depend on which rows ran before it in the JVM. {@code --busy-core} measures with one core
 * kept busy by a competing process ({@link BusyCore}).
 *
 * <p>Idle rows: groups created, left to go quiescent, then the CPU of the whole JVM over
 * {@code --runs} windows and the heap per group replica. Idle paths run too rarely for a
 * warm-up to compile them in reasonable time, so the table says whether load rows ran first in
 * the same JVM (their code compiled) or not.
 */
public final class RuntimeBench {
    private static final Pattern NODE_THREAD = Pattern.compile("^flotilla-([a-z-]+?)-(\\d+)(?:-.*)?$");
    /** A warm-up lasts at least this many windows, so no row is measured right after a lucky first window. */
    private static final int MIN_WARMUP_WINDOWS = 3;
    /**
     * Compilation is settled when the JIT spent at most this fraction of the last warm-up window
     * compiling. While C2 compiles the hot path of a fresh JVM it spends about a second per second
     * (measured here, with other jobs on the machine: 2,600 to 2,900 ms in the first 2 s window at
     * 64 groups, about 2,000 in the next two), then tens to a few hundred ms per window as the
     * last methods get compiled.
     */
    private static final double JIT_SETTLED_FRACTION = 0.10;
    /** Unmeasured load after the competing process starts or stops, so a run measures one condition only. */
    private static final double LEAD_IN_S = 1.0;
    /** Idle rows: time after every group is quiescent before measuring, for setup garbage and compilation to settle. */
    private static final long IDLE_SETTLE_NS = 5_000_000_000L;

    private static final String USAGE = """
            bench/run --main RuntimeBench [options]

            3 nodes in one JVM, each with its own write-ahead log under --dir and a Netty transport on
            loopback; in-memory state machine; 10 ms ticks, 200 ms election timeout, 30 ms heartbeats.

              --mode load|idle|both       which tables (default both)
              --groups 1,64,1024          load rows: groups in each row's fresh cluster
              --idle-groups 1000,10000    idle rows: groups in each row's fresh cluster
              --runs 3                    measured runs per load row and windows per idle row; the
                                          tables print the median and (min–max) over them
              --seconds 5                 length of one measured load run
              --idle-seconds 4            length of one idle window
              --warmup-window 2           seconds per warm-up window
              --warmup-tolerance 5        percent: warm-up ends once two consecutive windows' entries/s
                                          agree within this and the JIT is no longer busy compiling
              --warmup-max 60             seconds: warm-up gives up here and the row says "not stable"
              --busy-core off|on|both     measured load runs with one core kept busy by `yes > /dev/null`
                                          (on), or interleaved quiet and busy runs with their ratios (both);
                                          the process is started and killed by its PID around each run
              --inflight 512              proposals kept in flight over all groups
              --entry-bytes 128           payload of one proposal
              --workers N                 workers per node (default: cores / 3, at least 1)
              --wal-cache-entries 256     recent entries each group's log index keeps in memory
              --dir /tmp                  parent of the scratch directories (deleted afterwards)
            """;

    /** Whether a load row has run in this JVM (so the runtime's code is compiled); idle rows report it. */
    private static boolean loadRanInThisJvm;

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

    /** Competing load during measured runs. */
    private enum BusyCoreMode {
        OFF, ON, BOTH;

        static BusyCoreMode parse(String s) {
            return switch (s) {
                case "off" -> OFF;
                case "on" -> ON;
                case "both" -> BOTH;
                default -> throw new IllegalArgumentException("--busy-core takes off, on or both; got '" + s + "'");
            };
        }
    }

    /** The command line, validated. */
    private record Options(String mode, List<Integer> loadGroups, List<Integer> idleGroups, int runs, double runSeconds,
            double idleSeconds, double warmupWindowSeconds, double warmupTolerancePct, double warmupMaxSeconds,
            BusyCoreMode busyCore, int inflight, int entryBytes, int workers, WalCacheConfig cache, Path parent) {

        static Options parse(BenchArgs args) {
            String mode = args.string("mode", "both");
            if (!Set.of("load", "idle", "both").contains(mode)) {
                throw new IllegalArgumentException("--mode takes load, idle or both; got '" + mode + "'");
            }
            Options o = new Options(mode,
                    args.integers("groups", List.of(1, 64, 1024), 1, 1 << 20),
                    args.integers("idle-groups", List.of(1000, 10000), 1, 1 << 20),
                    args.integer("runs", 3, 1, 100),
                    args.seconds("seconds", 5, 1, 600),
                    args.seconds("idle-seconds", 4, 1, 600),
                    args.seconds("warmup-window", 2, 0.5, 60),
                    args.decimal("warmup-tolerance", 5, 0.1, 100),
                    args.seconds("warmup-max", 60, 1, 3600),
                    BusyCoreMode.parse(args.string("busy-core", "off")),
                    args.integer("inflight", 512, 1, 1 << 16),
                    args.integer("entry-bytes", 128, 1, 1 << 20),
                    // The three nodes share this machine's cores, so each gets a third of them (at least one worker).
                    args.integer("workers", Math.max(1, Runtime.getRuntime().availableProcessors() / 3), 1, 64),
                    new WalCacheConfig(args.integer("wal-cache-entries", WalCacheConfig.DEFAULT_MAX_ENTRIES, 0, 1 << 20),
                            WalCacheConfig.DEFAULT_MAX_BYTES),
                    Path.of(args.string("dir", System.getProperty("java.io.tmpdir"))));
            if (o.warmupMaxSeconds < o.warmupWindowSeconds * MIN_WARMUP_WINDOWS) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "--warmup-max %.1f s is shorter than the %d warm-up windows of %.1f s every row runs at least",
                        o.warmupMaxSeconds, MIN_WARMUP_WINDOWS, o.warmupWindowSeconds));
            }
            return o;
        }
    }

    public static void main(String[] argv) throws Exception {
        BenchArgs args = new BenchArgs(argv, Set.of("help"));
        if (args.flag("help")) {
            System.out.print(USAGE);
            return;
        }
        Options o = Options.parse(args);
        args.rejectUnused();

        System.out.println(BenchEnv.setupLine());
        System.out.printf("3 nodes in one JVM, Netty over loopback, one WAL per node, in-memory state machine; workers per node: %d%n",
                o.workers);
        if (!o.mode.equals("idle")) {
            System.out.printf(Locale.ROOT, "load: %d proposals of %d B in flight; per row a fresh cluster, warm-up in %.1f s windows"
                    + " until two agree within %.1f%% and the JIT has settled (at most %.0f s), then %d measured runs of %.1f s;"
                    + " one core busy: %s%n", o.inflight, o.entryBytes, o.warmupWindowSeconds, o.warmupTolerancePct,
                    o.warmupMaxSeconds, o.runs, o.runSeconds, o.busyCore.name().toLowerCase(Locale.ROOT));
        }
        System.out.println();
        if (!o.mode.equals("idle")) {
            List<LoadRow> rows = new ArrayList<>();
            for (int groups : o.loadGroups) {
                rows.add(inScratch(o, "flotilla-runtime-bench", b -> b.loadRow(groups, o)));
            }
            printLoadTables(rows, o);
        }
        if (!o.mode.equals("load")) {
            List<IdleRow> rows = new ArrayList<>();
            for (int groups : o.idleGroups) {
                rows.add(inScratch(o, "flotilla-runtime-idle", b -> b.idleRow(groups, o)));
            }
            printIdleTable(rows, o);
        }
    }

    /** One row's work on a fresh cluster in a scratch directory, which is deleted afterwards. */
    private interface RowWork<T> {
        T run(RuntimeBench bench) throws Exception;
    }

    private static <T> T inScratch(Options o, String prefix, RowWork<T> work) throws Exception {
        // Garbage of the previous row's cluster is not this row's to collect.
        System.gc();
        Path scratch = BenchEnv.createScratch(o.parent, prefix);
        // Preallocated log segments are hundreds of MB: an interrupted run (Ctrl-C) still removes them.
        Thread removeOnExit = new Thread(() -> {
            try {
                BenchEnv.deleteTree(scratch);
            } catch (IOException | RuntimeException e) {
                System.err.println("could not delete " + scratch + ": " + e);
            }
        }, "runtime-bench-scratch-remover");
        Runtime.getRuntime().addShutdownHook(removeOnExit);
        RuntimeBench b = new RuntimeBench(scratch, o.workers, o.cache);
        try {
            return work.run(b);
        } finally {
            b.close();
            BenchEnv.deleteTree(scratch);
            Runtime.getRuntime().removeShutdownHook(removeOnExit);
        }
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
        // Closing the transports one by one makes the others log every lost connection; that is
        // expected here and would only bury the results.
        Logger transportLog = Logger.getLogger(PeerTransport.class.getName());
        Level level = transportLog.getLevel();
        transportLog.setLevel(Level.WARNING);
        try {
            for (PeerTransport t : transports.values()) {
                t.close();
            }
            for (MultiRaftNode n : nodes.values()) {
                n.close();
            }
            for (Wal w : wals.values()) {
                w.close();
            }
        } finally {
            transportLog.setLevel(level);
        }
    }

    // ---------------------------------------------------------------- load

    /** One measured (or warm-up) stretch of load. */
    private record Run(double seconds, long entries, double p50Ms, double p99Ms, double p999Ms,
            double entriesPerFsync, double messagesPerFlush, double cpuUsPerEntry, double competitorCores, double load1) {
        double entriesPerS() {
            return entries / seconds;
        }
    }

    /** How a row's warm-up went: entries/s of each window, and whether it ended stable or at the cap. */
    private record WarmUp(double seconds, List<Double> windowRates, List<Long> windowJitMs, boolean stable) {
    }

    private record LoadRow(int groups, WarmUp warmUp, List<Run> quiet, List<Run> busy, String threads) {
    }

    private LoadRow loadRow(int groups, Options o) throws Exception {
        long t0 = System.nanoTime();
        startCluster(groups);
        double startS = (System.nanoTime() - t0) / 1e9;
        loadRanInThisJvm = true;
        System.out.printf(Locale.ROOT, "%,d groups: 3 nodes up, every group led, in %.1f s%n", groups, startS);
        Load load = new Load(groups, o.inflight, o.entryBytes);
        WarmUp w = load.warmUp(o);
        System.out.printf(Locale.ROOT, "  warm-up, %.1f s windows: %s entries/s; JIT ms per window: %s; %s after %.1f s%n",
                o.warmupWindowSeconds, join(w.windowRates, "%,.0f"), join(w.windowJitMs, "%d"),
                w.stable ? "stable" : "NOT STABLE", w.seconds);
        List<Run> quiet = new ArrayList<>();
        List<Run> busy = new ArrayList<>();
        boolean lastBusy = false;
        for (int i = 1; i <= o.runs; i++) {
            if (o.busyCore != BusyCoreMode.ON) {
                if (lastBusy) {
                    load.drive(LEAD_IN_S, null);
                }
                Run r = load.drive(o.runSeconds, null);
                quiet.add(r);
                printRun(i, o.runs, r, -1);
                lastBusy = false;
            }
            if (o.busyCore != BusyCoreMode.OFF) {
                try (BusyCore competitor = BusyCore.start()) {
                    load.drive(LEAD_IN_S, competitor);
                    Run r = load.drive(o.runSeconds, competitor);
                    busy.add(r);
                    printRun(i, o.runs, r, competitor.pid());
                }
                lastBusy = true;
            }
        }
        String threads = threadsPerNode();
        load.drain();
        return new LoadRow(groups, w, quiet, busy, threads);
    }

    private static void printRun(int i, int runs, Run r, long competitorPid) {
        String what = competitorPid < 0 ? "quiet"
                : String.format(Locale.ROOT, "one core busy (yes, pid %d, %.2f cores)", competitorPid, r.competitorCores);
        System.out.printf(Locale.ROOT, "  run %d/%d, %s: %,.0f entries/s, p50 %.2f / p99 %.2f / p99.9 %.2f ms,"
                        + " %.1f entries/fsync, %.1f messages/flush, %.1f CPU µs/entry, load %.2f%n",
                i, runs, what, r.entriesPerS(), r.p50Ms, r.p99Ms, r.p999Ms, r.entriesPerFsync, r.messagesPerFlush,
                r.cpuUsPerEntry, r.load1);
    }

    private static String join(List<?> values, String format) {
        StringBuilder b = new StringBuilder();
        for (Object v : values) {
            if (b.length() > 0) {
                b.append(" · ");
            }
            b.append(String.format(format, v));
        }
        return b.toString();
    }

    /**
     * The closed-loop load generator of one row: keeps {@code inflight} proposals in flight, spread
     * round-robin over the groups and sent to each group's last known leader. Driven by the main
     * thread; the listeners run on the workers and touch only the thread-safe fields.
     */
    private final class Load {
        private final int groups;
        private final int inflight;
        private final byte[] payload;
        private final Semaphore window;
        private final Recorder latency = new Recorder(3);
        private final AtomicLong committed = new AtomicLong();
        private final AtomicLongArray leaderOf;
        private final CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        private long next;

        Load(int groups, int inflight, int entryBytes) {
            this.groups = groups;
            this.inflight = inflight;
            this.payload = new byte[entryBytes];
            this.window = new Semaphore(inflight);
            this.leaderOf = new AtomicLongArray(groups + 1);
            for (int g = 1; g <= groups; g++) {
                leaderOf.set(g, 1);
            }
        }

        /**
         * Drives windows until the last two agree on entries/s within the tolerance and the JIT spent
         * at most {@link #JIT_SETTLED_FRACTION} of the last window compiling (at least
         * {@link #MIN_WARMUP_WINDOWS} windows), or until the cap.
         */
        WarmUp warmUp(Options o) throws InterruptedException {
            long startNs = System.nanoTime();
            List<Double> rates = new ArrayList<>();
            List<Long> jitPerWindow = new ArrayList<>();
            long jitMs = jitMs();
            while (true) {
                Run r = drive(o.warmupWindowSeconds, null);
                long jitNow = jitMs();
                long windowJitMs = jitNow - jitMs;
                jitMs = jitNow;
                rates.add(r.entriesPerS());
                jitPerWindow.add(windowJitMs);
                double elapsedS = (System.nanoTime() - startNs) / 1e9;
                int n = rates.size();
                boolean agree = n >= MIN_WARMUP_WINDOWS
                        && relativeDifference(rates.get(n - 2), rates.get(n - 1)) * 100 <= o.warmupTolerancePct;
                boolean jitSettled = windowJitMs <= JIT_SETTLED_FRACTION * o.warmupWindowSeconds * 1000;
                if (agree && jitSettled) {
                    return new WarmUp(elapsedS, rates, jitPerWindow, true);
                }
                if (n >= MIN_WARMUP_WINDOWS && elapsedS + o.warmupWindowSeconds > o.warmupMaxSeconds) {
                    return new WarmUp(elapsedS, rates, jitPerWindow, false);
                }
            }
        }

        /** Milliseconds the JIT has spent compiling so far (0 if the JVM does not say: the criterion is then throughput alone). */
        private long jitMs() {
            return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : 0;
        }

        /** Keeps proposals in flight for {@code seconds} and returns what that stretch measured. */
        Run drive(double seconds, BusyCore competitor) throws InterruptedException {
            Snapshot before = snapshot();
            long competitorCpuBefore = competitor == null ? -1 : competitor.cpuNs();
            long committedBefore = committed.get();
            latency.reset();
            long startNs = System.nanoTime();
            long endNs = startNs + (long) (seconds * 1e9);
            while (System.nanoTime() < endNs) {
                if (!window.tryAcquire(10, TimeUnit.MILLISECONDS)) {
                    continue;
                }
                int group = (int) (next++ % groups) + 1;
                propose(group, System.nanoTime());
            }
            long elapsedNs = System.nanoTime() - startNs;
            Snapshot after = snapshot();
            Histogram h = latency.getIntervalHistogram();
            long entries = committed.get() - committedBefore;
            double competitorCores = Double.NaN;
            if (competitor != null) {
                long cpuAfter = competitor.cpuNs();
                if (competitorCpuBefore >= 0 && cpuAfter >= 0) {
                    competitorCores = (cpuAfter - competitorCpuBefore) / (double) elapsedNs;
                }
            }
            return new Run(elapsedNs / 1e9, entries,
                    h.getValueAtPercentile(50) / 1e6, h.getValueAtPercentile(99) / 1e6, h.getValueAtPercentile(99.9) / 1e6,
                    (double) (after.walEntries - before.walEntries) / Math.max(1, after.walForces - before.walForces),
                    (double) (after.messagesSent - before.messagesSent) / Math.max(1, after.flushes - before.flushes),
                    (after.cpuNs - before.cpuNs) / 1e3 / Math.max(1, entries), competitorCores, BenchEnv.load1Value());
        }

        /** Lets the proposals in flight finish before the cluster shuts down. */
        void drain() throws InterruptedException {
            window.tryAcquire(inflight, 10, TimeUnit.SECONDS);
        }

        private void propose(int group, long callNs) {
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
    }

    private static double relativeDifference(double a, double b) {
        double larger = Math.max(Math.abs(a), Math.abs(b));
        return larger == 0 ? 0 : Math.abs(a - b) / larger;
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

    private static void printLoadTables(List<LoadRow> rows, Options o) {
        System.out.println();
        System.out.printf(Locale.ROOT, "Load: median (min–max) over %d measured runs of %.1f s per row%n%n", o.runs, o.runSeconds);
        System.out.println("| groups | competing load | committed entries/s | p50 ms | p99 ms | p99.9 ms | entries/fsync"
                + " | messages/flush | CPU µs/entry | threads/node | warm-up | load |");
        System.out.println("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
        for (LoadRow row : rows) {
            String warmUp = String.format(Locale.ROOT, "%.0f s%s", row.warmUp.seconds, row.warmUp.stable ? "" : ", NOT STABLE");
            if (!row.quiet.isEmpty()) {
                printLoadLine(row, row.quiet, "none", warmUp);
            }
            if (!row.busy.isEmpty()) {
                printLoadLine(row, row.busy, "one core busy (`yes`)", warmUp);
            }
        }
        if (o.busyCore != BusyCoreMode.BOTH) {
            return;
        }
        System.out.println();
        System.out.println("One core busy against quiet, run by run (busy run i / quiet run i): median (min–max)");
        System.out.println();
        System.out.println("| groups | throughput kept | CPU per entry | p99 | competing process used (cores) |");
        System.out.println("|---:|---:|---:|---:|---:|");
        for (LoadRow row : rows) {
            int n = Math.min(row.quiet.size(), row.busy.size());
            double[] kept = new double[n];
            double[] cpu = new double[n];
            double[] p99 = new double[n];
            for (int i = 0; i < n; i++) {
                Run q = row.quiet.get(i);
                Run b = row.busy.get(i);
                kept[i] = 100 * b.entriesPerS() / q.entriesPerS();
                cpu[i] = b.cpuUsPerEntry / q.cpuUsPerEntry;
                p99[i] = b.p99Ms / q.p99Ms;
            }
            System.out.printf(Locale.ROOT, "| %,d | %s | %s | %s | %s |%n", row.groups, Spread.of(kept).format("%.0f%%"),
                    Spread.of(cpu).format("%.2fx"), Spread.of(p99).format("%.2fx"),
                    Spread.of(row.busy, Run::competitorCores).format("%.2f"));
        }
    }

    private static void printLoadLine(LoadRow row, List<Run> runs, String competing, String warmUp) {
        System.out.printf(Locale.ROOT, "| %,d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n",
                row.groups, competing,
                Spread.of(runs, Run::entriesPerS).format("%,.0f"),
                Spread.of(runs, Run::p50Ms).median("%.2f"),
                Spread.of(runs, Run::p99Ms).format("%.2f"),
                Spread.of(runs, Run::p999Ms).median("%.2f"),
                Spread.of(runs, Run::entriesPerFsync).median("%.1f"),
                Spread.of(runs, Run::messagesPerFlush).median("%.1f"),
                Spread.of(runs, Run::cpuUsPerEntry).format("%.1f"),
                row.threads, warmUp, range(Spread.of(runs, Run::load1)));
    }

    private static String range(Spread s) {
        if (Double.isNaN(s.min())) {
            return "?";
        }
        return s.min() == s.max() ? String.format(Locale.ROOT, "%.2f", s.min())
                : String.format(Locale.ROOT, "%.2f–%.2f", s.min(), s.max());
    }

    // ---------------------------------------------------------------- idle

    private record IdleRow(int groups, Spread cores, long heapBytesPerReplica, int awake, String threads,
            boolean afterLoad, String busiestThreads, double load1) {
    }

    private IdleRow idleRow(int groups, Options o) throws Exception {
        boolean afterLoad = loadRanInThisJvm;
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        System.gc();
        long heapBefore = memory.getHeapMemoryUsage().getUsed();
        startCluster(groups);
        waitUntil(() -> awake() == 0, 120, "every group quiescent (awake now: " + awake() + ")");
        System.gc();
        long heapAfter = memory.getHeapMemoryUsage().getUsed();
        // Let JIT compilation and GC from the setup settle: the figure is the steady idle cost.
        LockSupport.parkNanos(IDLE_SETTLE_NS);
        Map<String, Long> threadsBefore = threadCpuNs();
        long startNs = System.nanoTime();
        double[] cores = new double[o.runs];
        for (int i = 0; i < o.runs; i++) {
            long cpuBefore = processCpuNs();
            long t0 = System.nanoTime();
            LockSupport.parkNanos((long) (o.idleSeconds * 1e9));
            cores[i] = (processCpuNs() - cpuBefore) / (double) (System.nanoTime() - t0);
        }
        String busiest = describeTopThreads(threadsBefore, threadCpuNs(), System.nanoTime() - startNs);
        int replicas = 3 * groups;
        IdleRow row = new IdleRow(groups, Spread.of(cores), (heapAfter - heapBefore) / replicas, awake(), threadsPerNode(),
                afterLoad, busiest, BenchEnv.load1Value());
        System.out.printf(Locale.ROOT, "%,d idle groups: %s cores; busiest threads: %s%n", groups,
                row.cores.format("%.4f"), busiest);
        return row;
    }

    private static void printIdleTable(List<IdleRow> rows, Options o) {
        System.out.println();
        System.out.printf(Locale.ROOT, "Idle: CPU of the whole JVM once every group is quiescent, median (min–max) over %d windows"
                + " of %.1f s after %d s settling%n%n", o.runs, o.idleSeconds, IDLE_SETTLE_NS / 1_000_000_000L);
        System.out.println("| groups | replicas | idle CPU (cores) | heap bytes per replica | awake groups | threads/node"
                + " | load rows ran first in this JVM | load |");
        System.out.println("|---:|---:|---:|---:|---:|---:|---|---|");
        for (IdleRow r : rows) {
            System.out.printf(Locale.ROOT, "| %,d | %,d | %s | %,d | %d | %s | %s | %.2f |%n", r.groups, 3 * r.groups,
                    r.cores.format("%.4f"), r.heapBytesPerReplica, r.awake, r.threads, r.afterLoad ? "yes" : "no", r.load1);
        }
    }

    private static Map<String, Long> threadCpuNs() {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Map<String, Long> out = new HashMap<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            long ns = mx.getThreadCpuTime(t.getId());
            if (ns >= 0) {
                out.merge(t.getName(), ns, Long::sum);
            }
        }
        return out;
    }

    private static String describeTopThreads(Map<String, Long> before, Map<String, Long> after, long wallNs) {
        List<Map.Entry<String, Long>> deltas = new ArrayList<>();
        for (Map.Entry<String, Long> e : after.entrySet()) {
            deltas.add(Map.entry(e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0L)));
        }
        deltas.sort((a, b) -> Long.compare(b.getValue(), a.getValue()));
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < Math.min(5, deltas.size()); i++) {
            if (i > 0) {
                b.append(", ");
            }
            b.append(String.format(Locale.ROOT, "%s %.4f", deltas.get(i).getKey(), deltas.get(i).getValue() / (double) wallNs));
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

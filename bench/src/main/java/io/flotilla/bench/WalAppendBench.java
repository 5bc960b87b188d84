package io.flotilla.bench;

import io.flotilla.raft.Entry;
import io.flotilla.wal.NioWalFileSystem;
import io.flotilla.wal.WalAppendCallback;
import io.flotilla.wal.WalBatch;
import io.flotilla.wal.WalConfig;
import io.flotilla.wal.WalDirectoryLock;
import io.flotilla.wal.WalFailedException;
import io.flotilla.wal.WalRecord;
import io.flotilla.wal.WalRecoveryResult;
import io.flotilla.wal.WalRecoveryScanner;
import io.flotilla.wal.WalSegmentNames;
import io.flotilla.wal.WalWriter;
import io.flotilla.wal.WalWriterConfig;
import io.flotilla.wal.WalWriterStats;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * Append throughput and latency of the shared log's group commit ({@link WalWriter}) on a real
 * directory, next to a baseline measured in the same run (issue 3, item 10). A plain main rather than
 * JMH: the workload is a fixed set of clients and the figures that matter are latency percentiles and
 * entries per fsync, which JMH does not report.
 *
 * <p>One cell = (entry size, groups, submitters). Each submitter thread loops: build a batch of
 * {@code --entries-per-batch} entries for random groups (entries of one group form one ENTRIES
 * record), {@link WalWriter#submit} it, keep up to {@code --inflight-per-submitter} such batches in
 * flight (the runtime's workers pipeline several log batches each), park while the window is full,
 * record submit → durable of every batch in its own HdrHistogram. With a window of 1 this is the
 * closed loop of one batch at a time; a closed loop of N single-entry submitters can never put more
 * than N entries under one fsync. After a warm-up the writer's counters are sampled at the start and
 * end of the measured interval; entries/s, MB/s (log bytes: record headers and padding included, 1 MB
 * = 10^6 B) and entries per fsync come from their difference.
 *
 * <p>Baseline: one thread overwrites one preallocated file with batches of exactly the WAL's average
 * bytes per fsync in that cell so far, one {@code FileChannel.force(false)} per batch, and reports
 * MB/s. The measured interval is cut into {@code --slices} WAL slices, each followed by a baseline
 * slice with the submitters paused and no segment being preallocated, so that fsync bursts of other
 * processes on a shared machine land on both alike. The cell's "WAL % of baseline" is the
 * WAL's MB/s over that. The WAL pays things the baseline does not (thread handoffs, encoding and
 * CRC32C, segment rollovers whose next segment a background thread writes full of zeros), so 100% is
 * the ceiling, not the expectation.
 *
 * <p>Threads: the main thread owns the sweep, the writer's lifecycle and the baseline file; each
 * submitter thread owns its {@link Submitter} (random source, histogram); the log's completer thread
 * only runs the submitters' callbacks, which stamp a time, bump a volatile counter and unpark. Group indexes come from one
 * {@link AtomicLongArray} shared by all submitters: the writer does not check Raft index order, and
 * the runtime's one-owner-per-group rule is not what is measured here.
 *
 * <p>Run: {@code bench/run --main WalAppendBench [--help]}.
 */
public final class WalAppendBench {
    private static final List<Integer> ALL_GROUPS = List.of(1, 16, 256, 4096);
    private static final List<Integer> ALL_SUBMITTERS = List.of(1, 4, 16, 64);
    private static final List<Integer> ALL_ENTRY_BYTES = List.of(128, 1024);
    /** A batch not durable after this long means the writer is stuck: fail the run rather than hang. */
    private static final long STUCK_NS = TimeUnit.SECONDS.toNanos(60);
    private static final double BASELINE_WARMUP_SECONDS = 0.25;
    /** Unmeasured time after a baseline slice for the submitters to fill the pipeline again. */
    private static final double RESUME_SECONDS = 0.1;

    /** One point of the sweep. */
    record Cell(int entryBytes, int groups, int submitters) {
    }

    /** The run's options, validated. */
    record Options(List<Cell> cells, int entriesPerBatch, int inflightPerSubmitter, double seconds, double warmupSeconds, double baselineSeconds,
            int slices, Path parentDir, int segmentBytes, int queueCapacityBatches) {
    }

    /** What one cell measured. */
    record Result(Cell cell, double seconds, WalWriterStats stats, Histogram latencyNs, long refusals,
            Baseline baseline, String load1, CpuUse cpu) {
        double entriesPerSecond() {
            return stats.entries() / seconds;
        }

        double megabytesPerSecond() {
            return BenchEnv.megabytes(stats.bytes()) / seconds;
        }

        double forcesPerSecond() {
            return stats.forces() / seconds;
        }

        long bytesPerForce() {
            return stats.forces() == 0 ? 0 : stats.bytes() / stats.forces();
        }

        double percentOfBaseline() {
            return baseline.megabytesPerSecond() == 0 ? 0 : 100 * megabytesPerSecond() / baseline.megabytesPerSecond();
        }
    }

    /**
     * CPU time over the measured interval, as a percentage of one core (a 2-core machine tops out at 200%):
     * the whole JVM, and the writer thread alone. Tells a CPU-bound cell from a disk-bound one.
     */
    record CpuUse(double processPercent, double writerPercent) {
    }

    /** What the baseline measured for one batch size. */
    record Baseline(long bytes, double seconds, long forces, Histogram forceNs) {
        double megabytesPerSecond() {
            return BenchEnv.megabytes(bytes) / seconds;
        }

        double forcesPerSecond() {
            return forces / seconds;
        }
    }

    /** Set by the main thread, read by every submitter. */
    private static final class Control {
        volatile boolean recording;
        /** While set, submitters finish the batches in flight and wait, so a baseline slice has the disk. */
        volatile boolean paused;
        volatile boolean stop;
    }

    private WalAppendBench() {
    }

    public static void main(String[] args) throws Exception {
        Options options;
        try {
            BenchArgs a = new BenchArgs(args, Set.of("full", "help"));
            if (a.flag("help")) {
                System.out.print(usage());
                return;
            }
            options = parse(a);
            a.rejectUnused();
        } catch (IllegalArgumentException e) {
            System.err.println("WalAppendBench: " + e.getMessage());
            System.exit(2);
            return;
        }
        System.exit(run(options));
    }

    static String usage() {
        return """
                Usage: bench/run --main WalAppendBench [options]
                Append throughput and latency of the WAL's group commit, next to a one-thread
                write+fsync baseline of the same bytes per fsync, measured in the same run.

                  --groups LIST            groups, e.g. 1,16,256,4096
                  --submitters LIST        submitter threads
                  --inflight-per-submitter K  batches each submitter keeps in flight (default 4, as the
                                           runtime's workers pipeline log batches); 1 is the closed
                                           loop of one batch at a time
                  --entry-bytes LIST       entry payload sizes in bytes, e.g. 128,1024
                  --full                   the full grid: groups 1,16,256,4096 x submitters 1,4,16,64
                                           x entry bytes 128,1024 (32 cells, about 4 minutes); a list
                                           given explicitly still wins
                  --entries-per-batch N    entries in each submitted batch (default 1)
                  --seconds S              measured seconds per cell (default 3, at most 60)
                  --warmup-seconds S       unmeasured seconds before each cell (default 1)
                  --baseline-seconds S     measured seconds of each cell's baseline (default 2)
                  --slices N               interleave WAL and baseline in N alternating slices per cell
                                           (default 4), so that IO from other processes on a shared
                                           machine hits both alike
                  --dir DIR                parent of the scratch directory (default /tmp); the program
                                           creates a fresh directory under it and deletes it at the end
                  --segment-bytes N        segment size (default 64M)
                  --queue N                writer queue capacity in batches (default 4096)

                Without --full or a list, the default sweep is 14 cells (about 1.5 minutes):
                  128 B  x groups 1,16,256,4096 x submitters 1,64
                  128 B  x 256 groups x submitters 4,16
                  1024 B x 256 groups x submitters 1,4,16,64
                If only some lists are given, the others default to groups 1,16,256,4096,
                submitters 1,64, entry bytes 128.
                """;
    }

    static Options parse(BenchArgs a) {
        boolean full = a.flag("full");
        boolean anyList = a.has("groups") || a.has("submitters") || a.has("entry-bytes");
        List<Integer> groups = a.integers("groups", full ? ALL_GROUPS : List.of(1, 16, 256, 4096), 1, 1 << 20);
        List<Integer> submitters = a.integers("submitters", full ? ALL_SUBMITTERS : List.of(1, 64), 1, 1024);
        List<Integer> entryBytes = a.integers("entry-bytes", full ? ALL_ENTRY_BYTES : List.of(128), 0, 1 << 20);
        List<Cell> cells = new ArrayList<>();
        if (full || anyList) {
            for (int e : entryBytes) {
                for (int g : groups) {
                    for (int s : submitters) {
                        cells.add(new Cell(e, g, s));
                    }
                }
            }
        } else {
            for (int g : ALL_GROUPS) {
                for (int s : List.of(1, 64)) {
                    cells.add(new Cell(128, g, s));
                }
            }
            cells.add(new Cell(128, 256, 4));
            cells.add(new Cell(128, 256, 16));
            for (int s : ALL_SUBMITTERS) {
                cells.add(new Cell(1024, 256, s));
            }
        }
        int entriesPerBatch = a.integer("entries-per-batch", 1, 1, 4096);
        int inflight = a.integer("inflight-per-submitter", 4, 1, 1024);
        double seconds = a.seconds("seconds", 3, 0.2, 60);
        double warmup = a.seconds("warmup-seconds", 1, 0, 30);
        double baselineSeconds = a.seconds("baseline-seconds", 2, 0.2, 60);
        int slices = a.integer("slices", 4, 1, 100);
        Path dir = Path.of(a.string("dir", System.getProperty("java.io.tmpdir")));
        int segmentBytes = (int) a.bytes("segment-bytes", WalConfig.DEFAULT_SEGMENT_BYTES, 1 << 20, WalConfig.MAX_SEGMENT_BYTES);
        int queue = a.integer("queue", WalWriterConfig.DEFAULT_QUEUE_CAPACITY_BATCHES, 1, 1 << 20);
        for (Cell c : cells) {
            long recordBytes = (long) entriesPerBatch * (c.entryBytes() + 64);
            if (recordBytes > segmentBytes / 4) {
                throw new IllegalArgumentException(String.format("a batch of %d entries of %d B does not fit a quarter of a"
                        + " %d-byte segment: lower --entries-per-batch or raise --segment-bytes",
                        entriesPerBatch, c.entryBytes(), segmentBytes));
            }
        }
        return new Options(List.copyOf(cells), entriesPerBatch, inflight, seconds, warmup, baselineSeconds, slices, dir, segmentBytes,
                queue);
    }

    static int run(Options o) throws Exception {
        double perCell = o.warmupSeconds() + o.seconds() + BASELINE_WARMUP_SECONDS + o.baselineSeconds()
                + o.slices() * RESUME_SECONDS + 0.5;
        System.err.printf("WalAppendBench: %d cells, about %.0f s; scratch under %s%n",
                o.cells().size(), perCell * o.cells().size(), o.parentDir());
        String setupBefore = BenchEnv.setupLine();
        Path root = BenchEnv.createScratch(o.parentDir(), "flotilla-wal-append-");
        List<Result> results = new ArrayList<>();
        try {
            Path baselinePath = root.resolve("baseline.dat");
            try (FileChannel baselineFile = FileChannel.open(baselinePath, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                for (int i = 0; i < o.cells().size(); i++) {
                    Cell cell = o.cells().get(i);
                    System.err.printf("cell %d/%d: %d B entries, %d groups, %d submitters ...%n",
                            i + 1, o.cells().size(), cell.entryBytes(), cell.groups(), cell.submitters());
                    Path dir = root.resolve(String.format("wal-%03d", i));
                    Result r = runCell(cell, o, dir, baselineFile);
                    BenchEnv.deleteTree(dir);
                    results.add(r);
                    System.err.println("  " + row(r));
                }
            }
        } finally {
            BenchEnv.deleteTree(root);
        }
        System.out.print(report(o, results, setupBefore));
        return 0;
    }

    /** Runs one cell in a fresh log directory: warm-up, then WAL and baseline slices in turn, then shutdown. */
    static Result runCell(Cell cell, Options o, Path dir, FileChannel baselineFile) throws Exception {
        java.nio.file.Files.createDirectories(dir);
        int maxRecordBytes = Math.min(WalConfig.DEFAULT_MAX_RECORD_BYTES, o.segmentBytes() / 2);
        WalConfig config = new WalConfig(dir, 1, 1, o.segmentBytes(), maxRecordBytes);
        WalWriterConfig writerConfig = new WalWriterConfig(o.queueCapacityBatches(),
                Math.max(WalWriterConfig.DEFAULT_WRITE_BUFFER_BYTES, maxRecordBytes), WalWriterConfig.DEFAULT_SEGMENTS_AHEAD);
        NioWalFileSystem fs = new NioWalFileSystem();
        Control control = new Control();
        AtomicLongArray nextIndex = new AtomicLongArray(cell.groups());
        byte[] payload = new byte[cell.entryBytes()];
        new SplittableRandom(42).nextBytes(payload);
        WalWriterStats delta = new WalWriterStats(0, 0, 0, 0, 0, 0, 0, 0, 0);
        Baseline baseline = null;
        double seconds;
        CpuUse cpu;
        List<Submitter> submitters = new ArrayList<>();
        try (WalDirectoryLock lock = fs.lock(dir)) {
            WalRecoveryResult recovered = new WalRecoveryScanner(fs, config).scan((record, seq, off) -> {
                throw new IllegalStateException("a fresh log directory holds record " + record + " at " + seq + "/" + off);
            });
            WalWriter writer = WalWriter.open(fs, config, writerConfig, recovered);
            try {
                writer.start();
                for (int t = 0; t < cell.submitters(); t++) {
                    Submitter s = new Submitter(writer, control, cell.groups(), o.entriesPerBatch(), o.inflightPerSubmitter(), payload, nextIndex,
                            new SplittableRandom(1000 + t));
                    s.thread = new Thread(s, "bench-submitter-" + t);
                    s.thread.setDaemon(true);
                    submitters.add(s);
                }
                for (Submitter s : submitters) {
                    s.thread.start();
                }
                sleepSeconds(o.warmupSeconds(), control, submitters);
                long writerThreadId = writerThreadId();
                long walNs = 0;
                long processCpuNs = 0;
                long writerCpuNs = 0;
                for (int slice = 0; slice < o.slices(); slice++) {
                    if (slice > 0) {
                        control.paused = false;
                        sleepSeconds(RESUME_SECONDS, control, submitters);
                    }
                    long processCpuBeforeNs = processCpuNs();
                    long writerCpuBeforeNs = threadCpuNs(writerThreadId);
                    WalWriterStats before = writer.stats();
                    long startNs = System.nanoTime();
                    control.recording = true;
                    sleepSeconds(o.seconds() / o.slices(), control, submitters);
                    control.recording = false;
                    WalWriterStats after = writer.stats();
                    walNs += System.nanoTime() - startNs;
                    processCpuNs += processCpuNs() - processCpuBeforeNs;
                    writerCpuNs += threadCpuNs(writerThreadId) - writerCpuBeforeNs;
                    delta = plus(delta, minus(after, before));
                    check(delta.forces() > 0, "no fsync happened in the first %.2f s of cell %s", walNs / 1e9, cell);
                    control.paused = true;
                    awaitPaused(submitters, dir);
                    long batchBytes = Math.max(8, (delta.bytes() / delta.forces() + 7) & -8L);
                    baseline = plus(baseline, runBaseline(baselineFile, batchBytes, o.baselineSeconds() / o.slices(),
                            slice == 0 ? BASELINE_WARMUP_SECONDS : 0.02, o.segmentBytes()));
                }
                seconds = walNs / 1e9;
                cpu = new CpuUse(100.0 * processCpuNs / walNs, 100.0 * writerCpuNs / walNs);
            } finally {
                control.stop = true;
                for (Submitter s : submitters) {
                    s.thread.join(TimeUnit.NANOSECONDS.toMillis(STUCK_NS) + 1000);
                }
                writer.close();
            }
            if (writer.failure() != null) {
                throw new IllegalStateException("the log failed during the cell " + cell, writer.failure());
            }
        }
        Histogram latency = new Histogram(STUCK_NS, 3);
        long refusals = 0;
        for (Submitter s : submitters) {
            if (s.thread.isAlive()) {
                throw new IllegalStateException("submitter " + s.thread.getName() + " did not stop within "
                        + TimeUnit.NANOSECONDS.toSeconds(STUCK_NS) + " s in cell " + cell);
            }
            if (s.error != null) {
                throw new IllegalStateException("submitter " + s.thread.getName() + " failed in cell " + cell, s.error);
            }
            latency.add(s.latencyNs);
            refusals += s.refusals;
        }
        return new Result(cell, seconds, delta, latency, refusals, baseline, BenchEnv.load1(), cpu);
    }

    /** The JVM's CPU time (every thread, user + system), or 0 where the platform does not say. */
    private static long processCpuNs() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return Math.max(0, os.getProcessCpuTime());
        }
        return 0;
    }

    /** The id of the log writer's thread (named flotilla-wal-writer-1: the bench's node id is 1; not its completer), or -1. */
    private static long writerThreadId() {
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals("flotilla-wal-writer-1")) {
                return t.getId();
            }
        }
        return -1;
    }

    private static long threadCpuNs(long threadId) {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        if (threadId < 0 || !threads.isThreadCpuTimeSupported()) {
            return 0;
        }
        return Math.max(0, threads.getThreadCpuTime(threadId));
    }

    /** Sleeps, but returns early (and throws) if a submitter died, so a broken run stops at once. */
    private static void sleepSeconds(double seconds, Control control, List<Submitter> submitters) throws InterruptedException {
        long deadlineNs = System.nanoTime() + (long) (seconds * 1e9);
        while (true) {
            for (Submitter s : submitters) {
                if (s.error != null) {
                    control.stop = true;
                    throw new IllegalStateException("submitter " + s.thread.getName() + " failed", s.error);
                }
            }
            long leftNs = deadlineNs - System.nanoTime();
            if (leftNs <= 0) {
                return;
            }
            Thread.sleep(Math.max(1, Math.min(100, TimeUnit.NANOSECONDS.toMillis(leftNs))));
        }
    }

    /**
     * Waits (bounded) until every submitter is paused with nothing in flight and the preallocator has
     * no segment under construction (no temporary segment file), so the baseline slice has the disk.
     */
    private static void awaitPaused(List<Submitter> submitters, Path dir) throws Exception {
        long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadlineNs) {
            boolean quiet = true;
            for (Submitter s : submitters) {
                if (s.error != null) {
                    throw new IllegalStateException("submitter " + s.thread.getName() + " failed", s.error);
                }
                quiet &= s.paused;
            }
            if (quiet && !segmentUnderConstruction(dir)) {
                return;
            }
            Thread.sleep(1);
        }
        throw new IllegalStateException("submitters or the preallocator did not go quiet within 5 s in " + dir);
    }

    private static boolean segmentUnderConstruction(Path dir) throws IOException {
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(dir)) {
            return files.anyMatch(p -> WalSegmentNames.parseTempSequence(p.getFileName().toString()) >= 0);
        }
    }

    private static WalWriterStats plus(WalWriterStats a, WalWriterStats b) {
        return new WalWriterStats(a.commits() + b.commits(), a.batches() + b.batches(), a.records() + b.records(),
                a.entries() + b.entries(), a.bytes() + b.bytes(), a.writes() + b.writes(), a.forces() + b.forces(),
                a.rollovers() + b.rollovers(), a.segmentWaits() + b.segmentWaits());
    }

    private static Baseline plus(Baseline a, Baseline b) {
        if (a == null) {
            return b;
        }
        Histogram h = a.forceNs().copy();
        h.add(b.forceNs());
        return new Baseline(a.bytes() + b.bytes(), a.seconds() + b.seconds(), a.forces() + b.forces(), h);
    }

    private static void check(boolean ok, String format, double a, Object b) {
        if (!ok) {
            throw new IllegalStateException(String.format(format, a, b));
        }
    }

    private static WalWriterStats minus(WalWriterStats a, WalWriterStats b) {
        return new WalWriterStats(a.commits() - b.commits(), a.batches() - b.batches(), a.records() - b.records(),
                a.entries() - b.entries(), a.bytes() - b.bytes(), a.writes() - b.writes(), a.forces() - b.forces(),
                a.rollovers() - b.rollovers(), a.segmentWaits() - b.segmentWaits());
    }

    /**
     * One thread overwriting one preallocated file in batches of {@code batchBytes}, one
     * {@code force(false)} per batch, wrapping to the start at the end of the file. The file is
     * extended (zeros, forced) first if it holds fewer than four batches or one segment.
     */
    static Baseline runBaseline(FileChannel file, long batchBytes, double seconds, double warmupSeconds, int segmentBytes)
            throws IOException {
        long fileBytes = Math.max(segmentBytes, 4 * batchBytes);
        if (file.size() < fileBytes) {
            ByteBuffer zeros = ByteBuffer.allocateDirect(1 << 20);
            for (long pos = file.size(); pos < fileBytes; ) {
                zeros.clear().limit((int) Math.min(zeros.capacity(), fileBytes - pos));
                pos += file.write(zeros, pos);
            }
            file.force(true);
        }
        fileBytes = file.size();
        ByteBuffer buf = ByteBuffer.allocateDirect((int) Math.min(batchBytes, 4 << 20));
        byte[] noise = new byte[buf.capacity()];
        new SplittableRandom(7).nextBytes(noise);
        buf.put(noise).clear();
        Histogram forceNs = new Histogram(STUCK_NS, 3);
        long position = 0;
        long forces = 0;
        long warmupEndNs = System.nanoTime() + (long) (warmupSeconds * 1e9);
        long startNs = 0;
        long endNs = 0;
        boolean measuring = false;
        while (true) {
            long now = System.nanoTime();
            if (!measuring && now >= warmupEndNs) {
                measuring = true;
                startNs = now;
                endNs = now + (long) (seconds * 1e9);
            } else if (measuring && now >= endNs) {
                break;
            }
            if (position + batchBytes > fileBytes) {
                position = 0;
            }
            long t0 = System.nanoTime();
            for (long left = batchBytes; left > 0; ) {
                buf.clear().limit((int) Math.min(buf.capacity(), left));
                while (buf.hasRemaining()) {
                    int n = file.write(buf, position);
                    position += n;
                    left -= n;
                }
            }
            file.force(false);
            if (measuring) {
                forceNs.recordValue(Math.min(System.nanoTime() - t0, STUCK_NS));
                forces++;
            }
        }
        return new Baseline(batchBytes * forces, (System.nanoTime() - startNs) / 1e9, forces, forceNs);
    }

    /**
     * One client with a window of up to {@code inflight} batches: it submits while fewer are in
     * flight, and waits for a completion when the window is full (with {@code inflight == 1}, the
     * closed loop of one batch at a time). Callbacks arrive in submission order, so the batch that
     * completes is always the oldest in flight: slot {@code completed % inflight} of the rings. Its
     * fields are owned by its thread, except the rings' {@link #durableNs} slots, {@link #completed}
     * and {@link #failed}, which the log's completer thread writes in the callback ({@code completed}
     * is volatile and written last, so it publishes the slot).
     */
    private static final class Submitter implements Runnable, WalAppendCallback {
        private final WalWriter writer;
        private final Control control;
        private final int groups;
        private final int entriesPerBatch;
        private final int inflight;
        private final byte[] payload;
        private final AtomicLongArray nextIndex;
        private final SplittableRandom random;
        private final int[] pickedGroups;
        private final long[] startNs;
        private final boolean[] recorded;
        private final long[] durableNs;
        final Histogram latencyNs = new Histogram(STUCK_NS, 3);
        Thread thread;
        long refusals;
        volatile Throwable error;
        /** True while this submitter waits out a baseline slice with no batch in flight. */
        volatile boolean paused;

        /** Batches submitted; owned by the submitter thread. */
        private long submitted;
        /** Completions already turned into latencies; owned by the submitter thread. */
        private long processed;
        /** Batches completed; written by the completer thread only. */
        private volatile long completed;
        private volatile WalFailedException failed;

        Submitter(WalWriter writer, Control control, int groups, int entriesPerBatch, int inflight, byte[] payload,
                AtomicLongArray nextIndex, SplittableRandom random) {
            this.writer = writer;
            this.control = control;
            this.groups = groups;
            this.entriesPerBatch = entriesPerBatch;
            this.inflight = inflight;
            this.payload = payload;
            this.nextIndex = nextIndex;
            this.random = random;
            this.pickedGroups = new int[entriesPerBatch];
            this.startNs = new long[inflight];
            this.recorded = new boolean[inflight];
            this.durableNs = new long[inflight];
        }

        @Override
        public void run() {
            try {
                long progressNs = System.nanoTime();
                while (!control.stop) {
                    if (drainCompletions()) {
                        progressNs = System.nanoTime();
                    }
                    if (control.paused) {
                        if (submitted != processed) {
                            awaitCompletion(progressNs);
                            continue;
                        }
                        paused = true;
                        while (control.paused && !control.stop) {
                            LockSupport.parkNanos(this, 1_000_000L);
                        }
                        paused = false;
                        continue;
                    }
                    if (submitted - processed == inflight) {
                        awaitCompletion(progressNs);
                        continue;
                    }
                    WalBatch batch = nextBatch();
                    int slot = (int) (submitted % inflight);
                    recorded[slot] = control.recording;
                    startNs[slot] = System.nanoTime();
                    while (!writer.submit(batch, this)) {
                        refusals++;
                        if (control.stop) {
                            return;
                        }
                        Thread.yield();
                    }
                    submitted++;
                }
            } catch (Throwable t) {
                error = t;
            }
        }

        /** Turns new completions into latencies; true if there were any. */
        private boolean drainCompletions() throws WalFailedException {
            long done = completed;
            if (failed != null) {
                throw failed;
            }
            if (done == processed) {
                return false;
            }
            for (; processed < done; processed++) {
                int slot = (int) (processed % inflight);
                if (recorded[slot]) {
                    latencyNs.recordValue(Math.min(durableNs[slot] - startNs[slot], STUCK_NS));
                }
            }
            return true;
        }

        /** Parks until the completer reports a batch (it unparks this thread), failing if nothing completes for too long. */
        private void awaitCompletion(long progressNs) {
            if (completed == processed && failed == null) {
                LockSupport.parkNanos(this, 10_000_000L);
                if (completed == processed && failed == null && System.nanoTime() - progressNs > STUCK_NS) {
                    throw new IllegalStateException("no batch was durable for "
                            + TimeUnit.NANOSECONDS.toSeconds(STUCK_NS) + " s; the writer is stuck");
                }
            }
        }

        /** Entries for random groups; the entries of one group form one ENTRIES record with consecutive indexes. */
        private WalBatch nextBatch() {
            if (entriesPerBatch == 1) {
                int g = random.nextInt(groups);
                long index = nextIndex.incrementAndGet(g);
                return new WalBatch(List.of(new WalRecord.Entries(g + 1, List.of(Entry.normal(1, index, payload)))));
            }
            for (int i = 0; i < entriesPerBatch; i++) {
                pickedGroups[i] = random.nextInt(groups);
            }
            Arrays.sort(pickedGroups);
            List<WalRecord> records = new ArrayList<>();
            for (int i = 0; i < entriesPerBatch; ) {
                int g = pickedGroups[i];
                int run = 1;
                while (i + run < entriesPerBatch && pickedGroups[i + run] == g) {
                    run++;
                }
                long first = nextIndex.getAndAdd(g, run) + 1;
                List<Entry> entries = new ArrayList<>(run);
                for (int k = 0; k < run; k++) {
                    entries.add(Entry.normal(1, first + k, payload));
                }
                records.add(new WalRecord.Entries(g + 1, entries));
                i += run;
            }
            return new WalBatch(records);
        }

        @Override
        public void onDurable(WalBatch batch, long segmentSequence, long endOffsetBytes) {
            long done = completed;
            durableNs[(int) (done % inflight)] = System.nanoTime();
            completed = done + 1;
            LockSupport.unpark(thread);
        }

        @Override
        public void onFailed(WalBatch batch, WalFailedException e) {
            failed = e;
            completed = completed + 1;
            LockSupport.unpark(thread);
        }
    }

    static String header() {
        return "| entry B | groups | submitters | entries/s | MB/s | entries/fsync | B/fsync | fsyncs/s | p50 µs | p99 µs"
                + " | baseline MB/s | baseline fsyncs/s | baseline p50 µs | WAL % of baseline | CPU % JVM / writer | load |\n"
                + "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    }

    static String row(Result r) {
        Cell c = r.cell();
        return String.format("| %d | %d | %d | %,.0f | %.1f | %.1f | %,d | %,.0f | %.0f | %.0f | %.1f | %,.0f | %.0f | %.0f%% | %.0f / %.0f | %s |",
                c.entryBytes(), c.groups(), c.submitters(), r.entriesPerSecond(), r.megabytesPerSecond(),
                r.stats().entriesPerForce(), r.bytesPerForce(), r.forcesPerSecond(),
                r.latencyNs().getValueAtPercentile(50) / 1e3, r.latencyNs().getValueAtPercentile(99) / 1e3,
                r.baseline().megabytesPerSecond(), r.baseline().forcesPerSecond(),
                r.baseline().forceNs().getValueAtPercentile(50) / 1e3, r.percentOfBaseline(),
                r.cpu().processPercent(), r.cpu().writerPercent(), r.load1());
    }

    static String report(Options o, List<Result> results, String setupBefore) {
        StringBuilder sb = new StringBuilder();
        sb.append("## WAL append: group commit vs. one-thread write+fsync baseline\n\n");
        sb.append(String.format("Setup: %s; %d B segments (preallocated), entries per batch %d, %.1f s measured per cell"
                        + " after %.1f s warm-up, baseline %.1f s, interleaved in %d slices each; each submitter keeps up to %d"
                        + " batches in flight%s.%n",
                setupBefore, o.segmentBytes(), o.entriesPerBatch(), o.seconds(), o.warmupSeconds(), o.baselineSeconds(),
                o.slices(), o.inflightPerSubmitter(), o.inflightPerSubmitter() == 1 ? " (closed loop)" : ""));
        sb.append("Load at the end: ").append(BenchEnv.loadAverage()).append(".\n\n");
        sb.append(header());
        for (Result r : results) {
            sb.append(row(r)).append('\n');
        }
        sb.append("\nMB/s counts log bytes (record headers and padding included), 1 MB = 10^6 B; entries/s is payload-carrying"
                + " entries. fsyncs include the one per segment rollover. Latency is submit → durable callback"
                + " (HdrHistogram, per batch; clients with a bounded window, so no coordinated-omission correction). The baseline writes B/fsync bytes"
                + " per force(false) to one preallocated file from one thread; its p50 is write+force per batch. CPU % is CPU time over the measured interval as a percentage of one"
                + " core (this machine has " + Runtime.getRuntime().availableProcessors() + "): the whole JVM / the writer thread.\n");
        List<String> notes = new ArrayList<>();
        for (Result r : results) {
            if (r.refusals() > 0) {
                notes.add(String.format("%s: %,d submissions refused (queue full) and retried", r.cell(), r.refusals()));
            }
            if (r.stats().segmentWaits() > 0) {
                notes.add(String.format("%s: %d rollovers waited for the preallocator", r.cell(), r.stats().segmentWaits()));
            }
        }
        for (String n : notes) {
            sb.append("- ").append(n).append('\n');
        }
        sb.append("\nGoals (issue 3):\n");
        for (Result r : results) {
            if (r.cell().groups() == 256) {
                sb.append(String.format("- %d B, 256 groups, %d submitters: WAL at %.0f%% of the baseline's MB/s (goal ≥ 90%%): %s%n",
                        r.cell().entryBytes(), r.cell().submitters(), r.percentOfBaseline(),
                        r.percentOfBaseline() >= 90 ? "met" : "MISSED"));
            }
        }
        for (Result r : results) {
            if (r.cell().submitters() == 64) {
                sb.append(String.format("- %d B, %d groups, 64 submitters: %.1f entries per fsync (goal ≥ 100): %s%n",
                        r.cell().entryBytes(), r.cell().groups(), r.stats().entriesPerForce(),
                        r.stats().entriesPerForce() >= 100 ? "met" : "MISSED"));
            }
        }
        return sb.toString();
    }
}

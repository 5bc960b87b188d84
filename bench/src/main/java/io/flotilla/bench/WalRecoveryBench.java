package io.flotilla.bench;

import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import io.flotilla.wal.NioWalFileSystem;
import io.flotilla.wal.WalAppendCallback;
import io.flotilla.wal.WalBatch;
import io.flotilla.wal.WalCacheConfig;
import io.flotilla.wal.WalConfig;
import io.flotilla.wal.WalDirectoryLock;
import io.flotilla.wal.WalFailedException;
import io.flotilla.wal.WalGroupIndex;
import io.flotilla.wal.WalIndexBuilder;
import io.flotilla.wal.WalRecord;
import io.flotilla.wal.WalRecordVisitor;
import io.flotilla.wal.WalRecoveryResult;
import io.flotilla.wal.WalRecoveryScanner;
import io.flotilla.wal.WalSegmentNames;
import io.flotilla.wal.WalWriter;
import io.flotilla.wal.WalWriterConfig;
import io.flotilla.wal.WalWriterStats;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Recovery time of the shared log (issue 3, item 10): writes a log of {@code --bytes} (default
 * 1 GiB) spread round-robin over {@code --groups} (default 1,000) groups through the real
 * {@link WalWriter}, closes it, then times {@link WalRecoveryScanner#scan} over it — reading every
 * segment, verifying every record CRC and the CRC chain, decoding every record — with a
 * {@link WalIndexBuilder} as the visitor (rebuilding every group's index and its recent-entry cache),
 * and without one (scan and CRC only), each from a cold and a warm page cache.
 *
 * <p>"Cold" evicts the segment files from the page cache first, file by file, with
 * {@code posix_fadvise(DONTNEED)} (through GNU dd; see {@link BenchEnv#dropFromPageCache}); the
 * machine-wide {@code drop_caches} is not used on a shared machine. The JVM is the one that wrote the
 * log, and a virtual disk may still be cached by its host, so cold here means "not in this guest's
 * page cache", not a fresh machine. The first pass is also the first run of the scan and index code
 * in this JVM, so it pays JIT compilation as a restart would; the later passes are JIT-warm.
 *
 * <p>The log: every ENTRIES record holds {@code --entries-per-record} consecutive entries of
 * {@code --entry-bytes} for one group; after every fourth ENTRIES record of a group comes a HARD_STATE
 * record for it. Records go to the writer in batches of about {@code --batch-bytes} (one fsync each,
 * two batches in flight), so writing is fast. Every group's cache gets an equal share of a node-wide
 * budget ({@code --cache-bytes}, default 64 MiB) — the per-group default, 1 MiB, times 1,000 groups
 * would not fit the bench's 1 GiB heap.
 *
 * <p>Threads: everything runs on the main thread, apart from the writer's own threads while writing.
 *
 * <p>Run: {@code bench/run --main WalRecoveryBench [--help]}.
 */
public final class WalRecoveryBench {
    private static final long STUCK_SECONDS = 60;
    private static final double GIB = 1L << 30;

    /** The run's options, validated. */
    record Options(long logBytes, int groups, int entryBytes, int entriesPerRecord, long batchBytes, Path parentDir,
            int segmentBytes, long cacheBytes, int cacheEntries, boolean dropCache) {
    }

    /** One timed scan. */
    record Pass(String name, boolean cold, boolean index, double seconds, double cpuSeconds, long gcMillis,
            long records, String load1) {
    }

    private WalRecoveryBench() {
    }

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            BenchArgs a = new BenchArgs(args, Set.of("help", "no-drop-cache"));
            if (a.flag("help")) {
                System.out.print(usage());
                return;
            }
            o = new Options(
                    a.bytes("bytes", 1L << 30, 1 << 20, 64L << 30),
                    a.integer("groups", 1000, 1, 1 << 20),
                    a.integer("entry-bytes", 1024, 0, 1 << 20),
                    a.integer("entries-per-record", 16, 1, 1 << 16),
                    a.bytes("batch-bytes", 4 << 20, 4096, 64 << 20),
                    Path.of(a.string("dir", System.getProperty("java.io.tmpdir"))),
                    (int) a.bytes("segment-bytes", WalConfig.DEFAULT_SEGMENT_BYTES, 1 << 20, WalConfig.MAX_SEGMENT_BYTES),
                    a.bytes("cache-bytes", 64 << 20, 0, 1L << 40),
                    a.integer("cache-entries", WalCacheConfig.DEFAULT_MAX_ENTRIES, 0, WalCacheConfig.MAX_ENTRIES_LIMIT),
                    !a.flag("no-drop-cache"));
            a.rejectUnused();
            long recordBytes = (long) o.entriesPerRecord() * (o.entryBytes() + 24) + 32;
            if (recordBytes > o.segmentBytes() / 4) {
                throw new IllegalArgumentException(String.format("a record of %d entries of %d B (%d B) does not fit a"
                        + " quarter of a %d-byte segment: lower --entries-per-record", o.entriesPerRecord(),
                        o.entryBytes(), recordBytes, o.segmentBytes()));
            }
        } catch (IllegalArgumentException e) {
            System.err.println("WalRecoveryBench: " + e.getMessage());
            System.exit(2);
            return;
        }
        System.exit(run(o));
    }

    static String usage() {
        return """
                Usage: bench/run --main WalRecoveryBench [options]
                Writes a log spread over many groups, closes it, and times recovery: scan + CRC
                verification, with and without rebuilding the per-group indexes, cold and warm.

                  --bytes N               log size in record bytes (default 1G; suffixes K, M, G)
                  --groups N              groups the entries are spread over (default 1000)
                  --entry-bytes N         payload bytes per entry (default 1024)
                  --entries-per-record N  entries in each group's ENTRIES record (default 16)
                  --batch-bytes N         bytes per submitted batch while writing (default 4M)
                  --cache-bytes N         node-wide budget of the recent-entry caches, split equally
                                          over the groups (default 64M)
                  --cache-entries N       per-group cap on cached entries (default 1024)
                  --segment-bytes N       segment size (default 64M)
                  --dir DIR               parent of the scratch directory (default /tmp); the program
                                          creates a fresh directory under it and deletes it at the end
                  --no-drop-cache         do not evict the segments from the page cache (every pass warm)
                """;
    }

    static int run(Options o) throws Exception {
        String setup = BenchEnv.setupLine();
        Path root = BenchEnv.createScratch(o.parentDir(), "flotilla-wal-recovery-");
        Path dir = root.resolve("wal");
        Files.createDirectories(dir);
        int maxRecordBytes = Math.min(WalConfig.DEFAULT_MAX_RECORD_BYTES, o.segmentBytes() / 2);
        WalConfig config = new WalConfig(dir, 1, 1, o.segmentBytes(), maxRecordBytes);
        WalCacheConfig cacheConfig = new WalCacheConfig(o.cacheEntries(), o.cacheBytes() / o.groups());
        NioWalFileSystem fs = new NioWalFileSystem();
        StringBuilder out = new StringBuilder();
        try {
            System.err.printf("WalRecoveryBench: writing %.2f GiB over %d groups under %s ...%n",
                    o.logBytes() / GIB, o.groups(), dir);
            long writeStartNs = System.nanoTime();
            Written written = write(fs, config, o);
            double writeSeconds = (System.nanoTime() - writeStartNs) / 1e9;
            List<Path> segments = segmentFiles(dir);
            long fileBytes = 0;
            for (Path p : segments) {
                fileBytes += Files.size(p);
            }
            System.err.printf("  wrote %.2f GiB of records (%,d records, %,d entries) in %.1f s, %d segment files%n",
                    written.stats().bytes() / GIB, written.stats().records(), written.stats().entries(), writeSeconds,
                    segments.size());

            List<Pass> passes = new ArrayList<>();
            passes.add(timedScan("cold: scan + CRC + index rebuild", true, true, fs, config, cacheConfig, o, segments, written));
            passes.add(timedScan("warm: scan + CRC", false, false, fs, config, cacheConfig, o, segments, written));
            passes.add(timedScan("warm: scan + CRC + index rebuild", false, true, fs, config, cacheConfig, o, segments, written));
            passes.add(timedScan("cold: scan + CRC", true, false, fs, config, cacheConfig, o, segments, written));
            passes.add(timedRawRead(o, segments));

            double logGib = written.stats().bytes() / GIB;
            out.append("## WAL recovery\n\n");
            out.append(String.format("Setup: %s. Log: %.2f GiB of records (%,d B in %d segment files of %d B, all read"
                            + " whole), %d groups round-robin, ENTRIES records of %d × %d B entries plus a HARD_STATE every"
                            + " fourth record of a group: %,d records, %,d entries. Written in %.1f s (%.2f GiB/s, batches of"
                            + " %d B, %.1f MB per fsync). Index caches: %d entries / %,d B per group (%,d B node-wide).%n%n",
                    setup, logGib, fileBytes, segments.size(), o.segmentBytes(), o.groups(), o.entriesPerRecord(),
                    o.entryBytes(), written.stats().records(), written.stats().entries(), writeSeconds,
                    logGib / writeSeconds, o.batchBytes(),
                    BenchEnv.megabytes(written.stats().bytes()) / Math.max(1, written.stats().forces()),
                    cacheConfig.maxEntries(), cacheConfig.maxBytes(), o.cacheBytes()));
            out.append("| pass | seconds | GiB/s (log) | GiB/s (files read) | CPU s | GC ms | records | load |\n");
            out.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
            for (Pass p : passes) {
                out.append(String.format("| %s | %.2f | %.2f | %.2f | %.2f | %d | %,d | %s |%n", p.name(), p.seconds(),
                        logGib / p.seconds(), fileBytes / GIB / p.seconds(), p.cpuSeconds(), p.gcMillis(), p.records(),
                        p.load1()));
            }
            out.append(String.format("%nCold passes evict each segment from this guest's page cache with"
                    + " posix_fadvise(DONTNEED) first%s; dropping every OS cache (drop_caches, the host's cache of the"
                    + " virtual disk) is not possible here. The first pass also pays JIT compilation of the scan, decode and index code, as a"
                    + " restart would; the later passes do not. CPU s is the scanning thread's CPU time; GC ms is collector"
                    + " time during the pass.%n", o.dropCache() ? "" : " (disabled: --no-drop-cache, so they are warm too)"));
            Pass headline = passes.get(0);
            double scaledTo1GiB = headline.seconds() / logGib;
            out.append(String.format("%nGoal (issue 3): recover 1 GiB over 1,000 groups in ≤ 3 s: %.2f s for %.2f GiB over %d"
                            + " groups, cold, index rebuilt (%.2f s per GiB): %s%n", headline.seconds(), logGib, o.groups(),
                    scaledTo1GiB, scaledTo1GiB <= 3 ? "met" : "MISSED"));
        } finally {
            BenchEnv.deleteTree(root);
        }
        System.out.print(out);
        return 0;
    }

    /** What writing produced, for checking every recovery against it. */
    record Written(WalWriterStats stats, long[] lastIndex) {
    }

    private static Written write(NioWalFileSystem fs, WalConfig config, Options o) throws Exception {
        byte[] payload = new byte[o.entryBytes()];
        new SplittableRandom(42).nextBytes(payload);
        long[] lastIndex = new long[o.groups()];
        long[] recordsOfGroup = new long[o.groups()];
        WalWriterConfig writerConfig = new WalWriterConfig(WalWriterConfig.DEFAULT_QUEUE_CAPACITY_BATCHES,
                Math.max(WalWriterConfig.DEFAULT_WRITE_BUFFER_BYTES, config.maxRecordBytes()), WalWriterConfig.DEFAULT_SEGMENTS_AHEAD);
        try (WalDirectoryLock lock = fs.lock(config.directory())) {
            WalRecoveryResult empty = new WalRecoveryScanner(fs, config).scan((r, seq, off) -> {
                throw new IllegalStateException("the fresh directory holds a record at " + seq + "/" + off);
            });
            WalWriter writer = WalWriter.open(fs, config, writerConfig, empty);
            try {
                writer.start();
                ArrayDeque<CompletableFuture<Void>> inFlight = new ArrayDeque<>();
                long submittedBytes = 0;
                int nextGroup = 0;
                while (submittedBytes < o.logBytes()) {
                    List<WalRecord> records = new ArrayList<>();
                    long batchBytes = 0;
                    while (batchBytes < o.batchBytes() && submittedBytes + batchBytes < o.logBytes()) {
                        int g = nextGroup;
                        nextGroup = (nextGroup + 1) % o.groups();
                        List<Entry> entries = new ArrayList<>(o.entriesPerRecord());
                        for (int i = 0; i < o.entriesPerRecord(); i++) {
                            entries.add(Entry.normal(1, ++lastIndex[g], payload));
                        }
                        WalRecord entriesRecord = new WalRecord.Entries(g + 1, entries);
                        records.add(entriesRecord);
                        batchBytes += WalBatch.recordBytes(entriesRecord);
                        if (++recordsOfGroup[g] % 4 == 0) {
                            WalRecord hs = new WalRecord.HardStateUpdate(g + 1, new HardState(1, 1, lastIndex[g]));
                            records.add(hs);
                            batchBytes += WalBatch.recordBytes(hs);
                        }
                    }
                    if (inFlight.size() == 2) {
                        inFlight.poll().get(STUCK_SECONDS, TimeUnit.SECONDS);
                    }
                    CompletableFuture<Void> durable = new CompletableFuture<>();
                    WalBatch batch = new WalBatch(records);
                    long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(STUCK_SECONDS);
                    while (!writer.submit(batch, new FutureCallback(durable))) {
                        if (System.nanoTime() > deadlineNs) {
                            throw new IllegalStateException("the writer refused a batch for " + STUCK_SECONDS + " s");
                        }
                        Thread.sleep(1);
                    }
                    inFlight.add(durable);
                    submittedBytes += batch.totalBytes();
                }
                while (!inFlight.isEmpty()) {
                    inFlight.poll().get(STUCK_SECONDS, TimeUnit.SECONDS);
                }
            } finally {
                writer.close();
            }
            if (writer.failure() != null) {
                throw new IllegalStateException("the log failed while writing", writer.failure());
            }
            return new Written(writer.stats(), lastIndex);
        }
    }

    /** Completes a future on the writer thread; the main thread waits on it. */
    private record FutureCallback(CompletableFuture<Void> future) implements WalAppendCallback {
        @Override
        public void onDurable(WalBatch batch, long segmentSequence, long endOffsetBytes) {
            future.complete(null);
        }

        @Override
        public void onFailed(WalBatch batch, WalFailedException error) {
            future.completeExceptionally(error);
        }
    }

    /** Times one recovery scan and checks its result against what was written. */
    private static Pass timedScan(String name, boolean cold, boolean index, NioWalFileSystem fs, WalConfig config,
            WalCacheConfig cacheConfig, Options o, List<Path> segments, Written written) throws IOException {
        boolean evicted = false;
        if (cold && o.dropCache()) {
            evicted = true;
            for (Path p : segments) {
                if (!BenchEnv.dropFromPageCache(p)) {
                    evicted = false;
                    System.err.println("  could not evict " + p + " from the page cache (GNU dd missing?); the pass is warm");
                    break;
                }
            }
        }
        String label = cold && !evicted ? name.replace("cold:", "warm (eviction failed):") : name;
        System.err.printf("  %s ...%n", label);
        System.gc();
        long gcBeforeMs = gcMillis();
        long cpuBeforeNs = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        WalIndexBuilder builder = index ? new WalIndexBuilder(cacheConfig) : null;
        long[] visited = new long[1];
        WalRecordVisitor visitor = index ? builder : (record, seq, off) -> visited[0]++;
        long startNs = System.nanoTime();
        WalRecoveryResult result;
        try (WalDirectoryLock lock = fs.lock(config.directory())) {
            result = new WalRecoveryScanner(fs, config).scan(visitor);
        }
        double seconds = (System.nanoTime() - startNs) / 1e9;
        double cpuSeconds = (ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - cpuBeforeNs) / 1e9;
        long gcMs = gcMillis() - gcBeforeMs;
        check(result.recordCount() == written.stats().records(), "%s: recovered %d records, wrote %d", name,
                result.recordCount(), written.stats().records());
        check(!result.tornTail(), "%s: a cleanly closed log recovered with a torn tail at %d", name, result.tailEndBytes());
        if (index) {
            check(builder.indexes().size() == o.groups(), "%s: rebuilt %d group indexes, wrote %d groups", name,
                    builder.indexes().size(), o.groups());
            for (int g = 0; g < o.groups(); g++) {
                WalGroupIndex gi = builder.index(g + 1);
                check(gi.lastIndex() == written.lastIndex()[g] && gi.firstIndex() == 1, "%s: group %d recovered [%d, %d], wrote"
                        + " [1, %d]", name, g + 1, gi.firstIndex(), gi.lastIndex(), written.lastIndex()[g]);
            }
        } else {
            check(visited[0] == written.stats().records(), "%s: visited %d records, wrote %d", name, visited[0],
                    written.stats().records());
        }
        System.err.printf("    %.2f s%n", seconds);
        return new Pass(label, cold && evicted, index, seconds, cpuSeconds, gcMs, result.recordCount(), BenchEnv.load1());
    }

    /**
     * The IO floor: reads the same files, cold, whole and in order into one direct buffer, as the scanner
     * does, and nothing else (no CRC, no decoding).
     */
    private static Pass timedRawRead(Options o, List<Path> segments) throws IOException {
        boolean evicted = o.dropCache();
        if (evicted) {
            for (Path p : segments) {
                evicted &= BenchEnv.dropFromPageCache(p);
            }
        }
        String label = evicted ? "cold: read the files only (IO floor)" : "warm: read the files only";
        System.err.printf("  %s ...%n", label);
        ByteBuffer buf = ByteBuffer.allocateDirect(o.segmentBytes());
        long cpuBeforeNs = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        long startNs = System.nanoTime();
        long sum = 0;
        for (Path p : segments) {
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                buf.clear();
                while (buf.hasRemaining() && ch.read(buf, buf.position()) >= 0) {
                    // read until the buffer is full or the file ends
                }
                sum += buf.position();
            }
        }
        double seconds = (System.nanoTime() - startNs) / 1e9;
        double cpuSeconds = (ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - cpuBeforeNs) / 1e9;
        check(sum > 0, "read no bytes from %d segment files", segments.size());
        System.err.printf("    %.2f s%n", seconds);
        return new Pass(label, evicted, false, seconds, cpuSeconds, 0, 0, BenchEnv.load1());
    }

    private static long gcMillis() {
        long total = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            total += Math.max(0, gc.getCollectionTime());
        }
        return total;
    }

    private static List<Path> segmentFiles(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> WalSegmentNames.parseSequence(p.getFileName().toString()) >= 0).sorted().toList();
        }
    }

    private static void check(boolean ok, String format, Object... args) {
        if (!ok) {
            throw new IllegalStateException(String.format(format, args));
        }
    }
}

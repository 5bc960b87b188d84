package io.flotilla.wal.crash;

import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.HardState;
import io.flotilla.wal.WalAppendCallback;
import io.flotilla.wal.WalBatch;
import io.flotilla.wal.WalConfig;
import io.flotilla.wal.WalFailedException;
import io.flotilla.wal.WalFileSystem;
import io.flotilla.wal.WalRecord;
import io.flotilla.wal.WalRecoveryResult;
import io.flotilla.wal.WalRecoveryScanner;
import io.flotilla.wal.WalSegmentNames;
import io.flotilla.wal.WalWriter;
import io.flotilla.wal.WalWriterConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs one seeded workload through the real {@link WalWriter} on a {@link CrashSimFileSystem}, then
 * crashes it at every boundary in every {@link CrashMode}, recovers each image, restarts a writer on
 * it, appends, recovers again, and tallies what went wrong. Owned by the test thread (the writers it
 * starts have their own threads, which only reach it through the file system and the callbacks).
 *
 * <p>Acknowledgements: a batch's {@code onDurable} callback runs on the writer's completer thread
 * after its force returned, while the writer may already be writing the next round; it calls
 * {@link CrashSimFileSystem#markDurableAck}, which stamps the batch with the boundary of the force
 * that covered its last byte (or, if none has happened yet, with the current boundary), under the
 * same monitor that numbers the calls. So "acked at boundary a" means the writer claimed the batch
 * durable on the strength of the state at a, and a crash at any boundary {@code b >= a} must keep
 * the batch. (That is no later than the callback itself ran: the strict reading.)
 *
 * <p>Determinism: the writer gate holds the writer at every force while the test submits the next
 * round, so group commits, rollovers and preallocation happen in an order fixed by the seed; a seed
 * replays the same file-system history (checked by {@link CrashSimFileSystem#historyDigest}). Even
 * seeds let the preallocator finish the next segment before the writer writes to a new one, odd
 * seeds right after its first write, so both "next segment ready" and "torn tail in the last
 * segment there is" are crashed.
 */
final class WalCrashHarness {
    static final Path DIRECTORY = Path.of("/sim/node-3/wal");
    private static final long CLUSTER_ID = 0x5EED;
    private static final long NODE_ID = 3;
    private static final int MAX_RECORD_BYTES = 8192;
    private static final int[] SEGMENT_BYTES = {32 << 10, 48 << 10, 64 << 10};
    private static final int GROUPS = 40;
    private static final long WAIT_SECONDS = 30;
    /** Problems kept word for word in a tally (the counts cover all of them). */
    private static final int MAX_PROBLEMS = 8;
    private static final long FAILED_TOKEN_BASE = 1L << 40;

    private final WalWriterConfig writerConfig = new WalWriterConfig(1024, 64 << 10, 1);

    /** Counts over many crash images; owned by the test thread. */
    static final class Tally {
        long images;
        long lost;
        long invented;
        long refused;
        final List<String> problems = new ArrayList<>();

        void add(Tally other) {
            images += other.images;
            lost += other.lost;
            invented += other.invented;
            refused += other.refused;
            for (String p : other.problems) {
                problem(p);
            }
        }

        void problem(String what) {
            if (problems.size() < MAX_PROBLEMS) {
                problems.add(what);
            }
        }

        String summary() {
            return "wal-crash: " + images + " images, " + lost + " lost, " + invented + " invented, " + refused + " refused";
        }
    }

    /**
     * What one seed's workload did: the file system with its history, the batches and their records
     * in submission order, and the boundary each batch was acknowledged at. Made and read by the
     * test thread once the writer has closed.
     */
    record Recording(long seed, WalConfig config, CrashSimFileSystem fs, List<WalBatch> batches, List<WalRecord> submitted,
            int[] ackBoundaries) {
    }

    /** Records seed {@code seed}'s workload of {@code rounds} rounds of batches. */
    Recording record(long seed, int rounds, CrashSimFileSystem.Fault fault) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        WalConfig config = new WalConfig(DIRECTORY, CLUSTER_ID, NODE_ID,
                SEGMENT_BYTES[(int) Math.floorMod(seed, (long) SEGMENT_BYTES.length)], MAX_RECORD_BYTES);
        Workload workload = new Workload(random);
        List<List<WalBatch>> plan = new ArrayList<>();
        List<WalBatch> batches = new ArrayList<>();
        List<WalRecord> submitted = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            List<WalBatch> round = new ArrayList<>();
            int n = 1 + random.nextInt(4);
            for (int i = 0; i < n; i++) {
                WalBatch batch = workload.batch();
                round.add(batch);
                batches.add(batch);
                submitted.addAll(batch.records());
            }
            plan.add(round);
        }

        CrashSimFileSystem fs = new CrashSimFileSystem(fault, seed);
        fs.createDirectories(DIRECTORY);
        WalRecoveryResult empty = new WalRecoveryScanner(fs, config).scan((record, segment, offset) -> { });
        WalWriter writer = WalWriter.open(fs, config, writerConfig, empty);
        List<String> failures = new ArrayList<>();
        // Odd seeds create each next segment after the writer's first write to the one it opened.
        fs.enableWriterGate(writerConfig.segmentsAhead(), (seed & 1) == 1);
        try {
            int token = 0;
            for (WalBatch b : plan.get(0)) {
                submit(writer, b, new Ack(fs, token++, failures));
            }
            writer.start();
            int next = 1;
            while (fs.awaitHeldForceOrAcks(batches.size())) {
                if (next < plan.size()) {
                    for (WalBatch b : plan.get(next++)) {
                        submit(writer, b, new Ack(fs, token++, failures));
                    }
                }
                fs.releaseForce();
            }
        } finally {
            fs.disableWriterGate();
            writer.close();
        }
        synchronized (failures) {
            if (!failures.isEmpty()) {
                throw new AssertionError("seed " + seed + ": the writer failed batches while recording: " + failures);
            }
        }
        int[] ackBoundaries = new int[batches.size()];
        for (int i = 0; i < batches.size(); i++) {
            ackBoundaries[i] = fs.ackBoundary(i);
            if (ackBoundaries[i] < 0 || (i > 0 && ackBoundaries[i] < ackBoundaries[i - 1])) {
                throw new AssertionError("seed " + seed + ": batch " + i + " acknowledged at boundary " + ackBoundaries[i]
                        + (i > 0 ? ", the batch before it at " + ackBoundaries[i - 1] : "") + "; acks must come in submission order");
            }
        }
        return new Recording(seed, config, fs, batches, submitted, ackBoundaries);
    }

    /**
     * Crashes {@code rec} at every boundary in every mode and checks each image.
     *
     * @param distinct if not null, collects a fingerprint of every image (slower; for reporting)
     */
    Tally check(Recording rec, Set<Long> distinct) {
        Tally tally = new Tally();
        int boundaries = rec.fs.boundaries();
        int acked = 0;
        long ackedRecords = 0;
        for (int b = 0; b <= boundaries; b++) {
            while (acked < rec.batches.size() && rec.ackBoundaries[acked] <= b) {
                ackedRecords += rec.batches.get(acked).size();
                acked++;
            }
            for (CrashMode mode : CrashMode.values()) {
                CrashSimFileSystem image = rec.fs.crashImage(b, mode);
                if (distinct != null) {
                    distinct.add(image.fingerprint() * 31 + rec.seed);
                }
                String where = "seed " + rec.seed + ", crash after boundary " + b + " (" + rec.fs.describe(b) + "), " + mode;
                checkImage(rec, image, b, (int) ackedRecords, where, tally);
            }
        }
        return tally;
    }

    private void checkImage(Recording rec, CrashSimFileSystem image, int boundary, int ackedRecords, String where, Tally tally) {
        tally.images++;
        List<WalRecord> recovered = new ArrayList<>();
        WalRecoveryResult result;
        try {
            result = new WalRecoveryScanner(image, rec.config).scan((record, segment, offset) -> recovered.add(record));
        } catch (IOException | RuntimeException e) {
            tally.refused++;
            tally.problem(where + ": recovery refused the image: " + e);
            return;
        }
        int match = commonPrefix(recovered, rec.submitted);
        if (match < ackedRecords) {
            tally.lost += ackedRecords - match;
            tally.problem(where + ": " + ackedRecords + " records were acknowledged, recovery returned the first " + match
                    + " of them intact" + (match < recovered.size() ? " (record " + match + " differs)" : ""));
        }
        if (recovered.size() > match) {
            tally.invented += recovered.size() - match;
            tally.problem(where + ": recovery returned " + (recovered.size() - match) + " records from position " + match
                    + " on that were never submitted there");
        }

        // Restart on the image: open a writer where recovery left it, append one batch, recover again.
        List<WalRecord> extra = restartRecords(boundary);
        List<WalRecord> recoveredAgain = new ArrayList<>();
        try {
            appendAfterRestart(image, rec.config, result, extra);
            new WalRecoveryScanner(image, rec.config).scan((record, segment, offset) -> recoveredAgain.add(record));
        } catch (IOException | RuntimeException e) {
            tally.refused++;
            tally.problem(where + ": after a restart and one more batch, recovery failed: " + e);
            return;
        }
        List<WalRecord> expected = new ArrayList<>(recovered);
        expected.addAll(extra);
        int matchAgain = commonPrefix(recoveredAgain, expected);
        if (matchAgain < expected.size()) {
            tally.lost += expected.size() - matchAgain;
            tally.problem(where + ": after a restart and one more batch, recovery returned " + matchAgain + " of the "
                    + expected.size() + " records it had plus the new batch");
        }
        if (recoveredAgain.size() > matchAgain) {
            tally.invented += recoveredAgain.size() - matchAgain;
            tally.problem(where + ": after a restart and one more batch, recovery returned "
                    + (recoveredAgain.size() - matchAgain) + " unexpected records");
        }
    }

    private void appendAfterRestart(WalFileSystem fs, WalConfig config, WalRecoveryResult result, List<WalRecord> records)
            throws IOException {
        WalWriter writer = WalWriter.open(fs, config, writerConfig, result);
        try {
            writer.start();
            CompletableFuture<Void> done = new CompletableFuture<>();
            submit(writer, new WalBatch(records), new WalAppendCallback() {
                @Override
                public void onDurable(WalBatch batch, long segmentSequence, long endOffsetBytes) {
                    done.complete(null);
                }

                @Override
                public void onFailed(WalBatch batch, WalFailedException error) {
                    done.completeExceptionally(error);
                }
            });
            done.get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IOException("the batch appended after the restart failed", e.getCause());
        } catch (TimeoutException e) {
            throw new IOException("the batch appended after the restart was not acknowledged within " + WAIT_SECONDS + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } finally {
            writer.close();
        }
    }

    /** The batch appended after a restart: a hard state and entries of a group the workload never uses, sized by the boundary. */
    private static List<WalRecord> restartRecords(int boundary) {
        byte[] payload = new byte[(boundary * 37) % 2500];
        Arrays.fill(payload, (byte) (boundary | 1));
        return List.of(new WalRecord.HardStateUpdate(1, new HardState(1_000_000L + boundary, 2, 0)),
                new WalRecord.Entries(GROUPS + 1_000, List.of(Entry.normal(9, boundary + 1L, payload))));
    }

    private static void submit(WalWriter writer, WalBatch batch, WalAppendCallback callback) throws WalFailedException {
        if (!writer.submit(batch, callback)) {
            throw new AssertionError("the writer's queue refused a batch; the harness never queues more than its capacity");
        }
    }

    /** Length of the longest common prefix of {@code got} and {@code want}, comparing records byte for byte. */
    static int commonPrefix(List<WalRecord> got, List<WalRecord> want) {
        int n = Math.min(got.size(), want.size());
        for (int i = 0; i < n; i++) {
            if (!sameRecord(got.get(i), want.get(i))) {
                return i;
            }
        }
        return n;
    }

    /** Equal in every field, entry payloads compared by content (records compare arrays by identity). */
    static boolean sameRecord(WalRecord a, WalRecord b) {
        if (a instanceof WalRecord.Entries ea && b instanceof WalRecord.Entries eb) {
            if (ea.groupId() != eb.groupId() || ea.entries().size() != eb.entries().size()) {
                return false;
            }
            for (int i = 0; i < ea.entries().size(); i++) {
                Entry x = ea.entries().get(i);
                Entry y = eb.entries().get(i);
                if (x.term() != y.term() || x.index() != y.index() || x.type() != y.type() || !Arrays.equals(x.data(), y.data())) {
                    return false;
                }
            }
            return true;
        }
        return a.equals(b);
    }

    /** A batch's callback: stamps its acknowledgement through the file system's sequence. Runs on the completer thread. */
    private static final class Ack implements WalAppendCallback {
        private final CrashSimFileSystem fs;
        private final long token;
        private final List<String> failures;

        Ack(CrashSimFileSystem fs, long token, List<String> failures) {
            this.fs = fs;
            this.token = token;
            this.failures = failures;
        }

        @Override
        public void onDurable(WalBatch batch, long segmentSequence, long endOffsetBytes) {
            fs.markDurableAck(token, DIRECTORY.resolve(WalSegmentNames.fileName(segmentSequence)), endOffsetBytes);
        }

        @Override
        public void onFailed(WalBatch batch, WalFailedException error) {
            synchronized (failures) {
                failures.add("batch " + token + ": " + error);
            }
            fs.markAck(FAILED_TOKEN_BASE + token);
        }
    }

    /**
     * Plausible Raft traffic for {@link #GROUPS} groups: appends, hard states, suffix truncations
     * after a term change, prefix compactions and snapshot marks; and removals of other groups:
     * tombstones, and tombstone sets listing every group removed so far (ids a few hundred apart,
     * so the set's varints take one to two bytes). Owned by the test thread.
     */
    private static final class Workload {
        private final SplittableRandom random;
        private final long[] lastIndex = new long[GROUPS];
        private final long[] term = new long[GROUPS];
        private final long[] compacted = new long[GROUPS];
        private final List<Long> removed = new ArrayList<>();
        private long lastRemoved = 10_000;

        Workload(SplittableRandom random) {
            this.random = random;
            Arrays.fill(term, 1);
        }

        WalBatch batch() {
            int n = 1 + random.nextInt(4);
            List<WalRecord> records = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                records.add(record(random.nextInt(GROUPS)));
            }
            return new WalBatch(records);
        }

        private WalRecord record(int g) {
            long groupId = 100 + g * 7L;
            int roll = random.nextInt(100);
            if (roll < 60 || lastIndex[g] == compacted[g]) {
                return entries(g, groupId);
            } else if (roll < 75) {
                if (random.nextInt(4) == 0) {
                    term[g]++;
                }
                return new WalRecord.HardStateUpdate(groupId,
                        new HardState(term[g], 1 + random.nextInt(5), compacted[g] + random.nextLong(lastIndex[g] - compacted[g] + 1)));
            } else if (roll < 87) {
                long firstRemoved = Math.max(compacted[g] + 1, lastIndex[g] - random.nextInt(4));
                lastIndex[g] = firstRemoved - 1;
                term[g]++;
                return new WalRecord.TruncateSuffix(groupId, firstRemoved);
            } else if (roll < 95) {
                compacted[g] += 1 + random.nextLong(lastIndex[g] - compacted[g]);
                return new WalRecord.CompactPrefix(groupId, compacted[g], term[g]);
            } else if (roll == 97) {
                lastRemoved += 1 + random.nextInt(600);
                removed.add(lastRemoved);
                return new WalRecord.Tombstone(lastRemoved);
            } else if (roll == 98 && !removed.isEmpty()) {
                return new WalRecord.TombstoneSet(removed.stream().mapToLong(Long::longValue).toArray());
            } else {
                // A membership that varies with the mark (without drawing from random), so the check after a crash compares it.
                long m = compacted[g];
                return new WalRecord.SnapshotMark(groupId, m, term[g],
                        m % 2 == 0 ? ConfState.ofVoters(1, 2, 3) : new ConfState(new long[] {1, 2, 3 + m}, new long[] {4 + m}));
            }
        }

        private WalRecord entries(int g, long groupId) {
            int n = 1 + random.nextInt(4);
            List<Entry> entries = new ArrayList<>(n);
            int budget = 6000;
            for (int i = 0; i < n; i++) {
                int bytes = random.nextInt(10) == 0 ? 1024 + random.nextInt(2048) : random.nextInt(257);
                if (i > 0 && bytes > budget) {
                    break;
                }
                budget -= bytes;
                byte[] payload = new byte[bytes];
                random.nextBytes(payload);
                EntryType type = random.nextInt(20) == 0 ? EntryType.CONF_CHANGE : EntryType.NORMAL;
                entries.add(new Entry(term[g], ++lastIndex[g], type, payload));
            }
            return new WalRecord.Entries(groupId, entries);
        }
    }
}

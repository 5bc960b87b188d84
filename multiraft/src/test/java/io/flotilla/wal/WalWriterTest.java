package io.flotilla.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The group-commit writer: many submitters share fsyncs, records come back from recovery in each
 * submitter's order at the positions the writer reported, segments roll over, a reopened log
 * continues the chain after a torn tail, IO errors are fail-stop, a full queue is back-pressure.
 * No sleeps: every wait is on a callback or latch with a deadline.
 */
class WalWriterTest {
    private static final long WAIT_SECONDS = 60;

    @TempDir
    Path dir;

    private final HookedWalFileSystem fs = new HookedWalFileSystem();
    private final List<WalWriter> opened = new ArrayList<>();

    @AfterEach
    void closeWriters() throws IOException {
        for (WalWriter w : opened) {
            w.close();
        }
    }

    private WalConfig config(int segmentBytes) {
        return new WalConfig(dir, 21, 4, segmentBytes, 8192);
    }

    private WalWriter open(WalConfig config, WalWriterConfig writerConfig) throws IOException {
        WalWriter w = WalWriter.open(fs, config, writerConfig, recover(config).result);
        opened.add(w);
        w.start();
        return w;
    }

    private static WalWriterConfig writerConfig(int queueCapacityBatches) {
        return new WalWriterConfig(queueCapacityBatches, 64 << 10, 1);
    }

    /** What one callback reported. */
    record Outcome(long segmentSequence, long endOffsetBytes, WalFailedException error, String thread) {
    }

    /** One callback object for many batches, as a worker would use it; records every completion. */
    static final class Outcomes implements WalAppendCallback {
        final Map<WalBatch, CompletableFuture<Outcome>> futures = new ConcurrentHashMap<>();
        final AtomicInteger doubleCompletions = new AtomicInteger();

        CompletableFuture<Outcome> of(WalBatch batch) {
            return futures.computeIfAbsent(batch, b -> new CompletableFuture<>());
        }

        Outcome await(WalBatch batch) throws Exception {
            return of(batch).get(WAIT_SECONDS, TimeUnit.SECONDS);
        }

        @Override
        public void onDurable(WalBatch batch, long segmentSequence, long endOffsetBytes) {
            complete(batch, new Outcome(segmentSequence, endOffsetBytes, null, Thread.currentThread().getName()));
        }

        @Override
        public void onFailed(WalBatch batch, WalFailedException error) {
            complete(batch, new Outcome(-1, -1, error, Thread.currentThread().getName()));
        }

        private void complete(WalBatch batch, Outcome outcome) {
            if (!of(batch).complete(outcome)) {
                doubleCompletions.incrementAndGet();
            }
        }
    }

    private record Recovered(List<WalRecord> records, List<long[]> locations, WalRecoveryResult result) {
    }

    private Recovered recover(WalConfig config) throws IOException {
        List<WalRecord> records = new ArrayList<>();
        List<long[]> locations = new ArrayList<>();
        WalRecoveryResult result = new WalRecoveryScanner(fs, config).scan((r, seq, off) -> {
            records.add(r);
            locations.add(new long[] {seq, off});
        });
        return new Recovered(records, locations, result);
    }

    /** Makes batches of one submitter's groups ({@code submitter * 1000 + g}), with consecutive indexes per group. */
    private static final class Workload {
        private final SplittableRandom random;
        private final long groupBase;
        private final long[] nextIndex = new long[5];

        Workload(long seed, int submitter) {
            this.random = new SplittableRandom(seed);
            this.groupBase = submitter * 1000L;
        }

        WalBatch batch(int maxPayloadBytes) {
            List<WalRecord> records = new ArrayList<>();
            for (int r = random.nextInt(1, 4); r > 0; r--) {
                int g = random.nextInt(nextIndex.length);
                if (random.nextInt(5) == 0) {
                    records.add(new WalRecord.HardStateUpdate(groupBase + g, new HardState(3, 1, nextIndex[g])));
                } else {
                    List<Entry> entries = new ArrayList<>();
                    for (int e = random.nextInt(1, 4); e > 0; e--) {
                        byte[] payload = new byte[random.nextInt(maxPayloadBytes + 1)];
                        random.nextBytes(payload);
                        entries.add(Entry.normal(3, ++nextIndex[g], payload));
                    }
                    records.add(new WalRecord.Entries(groupBase + g, entries));
                }
            }
            return new WalBatch(records);
        }
    }

    /** Every record of every batch is in the recovered log at the position the writer reported. */
    private static void assertPlacedAsReported(Recovered got, List<WalBatch> batches) {
        Map<String, WalRecord> byPosition = new HashMap<>();
        for (int i = 0; i < got.records.size(); i++) {
            byPosition.put(got.locations.get(i)[0] + ":" + got.locations.get(i)[1], got.records.get(i));
        }
        for (WalBatch b : batches) {
            for (int i = 0; i < b.size(); i++) {
                WalRecord r = byPosition.get(b.recordSegmentSequence(i) + ":" + b.recordOffsetBytes(i));
                assertThat(r).as("record %d of a batch at %d:%d", i, b.recordSegmentSequence(i), b.recordOffsetBytes(i))
                        .isNotNull();
                WalRecordCodecTest.assertSameRecord(r, b.record(i));
            }
        }
    }

    private static void assertSameRecords(List<WalRecord> actual, List<WalRecord> expected) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.size(); i++) {
            WalRecordCodecTest.assertSameRecord(actual.get(i), expected.get(i));
        }
    }

    private static List<WalRecord> recordsOf(List<WalBatch> batches) {
        List<WalRecord> all = new ArrayList<>();
        for (WalBatch b : batches) {
            all.addAll(b.records());
        }
        return all;
    }

    /** Submits and waits for each batch in turn; asserts each became durable. */
    private static void writeOneByOne(WalWriter w, Outcomes outcomes, List<WalBatch> batches) throws Exception {
        for (WalBatch b : batches) {
            assertThat(w.submit(b, outcomes)).isTrue();
            assertThat(outcomes.await(b).error()).isNull();
        }
    }

    private static List<WalBatch> batches(Workload workload, int count, int maxPayloadBytes) {
        List<WalBatch> list = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            list.add(workload.batch(maxPayloadBytes));
        }
        return list;
    }

    @Test
    void manySubmittersShareFsyncsAndRecoveryReturnsEveryRecordInSubmitterOrder() throws Exception {
        int submitters = 8;
        int perSubmitter = 500;
        WalConfig config = config(256 << 10);
        CountDownLatch allSubmitted = new CountDownLatch(submitters);
        // The first fsync lasts until every submitter has submitted everything: the group-commit
        // property (what arrives during an fsync shares the next one) without depending on timing.
        fs.forceHook = (n, p) -> {
            if (n == 1) {
                awaitOrFail(allSubmitted, "all submitters done");
            }
        };
        WalWriter w = open(config, writerConfig(submitters * perSubmitter));
        Outcomes outcomes = new Outcomes();
        List<List<WalBatch>> submitted = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        AtomicReference<Throwable> submitError = new AtomicReference<>();
        for (int s = 0; s < submitters; s++) {
            List<WalBatch> mine = batches(new Workload(100 + s, s + 1), perSubmitter, 300);
            submitted.add(mine);
            Thread t = new Thread(() -> {
                try {
                    for (WalBatch b : mine) {
                        if (!w.submit(b, outcomes)) {
                            throw new AssertionError("queue full although it holds every batch");
                        }
                    }
                } catch (Throwable e) {
                    submitError.compareAndSet(null, e);
                } finally {
                    allSubmitted.countDown();
                }
            }, "submitter-" + s);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
        }
        assertThat(submitError.get()).isNull();
        List<WalBatch> all = new ArrayList<>();
        submitted.forEach(all::addAll);
        for (WalBatch b : all) {
            Outcome o = outcomes.await(b);
            assertThat(o.error()).isNull();
            assertThat(o.thread()).startsWith("flotilla-wal-writer-");
            int last = b.size() - 1;
            assertThat(o.segmentSequence()).isEqualTo(b.recordSegmentSequence(last));
            assertThat(o.endOffsetBytes()).isEqualTo(b.recordOffsetBytes(last) + WalBatch.recordBytes(b.record(last)));
        }
        assertThat(outcomes.doubleCompletions).hasValue(0);

        WalWriterStats stats = w.stats();
        assertThat(stats.batches()).isEqualTo(submitters * perSubmitter);
        assertThat(stats.records()).isEqualTo(recordsOf(all).size());
        assertThat(stats.forces()).isLessThan(stats.batches());
        assertThat(stats.commits()).isLessThanOrEqualTo(2);
        assertThat(stats.rollovers()).isGreaterThanOrEqualTo(3);
        assertThat(stats.forces()).isEqualTo(stats.commits() + stats.rollovers());
        assertThat(stats.writes()).isGreaterThan(stats.forces()); // the 64 KiB buffer splits the big commit
        w.close();

        Recovered got = recover(config);
        assertThat(got.result.tornTail()).isFalse();
        assertPlacedAsReported(got, all);
        for (int s = 0; s < submitters; s++) {
            long base = (s + 1) * 1000L;
            List<WalRecord> mine = got.records.stream().filter(r -> r.groupId() / 1000 == base / 1000).toList();
            assertSameRecords(mine, recordsOf(submitted.get(s)));
        }
        assertThat(got.records).hasSize(recordsOf(all).size());
    }

    @Test
    void segmentsRollOverAndEachIsForcedBeforeTheNextIsWritten() throws Exception {
        WalConfig config = config(64 << 10);
        WalWriter w = open(config, writerConfig(1024));
        Outcomes outcomes = new Outcomes();
        List<WalBatch> all = batches(new Workload(7, 1), 300, 700);
        for (WalBatch b : all) {
            assertThat(w.submit(b, outcomes)).isTrue();
        }
        for (WalBatch b : all) {
            assertThat(outcomes.await(b).error()).isNull();
        }
        WalWriterStats stats = w.stats();
        w.close();
        assertThat(stats.rollovers()).isGreaterThanOrEqualTo(4);
        assertThat(stats.forces()).isEqualTo(stats.commits() + stats.rollovers());
        assertThat(stats.bytes()).isEqualTo(all.stream().mapToLong(WalBatch::totalBytes).sum());

        List<String> events = new ArrayList<>(fs.events);
        for (long seq = 2; seq <= 1 + stats.rollovers(); seq++) {
            String previous = WalSegmentNames.fileName(seq - 1);
            int firstWrite = events.indexOf("write " + WalSegmentNames.fileName(seq));
            int lastWriteOfPrevious = events.lastIndexOf("write " + previous);
            int forceOfPrevious = events.subList(0, firstWrite).lastIndexOf("force " + previous);
            assertThat(firstWrite).as("segment %d written", seq).isPositive();
            assertThat(forceOfPrevious).as("segment %d forced before %d is written", seq - 1, seq)
                    .isGreaterThan(lastWriteOfPrevious);
        }

        Recovered got = recover(config);
        assertSameRecords(got.records, recordsOf(all));
        assertPlacedAsReported(got, all);
        assertThat(got.result.tailSequence()).isEqualTo(1 + stats.rollovers());
        // At most one empty segment after the tail (the preallocator's; close may stop it before it starts one).
        assertThat(got.result.segmentSequences().size()).isBetween((int) (1 + stats.rollovers()), (int) (2 + stats.rollovers()));
    }

    @Test
    void aReopenedLogContinuesTheRecordChain() throws Exception {
        WalConfig config = config(64 << 10);
        Workload workload = new Workload(11, 1);
        Outcomes outcomes = new Outcomes();
        List<WalBatch> first = batches(workload, 60, 200);
        WalWriter w1 = open(config, writerConfig(16));
        assertThat(fs.list(dir)).contains(WalSegmentNames.fileName(1));
        writeOneByOne(w1, outcomes, first);
        w1.close();

        Recovered between = recover(config);
        assertSameRecords(between.records, recordsOf(first));
        List<WalBatch> second = batches(workload, 60, 200);
        WalWriter w2 = open(config, writerConfig(16));
        writeOneByOne(w2, outcomes, second);
        w2.close();
        assertThat(second.get(0).recordSegmentSequence(0)).isEqualTo(between.result.tailSequence());
        assertThat(second.get(0).recordOffsetBytes(0)).isEqualTo(between.result.tailEndBytes());

        // The scanner checks every record's prevCrc: a writer that restarted the chain would be refused here.
        Recovered got = recover(config);
        List<WalBatch> all = new ArrayList<>(first);
        all.addAll(second);
        assertSameRecords(got.records, recordsOf(all));
        assertPlacedAsReported(got, all);
    }

    @Test
    void aTornTailFromAnEarlierRunIsZeroedBeforeAppending() throws Exception {
        int segmentBytes = 64 << 10;
        WalConfig config = config(segmentBytes);
        Workload workload = new Workload(13, 1);
        Outcomes outcomes = new Outcomes();
        List<WalBatch> first = batches(workload, 20, 200);
        writeOneByOne(open(config, writerConfig(16)), outcomes, first);
        opened.get(0).close();

        WalRecoveryResult clean = recover(config).result;
        Path tail = dir.resolve(WalSegmentNames.fileName(clean.tailSequence()));
        byte[] junk = new byte[300];
        new SplittableRandom(5).nextBytes(junk);
        poke(tail, clean.tailEndBytes(), junk);
        // Junk in the last bytes of the segment too: where no new record would overwrite it before the rollover.
        poke(tail, segmentBytes - 16, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});

        Recovered torn = recover(config);
        assertThat(torn.result.tornTail()).isTrue();
        assertThat(torn.result.tailEndBytes()).isEqualTo(clean.tailEndBytes());
        assertThat(torn.result.tornEndBytes()).isEqualTo(segmentBytes);
        WalWriter w = WalWriter.open(fs, config, writerConfig(64), torn.result);
        opened.add(w);
        byte[] afterOpen = Files.readAllBytes(tail);
        for (long i = clean.tailEndBytes(); i < segmentBytes; i++) {
            assertThat(afterOpen[(int) i]).as("byte %d of the torn range", i).isZero();
        }
        w.start();
        // Enough to fill the tail segment and roll over: junk left at its end would now be corruption mid-log.
        List<WalBatch> second = batches(workload, 200, 700);
        writeOneByOne(w, outcomes, second);
        assertThat(w.stats().rollovers()).isPositive();
        w.close();

        Recovered got = recover(config);
        List<WalBatch> all = new ArrayList<>(first);
        all.addAll(second);
        assertSameRecords(got.records, recordsOf(all));
        assertThat(got.result.tornTail()).isFalse();
    }

    @Test
    void aFailedFsyncFailsThatBatchAndEveryLaterOneAndIsNeverRetried() throws Exception {
        WalConfig config = config(64 << 10);
        IOException injected = new IOException("injected fsync failure (EIO)");
        CountDownLatch thirdForceEntered = new CountDownLatch(1);
        CountDownLatch othersQueued = new CountDownLatch(1);
        fs.forceHook = (n, p) -> {
            if (n == 3) {
                thirdForceEntered.countDown();
                awaitOrFail(othersQueued, "later batches queued");
                throw injected;
            }
            if (n > 3) {
                throw new AssertionError("force called again after it failed");
            }
        };
        WalWriter w = open(config, writerConfig(16));
        Outcomes outcomes = new Outcomes();
        Workload workload = new Workload(17, 1);
        List<WalBatch> acked = batches(workload, 2, 100);
        writeOneByOne(w, outcomes, acked);

        WalBatch failing = workload.batch(100);
        assertThat(w.submit(failing, outcomes)).isTrue();
        awaitOrFail(thirdForceEntered, "third force");
        List<WalBatch> pending = batches(workload, 3, 100);
        for (WalBatch b : pending) {
            assertThat(w.submit(b, outcomes)).isTrue();
        }
        othersQueued.countDown();
        int writesAtFailure = -1;
        for (WalBatch b : concat(List.of(failing), pending)) {
            Outcome o = outcomes.await(b);
            assertThat(o.error()).isInstanceOf(WalFailedException.class).hasCause(injected)
                    .hasMessageContaining("forcing segment 0000000000000001.wal");
            assertThat(o.thread()).startsWith("flotilla-wal-writer-");
            writesAtFailure = fs.segmentWrites.get();
        }
        assertThat(w.failure()).hasCause(injected);
        assertThatThrownBy(() -> w.submit(workload.batch(100), outcomes))
                .isInstanceOf(WalFailedException.class).hasCause(injected)
                .hasMessageContaining("stop this node");
        w.close();
        assertThat(fs.segmentForces).hasValue(3);
        assertThat(fs.segmentWrites).hasValue(writesAtFailure);
        assertThat(w.stats().batches()).isEqualTo(2);
        assertThat(outcomes.doubleCompletions).hasValue(0);

        // Everything acknowledged is there (the failed batch's bytes may or may not be; they were never acknowledged).
        Recovered got = recover(config);
        assertSameRecords(got.records.subList(0, recordsOf(acked).size()), recordsOf(acked));
    }

    @Test
    void aFailedWriteFailsTheBatchWithoutAnyForce() throws Exception {
        WalConfig config = config(64 << 10);
        IOException injected = new IOException("injected write failure (ENOSPC)");
        fs.writeHook = (n, p, pos) -> {
            throw injected;
        };
        WalWriter w = open(config, writerConfig(16));
        Outcomes outcomes = new Outcomes();
        Workload workload = new Workload(19, 1);
        WalBatch b = workload.batch(100);
        assertThat(w.submit(b, outcomes)).isTrue();
        assertThat(outcomes.await(b).error()).hasCause(injected)
                .hasMessageContaining("writing").hasMessageContaining("at offset 64");
        assertThatThrownBy(() -> w.submit(workload.batch(100), outcomes)).isInstanceOf(WalFailedException.class);
        w.close();
        assertThat(fs.segmentForces).hasValue(0);
        assertThat(fs.segmentWrites).hasValue(1);
    }

    @Test
    void aSegmentThatCannotBeCreatedFailsTheLogAtRollover() throws Exception {
        WalConfig config = config(64 << 10);
        IOException injected = new IOException("injected creation failure (ENOSPC)");
        fs.createHook = p -> {
            if (p.getFileName().toString().equals(WalSegmentNames.tempFileName(2))) {
                throw injected;
            }
        };
        WalWriter w = open(config, writerConfig(1024));
        Outcomes outcomes = new Outcomes();
        List<WalBatch> all = batches(new Workload(23, 1), 300, 700);
        int failed = 0;
        for (WalBatch b : all) {
            assertThat(w.submit(b, outcomes)).isTrue();
            if (outcomes.await(b).error() != null) {
                assertThat(outcomes.await(b).error()).hasCause(injected)
                        .hasMessageContaining("next segment 0000000000000002.wal");
                failed++;
                break;
            }
        }
        assertThat(failed).isEqualTo(1);
        int forces = fs.segmentForces.get();
        w.close();
        assertThat(fs.segmentForces).hasValue(forces);
        assertThat(recover(config).result.tailSequence()).isEqualTo(1);
    }

    @Test
    void aFullQueueMakesSubmitReturnFalseAndLaterBatchesShareOneFsync() throws Exception {
        WalConfig config = config(64 << 10);
        CountDownLatch firstForceEntered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        fs.forceHook = (n, p) -> {
            if (n == 1) {
                firstForceEntered.countDown();
                awaitOrFail(release, "release of the first force");
            }
        };
        WalWriter w = open(config, writerConfig(4));
        Outcomes outcomes = new Outcomes();
        Workload workload = new Workload(29, 1);
        WalBatch head = workload.batch(100);
        assertThat(w.submit(head, outcomes)).isTrue();
        awaitOrFail(firstForceEntered, "first force");
        List<WalBatch> queued = batches(workload, 4, 100);
        for (WalBatch b : queued) {
            assertThat(w.submit(b, outcomes)).isTrue();
        }
        WalBatch refused = workload.batch(100);
        assertThat(w.submit(refused, outcomes)).isFalse();
        assertThat(outcomes.futures).doesNotContainKey(refused);
        release.countDown();
        for (WalBatch b : concat(List.of(head), queued)) {
            assertThat(outcomes.await(b).error()).isNull();
        }
        assertThat(w.stats().commits()).isEqualTo(2); // the head alone, then the four that waited together
        assertThat(w.submit(refused, outcomes)).isTrue(); // the refused batch is still the caller's to retry
        assertThat(outcomes.await(refused).error()).isNull();
        assertThat(w.stats().forces()).isEqualTo(3);
        w.close();
        Recovered got = recover(config);
        List<WalBatch> all = concat(concat(List.of(head), queued), List.of(refused));
        assertSameRecords(got.records, recordsOf(all));
    }

    @Test
    void misuseIsRefusedOnTheSubmittingThread() throws Exception {
        WalConfig config = config(64 << 10);
        WalWriter w = open(config, writerConfig(16));
        Outcomes outcomes = new Outcomes();
        WalBatch b = new Workload(31, 1).batch(100);
        assertThat(w.submit(b, outcomes)).isTrue();
        assertThatThrownBy(() -> w.submit(b, outcomes)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("single use");
        assertThat(outcomes.await(b).error()).isNull();

        WalBatch huge = new WalBatch(List.of(new WalRecord.Entries(1, List.of(Entry.normal(1, 1, new byte[9000])))));
        assertThatThrownBy(() -> w.submit(huge, outcomes)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("more than maxRecordBytes 8192");
        assertThatThrownBy(() -> new WalBatch(List.of())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new WalBatch(List.of(new WalRecord.Entries(1,
                List.of(Entry.normal(1, 1, null), Entry.normal(1, 3, null)))))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("entry 1 has index 3, expected 2");
        w.close();
        assertThatThrownBy(() -> w.submit(new Workload(37, 1).batch(100), outcomes))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> WalWriter.open(fs, config, new WalWriterConfig(16, 4096, 1), recover(config).result))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("writeBufferBytes 4096");
    }

    private static void awaitOrFail(CountDownLatch latch, String what) throws IOException {
        try {
            if (!latch.await(WAIT_SECONDS, TimeUnit.SECONDS)) {
                throw new IOException("test hook timed out waiting for " + what);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("test hook interrupted waiting for " + what, e);
        }
    }

    private static <T> List<T> concat(List<T> a, List<T> b) {
        List<T> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static void poke(Path file, long offset, byte[] bytes) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(offset);
            f.write(bytes);
        }
    }
}

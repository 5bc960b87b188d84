package io.flotilla.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.HardState;
import io.flotilla.raft.LogCompactedException;
import io.flotilla.raft.MemoryStorage;
import io.flotilla.raft.RaftStorage;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.SnapshotMetadata;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The per-group index and reads: records of many groups written through the real group-commit
 * writer, the index rebuilt by recovery, and every group's {@link RaftStorage} view compared with a
 * {@link MemoryStorage} that received the same operations, through caches small enough that most
 * reads go to the segment files. No sleeps: every wait is on a callback future with a deadline.
 */
class WalGroupStorageTest {
    private static final long WAIT_SECONDS = 60;
    private static final ConfState CONF = ConfState.ofVoters(1, 2, 3);

    @TempDir
    Path dir;

    private final NioWalFileSystem fs = new NioWalFileSystem();
    private WalWriter writer;
    private WalSegmentReader reader;
    private WalConfig config;

    /** The test's stand-in for the state machine: a snapshot at every mark, its data naming the mark. */
    private static final WalSnapshotSource SNAPSHOTS = (groupId, latestMark) -> latestMark == null ? null
            : new Snapshot(latestMark, snapshotData(groupId, latestMark.index(), latestMark.term()));

    /** The membership a test mark at {@code index} carries: it differs from mark to mark, so a stale one shows. */
    private static ConfState confAt(long index) {
        return switch ((int) (index % 3)) {
            case 0 -> CONF;
            case 1 -> new ConfState(new long[] {1, 2, 3, 4, 5}, new long[] {100 + index});
            default -> new ConfState(new long[] {index + 1}, new long[] {index + 2, index + 3});
        };
    }

    private static byte[] snapshotData(long groupId, long index, long term) {
        return ByteBuffer.allocate(24).putLong(groupId).putLong(index).putLong(term).array();
    }

    @AfterEach
    void close() throws IOException {
        if (writer != null) {
            writer.close();
        }
        if (reader != null) {
            reader.close();
        }
    }

    // ---- the model: MemoryStorage plus the snapshot mark, which MemoryStorage has no separate notion of

    /** One group's expected state. */
    private static final class Model {
        MemoryStorage storage = new MemoryStorage();
        long snapshotIndex;
        long snapshotTerm;
        ConfState snapshotConf = ConfState.EMPTY;

        /** As the index does: a mark older than the latest changes nothing. */
        void mark(long index, long term) {
            if (index >= snapshotIndex) {
                snapshotIndex = index;
                snapshotTerm = term;
                snapshotConf = confAt(index);
            }
        }
    }

    /** A batch of records under construction, applied to the models as it is built (log order). */
    private final class Ops {
        final Map<Long, Model> models;
        final List<WalRecord> records = new ArrayList<>();

        Ops(Map<Long, Model> models) {
            this.models = models;
        }

        Model model(long g) {
            return models.computeIfAbsent(g, id -> new Model());
        }

        Ops append(long g, long term, long from, int n, SplittableRandom random) {
            List<Entry> entries = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                byte[] payload = new byte[random.nextInt(300)];
                random.nextBytes(payload);
                entries.add(new Entry(term, from + i, EntryType.NORMAL, payload));
            }
            records.add(new WalRecord.Entries(g, entries));
            model(g).storage.append(entries);
            return this;
        }

        Ops hardState(long g, HardState hs) {
            records.add(new WalRecord.HardStateUpdate(g, hs));
            model(g).storage.setHardState(hs);
            return this;
        }

        Ops truncate(long g, long firstRemoved) {
            records.add(new WalRecord.TruncateSuffix(g, firstRemoved));
            Model m = model(g);
            MemoryStorage old = m.storage;
            MemoryStorage rebuilt = new MemoryStorage();
            long compacted = old.firstIndex() - 1;
            if (compacted > 0) {
                rebuilt.applySnapshot(new Snapshot(new SnapshotMetadata(compacted, old.term(compacted), CONF), new byte[0]));
            }
            long keepEnd = Math.min(firstRemoved, old.lastIndex() + 1);
            if (keepEnd > old.firstIndex()) {
                rebuilt.append(old.entries(old.firstIndex(), keepEnd, Long.MAX_VALUE));
            }
            rebuilt.setHardState(old.initialHardState());
            m.storage = rebuilt;
            return this;
        }

        Ops compact(long g, long index) {
            Model m = model(g);
            records.add(new WalRecord.CompactPrefix(g, index, m.storage.term(index)));
            m.storage.compact(index);
            return this;
        }

        Ops mark(long g, long index) {
            Model m = model(g);
            records.add(new WalRecord.SnapshotMark(g, index, m.storage.term(index), confAt(index)));
            m.mark(index, m.storage.term(index));
            return this;
        }

        /** A snapshot received from a leader, past the end of the log: mark it, then drop the whole log. */
        Ops install(long g, long index, long term) {
            Model m = model(g);
            records.add(new WalRecord.SnapshotMark(g, index, term, confAt(index)));
            records.add(new WalRecord.CompactPrefix(g, index, term));
            m.storage.applySnapshot(new Snapshot(new SnapshotMetadata(index, term, confAt(index)), new byte[0]));
            m.mark(index, term);
            return this;
        }
    }

    // ---- the log

    private void openLog(int segmentBytes) throws IOException {
        config = new WalConfig(dir, 9, 1, segmentBytes, Math.min(8192, segmentBytes / 2));
        WalRecoveryResult result = new WalRecoveryScanner(fs, config).scan((r, seq, off) -> { });
        writer = WalWriter.open(fs, config, new WalWriterConfig(64, 64 << 10, 1), result);
        writer.start();
    }

    /** Writes the batch, waits until it is durable, then applies its records to the live indexes. */
    private void write(Ops ops, WalIndexBuilder live) throws Exception {
        if (ops.records.isEmpty()) {
            return;
        }
        WalBatch batch = new WalBatch(ops.records);
        CompletableFuture<WalFailedException> done = new CompletableFuture<>();
        boolean accepted = writer.submit(batch, new WalAppendCallback() {
            @Override
            public void onDurable(WalBatch b, long segmentSequence, long endOffsetBytes) {
                done.complete(null);
            }

            @Override
            public void onFailed(WalBatch b, WalFailedException error) {
                done.complete(error);
            }
        });
        assertThat(accepted).as("writer queue has room").isTrue();
        assertThat(done.get(WAIT_SECONDS, TimeUnit.SECONDS)).isNull();
        for (int i = 0; i < batch.size(); i++) {
            live.onRecord(batch.record(i), batch.recordSegmentSequence(i), batch.recordOffsetBytes(i));
        }
    }

    /** Closes the writer and rebuilds every index from the segments, as a restart does. */
    private WalIndexBuilder restart(WalCacheConfig cache) throws Exception {
        writer.close();
        writer = null;
        WalIndexBuilder rebuilt = new WalIndexBuilder(cache);
        WalRecoveryResult result = new WalRecoveryScanner(fs, config).scan(rebuilt);
        writer = WalWriter.open(fs, config, new WalWriterConfig(64, 64 << 10, 1), result);
        writer.start();
        if (reader == null) {
            reader = new WalSegmentReader(fs, config);
        }
        return rebuilt;
    }

    private WalGroupStorage storage(WalIndexBuilder built, long g) {
        if (reader == null) {
            reader = new WalSegmentReader(fs, config);
        }
        WalGroupIndex index = built.index(g);
        assertThat(index).as("index of group %d", g).isNotNull();
        return new WalGroupStorage(index, reader, SNAPSHOTS);
    }

    // ---- comparison

    private static void assertSameEntries(List<Entry> got, List<Entry> want, String what) {
        assertThat(got).as(what).hasSameSizeAs(want);
        for (int i = 0; i < want.size(); i++) {
            Entry g = got.get(i);
            Entry w = want.get(i);
            assertThat(new Object[] {g.term(), g.index(), g.type()}).as("%s [%d]", what, i)
                    .containsExactly(w.term(), w.index(), w.type());
            assertThat(Arrays.equals(g.data(), w.data())).as("%s [%d] payload of entry %d", what, i, w.index()).isTrue();
        }
    }

    /** Everything the core can ask of a storage, compared between the WAL and the model. */
    private static void assertSameView(long g, WalGroupStorage got, Model model, SplittableRandom random) {
        MemoryStorage want = model.storage;
        String group = "group " + g;
        assertThat(got.firstIndex()).as("%s firstIndex", group).isEqualTo(want.firstIndex());
        assertThat(got.lastIndex()).as("%s lastIndex", group).isEqualTo(want.lastIndex());
        assertThat(got.initialHardState()).as("%s hard state", group).isEqualTo(want.initialHardState());
        long first = want.firstIndex();
        long last = want.lastIndex();
        for (long i = first - 1; i <= last + 2; i++) {
            assertThat(got.term(i)).as("%s term(%d)", group, i).isEqualTo(want.term(i));
        }
        if (first >= 2) {
            long below = first - 2;
            assertThatThrownBy(() -> got.term(below)).isInstanceOf(LogCompactedException.class);
            assertThatThrownBy(() -> want.term(below)).isInstanceOf(LogCompactedException.class);
        }
        long belowFirst = first - 1;
        assertThatThrownBy(() -> got.entries(belowFirst, last + 1, Long.MAX_VALUE))
                .isInstanceOf(LogCompactedException.class).hasMessageContaining("first retained index is " + first);
        assertSameEntries(got.entries(first, last + 1, Long.MAX_VALUE), want.entries(first, last + 1, Long.MAX_VALUE),
                group + " all entries");
        for (int k = 0; k < 4 && last >= first; k++) {
            long lo = random.nextLong(first, last + 1);
            long hi = random.nextLong(lo, last + 2);
            long maxBytes = random.nextInt(3) == 0 ? 0 : random.nextLong(1, 2000);
            assertSameEntries(got.entries(lo, hi, maxBytes), want.entries(lo, hi, maxBytes),
                    group + " entries [" + lo + ", " + hi + ") max " + maxBytes);
        }
        if (model.snapshotIndex == 0) {
            assertThat(got.snapshot()).isEqualTo(Snapshot.EMPTY);
            assertThat(got.initialConfState()).isEqualTo(ConfState.EMPTY);
        } else {
            Snapshot s = got.snapshot();
            assertThat(s.metadata()).as("%s snapshot", group)
                    .isEqualTo(new SnapshotMetadata(model.snapshotIndex, model.snapshotTerm, model.snapshotConf));
            assertThat(s.data()).isEqualTo(snapshotData(g, model.snapshotIndex, model.snapshotTerm));
            assertThat(got.initialConfState()).as("%s membership at its mark", group).isEqualTo(model.snapshotConf);
        }
    }

    private long assertAllSame(Map<Long, Model> models, WalIndexBuilder built, SplittableRandom random) {
        assertThat(built.indexes().keySet()).isEqualTo(models.keySet());
        long diskReads = 0;
        for (Map.Entry<Long, Model> e : models.entrySet()) {
            WalGroupStorage s = storage(built, e.getKey());
            assertSameView(e.getKey(), s, e.getValue(), random);
            diskReads += s.diskReads();
        }
        return diskReads;
    }

    // ---- tests

    @Test
    void overwritesTruncationAndCompactionSurviveARestartAndReadFromDisk() throws Exception {
        openLog(16384);
        SplittableRandom random = new SplittableRandom(1);
        Map<Long, Model> models = new TreeMap<>();
        WalIndexBuilder live = new WalIndexBuilder(new WalCacheConfig(2, 1 << 20));
        // Group 1: two records of term 1, then a term-2 leader overwrites 8.. from a third record.
        write(new Ops(models).append(1, 1, 1, 5, random).append(2, 1, 1, 3, random), live);
        write(new Ops(models).append(1, 1, 6, 5, random).hardState(2, new HardState(1, 2, 3)), live);
        write(new Ops(models).append(1, 2, 8, 5, random).append(3, 1, 1, 4, random), live);
        // Group 1 drops 12.. (a second new leader), then compacts through 4 after a snapshot there.
        write(new Ops(models).truncate(1, 12).mark(1, 4).compact(1, 4).hardState(1, new HardState(2, 1, 9)), live);
        // Group 2 is overwritten from its first entry; group 3 installs a snapshot past its end.
        write(new Ops(models).append(2, 3, 1, 2, random).install(3, 100, 5).append(3, 5, 101, 2, random), live);

        WalIndexBuilder rebuilt = restart(new WalCacheConfig(2, 1 << 20));
        assertThat(assertAllSame(models, live, random.split())).isPositive();
        long diskReads = assertAllSame(models, rebuilt, random.split());
        assertThat(diskReads).as("reads that missed the 2-entry cache").isPositive();

        WalGroupStorage g1 = storage(rebuilt, 1);
        assertThat(g1.firstIndex()).isEqualTo(5);
        assertThat(g1.lastIndex()).isEqualTo(11);
        assertThat(g1.term(4)).as("term at the compaction point").isEqualTo(1);
        assertThatThrownBy(() -> g1.term(3)).isInstanceOf(LogCompactedException.class);
        assertThatThrownBy(() -> g1.entries(4, 6, Long.MAX_VALUE)).isInstanceOf(LogCompactedException.class);
        // Entries 5..7 come from the second record, 8..9 from the third (on disk); 10..11 from the cache.
        List<Entry> read = g1.entries(5, 12, Long.MAX_VALUE);
        assertThat(read).extracting(Entry::term).containsExactly(1L, 1L, 1L, 2L, 2L, 2L, 2L);
        assertThat(g1.entries(5, 12, 0)).as("a zero byte limit still returns one entry").hasSize(1);
        WalGroupStorage g3 = storage(rebuilt, 3);
        assertThat(g3.firstIndex()).isEqualTo(101);
        assertThat(g3.term(100)).isEqualTo(5);
        assertThat(g3.snapshot().metadata().index()).isEqualTo(100);
    }

    @Test
    void withoutACacheEveryReadGoesToItsRecordOnDisk() throws Exception {
        openLog(8192);
        SplittableRandom random = new SplittableRandom(2);
        Map<Long, Model> models = new TreeMap<>();
        WalIndexBuilder live = new WalIndexBuilder(new WalCacheConfig(0, 0));
        for (int round = 0; round < 40; round++) {
            Ops ops = new Ops(models);
            for (long g = 1; g <= 5; g++) {
                long next = ops.model(g).storage.lastIndex() + 1;
                ops.append(g, 1, next, 1 + random.nextInt(3), random);
            }
            write(ops, live);
        }
        WalIndexBuilder rebuilt = restart(new WalCacheConfig(0, 0));
        for (WalGroupIndex index : rebuilt.indexes().values()) {
            assertThat(index.cachedEntries()).isZero();
            assertThat(index.segmentSequence(index.firstIndex())).isEqualTo(1);
            assertThat(index.segmentSequence(index.lastIndex())).as("segments rolled over").isGreaterThan(1);
        }
        assertAllSame(models, rebuilt, random);
    }

    @Test
    void randomOperationsOnTwentyGroupsMatchMemoryStorageAcrossRestarts() throws Exception {
        long seed = 0x5EED_0003L;
        int segmentBytes = 16384;
        openLog(segmentBytes);
        SplittableRandom random = new SplittableRandom(seed);
        Map<Long, Model> models = new TreeMap<>();
        Map<Long, Long> terms = new HashMap<>();
        WalCacheConfig cache = new WalCacheConfig(3, 600);
        WalIndexBuilder live = new WalIndexBuilder(cache);
        int operations = 0;
        for (int phase = 0; phase < 3; phase++) {
            for (int b = 0; b < 60; b++) {
                Ops ops = new Ops(models);
                for (int r = random.nextInt(1, 6); r > 0; r--) {
                    randomOperation(ops, 1 + random.nextInt(20), terms, random);
                    operations++;
                }
                write(ops, live);
            }
            WalIndexBuilder rebuilt = restart(cache);
            String seedNote = "seed " + Long.toHexString(seed) + " phase " + phase;
            assertThat(rebuilt.indexes().keySet()).as(seedNote).isEqualTo(models.keySet());
            assertAllSame(models, live, random.split());
            assertThat(assertAllSame(models, rebuilt, random.split())).as("%s: reads that went to disk", seedNote).isPositive();
            live = rebuilt; // The next phase continues on the recovered indexes, as a restarted node does.
        }
        assertThat(operations).isGreaterThan(300);
        assertThat(models).hasSizeGreaterThan(15);
    }

    private static void randomOperation(Ops ops, long g, Map<Long, Long> terms, SplittableRandom random) {
        Model m = ops.model(g);
        MemoryStorage s = m.storage;
        long first = s.firstIndex();
        long last = s.lastIndex();
        long term = terms.getOrDefault(g, 1L);
        int roll = random.nextInt(100);
        if (roll < 50 || last < first && roll < 70) {
            long from = last + 1;
            if (last >= first && random.nextInt(4) == 0) {
                // A new leader overwrites a suffix (sometimes starting below the compaction point).
                from = random.nextLong(Math.max(1, first - 2), last + 1);
                term++;
                terms.put(g, term);
            }
            int n = 1 + random.nextInt(4);
            if (from + n - 1 < first) {
                n = (int) (first - from + 1);
            }
            ops.append(g, term, from, n, random);
        } else if (roll < 62) {
            if (last >= first) {
                ops.truncate(g, random.nextLong(first, last + 2));
            }
        } else if (roll < 72) {
            if (last >= first) {
                ops.compact(g, random.nextLong(first, last + 1));
            }
        } else if (roll < 78) {
            if (last >= first && last > m.snapshotIndex) {
                ops.mark(g, random.nextLong(Math.max(first, m.snapshotIndex + 1), last + 1));
            }
        } else if (roll < 82) {
            term++;
            terms.put(g, term);
            ops.install(g, last + 1 + random.nextInt(5), term);
        } else {
            ops.hardState(g, new HardState(term, random.nextInt(4), random.nextLong(0, Math.max(1, last + 1))));
        }
    }

    @Test
    void initialConfStateIsTheLatestMarksMembershipAndATombstoneClearsIt() {
        WalGroupIndex index = new WalGroupIndex(7, new WalCacheConfig(8, 1 << 10));
        List<SnapshotMetadata> asked = new ArrayList<>();
        WalGroupStorage storage = new WalGroupStorage(index, null, (groupId, latestMark) -> {
            assertThat(groupId).isEqualTo(7);
            asked.add(latestMark);
            return asked.size() == 1 ? null : new Snapshot(latestMark, new byte[] {1});
        });
        assertThat(storage.initialConfState()).isEqualTo(ConfState.EMPTY);
        assertThat(storage.snapshot()).as("no mark, and the source makes none: the empty snapshot").isEqualTo(Snapshot.EMPTY);
        assertThat(asked).as("the source is asked even without a mark (a follower may request one)").hasSize(1).containsOnlyNulls();
        asked.clear();

        ConfState five = new ConfState(new long[] {1, 2, 3}, new long[] {4, 5});
        ConfState nine = ConfState.ofVoters(2, 3, 6);
        index.apply(new WalRecord.SnapshotMark(7, 5, 1, five), 1, 64);
        assertThat(storage.initialConfState()).isEqualTo(five);
        index.apply(new WalRecord.SnapshotMark(7, 9, 2, nine), 2, 64);
        index.apply(new WalRecord.SnapshotMark(7, 8, 2, five), 3, 64);
        assertThat(storage.initialConfState()).as("an older mark arriving later does not win").isEqualTo(nine);
        assertThat(index.snapshotIndex()).isEqualTo(9);
        assertThat(index.oldestLiveSegment()).as("the live mark stays in segment 2").isEqualTo(2);
        assertThat(storage.snapshot()).as("the source cannot make one yet").isNull();
        assertThat(storage.snapshot().metadata()).isEqualTo(new SnapshotMetadata(9, 2, nine));
        assertThat(asked).containsExactly(new SnapshotMetadata(9, 2, nine), new SnapshotMetadata(9, 2, nine));

        index.apply(new WalRecord.Tombstone(7), 4, 64);
        assertThat(storage.initialConfState()).isEqualTo(ConfState.EMPTY);
    }

    @Test
    void ringGrowsShrinksAndTheCacheKeepsToItsBudget() {
        WalGroupIndex index = new WalGroupIndex(7, new WalCacheConfig(100, 1000));
        List<Entry> entries = new ArrayList<>();
        for (long i = 1; i <= 1000; i++) {
            entries.add(Entry.normal(1 + i / 500, i, new byte[26]));
        }
        index.apply(new WalRecord.Entries(7, entries), 3, 4096);
        assertThat(index.capacity()).isEqualTo(1024);
        assertThat(index.cachedEntries()).as("1000 bytes at 50 bytes an entry").isEqualTo(20);
        assertThat(index.cachedBytes()).isEqualTo(1000);
        assertThat(index.cacheFirstIndex()).isEqualTo(981);
        assertThat(index.segmentSequence(500)).isEqualTo(3);
        assertThat(index.recordOffsetBytes(500)).isEqualTo(4096);
        index.apply(new WalRecord.CompactPrefix(7, 990, 2), 3, 8192);
        assertThat(index.firstIndex()).isEqualTo(991);
        assertThat(index.term(990)).isEqualTo(2);
        assertThat(index.capacity()).as("a ring a quarter full halves").isLessThan(1024);
        assertThat(index.cachedEntries()).isEqualTo(10);
        index.apply(new WalRecord.TruncateSuffix(7, 995), 3, 8200);
        assertThat(index.lastIndex()).isEqualTo(994);
        assertThat(index.cachedEntries()).isEqualTo(4);
        assertThat(index.cached(994).index()).isEqualTo(994);
        assertThatThrownBy(() -> index.apply(new WalRecord.TruncateSuffix(7, 990), 3, 8208))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("compacted index 990");
        assertThatThrownBy(() -> index.apply(new WalRecord.Entries(7, List.of(Entry.normal(3, 997, null))), 3, 8216))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("gap after last index 994");
        // A compaction whose term conflicts with the log drops the whole log, like an installed snapshot.
        index.apply(new WalRecord.CompactPrefix(7, 992, 9), 3, 8224);
        assertThat(index.firstIndex()).isEqualTo(993);
        assertThat(index.lastIndex()).isEqualTo(992);
        assertThat(index.cachedEntries()).isZero();
    }
}

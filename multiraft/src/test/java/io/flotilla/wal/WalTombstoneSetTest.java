package io.flotilla.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TOMBSTONE_SET records: their codec (delta-encoded varints, every malformed body refused), how
 * {@link WalTombstones} collapses a worker's tombstones into them and keeps their newest copies live
 * for purge, and recovery, which takes the union of every tombstone and set it reads.
 */
class WalTombstoneSetTest {
    private static final int SEGMENT_BYTES = 64 << 10;

    @TempDir
    Path dir;

    private final WalRecordEncoder encoder = new WalRecordEncoder(1 << 20);
    private final WalRecordDecoder decoder = new WalRecordDecoder(1 << 20);

    private static long[] range(long from, int count) {
        long[] ids = new long[count];
        for (int i = 0; i < count; i++) {
            ids[i] = from + i;
        }
        return ids;
    }

    private WalRecord roundTrip(WalRecord record) throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        int bytes = encoder.append(buf, record);
        assertThat((long) bytes).isEqualTo(WalBatch.recordBytes(record));
        assertThat(decoder.probe(buf, 0, bytes)).isEqualTo(bytes);
        return decoder.decode(buf, 0, bytes, "mem", 0);
    }

    @Test
    void setsRoundTripInAboutOneToTwoBytesAGroup() throws Exception {
        SplittableRandom random = new SplittableRandom(11);
        long[] sparse = new long[500];
        long id = 0;
        for (int i = 0; i < sparse.length; i++) {
            id += 1 + random.nextLong(300);
            sparse[i] = id;
        }
        long[][] sets = {{1}, {Long.MAX_VALUE}, {1, Long.MAX_VALUE}, range(1, 1000), range(1L << 40, 100), sparse};
        for (long[] ids : sets) {
            WalRecord.TombstoneSet set = new WalRecord.TombstoneSet(ids);
            WalRecord back = roundTrip(set);
            assertThat(back).isEqualTo(set);
            assertThat(back.groupId()).isZero();
        }
        // Dense ids: one byte each after the first; ids up to 300 apart: at most two.
        assertThat(WalRecordEncoder.tombstoneSetRecordBytes(range(1, 1000))).isEqualTo(1032);
        assertThat(WalRecordEncoder.tombstoneSetRecordBytes(sparse)).isLessThanOrEqualTo(32 + 2 * 500 + 8);
    }

    @Test
    void aSetMustListAscendingDistinctPositiveIds() {
        assertThatThrownBy(() -> new WalRecord.TombstoneSet(new long[0])).hasMessageContaining("at least one group");
        assertThatThrownBy(() -> new WalRecord.TombstoneSet(new long[] {0, 3})).hasMessageContaining(">= 1");
        assertThatThrownBy(() -> new WalRecord.TombstoneSet(new long[] {4, 3})).hasMessageContaining("3 follows 4");
        assertThatThrownBy(() -> new WalRecord.TombstoneSet(new long[] {4, 4})).hasMessageContaining("4 follows 4");
    }

    /** Writes a body by hand: a prefix with {@code count}, then {@code varints}, CRC and length made valid. */
    private static ByteBuffer handMade(long zero, int count, int reserved, byte... varints) {
        int body = 16 + varints.length;
        int recordBytes = (int) WalRecordFormat.align(16 + body);
        ByteBuffer buf = ByteBuffer.allocate(recordBytes).order(ByteOrder.LITTLE_ENDIAN);
        buf.putInt(4, body).putInt(8, WalRecordType.TOMBSTONE_SET.code);
        buf.putLong(16, zero).putInt(24, count).putInt(28, reserved);
        for (int i = 0; i < varints.length; i++) {
            buf.put(32 + i, varints[i]);
        }
        WalRecordCodecTest.reCrc(buf, recordBytes);
        return buf;
    }

    @Test
    void malformedSetsAreRefusedAsCorruption() throws Exception {
        assertThat(decoder.decode(handMade(0, 2, 0, (byte) 5, (byte) 0x81, (byte) 0x01), 0, 40, "seg", 0))
                .isEqualTo(new WalRecord.TombstoneSet(new long[] {5, 5 + 129}));
        Object[][] bad = {
            {handMade(0, 0, 0, (byte) 5), "claims 0 groups in 1 bytes"},
            {handMade(0, 1, 0), "too short for its 16-byte prefix and one id"},
            {handMade(0, -1, 0, (byte) 5), "claims 4294967295 groups"},
            {handMade(0, 3, 0, (byte) 5, (byte) 1), "claims 3 groups in 2 bytes"},
            {handMade(0, 2, 0, (byte) 5, (byte) 0), "id 1 is 5, not above the id before it"},
            {handMade(0, 1, 0, (byte) 0), "id 0 is 0, not above"},
            {handMade(0, 1, 0, (byte) 0x85, (byte) 0x00), "not minimally encoded"},
            {handMade(0, 1, 0, (byte) 5, (byte) 6), "1 unexplained bytes after the last id"},
            {handMade(0, 1, 0, (byte) 0x85), "runs past the record"},
            {handMade(7, 1, 0, (byte) 5), "non-zero reserved bytes"},
            {handMade(0, 1, 9, (byte) 5), "non-zero reserved bytes"},
            {handMade(0, 1, 0, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF,
                    (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0x02), "overflows 64 bits"},
            // 2^63 - 1 then + 1: past Long.MAX_VALUE.
            {handMade(0, 2, 0, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF,
                    (byte) 0xFF, (byte) 0xFF, (byte) 0x7F, (byte) 1), "not above the id before it"},
        };
        // A body of 8 bytes (the least any record has): no room for the prefix; refused before reading past it.
        ByteBuffer shortBody = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        shortBody.putInt(4, 8).putInt(8, WalRecordType.TOMBSTONE_SET.code);
        WalRecordCodecTest.reCrc(shortBody, 24);
        assertThatThrownBy(() -> decoder.decode(shortBody, 0, 24, "seg", 0)).isInstanceOf(WalCorruptionException.class)
                .hasMessageContaining("TOMBSTONE_SET body is 8 bytes, too short");
        for (Object[] c : bad) {
            ByteBuffer buf = (ByteBuffer) c[0];
            assertThatThrownBy(() -> decoder.decode(buf, 0, buf.capacity(), "seg", 4096))
                    .as((String) c[1]).isInstanceOf(WalCorruptionException.class)
                    .hasMessageContaining("seg at offset 4096").hasMessageContaining((String) c[1]);
        }
    }

    @Test
    void setRecordsListEveryGroupInChunksThatFitARecord() throws Exception {
        WalTombstones tombstones = new WalTombstones();
        SplittableRandom random = new SplittableRandom(3);
        List<Long> all = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            long id = 1 + random.nextLong(1L << 50);
            all.add(id);
            tombstones.add(id, 1 + random.nextInt(9));
        }
        List<WalRecord> records = tombstones.setRecords(1024);
        assertThat(records.size()).as("5,000 sparse ids in records of 1 KiB").isBetween(20, 60);
        List<Long> listed = new ArrayList<>();
        for (WalRecord r : records) {
            assertThat(WalBatch.recordBytes(r)).isLessThanOrEqualTo(1024);
            for (long id : ((WalRecord.TombstoneSet) r).groupIds()) {
                listed.add(id);
            }
            assertThat(roundTrip(r)).isEqualTo(r);
        }
        assertThat(listed).isSorted().containsExactlyInAnyOrderElementsOf(all.stream().distinct().toList());
        assertThatThrownBy(() -> tombstones.setRecords(1024)).hasMessageContaining("still on its way");
    }

    /**
     * The tracker's view of where each tombstone's newest copy is: individual tombstones pin their
     * own segments until a set generation covers them; then only the generation (and tombstones
     * written after it was built) stay live.
     */
    @Test
    void aSetGenerationSupersedesOlderCopiesOnlyOnceWholeAndOnlyForWhatItListed() {
        WalTombstones t = new WalTombstones();
        assertThat(t.oldestLiveSegment()).isEqualTo(Long.MAX_VALUE);
        t.add(5, 2);
        t.add(9, 3);
        t.add(5, 4); // a later copy of 5
        assertThat(t.oldestLiveSegment()).isEqualTo(3);
        List<WalRecord> generation = t.setRecords(64); // the smallest records a log allows
        t.add(12, 6); // durable while the generation is on its way: not listed in it
        assertThat(generation).hasSize(1);
        t.applySet((WalRecord.TombstoneSet) generation.get(0), 7);
        assertThat(t.oldestLiveSegment()).as("12's own tombstone").isEqualTo(6);
        assertThat(t.uncoveredCount()).isEqualTo(1);
        assertThat(t.newestSegment(5)).isEqualTo(7);
        t.add(12, 8);
        assertThat(t.oldestLiveSegment()).as("the generation").isEqualTo(7);
        List<WalRecord> next = t.setRecords(1 << 20);
        t.applySet((WalRecord.TombstoneSet) next.get(0), 20);
        assertThat(t.oldestLiveSegment()).isEqualTo(20);
        assertThat(t.uncoveredCount()).isZero();
        assertThat(t.sortedGroups()).containsExactly(5, 9, 12);

        // A set this tracker did not build (another worker's, read by recovery) is a copy of each group it lists.
        WalTombstones other = new WalTombstones();
        other.add(1, 3);
        other.applySet(new WalRecord.TombstoneSet(new long[] {2, 4}), 9);
        other.applySet(new WalRecord.TombstoneSet(new long[] {6}), 11);
        assertThat(other.oldestLiveSegment()).isEqualTo(3);
        assertThat(other.newestSegment(2)).isEqualTo(9);
        assertThat(other.newestSegment(6)).isEqualTo(11);
        assertThat(other.newestSegment(7)).isZero();
    }

    @Test
    void recoveryTakesTheUnionOfSetsAndLaterTombstonesAndDropsTheGroupsIndexes() {
        WalIndexBuilder builder = new WalIndexBuilder(WalCacheConfig.defaults());
        builder.onRecord(new WalRecord.Entries(3, List.of(Entry.normal(1, 1, new byte[10]))), 1, 64);
        builder.onRecord(new WalRecord.HardStateUpdate(3, new HardState(1, 1, 1)), 1, 128);
        builder.onRecord(new WalRecord.Entries(4, List.of(Entry.normal(1, 1, new byte[10]))), 1, 192);
        builder.onRecord(new WalRecord.Tombstone(8), 1, 256);
        builder.onRecord(new WalRecord.TombstoneSet(new long[] {1, 2, 3, 8}), 2, 64);
        builder.onRecord(new WalRecord.Tombstone(10), 3, 64);
        builder.onRecord(new WalRecord.TombstoneSet(new long[] {1, 2}), 4, 64); // an older set of another worker
        builder.onRecord(new WalRecord.Tombstone(8), 4, 128); // an individual copy written again
        builder.onRecord(new WalRecord.Entries(4, List.of(Entry.normal(1, 2, new byte[10]))), 4, 192);

        WalTombstones recovered = builder.tombstones();
        assertThat(recovered.sortedGroups()).containsExactly(1, 2, 3, 8, 10);
        assertThat(builder.indexes().keySet()).as("no index for a tombstoned group").containsExactly(4L);
        assertThat(recovered.newestSegment(3)).isEqualTo(2);
        assertThat(recovered.newestSegment(1)).isEqualTo(4);
        assertThat(recovered.newestSegment(8)).isEqualTo(4);
        assertThat(recovered.newestSegment(10)).isEqualTo(3);
        assertThat(recovered.oldestLiveSegment()).isEqualTo(2);

        assertThatThrownBy(() -> builder.onRecord(new WalRecord.HardStateUpdate(3, new HardState(2, 1, 1)), 5, 64))
                .hasMessageContaining("group 3: a HARD_STATE record after its tombstone");
    }

    private Wal open() throws Exception {
        WalConfig config = new WalConfig(dir, 7, 1, SEGMENT_BYTES, 16 << 10);
        return Wal.open(new NioWalFileSystem(), config, new WalWriterConfig(64, 64 << 10, 1), WalCacheConfig.defaults(),
                new WalCacheBudget(1 << 20));
    }

    private static void write(Wal wal, List<WalRecord> records, TreeMap<Long, WalGroupIndex> indexes,
            WalTombstones tombstones) throws Exception {
        WalBatch batch = new WalBatch(records);
        CompletableFuture<Void> done = new CompletableFuture<>();
        assertThat(wal.submit(batch, new WalAppendCallback() {
            @Override
            public void onDurable(WalBatch b, long segmentSequence, long endOffsetBytes) {
                done.complete(null);
            }

            @Override
            public void onFailed(WalBatch b, WalFailedException error) {
                done.completeExceptionally(error);
            }
        })).isTrue();
        done.get(30, TimeUnit.SECONDS);
        Wal.applyDurable(batch, indexes::get, tombstones);
        for (WalRecord r : records) {
            if (r instanceof WalRecord.Tombstone) {
                indexes.remove(r.groupId());
            }
        }
    }

    /**
     * A log that tombstoned 1,000 groups keeps purging: one set record (about 1 KiB) replaces the
     * 1,000 tombstones each time they lag; the old segments go; a restart recovers every tombstone
     * from the surviving set plus the tombstones written after it, and keeps no index for them.
     */
    @Test
    void aThousandTombstonesCollapseIntoOneSetAndSurvivePurgeAndRestart() throws Exception {
        TreeMap<Long, WalGroupIndex> indexes = new TreeMap<>();
        WalTombstones tombstones = new WalTombstones();
        byte[] payload = new byte[300];
        try (Wal wal = open()) {
            for (long g = 1; g <= 1001; g++) {
                indexes.put(g, wal.takeIndex(g));
                write(wal, List.of(new WalRecord.Entries(g, List.of(Entry.normal(1, 1, payload))),
                        new WalRecord.HardStateUpdate(g, new HardState(1, 1, 1))), indexes, tombstones);
                if (g <= 1000) {
                    write(wal, List.of(new WalRecord.Tombstone(g)), indexes, tombstones);
                }
            }
            assertThat(indexes.keySet()).containsExactly(1001L);
            assertThat(tombstones.oldestLiveSegment()).isEqualTo(1);
            List<WalRecord> set = tombstones.setRecords(wal.config().maxRecordBytes());
            assertThat(set).as("one record for 1,000 tombstones").hasSize(1);
            assertThat(WalBatch.recordBytes(set.get(0))).isLessThanOrEqualTo(32 + 2 * 1000);
            write(wal, set, indexes, tombstones);
            write(wal, List.of(new WalRecord.CompactPrefix(1001, 1, 1)), indexes, tombstones);
            // Later removals: individual tombstones after the set.
            for (long g = 2001; g <= 2003; g++) {
                indexes.put(g, wal.takeIndex(g));
                write(wal, List.of(new WalRecord.HardStateUpdate(g, new HardState(3, 1, 0)),
                        new WalRecord.CompactPrefix(g, 0, 0)), indexes, tombstones);
                write(wal, List.of(new WalRecord.Tombstone(g)), indexes, tombstones);
            }
            // Group 1001 moves on too, so that only tombstones could hold the old segments.
            write(wal, Wal.rewriteForward(indexes.get(1001L), new WalGroupStorage(indexes.get(1001L), wal.newReader(), null),
                    wal.config().maxRecordBytes()), indexes, tombstones);
            long before = wal.activeSegmentSequence();
            assertThat(before).as("the tombstones and their groups' records filled several segments").isGreaterThan(4);
            WalPurgeResult purge = wal.purge(indexes.values(), tombstones, 0);
            assertThat(purge.deletedSegments()).as("every segment before the set").isPositive();
            assertThat(dir.resolve(WalSegmentNames.fileName(1))).doesNotExist();
        }
        try (Wal wal = open()) {
            long[] expected = new long[1003];
            for (int i = 0; i < 1000; i++) {
                expected[i] = i + 1;
            }
            expected[1000] = 2001;
            expected[1001] = 2002;
            expected[1002] = 2003;
            assertThat(wal.recoveredTombstones().sortedGroups()).isEqualTo(expected);
            assertThat(wal.recoveredGroups()).containsExactly(1001L);
            assertThat(wal.takeIndex(17).removed()).isTrue();
            assertThat(wal.takeIndex(2002).removed()).isTrue();
            assertThat(wal.takeIndex(1001).lastIndex()).isEqualTo(1);
        }
    }

    @Test
    void theSetRecordHasItsOwnTypeCodeAndFormatVersionThree() {
        assertThat(WalRecordType.fromCode(7)).isEqualTo(WalRecordType.TOMBSTONE_SET);
        assertThat(WalSegmentHeader.FORMAT_VERSION).isEqualTo(3);
        assertThat(Arrays.stream(WalRecordType.values()).mapToInt(t -> t.code).distinct().count())
                .isEqualTo(WalRecordType.values().length);
    }
}

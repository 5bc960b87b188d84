package io.flotilla.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.HardState;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/** Record encoding and decoding: round trips, alignment, the CRC chain and length bounds. */
class WalRecordCodecTest {
    private static final int MAX_RECORD_BYTES = 64 << 20;

    private final WalRecordEncoder encoder = new WalRecordEncoder(MAX_RECORD_BYTES);
    private final WalRecordDecoder decoder = new WalRecordDecoder(MAX_RECORD_BYTES);

    @Test
    void everyRecordTypeRoundTrips() throws Exception {
        List<Entry> many = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 1000; i++) {
            byte[] payload = new byte[random.nextInt(0, 300)];
            random.nextBytes(payload);
            many.add(new Entry(3 + i / 100, 500 + i, i % 17 == 0 ? EntryType.CONF_CHANGE : EntryType.NORMAL, payload));
        }
        List<WalRecord> records = List.of(
                new WalRecord.Entries(1, List.of(Entry.normal(1, 1, new byte[0]))),
                new WalRecord.Entries(Long.MAX_VALUE, List.of(Entry.normal(2, 10, new byte[0]), Entry.normal(2, 11, new byte[] {9}))),
                new WalRecord.Entries(42, many),
                new WalRecord.Entries(43, List.of(Entry.normal(9, 1, new byte[100_000]))),
                new WalRecord.HardStateUpdate(7, new HardState(5, 3, 99)),
                new WalRecord.HardStateUpdate(8, HardState.EMPTY),
                new WalRecord.TruncateSuffix(9, 17),
                new WalRecord.CompactPrefix(10, 1000, 4),
                new WalRecord.SnapshotMark(11, 2000, 6, new ConfState(new long[] {3, 1, 2}, new long[] {5, 4})),
                new WalRecord.SnapshotMark(13, 7, 1, ConfState.EMPTY),
                new WalRecord.Tombstone(12),
                new WalRecord.Revive(12));
        ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        List<Integer> sizes = new ArrayList<>();
        for (WalRecord r : records) {
            sizes.add(encoder.append(buf, r));
            assertThat(buf.position() % 8).isZero();
        }
        int limit = buf.position();
        int offset = 0;
        int prevCrc = 0;
        for (int i = 0; i < records.size(); i++) {
            assertThat(decoder.probe(buf, offset, limit)).isEqualTo(sizes.get(i));
            assertThat(WalRecordDecoder.prevCrc(buf, offset)).isEqualTo(prevCrc);
            assertSameRecord(decoder.decode(buf, offset, limit, "mem", 0), records.get(i));
            prevCrc = WalRecordDecoder.storedCrc(buf, offset);
            offset += sizes.get(i);
        }
        assertThat(offset).isEqualTo(limit);
        assertThat(encoder.lastCrc()).isEqualTo(prevCrc);
        assertThat(decoder.probe(buf, limit, limit + 64)).isEqualTo(WalRecordDecoder.PROBE_ZERO_HEADER);
    }

    @Test
    void entriesOverOneRecordAreSplitIntoRecordsThatEachFit() {
        int max = 4096;
        List<Entry> entries = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(11);
        for (int i = 1; i <= 40; i++) {
            entries.add(new Entry(1, i, EntryType.NORMAL, new byte[random.nextInt(WalRecordEncoder.maxEntryPayloadBytes(max) + 1)]));
        }
        List<WalRecord> records = WalRecordEncoder.entriesRecords(5, entries, max);
        assertThat(records.size()).isGreaterThan(1);
        List<Entry> joined = new ArrayList<>();
        for (WalRecord r : records) {
            assertThat(WalBatch.recordBytes(r)).isLessThanOrEqualTo(max);
            joined.addAll(((WalRecord.Entries) r).entries());
        }
        assertThat(joined).isEqualTo(entries);
        // The largest payload fits exactly; one byte more cannot be logged.
        Entry largest = new Entry(1, 1, EntryType.NORMAL, new byte[WalRecordEncoder.maxEntryPayloadBytes(max)]);
        assertThat(WalBatch.recordBytes(WalRecordEncoder.entriesRecords(5, List.of(largest), max).get(0))).isEqualTo(max);
        Entry tooLarge = new Entry(1, 1, EntryType.NORMAL, new byte[WalRecordEncoder.maxEntryPayloadBytes(max) + 1]);
        assertThatThrownBy(() -> WalRecordEncoder.entriesRecords(5, List.of(tooLarge), max))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not fit");
    }

    @Test
    void sizesAreAlignedAndMatchTheLayout() {
        ByteBuffer buf = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(encoder.appendHardState(buf, 1, new HardState(1, 2, 3))).isEqualTo(48);
        assertThat(encoder.appendTruncateSuffix(buf, 1, 5)).isEqualTo(32);
        assertThat(encoder.appendCompactPrefix(buf, 1, 5, 1)).isEqualTo(40);
        // 16 header + 32 prefix = 48; each voter or learner 8 more, never padding.
        assertThat(encoder.appendSnapshotMark(buf, 1, 5, 1, ConfState.EMPTY)).isEqualTo(48);
        assertThat(encoder.appendSnapshotMark(buf, 1, 5, 1, new ConfState(new long[] {1, 2, 3}, new long[] {4})))
                .isEqualTo(80);
        assertThat(buf.getInt(buf.position() - 80 + 4)).isEqualTo(64);
        // 16 header + 16 prefix + 24 entry header + 3 payload = 59 -> 64.
        List<Entry> one = List.of(Entry.normal(1, 1, new byte[] {1, 2, 3}));
        assertThat(WalRecordEncoder.entriesRecordBytes(one)).isEqualTo(64);
        assertThat(encoder.appendEntries(buf, 1, one)).isEqualTo(64);
        assertThat(buf.get(buf.position() - 5)).isZero(); // padding
        assertThat(buf.getInt(buf.position() - 64 + 4)).isEqualTo(59 - 16);
    }

    @Test
    void encoderRefusesWhatItCouldNotDecode() {
        ByteBuffer buf = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        assertThatThrownBy(() -> encoder.appendEntries(buf, 1, List.of()))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> encoder.appendEntries(buf, 1, List.of(Entry.normal(1, 1, null), Entry.normal(1, 3, null))))
                .hasMessageContaining("has index 3, expected 2");
        WalRecordEncoder small = new WalRecordEncoder(64);
        assertThatThrownBy(() -> small.appendEntries(buf, 1, List.of(Entry.normal(1, 1, new byte[100]))))
                .hasMessageContaining("exceeds maxRecordBytes 64");
        assertThatThrownBy(() -> encoder.appendHardState(ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN), 1, HardState.EMPTY))
                .hasMessageContaining("does not fit");
        assertThatThrownBy(() -> encoder.appendHardState(ByteBuffer.allocate(100), 1, HardState.EMPTY))
                .hasMessageContaining("little-endian");
        assertThat(buf.position()).isZero();
    }

    @Test
    void snapshotMarksRoundTripTheirMembership() throws Exception {
        long[] most = new long[WalRecordFormat.MAX_SNAPSHOT_MEMBERS];
        for (int i = 0; i < most.length; i++) {
            most[i] = Long.MAX_VALUE - i;
        }
        List<WalRecord.SnapshotMark> marks = List.of(
                new WalRecord.SnapshotMark(1, 100, 3, ConfState.EMPTY),
                new WalRecord.SnapshotMark(2, 101, 4, ConfState.ofVoters(7)),
                new WalRecord.SnapshotMark(3, 102, 5, new ConfState(new long[0], new long[] {9, 8})),
                new WalRecord.SnapshotMark(4, Long.MAX_VALUE, Long.MAX_VALUE,
                        new ConfState(new long[] {1, 2, 3, 4, 5}, new long[] {-1, 6})),
                new WalRecord.SnapshotMark(5, 1, 1, ConfState.ofVoters(most)),
                new WalRecord.SnapshotMark(6, 1, 1, new ConfState(Arrays.copyOf(most, 1000), Arrays.copyOfRange(most, 1000, 1024))));
        ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        List<Integer> offsets = new ArrayList<>();
        for (WalRecord.SnapshotMark m : marks) {
            offsets.add(buf.position());
            int bytes = encoder.append(buf, m);
            int members = m.confState().voters().length + m.confState().learners().length;
            assertThat(bytes).isEqualTo(48 + 8 * members).isEqualTo((int) WalBatch.recordBytes(m));
        }
        int limit = buf.position();
        for (int i = 0; i < marks.size(); i++) {
            WalRecord got = decoder.decode(buf, offsets.get(i), limit, "mem", 0);
            assertThat(got).isEqualTo(marks.get(i));
            assertThat(((WalRecord.SnapshotMark) got).confState().learners())
                    .isEqualTo(marks.get(i).confState().learners());
        }
    }

    @Test
    void aSnapshotMarkWithTooManyMembersIsRefusedBeforeItReachesTheLog() {
        long[] tooMany = new long[WalRecordFormat.MAX_SNAPSHOT_MEMBERS];
        for (int i = 0; i < tooMany.length; i++) {
            tooMany[i] = i + 1;
        }
        WalRecord.SnapshotMark mark = new WalRecord.SnapshotMark(1, 5, 1, new ConfState(tooMany, new long[] {-7}));
        ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        assertThatThrownBy(() -> encoder.append(buf, mark)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at most 1024 voters and learners, this membership has 1025");
        assertThatThrownBy(() -> new WalBatch(List.of(mark))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("this membership has 1025");
        WalRecordEncoder small = new WalRecordEncoder(64);
        assertThatThrownBy(() -> small.appendSnapshotMark(buf, 1, 5, 1, ConfState.ofVoters(1, 2, 3)))
                .hasMessageContaining("SNAPSHOT_MARK record of 72 bytes for group 1 exceeds maxRecordBytes 64");
        assertThat(buf.position()).isZero();
        assertThat(small.lastCrc()).isZero();
    }

    @Test
    void corruptSnapshotMarkCountsAreRefusedBeforeAnythingIsAllocated() throws Exception {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        ByteBuffer buf = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        // Two voters and one learner: counts at body offsets 24 and 28, i.e. record offsets 40 and 44.
        int limit = encoder.appendSnapshotMark(buf, 3, 50, 2, new ConfState(new long[] {1, 2}, new long[] {3}));
        assertThat(decoder.decode(buf, 0, limit, "seg", 0)).isEqualTo(
                new WalRecord.SnapshotMark(3, 50, 2, new ConfState(new long[] {1, 2}, new long[] {3})));

        int[][] badCounts = {
            {Integer.MAX_VALUE, 1}, {1, Integer.MAX_VALUE}, {-1, 1}, {2, -3},
            {WalRecordFormat.MAX_SNAPSHOT_MEMBERS, 1}, {600, 600},
        };
        for (int[] counts : badCounts) {
            ByteBuffer copy = copy(buf, limit);
            copy.putInt(40, counts[0]).putInt(44, counts[1]);
            reCrc(copy, limit);
            long before = threads.getThreadAllocatedBytes(Thread.currentThread().getId());
            assertThatThrownBy(() -> decoder.decode(copy, 0, limit, "seg", 8192))
                    .as("voters %d learners %d", counts[0], counts[1])
                    .isInstanceOf(WalCorruptionException.class)
                    .hasMessageContaining("seg at offset 8192")
                    .hasMessageContaining("SNAPSHOT_MARK claims " + Integer.toUnsignedString(counts[0]) + " voters and "
                            + Integer.toUnsignedString(counts[1]) + " learners, more than the 1024 members");
            assertThat(threads.getThreadAllocatedBytes(Thread.currentThread().getId()) - before).isLessThan(1 << 20);
        }

        // Counts within the bound that disagree with the body's length, either way.
        for (int[] counts : new int[][] {{2, 2}, {1, 1}, {0, 0}, {0, 4}, {1000, 24}}) {
            ByteBuffer copy = copy(buf, limit);
            copy.putInt(40, counts[0]).putInt(44, counts[1]);
            reCrc(copy, limit);
            long before = threads.getThreadAllocatedBytes(Thread.currentThread().getId());
            assertThatThrownBy(() -> decoder.decode(copy, 0, limit, "seg", 0))
                    .isInstanceOf(WalCorruptionException.class)
                    .hasMessageContaining("SNAPSHOT_MARK with " + counts[0] + " voters and " + counts[1]
                            + " learners has a body of 56 bytes, expected " + (32 + 8 * (counts[0] + counts[1])));
            assertThat(threads.getThreadAllocatedBytes(Thread.currentThread().getId()) - before).isLessThan(1 << 20);
        }

        // A version-1 mark (group, index, term only) is too short to hold the counts.
        ByteBuffer old = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
        old.putInt(4, 24).putInt(8, WalRecordType.SNAPSHOT_MARK.code).putLong(16, 3).putLong(24, 50).putLong(32, 2);
        reCrc(old, 40);
        assertThatThrownBy(() -> decoder.decode(old, 0, 40, "seg", 0))
                .isInstanceOf(WalCorruptionException.class)
                .hasMessageContaining("SNAPSHOT_MARK body is 24 bytes, shorter than its 32-byte prefix");

        // A member listed as both voter and learner: consistent lengths, impossible membership.
        ByteBuffer both = copy(buf, limit);
        both.putLong(16 + 32 + 16, 2);
        reCrc(both, limit);
        assertThatThrownBy(() -> decoder.decode(both, 0, limit, "seg", 0))
                .isInstanceOf(WalCorruptionException.class)
                .hasMessageContaining("SNAPSHOT_MARK membership is invalid: node 2 is both voter and learner");
    }

    @Test
    void encodingIntoAReusedBufferAllocatesNothing() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            entries.add(Entry.normal(2, 100 + i, new byte[128]));
        }
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        HardState hs = new HardState(2, 1, 150);
        for (int round = 0; round < 200; round++) {
            buf.clear();
            encoder.appendEntries(buf, 5, entries);
            encoder.appendHardState(buf, 5, hs);
        }
        long before = threads.getThreadAllocatedBytes(Thread.currentThread().getId());
        for (int round = 0; round < 1000; round++) {
            buf.clear();
            encoder.appendEntries(buf, 5, entries);
            encoder.appendHardState(buf, 5, hs);
        }
        long allocated = threads.getThreadAllocatedBytes(Thread.currentThread().getId()) - before;
        // 64,000 entries encoded: a single allocation per entry or per record would show as >= 16 KB.
        assertThat(allocated).isLessThan(16_000);
    }

    @Test
    void corruptLengthsAreRefusedBeforeAnythingIsAllocated() throws Exception {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        ByteBuffer buf = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        encoder.appendEntries(buf, 1, List.of(Entry.normal(1, 1, new byte[10]), Entry.normal(1, 2, new byte[10])));
        int limit = buf.position();

        for (int badBody : new int[] {0x7FFF_FFF0, -16, 3, MAX_RECORD_BYTES}) {
            ByteBuffer copy = copy(buf, limit);
            copy.putInt(4, badBody);
            assertThat(decoder.probe(copy, 0, limit)).isEqualTo(WalRecordDecoder.PROBE_BAD_LENGTH);
            long before = threads.getThreadAllocatedBytes(Thread.currentThread().getId());
            assertThatThrownBy(() -> decoder.decode(copy, 0, limit, "seg", 4096))
                    .isInstanceOf(WalCorruptionException.class)
                    .hasMessageContaining("seg at offset 4096")
                    .hasMessageContaining("record length " + Integer.toUnsignedString(badBody));
            assertThat(threads.getThreadAllocatedBytes(Thread.currentThread().getId()) - before).isLessThan(1 << 20);
        }

        // Lengths inside a record whose CRC is valid (as if written by a buggy encoder): still bounded.
        ByteBuffer hugeCount = copy(buf, limit);
        hugeCount.putInt(16 + 8, Integer.MAX_VALUE);
        reCrc(hugeCount, limit);
        long before = threads.getThreadAllocatedBytes(Thread.currentThread().getId());
        assertThatThrownBy(() -> decoder.decode(hugeCount, 0, limit, "seg", 0))
                .isInstanceOf(WalCorruptionException.class)
                .hasMessageContaining("claims 2147483647 entries");
        ByteBuffer hugePayload = copy(buf, limit);
        hugePayload.putInt(16 + 16 + 20, 0x7FFF_0000);
        reCrc(hugePayload, limit);
        assertThatThrownBy(() -> decoder.decode(hugePayload, 0, limit, "seg", 0))
                .isInstanceOf(WalCorruptionException.class)
                .hasMessageContaining("payload length 2147418112 exceeds");
        assertThat(threads.getThreadAllocatedBytes(Thread.currentThread().getId()) - before).isLessThan(1 << 20);

        ByteBuffer badIndex = copy(buf, limit);
        badIndex.putLong(16 + 16 + 24 + 10 + 8, 7);
        reCrc(badIndex, limit);
        assertThatThrownBy(() -> decoder.decode(badIndex, 0, limit, "seg", 0))
                .hasMessageContaining("entry 1 has index 7, expected 2");
    }

    @Test
    void aRecordCutShortOrFlippedIsRefused() {
        ByteBuffer buf = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        int size = encoder.appendEntries(buf, 1, List.of(Entry.normal(1, 1, new byte[50])));
        for (int cut = 1; cut < size; cut++) {
            int code = decoder.probe(buf, 0, cut);
            assertThat(code).as("cut at %d", cut).isEqualTo(WalRecordDecoder.PROBE_TRUNCATED);
        }
        for (int bit = 0; bit < size * 8; bit++) {
            ByteBuffer copy = copy(buf, size);
            copy.put(bit / 8, (byte) (copy.get(bit / 8) ^ (1 << (bit % 8))));
            assertThat(decoder.probe(copy, 0, size)).as("bit %d", bit).isNegative();
        }
        ByteBuffer badType = copy(buf, size);
        badType.put(8, (byte) 9);
        reCrc(badType, size);
        assertThat(decoder.probe(badType, 0, size)).isEqualTo(WalRecordDecoder.PROBE_BAD_HEADER);
    }

    static ByteBuffer copy(ByteBuffer src, int bytes) {
        ByteBuffer copy = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < bytes; i++) {
            copy.put(i, src.get(i));
        }
        return copy;
    }

    /** Recomputes the CRC of the single record filling {@code buf[0, recordBytes)}. */
    static void reCrc(ByteBuffer buf, int recordBytes) {
        CRC32C crc = new CRC32C();
        crc.update(buf.array(), 4, recordBytes - 4);
        buf.putInt(0, (int) crc.getValue());
    }

    static void assertSameRecord(WalRecord actual, WalRecord expected) {
        assertThat(actual.getClass()).isEqualTo(expected.getClass());
        assertThat(actual.groupId()).isEqualTo(expected.groupId());
        if (expected instanceof WalRecord.Entries e) {
            List<Entry> got = ((WalRecord.Entries) actual).entries();
            assertThat(got).hasSameSizeAs(e.entries());
            for (int i = 0; i < got.size(); i++) {
                Entry a = got.get(i);
                Entry b = e.entries().get(i);
                assertThat(a.term()).isEqualTo(b.term());
                assertThat(a.index()).isEqualTo(b.index());
                assertThat(a.type()).isEqualTo(b.type());
                assertThat(a.data()).isEqualTo(b.data());
            }
        } else {
            assertThat(actual).isEqualTo(expected);
        }
    }
}

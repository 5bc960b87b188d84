package io.flotilla.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Recovery: records back in order, torn tails truncated, every other damage refused with file and offset. */
class WalRecoveryScannerTest {
    private static final int SEGMENT_BYTES = 8192;

    @TempDir
    Path dir;

    private final NioWalFileSystem fs = new NioWalFileSystem();

    private WalConfig config() {
        return new WalConfig(dir, 11, 2, SEGMENT_BYTES, 2048);
    }

    /** Where one written record landed. */
    record Placed(WalRecord record, long sequence, int offset, int endOffset) {
    }

    /** Writes records through the real file layer, rolling to a new segment when one does not fit. */
    private List<Placed> write(List<WalRecord> records) throws IOException {
        WalSegmentCreator creator = new WalSegmentCreator(fs, config());
        WalRecordEncoder encoder = new WalRecordEncoder(config().maxRecordBytes());
        ByteBuffer buf = ByteBuffer.allocate(SEGMENT_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        List<Placed> placed = new ArrayList<>();
        long seq = 1;
        creator.create(seq);
        buf.position(WalSegmentHeader.HEADER_BYTES);
        for (WalRecord r : records) {
            if (buf.remaining() < config().maxRecordBytes()) {
                flush(seq, buf);
                creator.create(++seq);
                buf.clear().position(WalSegmentHeader.HEADER_BYTES);
            }
            int start = buf.position();
            encoder.append(buf, r);
            placed.add(new Placed(r, seq, start, buf.position()));
        }
        flush(seq, buf);
        return placed;
    }

    private void flush(long seq, ByteBuffer buf) throws IOException {
        try (WalFile f = fs.open(segment(seq))) {
            buf.flip().position(WalSegmentHeader.HEADER_BYTES);
            f.write(buf, WalSegmentHeader.HEADER_BYTES);
            f.force();
        }
    }

    private Path segment(long seq) {
        return dir.resolve(WalSegmentNames.fileName(seq));
    }

    private static List<WalRecord> workload(int count, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[] nextIndex = new long[20];
        List<WalRecord> records = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int group = random.nextInt(20);
            switch (random.nextInt(6)) {
                case 0 -> records.add(new WalRecord.HardStateUpdate(group, new HardState(i, 1, nextIndex[group])));
                case 1 -> records.add(new WalRecord.CompactPrefix(group, nextIndex[group] / 2, 1));
                // Memberships of every shape (none, voters only, voters and learners), without drawing from random.
                case 2 -> records.add(new WalRecord.SnapshotMark(group, nextIndex[group] / 2, 1, switch (i % 3) {
                    case 0 -> ConfState.EMPTY;
                    case 1 -> ConfState.ofVoters(1, 2, 3 + group);
                    default -> new ConfState(new long[] {1, 2, 3}, new long[] {100 + i, 200 + i});
                }));
                case 3 -> records.add(new WalRecord.TruncateSuffix(group, nextIndex[group] + 1));
                default -> {
                    List<Entry> entries = new ArrayList<>();
                    for (int e = random.nextInt(1, 5); e > 0; e--) {
                        byte[] payload = new byte[random.nextInt(0, 200)];
                        random.nextBytes(payload);
                        entries.add(Entry.normal(1, ++nextIndex[group], payload));
                    }
                    records.add(new WalRecord.Entries(group, entries));
                }
            }
        }
        return records;
    }

    private record Recovered(List<WalRecord> records, List<long[]> locations, WalRecoveryResult result) {
    }

    private Recovered recover() throws IOException {
        List<WalRecord> records = new ArrayList<>();
        List<long[]> locations = new ArrayList<>();
        WalRecoveryResult result = new WalRecoveryScanner(fs, config()).scan((r, seq, off) -> {
            records.add(r);
            locations.add(new long[] {seq, off});
        });
        return new Recovered(records, locations, result);
    }

    private static void assertPrefix(Recovered got, List<Placed> placed, int count) {
        assertThat(got.records).hasSize(count);
        for (int i = 0; i < count; i++) {
            WalRecordCodecTest.assertSameRecord(got.records.get(i), placed.get(i).record());
            assertThat(got.locations.get(i)).containsExactly(placed.get(i).sequence(), placed.get(i).offset());
        }
    }

    private void poke(long seq, long offset, byte[] bytes) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(segment(seq).toFile(), "rw")) {
            f.seek(offset);
            f.write(bytes);
        }
    }

    private void zero(long seq, long from, long to) throws IOException {
        poke(seq, from, new byte[(int) (to - from)]);
    }

    @Test
    void anEmptyDirectoryAndAFreshSegmentRecoverToNothing() throws IOException {
        Recovered none = recover();
        assertThat(none.result.segmentSequences()).isEmpty();
        assertThat(none.result.tailSequence()).isEqualTo(-1);
        new WalSegmentCreator(fs, config()).create(4);
        Recovered fresh = recover();
        assertThat(fresh.records).isEmpty();
        assertThat(fresh.result).isEqualTo(new WalRecoveryResult(List.of(4L), 4, 64, 64, 0, 0, List.of()));
    }

    @Test
    void recordsOfManyGroupsComeBackInOrderAcrossSegments() throws IOException {
        List<Placed> placed = write(workload(400, 1));
        long lastSeq = placed.get(placed.size() - 1).sequence();
        assertThat(lastSeq).isGreaterThan(3);
        Files.write(dir.resolve(WalSegmentNames.tempFileName(lastSeq + 1)), new byte[] {1});
        Files.write(dir.resolve("unrelated.txt"), new byte[] {1});
        Recovered got = recover();
        assertPrefix(got, placed, placed.size());
        WalRecoveryResult r = got.result;
        assertThat(r.tailSequence()).isEqualTo(lastSeq);
        assertThat(r.tailEndBytes()).isEqualTo(placed.get(placed.size() - 1).endOffset());
        assertThat(r.tornTail()).isFalse();
        assertThat(r.recordCount()).isEqualTo(400);
        assertThat(r.tempFileNames()).containsExactly(WalSegmentNames.tempFileName(lastSeq + 1));
        assertThat(r.segmentSequences()).hasSize((int) lastSeq);
    }

    @Test
    void aTornTailIsTruncatedAtEveryCutPoint() throws IOException {
        List<Placed> placed = write(workload(60, 2));
        Placed last = placed.get(placed.size() - 1);
        Path image = dir.resolve("image");
        Files.copy(segment(last.sequence()), image);
        int checked = 0;
        // Tear anywhere in the last 1,500 bytes written, as a crash mid-write (prefix persisted, rest zero) would.
        for (int cut = last.endOffset() - 1; cut > last.endOffset() - 1500; cut -= 7) {
            Files.copy(image, segment(last.sequence()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            zero(last.sequence(), cut, SEGMENT_BYTES);
            byte[] original = Files.readAllBytes(image);
            int complete = 0;
            while (complete < placed.size() && (placed.get(complete).sequence() < last.sequence()
                    || placed.get(complete).endOffset() <= cut
                    || allZero(original, cut, placed.get(complete).endOffset()))) {
                complete++; // A record whose bytes past the cut were zeros anyway (padding) survives the tear.
            }
            Recovered got = recover();
            assertPrefix(got, placed, complete);
            int validEnd = complete == 0 ? 64 : placed.get(complete - 1).endOffset();
            assertThat(got.result.tailEndBytes()).as("cut %d", cut).isEqualTo(validEnd);
            assertThat(got.result.tornEndBytes()).isLessThanOrEqualTo(Math.max(cut, validEnd));
            assertThat(got.result.tornTail()).isEqualTo(validEnd < cut && !allZero(original, validEnd, cut));
            checked++;
        }
        assertThat(checked).isGreaterThan(200);
    }

    @Test
    void junkAfterTheLastRecordIsATornTail() throws IOException {
        List<Placed> placed = write(workload(30, 3));
        Placed last = placed.get(placed.size() - 1);
        byte[] junk = new byte[300];
        new SplittableRandom(5).nextBytes(junk);
        poke(last.sequence(), last.endOffset(), junk);
        Recovered got = recover();
        assertPrefix(got, placed, placed.size());
        assertThat(got.result.tailEndBytes()).isEqualTo(last.endOffset());
        assertThat(got.result.tornTail()).isTrue();
        assertThat(got.result.tornEndBytes()).isEqualTo(last.endOffset() + 300);
    }

    @Test
    void aTornTailBeforeAnEmptyPreallocatedSegmentIsTolerated() throws IOException {
        List<Placed> placed = write(workload(30, 4));
        Placed last = placed.get(placed.size() - 1);
        new WalSegmentCreator(fs, config()).create(last.sequence() + 1);
        zero(last.sequence(), last.endOffset() - 5, last.endOffset());
        Recovered got = recover();
        assertPrefix(got, placed, placed.size() - 1);
        assertThat(got.result.tailSequence()).isEqualTo(last.sequence());
        assertThat(got.result.segmentSequences()).endsWith(last.sequence() + 1);
    }

    @Test
    void aBitFlipInAnyRecordFollowedByOthersIsRefusedWithFileAndOffset() throws IOException {
        List<Placed> placed = write(workload(200, 6));
        Path[] images = copySegments();
        SplittableRandom random = new SplittableRandom(9);
        for (int trial = 0; trial < 60; trial++) {
            restore(images);
            Placed victim = placed.get(random.nextInt(placed.size() - 1));
            int offset = victim.offset() + random.nextInt(victim.endOffset() - victim.offset());
            byte[] b = Files.readAllBytes(segment(victim.sequence()));
            poke(victim.sequence(), offset, new byte[] {(byte) (b[offset] ^ (1 << random.nextInt(8)))});
            assertThatThrownBy(this::recover).as("flip at %d:%d", victim.sequence(), offset)
                    .isInstanceOf(WalCorruptionException.class)
                    .satisfies(e -> {
                        WalCorruptionException c = (WalCorruptionException) e;
                        assertThat(c.fileName()).isEqualTo(WalSegmentNames.fileName(victim.sequence()));
                        assertThat(c.offsetBytes()).isEqualTo(victim.offset());
                    });
        }
    }

    @Test
    void zeroedBlocksAndJunkInTheMiddleAreRefused() throws IOException {
        List<Placed> placed = write(workload(200, 7));
        Path[] images = copySegments();
        long lastSeq = placed.get(placed.size() - 1).sequence();

        // A zeroed 512-byte block in the middle of the last segment, intact records after it.
        Placed mid = firstIn(placed, lastSeq, 1);
        zero(lastSeq, mid.offset(), mid.offset() + 512);
        assertCorrupt(lastSeq, mid.offset(), "zero-filled where a record was expected");

        // Junk over a record of an earlier segment.
        restore(images);
        Placed early = firstIn(placed, 1, 3);
        byte[] junk = new byte[100];
        new SplittableRandom(1).nextBytes(junk);
        poke(1, early.offset(), junk);
        assertCorrupt(1, early.offset(), "later segment");

        // The end of an earlier segment zeroed: it looks like a clean end, but the chain notices.
        restore(images);
        Placed tailOfFirst = lastIn(placed, 1);
        zero(1, tailOfFirst.offset(), SEGMENT_BYTES);
        assertCorrupt(2, WalSegmentHeader.HEADER_BYTES, "record chain broken");

        // A torn tail in an earlier segment while a later one holds data.
        restore(images);
        zero(1, tailOfFirst.offset() + 4, tailOfFirst.endOffset());
        assertCorrupt(1, tailOfFirst.offset(), "later segment 0000000000000002.wal holds data");
    }

    @Test
    void aMissingOrForeignSegmentStopsRecovery() throws IOException {
        List<Placed> placed = write(workload(200, 8));
        assertThat(placed.get(placed.size() - 1).sequence()).isGreaterThan(2);
        Path[] images = copySegments();
        Files.delete(segment(2));
        assertCorrupt(2, 0, "segment missing between 0000000000000001.wal and 0000000000000003.wal");

        restore(images);
        WalConfig otherCluster = new WalConfig(dir, 12, 2, SEGMENT_BYTES, 2048);
        assertThatThrownBy(() -> new WalRecoveryScanner(fs, otherCluster).scan((r, s, o) -> { }))
                .isInstanceOf(WalIncompatibleException.class).hasMessageContaining("belongs to cluster 11");

        poke(2, 0, new byte[] {'X'});
        assertCorrupt(2, 0, "bad segment magic");
    }

    private static boolean allZero(byte[] bytes, int from, int to) {
        for (int i = from; i < to; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private void assertCorrupt(long seq, long offset, String detail) {
        assertThatThrownBy(this::recover)
                .isInstanceOf(WalCorruptionException.class)
                .hasMessageContaining(WalSegmentNames.fileName(seq) + " at offset " + offset)
                .hasMessageContaining(detail);
    }

    private static Placed firstIn(List<Placed> placed, long seq, int skip) {
        return placed.stream().filter(p -> p.sequence() == seq).skip(skip).findFirst().orElseThrow();
    }

    private static Placed lastIn(List<Placed> placed, long seq) {
        return placed.stream().filter(p -> p.sequence() == seq).reduce((a, b) -> b).orElseThrow();
    }

    private Path[] copySegments() throws IOException {
        List<String> names = fs.list(dir);
        Path backup = Files.createDirectory(dir.resolve("backup"));
        List<Path> copies = new ArrayList<>();
        for (String name : names) {
            if (WalSegmentNames.parseSequence(name) >= 0) {
                copies.add(Files.copy(dir.resolve(name), backup.resolve(name)));
            }
        }
        return copies.toArray(Path[]::new);
    }

    private void restore(Path[] copies) throws IOException {
        for (Path copy : copies) {
            Files.copy(copy, dir.resolve(copy.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }
}

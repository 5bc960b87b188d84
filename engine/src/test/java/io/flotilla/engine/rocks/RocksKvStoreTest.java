package io.flotilla.engine.rocks;

import static io.flotilla.engine.kv.KvStoreContents.keys;
import static io.flotilla.engine.kv.KvStoreContents.records;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.flotilla.engine.kv.ApplyState;
import io.flotilla.engine.kv.GroupLimitException;
import io.flotilla.engine.kv.KvStore;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.router.KeySpace;
import io.flotilla.transport.snapshot.SnapshotSource;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The RocksDB store itself: durability with its WAL off, reopen, many column families, images, splits. */
class RocksKvStoreTest {
    /** Range 1 covers every key; a split at "m" leaves it {@link #LEFT} and makes range 2, {@link #RIGHT}. */
    private static final RangeDescriptor WHOLE = KeySpace.tile(1, 1, 1).get(0);
    private static final RangeDescriptor LEFT = WHOLE.toBuilder().setEndKey(b("m")).setEpoch(2).build();
    private static final RangeDescriptor RIGHT = WHOLE.toBuilder().setRangeId(2).setStartKey(b("m")).setEpoch(2).build();

    @TempDir
    Path dir;

    private RocksConfig config() {
        return new RocksConfig(dir, RocksConfig.DEFAULT_MAX_GROUPS, 32L << 20, 64L << 20, 1L << 20, 64L << 10, 1000, 2);
    }

    private static ByteString b(String s) {
        return ByteString.copyFromUtf8(s);
    }

    private static ApplyState state(RangeDescriptor range, long index) {
        return new ApplyState(index, 0, range);
    }

    private static void write(KvStore store, RangeDescriptor range, long index, String key, String value) {
        try (KvStore.GroupWrite w = store.beginWrite(range.getRangeId())) {
            w.put(b(key), b(value));
            w.commit(state(range, index));
        }
    }

    @Test
    void reopenRecoversTheDurableIndexAndLosesOnlyWhatTheRaftLogReplays() throws IOException {
        RangeDescriptor range = KeySpace.tile(1, 1, 1, 2, 3).get(0);
        try (RocksKvStore store = RocksKvStore.open(config())) {
            store.createGroups(List.of(ApplyState.initial(range)));
            write(store, range, 1, "a", "1");
            write(store, range, 2, "b", "2");
            assertThat(store.durableIndex(1)).isZero();
            store.flushAll();
            assertThat(store.durableIndex(1)).isEqualTo(2);
            write(store, range, 3, "c", "3");
            assertThat(store.applyState(1).appliedIndex()).isEqualTo(3);
            assertThat(store.durableIndex(1)).isEqualTo(2);
        }
        try (RocksKvStore store = RocksKvStore.open(config())) {
            assertThat(store.applyState(1).appliedIndex()).isEqualTo(2);
            assertThat(store.durableIndex(1)).isEqualTo(2);
            assertThat(store.get(1, b("b"))).isEqualTo(b("2"));
            assertThat(store.get(1, b("c"))).as("after the last flush: the Raft log replays it").isNull();
            assertThat(store.read(1, b("a")).appliedIndex()).isEqualTo(2);
        }
    }

    @Test
    void aRequestedFlushMakesTheGroupDurableOffTheCallersThread() throws IOException {
        RangeDescriptor range = KeySpace.tile(1, 7, 1).get(0);
        try (RocksKvStore store = RocksKvStore.open(config())) {
            store.createGroups(List.of(ApplyState.initial(range)));
            for (int i = 1; i <= 50; i++) {
                write(store, range, i, "k" + i, "v" + i);
            }
            store.requestDurable(7);
            waitUntil(() -> store.durableIndex(7) == 50, "durable index 50");
            store.requestDurable(99);
        }
    }

    @Test
    void aThousandRangesBootstrapInOneCallAndReopenQuickly() throws IOException {
        List<RangeDescriptor> ranges = KeySpace.tile(1024, 1, 1, 2, 3);
        List<ApplyState> initial = ranges.stream().map(ApplyState::initial).toList();
        long bootstrapMs;
        try (RocksKvStore store = RocksKvStore.open(config())) {
            long start = System.nanoTime();
            store.createGroups(initial);
            bootstrapMs = (System.nanoTime() - start) / 1_000_000;
            assertThat(store.groupCount()).isEqualTo(1024);
            for (RangeDescriptor r : ranges.subList(0, 64)) {
                write(store, r, 1, "x", "y");
            }
        }
        long reopenStart = System.nanoTime();
        try (RocksKvStore store = RocksKvStore.open(config())) {
            long reopenMs = (System.nanoTime() - reopenStart) / 1_000_000;
            System.out.printf("rocks-cf: 1024 column families: bootstrap (one createColumnFamilies call + initial states in one synced batch) %d ms, "
                    + "reopen %d ms (store's own open %d ms)%n", bootstrapMs, reopenMs, store.openMs());
            assertThat(store.groupIds()).hasSize(1024);
            assertThat(store.applyState(1024).descriptor()).isEqualTo(ranges.get(1023));
            assertThat(store.applyState(1).appliedIndex()).as("never flushed: back to the bootstrap state").isZero();
            // Creating them again is nothing to do.
            store.createGroups(initial);
            assertThat(store.groupCount()).isEqualTo(1024);
        }
    }

    @Test
    void dropIsIdempotentAndSurvivesReopen() throws IOException {
        List<RangeDescriptor> ranges = KeySpace.tile(3, 1, 1);
        try (RocksKvStore store = RocksKvStore.open(config())) {
            store.createGroups(ranges.stream().map(ApplyState::initial).toList());
            store.dropGroup(2);
            store.dropGroup(2);
            store.dropGroup(77);
            assertThat(store.groupIds()).containsExactly(1L, 3L);
            assertThat(store.read(2, b("a"))).isNull();
        }
        try (RocksKvStore store = RocksKvStore.open(config())) {
            assertThat(store.groupIds()).containsExactly(1L, 3L);
            store.dropGroup(2);
        }
    }

    @Test
    void anImageReplacesTheGroupAsItsNextGenerationAndSurvivesReopen() throws IOException {
        RangeDescriptor range = KeySpace.tile(1, 5, 1).get(0);
        Path image = dir.resolve("image");
        RocksConfig other = new RocksConfig(dir.resolve("other"), 16, 8L << 20, 16L << 20, 1L << 20, 64L << 10, 100, 1);
        try (RocksKvStore source = RocksKvStore.open(other)) {
            source.createGroups(List.of(ApplyState.initial(range)));
            write(source, range, 1, "a", "from-image");
            write(source, range, 2, "b", "from-image");
            try (SnapshotSource.Reader reader = source.exportImage(5)) {
                ByteBuffer bytes = ByteBuffer.allocate((int) reader.totalBytes());
                // In uneven chunks, as the channel reads it.
                for (int offset = 0; offset < bytes.capacity(); offset += 1000) {
                    reader.read(offset, bytes.slice(offset, Math.min(1000, bytes.capacity() - offset)));
                }
                assertThat(reader.checksum()).isEqualTo(crc32c(bytes.array()));
                Files.write(image, bytes.array());
            }
            assertThat(listTree(other.tempDirectory())).as("the export is deleted when its reader closes").isEmpty();
        }
        try (RocksKvStore store = RocksKvStore.open(config())) {
            store.createGroups(List.of(ApplyState.initial(range)));
            write(store, range, 1, "a", "local");
            write(store, range, 2, "c", "local");
            ApplyState imported = store.importImage(5, image);
            assertThat(imported.appliedIndex()).isEqualTo(2);
            assertThat(store.durableIndex(5)).isEqualTo(2);
            assertThat(store.get(5, b("a"))).isEqualTo(b("from-image"));
            assertThat(store.get(5, b("c"))).isNull();
            write(store, range, 3, "d", "after");
            assertThatThrownBy(() -> store.importImage(6, image)).isInstanceOf(IOException.class)
                    .hasMessageContaining("range 5, not 6");
        }
        try (RocksKvStore store = RocksKvStore.open(config())) {
            assertThat(store.groupIds()).containsExactly(5L);
            assertThat(store.get(5, b("b"))).isEqualTo(b("from-image"));
            assertThat(store.applyState(5).appliedIndex()).isEqualTo(2);
        }
    }

    @Test
    void aDamagedImageIsRefusedAndChangesNothing() throws IOException {
        RangeDescriptor range = KeySpace.tile(1, 5, 1).get(0);
        Path image = dir.resolve("image");
        Files.write(image, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        try (RocksKvStore store = RocksKvStore.open(config())) {
            store.createGroups(List.of(ApplyState.initial(range)));
            write(store, range, 1, "a", "kept");
            assertThatThrownBy(() -> store.importImage(5, image)).isInstanceOf(IOException.class)
                    .hasMessageContaining("not a directory image");
            assertThat(store.get(5, b("a"))).isEqualTo(b("kept"));
        }
    }

    /** Range 1 with keys a, c, m, z and a session record, applied up to index 4. */
    private static void fillWhole(KvStore store) {
        store.createGroups(List.of(ApplyState.initial(WHOLE)));
        write(store, WHOLE, 1, "a", "1");
        write(store, WHOLE, 2, "m", "2");
        try (KvStore.GroupWrite w = store.beginWrite(1)) {
            w.put(b("z"), b("3"));
            w.putMeta(b("session/7"), b("answer"));
            w.commit(state(WHOLE, 3));
        }
        write(store, WHOLE, 4, "c", "4");
    }

    @Test
    void aSplitDividesTheKeysAndTheChildIsDurableWhenItReturns() throws IOException {
        ApplyState child = state(RIGHT, 4);
        try (RocksKvStore store = RocksKvStore.open(config())) {
            fillWhole(store);
            assertThat(store.split(1, child)).isEqualTo(child);
            // The parent's own apply of the split.
            try (KvStore.GroupWrite w = store.beginWrite(1)) {
                w.deleteRange(b("m"), ByteString.EMPTY);
                w.commit(state(LEFT, 5));
            }
            assertThat(keys(store, 1)).containsExactly("a", "c");
            assertThat(keys(store, 2)).containsExactly("m", "z");
            assertThat(store.get(2, b("m"))).isEqualTo(b("2"));
            assertThat(records(store, 2)).as("the sessions go with the child").containsExactly(Map.entry("session/7", "answer"));
            assertThat(store.applyState(2)).isEqualTo(child);
            assertThat(store.durableIndex(2)).isEqualTo(4);
            assertThat(listTree(config().tempDirectory())).as("the split's export is gone").isEmpty();
        }
        // Closed without a flush (nor does the close flush): only what split made durable is left.
        try (RocksKvStore store = RocksKvStore.open(config())) {
            assertThat(store.groupIds()).containsExactly(1L, 2L);
            assertThat(store.applyState(2)).isEqualTo(child);
            assertThat(store.durableIndex(2)).isEqualTo(4);
            assertThat(keys(store, 2)).containsExactly("m", "z");
            assertThat(records(store, 2)).containsExactly(Map.entry("session/7", "answer"));
            assertThat(store.dropUnfinishedSplits()).isEmpty();
            assertThat(store.applyState(1)).as("the parent's apply of the split was lost; its log replays it")
                    .isEqualTo(state(WHOLE, 4));
            assertThat(store.split(1, child)).as("and the split replayed finds the child made").isEqualTo(child);
            assertThat(keys(store, 2)).containsExactly("m", "z");
        }
    }

    @Test
    void aChildBoundedOnBothSidesKeepsOnlyTheKeysOfItsInterval() throws IOException {
        RangeDescriptor middle = WHOLE.toBuilder().setRangeId(3).setStartKey(b("b")).setEndKey(b("n")).setEpoch(2).build();
        try (RocksKvStore store = RocksKvStore.open(config())) {
            fillWhole(store);
            store.split(1, state(middle, 4));
            assertThat(keys(store, 3)).containsExactly("c", "m");
            assertThat(keys(store, 1)).as("the parent is left as it is").containsExactly("a", "c", "m", "z");
        }
    }

    @Test
    void aSplitAppliedAgainFindsTheChildMadeAndChangesNothing() throws IOException {
        try (RocksKvStore store = RocksKvStore.open(config())) {
            fillWhole(store);
            store.split(1, state(RIGHT, 4));
            write(store, RIGHT, 5, "n", "child's own");
            assertThat(store.split(1, state(RIGHT, 4))).isEqualTo(state(RIGHT, 5));
            assertThat(keys(store, 2)).containsExactly("m", "n", "z");
            assertThat(store.applyState(2)).isEqualTo(state(RIGHT, 5));
            assertThat(store.groupIds()).containsExactly(1L, 2L);
        }
    }

    /**
     * What a crash between the import of the child's family and its flush leaves: the parent's
     * files and apply state under the child's name. Made here by writing them into range 2's family.
     */
    private static void halfMadeChild(KvStore store, String childOnlyKey) {
        store.createGroups(List.of(ApplyState.initial(RIGHT)));
        try (KvStore.GroupWrite w = store.beginWrite(2)) {
            for (String key : List.of("a", "c", "m", "z", childOnlyKey)) {
                w.put(b(key), b("half made"));
            }
            w.commit(state(WHOLE, 4));
        }
    }

    @Test
    void aChildLeftHalfMadeIsDroppedAtStartAndTheSplitMakesItAgain() throws IOException {
        try (RocksKvStore store = RocksKvStore.open(config())) {
            fillWhole(store);
            halfMadeChild(store, "x");
            store.flushAll();
        }
        try (RocksKvStore store = RocksKvStore.open(config())) {
            assertThat(store.applyState(2).groupId()).isEqualTo(1);
            assertThat(store.dropUnfinishedSplits()).containsExactly(2L);
            assertThat(store.groupIds()).containsExactly(1L);
            assertThat(store.dropUnfinishedSplits()).isEmpty();
            assertThat(store.split(1, state(RIGHT, 4))).isEqualTo(state(RIGHT, 4));
            assertThat(keys(store, 2)).containsExactly("m", "z");
        }
        try (RocksKvStore store = RocksKvStore.open(config())) {
            assertThat(store.dropUnfinishedSplits()).isEmpty();
            assertThat(store.applyState(2)).isEqualTo(state(RIGHT, 4));
            assertThat(keys(store, 2)).containsExactly("m", "z");
            assertThat(store.get(2, b("m"))).as("the parent's value, not the half-made one").isEqualTo(b("2"));
        }
    }

    @Test
    void aSplitAppliedAgainRemakesAChildLeftHalfMade() throws IOException {
        try (RocksKvStore store = RocksKvStore.open(config())) {
            fillWhole(store);
            halfMadeChild(store, "x");
            assertThat(store.split(1, state(RIGHT, 4))).isEqualTo(state(RIGHT, 4));
            assertThat(keys(store, 2)).containsExactly("m", "z");
            assertThat(store.get(2, b("z"))).isEqualTo(b("3"));
            assertThat(store.durableIndex(2)).isEqualTo(4);
            assertThat(store.groupIds()).containsExactly(1L, 2L);
        }
        try (RocksKvStore store = RocksKvStore.open(config())) {
            assertThat(store.dropUnfinishedSplits()).isEmpty();
            assertThat(keys(store, 2)).containsExactly("m", "z");
        }
    }

    @Test
    void aSplitIntoAFullStoreIsRefusedAndLeavesNothing() throws IOException {
        try (RocksKvStore store = RocksKvStore.open(config().withMaxGroups(1))) {
            fillWhole(store);
            assertThatThrownBy(() -> store.split(1, state(RIGHT, 4))).isInstanceOf(GroupLimitException.class);
            assertThat(store.groupIds()).containsExactly(1L);
            assertThat(listTree(config().tempDirectory())).isEmpty();
        }
    }

    @Test
    void deleteRangeInARoundRemovesTheUserKeysOfItsIntervalAndSurvivesReopen() throws IOException {
        try (RocksKvStore store = RocksKvStore.open(config())) {
            store.createGroups(List.of(ApplyState.initial(WHOLE)));
            try (KvStore.GroupWrite w = store.beginWrite(1)) {
                for (String key : List.of("a", "b", "c", "d", "e")) {
                    w.put(b(key), b("v"));
                }
                w.putMeta(b("c"), b("a record, not a user key"));
                w.commit(state(WHOLE, 1));
            }
            // In a round's shared batch: RocksDB would refuse the whole batch for a reversed interval.
            try (KvStore.RoundWrite round = store.beginRound()) {
                KvStore.GroupWrite w = round.group(1);
                w.deleteRange(b("b"), b("d"));
                w.deleteRange(b("e"), b("a"));
                w.commit(state(WHOLE, 2));
                round.commit();
            }
            assertThat(keys(store, 1)).as("[b, d) gone; an interval that ends before it starts is empty")
                    .containsExactly("a", "d", "e");
            assertThat(records(store, 1)).containsExactly(Map.entry("c", "a record, not a user key"));
            store.flushAll();
        }
        try (RocksKvStore store = RocksKvStore.open(config())) {
            assertThat(keys(store, 1)).as("the range tombstone is flushed with the batch").containsExactly("a", "d", "e");
            assertThat(records(store, 1)).containsOnlyKeys("c");
        }
    }


    @Test
    void theNativeLibraryIsMappedFromADataDirectoryNotFromTmp() throws IOException {
        try (RocksKvStore store = RocksKvStore.open(config())) {
            // Loaded once per process, from the lib/ directory of the first store opened in it.
            List<String> mapped = Files.readAllLines(Path.of("/proc/self/maps")).stream()
                    .filter(line -> line.contains("librocksdbjni")).toList();
            assertThat(mapped).isNotEmpty().allMatch(line -> line.contains("/lib/librocksdbjni"))
                    .noneMatch(line -> line.contains(" /tmp/librocksdbjni"));
        }
    }

    private static int crc32c(byte[] bytes) {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(bytes);
        return (int) crc.getValue();
    }

    private static List<Path> listTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(root)) {
            return new ArrayList<>(walk.filter(Files::isRegularFile).toList());
        }
    }

    private static void waitUntil(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            LockSupport.parkNanos(5_000_000);
        }
    }
}

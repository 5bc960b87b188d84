package io.flotilla.engine.rocks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.flotilla.engine.kv.ApplyState;
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
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The RocksDB store itself: durability with its WAL off, reopen, many column families, images. */
class RocksKvStoreTest {
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

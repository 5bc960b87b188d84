package io.flotilla.engine.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.RangeDescriptor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Ranges split on their own: by size, and by load at the median key of their requests. */
class AutoSplitTest {
    @TempDir
    Path dir;

    private static FlotillaClient client(TestCluster cluster) {
        return FlotillaClient.builder()
                .seeds("127.0.0.1:" + cluster.clientAddress(1).getPort(), "127.0.0.1:" + cluster.clientAddress(2).getPort())
                .clusterId(TestCluster.CLUSTER_ID)
                .requestTimeout(Duration.ofSeconds(15))
                .build();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The newest descriptor of every range, over the running nodes (see {@link SplitCheckTest#currentRanges}). */
    private static List<RangeDescriptor> ranges(TestCluster cluster) {
        return SplitCheckTest.currentRanges(cluster);
    }

    @Test
    void aRangePastTheSizeLimitSplitsAtItsMiddleKey() throws Exception {
        // A 128 KiB limit; 600 values of 1 KiB make about 600 KiB in one range (RocksDB's estimate of
        // what still sits in memtables is lower: 237 KiB for these).
        try (TestCluster cluster = new TestCluster(dir, 1).withSplitPolicy(new SplitPolicy(128 << 10, 0, 1)).startAll();
                FlotillaClient client = client(cluster)) {
            cluster.awaitLeader(1);
            // Random values: RocksDB's size estimate counts compressed files, and zeros compress to nothing.
            java.util.SplittableRandom random = new java.util.SplittableRandom(7);
            List<CompletableFuture<Void>> puts = new ArrayList<>();
            for (int i = 0; i < 600; i++) {
                byte[] value = new byte[1024];
                for (int b = 0; b < value.length; b++) {
                    value[b] = (byte) random.nextInt();
                }
                puts.add(client.put(utf8(String.format("key-%04d", i)), value));
            }
            CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).join();
            TestCluster.await(30_000, "a split by size", () -> ranges(cluster).size() >= 2);
            RangeDescriptor first = ranges(cluster).stream().filter(r -> r.getStartKey().isEmpty()).findFirst().orElseThrow();
            String splitKey = first.getEndKey().toStringUtf8();
            assertThat(splitKey).as("a key of the range, not a boundary guessed from nothing: %s", ranges(cluster))
                    .startsWith("key-");
            int at = Integer.parseInt(splitKey.substring(4));
            assertThat(at).as("near the middle by size").isBetween(100, 500);
            for (int i = 0; i < 600; i += 37) {
                assertThat(client.sync().get(utf8(String.format("key-%04d", i)))).hasSize(1024);
            }
        }
    }

    @Test
    void aBusyRangeSplitsAtTheMedianKeyOfItsLoad() throws Exception {
        // 150 writes/s for 2 s in a row makes a range split; the writers aim at keys a.. and z.. only.
        try (TestCluster cluster = new TestCluster(dir, 1).withSplitPolicy(new SplitPolicy(0, 150, 2)).startAll();
                FlotillaClient client = client(cluster)) {
            cluster.awaitLeader(1);
            long deadline = System.nanoTime() + 20_000_000_000L;
            int n = 0;
            while (ranges(cluster).size() < 2 && System.nanoTime() < deadline) {
                List<CompletableFuture<Void>> puts = new ArrayList<>();
                for (int i = 0; i < 50; i++, n++) {
                    String key = (n % 2 == 0 ? "a" : "z") + String.format("%06d", n);
                    puts.add(client.put(utf8(key), utf8("v")));
                }
                CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).join();
            }
            List<RangeDescriptor> ranges = ranges(cluster);
            assertThat(ranges).as("split by load within 20 s").hasSizeGreaterThanOrEqualTo(2);
            RangeDescriptor first = ranges.stream().filter(r -> r.getStartKey().isEmpty()).findFirst().orElseThrow();
            String splitKey = first.getEndKey().toStringUtf8();
            assertThat(splitKey).as("a sampled key of the load, between its two halves").matches("[az][0-9]{6}");
            assertThat(client.sync().get(utf8("a000000"))).isEqualTo(utf8("v"));
            assertThat(client.sync().get(utf8("z000001"))).isEqualTo(utf8("v"));
        }
    }

    @Test
    void aRangeSplitsAtItsMiddleKeyWhenAskedWithoutOne() throws Exception {
        try (TestCluster cluster = new TestCluster(dir, 1).startAll(); FlotillaClient client = client(cluster)) {
            cluster.awaitLeader(1);
            assertThatThrownBy(() -> client.splitRangeAtMiddle(new byte[0]).join())
                    .hasCauseInstanceOf(io.flotilla.client.InvalidArgumentException.class)
                    .hasMessageContaining("fewer than two keys");
            List<CompletableFuture<Void>> puts = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                puts.add(client.put(utf8(String.format("key-%03d", i)), new byte[100]));
            }
            CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).join();
            io.flotilla.kv.proto.SplitRangeResponse split = client.splitRangeAtMiddle(utf8("key-007")).join();
            int at = Integer.parseInt(split.getRight().getStartKey().toStringUtf8().substring(4));
            assertThat(at).as("the middle of 100 equal keys").isBetween(45, 55);
            assertThat(split.getLeft().getEndKey()).isEqualTo(split.getRight().getStartKey());
        }
    }
}

package io.flotilla.tools;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.client.FlotillaClient;
import io.flotilla.engine.kv.CrashPoints;
import io.flotilla.kv.proto.NodeStatusResponse;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.RangeStatus;
import io.flotilla.router.KeySpace;
import io.flotilla.router.MetaRange;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A split interrupted by a crash at each of its steps is redone from the log: three node processes
 * with one range hold acknowledged writes; every node runs with {@code flotilla.crash-at} armed at
 * one point of the split ({@link CrashPoints}) and halts when it applies the split there (nodes
 * that never get that far are killed with SIGKILL); all three restart without it. Then every node
 * must hold exactly the two ranges the split made, tiling the key space, every acknowledged write
 * must read back, and both ranges must take writes.
 */
class SplitCrashTest {
    private static final int KEYS = 200;

    @org.junit.jupiter.api.io.TempDir
    Path dir;

    private LocalClusterProcesses processes;

    @AfterEach
    void stopCluster() throws Exception {
        if (processes != null) {
            processes.stop(5_000);
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String key(int i) {
        return String.format("key-%04d", i);
    }

    @ParameterizedTest
    @ValueSource(strings = {CrashPoints.SPLIT_CHILD_IMPORTED, CrashPoints.SPLIT_CHILD_WRITTEN, CrashPoints.SPLIT_CHILD_MADE,
            CrashPoints.SPLIT_APPLIED})
    void aSplitCrashedAtThisStepIsRedoneFromTheLogAtRestart(String crashPoint) throws Exception {
        LocalClusterLayout layout = new LocalClusterLayout(dir.resolve("cluster"), 3, TestPorts.freeBase(3), 4545, 1);
        layout.save();
        PrintStream log = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        processes = new LocalClusterProcesses(layout, log, true, List.of("-Dflotilla.crash-at=" + crashPoint));
        processes.start(60_000);
        try (FlotillaClient client = client(layout)) {
            List<CompletableFuture<Void>> puts = new ArrayList<>();
            for (int i = 0; i < KEYS; i++) {
                puts.add(client.put(utf8(key(i)), utf8("v" + i)));
            }
            CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).join();
            // The split is answered only if the leader survives its apply, which it does not here.
            client.splitRange(utf8(key(KEYS / 2)));
            awaitTrue(() -> runningNodes() < 3, "a node crashed at " + crashPoint, 30);
            // The others may reach the point too, once they learn the split committed; those that
            // do not within a few seconds are killed below.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (runningNodes() > 0 && System.nanoTime() < deadline) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
            }
        }
        for (int i = 1; i <= 3; i++) {
            Optional<ProcessHandle> node = processes.running(i);
            if (node.isPresent()) {
                node.get().destroyForcibly();
                node.get().onExit().get(10, TimeUnit.SECONDS);
            }
        }

        processes = new LocalClusterProcesses(layout, log, true);
        processes.start(60_000);
        try (FlotillaClient client = client(layout)) {
            awaitTrue(() -> everyNodeHoldsTwoRanges(client, layout), "every node holds both ranges of the split", 60);
            List<RangeDescriptor> ranges = ranges(client, layout.clientAddress(1));
            assertThat(ranges).hasSize(2);
            assertThat(ranges.get(0).getStartKey().isEmpty()).isTrue();
            assertThat(ranges.get(0).getEndKey().toStringUtf8()).isEqualTo(key(KEYS / 2));
            assertThat(ranges.get(1).getStartKey()).isEqualTo(ranges.get(0).getEndKey());
            assertThat(ranges.get(1).getEndKey().isEmpty()).isTrue();
            int lost = 0;
            for (int i = 0; i < KEYS; i++) {
                byte[] v = client.sync().get(utf8(key(i)));
                if (v == null || !new String(v, StandardCharsets.UTF_8).equals("v" + i)) {
                    lost++;
                }
            }
            client.sync().put(utf8(key(0)), utf8("after"));
            client.sync().put(utf8(key(KEYS - 1)), utf8("after"));
            System.out.printf("split-crash: crashed at %s, split redone at restart: %d ranges, %d of %d writes lost%n",
                    crashPoint, ranges.size(), lost, KEYS);
            assertThat(lost).isZero();
        }
    }

    private static FlotillaClient client(LocalClusterLayout layout) {
        return FlotillaClient.builder().seeds(layout.clientAddresses().toArray(String[]::new)).clusterId(layout.clusterId())
                .requestTimeout(Duration.ofSeconds(20)).build();
    }

    private int runningNodes() {
        int n = 0;
        for (int i = 1; i <= 3; i++) {
            try {
                n += processes.running(i).isPresent() ? 1 : 0;
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return n;
    }

    /** The ranges node {@code address} holds, in key order, by their newest descriptors. */
    private static List<RangeDescriptor> ranges(FlotillaClient client, String address) {
        NodeStatusResponse status = client.nodeStatus(address).join();
        List<RangeDescriptor> ranges = new ArrayList<>();
        for (RangeStatus r : status.getRangeStatusList()) {
            if (!MetaRange.isMeta(r.getRange())) {
                ranges.add(r.getRange());
            }
        }
        ranges.sort(Comparator.comparing(RangeDescriptor::getStartKey, KeySpace::compare));
        return ranges;
    }

    private static boolean everyNodeHoldsTwoRanges(FlotillaClient client, LocalClusterLayout layout) {
        try {
            for (int i = 1; i <= 3; i++) {
                List<RangeDescriptor> ranges = ranges(client, layout.clientAddress(i));
                if (ranges.size() != 2 || !ranges.get(0).getEndKey().equals(ranges.get(1).getStartKey())) {
                    return false;
                }
            }
            return true;
        } catch (RuntimeException notYet) {
            return false;
        }
    }

    private static void awaitTrue(java.util.function.BooleanSupplier condition, String what, int seconds) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("%s within %d s", what, seconds).isLessThan(deadline);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
        }
    }
}

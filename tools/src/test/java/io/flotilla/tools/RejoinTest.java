package io.flotilla.tools;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.NodeStatusResponse;
import io.flotilla.kv.proto.RangeStatus;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A follower whose data directory is deleted rejoins, as new replicas (same node id), while writes
 * continue: three node processes, a writer putting distinct keys; node 3 is killed with SIGKILL and
 * its directory deleted; {@code LocalClusterProcesses} restarts it with {@code --join}. Every range
 * must then replace node 3's old replica with a new one that installs a snapshot (RocksDB SST files)
 * and becomes a voter again. Then node 1 is killed: every range must keep committing with nodes 2
 * and 3 only, so node 3 is a working voter everywhere, and every acknowledged write must still be
 * read back.
 */
class RejoinTest {
    private static final int RANGES = 8;

    @TempDir
    Path dir;

    private LocalClusterProcesses processes;
    private volatile boolean stop;
    private final Set<String> acked = ConcurrentHashMap.newKeySet();
    private final AtomicLong writes = new AtomicLong();

    @AfterEach
    void stopCluster() throws Exception {
        stop = true;
        if (processes != null) {
            processes.stop(5_000);
        }
    }

    @Test
    void aNodeWhoseDataDirectoryWasDeletedRejoinsBySnapshotWhileWritesContinue() throws Exception {
        LocalClusterLayout layout = new LocalClusterLayout(dir.resolve("cluster"), 3, TestPorts.freeBase(3), 4343, RANGES);
        layout.save();
        PrintStream log = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        processes = new LocalClusterProcesses(layout, log, true);
        processes.start(60_000);

        try (FlotillaClient client = FlotillaClient.builder().seeds(layout.clientAddresses().toArray(String[]::new))
                .clusterId(layout.clusterId()).requestTimeout(Duration.ofSeconds(4)).build()) {
            Thread writer = new Thread(() -> write(client), "writer");
            writer.start();
            awaitWrites(300);

            ProcessHandle node3 = processes.running(3).orElseThrow();
            node3.destroyForcibly();
            node3.onExit().get(10, TimeUnit.SECONDS);
            deleteRecursively(layout.nodeDir(3));
            awaitWrites(200); // two nodes keep serving

            processes.start(60_000);
            long writesBeforeRejoin = writes.get();
            Path pending = layout.nodeDir(3).resolve("rejoin.pending");
            try {
                awaitTrue(() -> Files.exists(layout.nodeDir(3).resolve("cluster.properties")) && !Files.exists(pending),
                        "node 3 rejoined every range (its rejoin mark removed)", 90);
            } catch (AssertionError notRejoined) {
                for (int node = 1; node <= 3; node++) {
                    System.out.printf("node %d's log ends:%n%s%n", node, processes.logTail(node, 60));
                }
                throw notRejoined;
            }
            assertThat(writes.get()).as("writes acknowledged while node 3 rejoined").isGreaterThan(writesBeforeRejoin);

            NodeStatusResponse status = client.nodeStatus(layout.clientAddress(3)).get(5, TimeUnit.SECONDS);
            assertThat(status.getRanges()).as("ranges node 3 holds again").isEqualTo(RANGES);
            assertThat(status.getSnapshotsInstalled()).as("node 3 caught up by a snapshot per range")
                    .isGreaterThanOrEqualTo(RANGES);
            for (RangeStatus r : status.getRangeStatusList()) {
                assertThat(r.getAppliedIndex()).as("range %d applied on node 3", r.getRange().getRangeId()).isPositive();
            }

            // With node 1 gone, every range needs node 3's vote and acknowledgement to commit.
            ProcessHandle node1 = processes.running(1).orElseThrow();
            node1.destroyForcibly();
            node1.onExit().get(10, TimeUnit.SECONDS);
            awaitWrites(200);
            stop = true;
            writer.join(30_000);
            assertThat(writer.isAlive()).isFalse();

            for (String key : acked) {
                byte[] value = readUntilAnswered(client, key);
                assertThat(value).as("acknowledged write of %s", key).isNotNull();
                assertThat(new String(value, StandardCharsets.UTF_8)).isEqualTo("v-" + key);
            }
            System.out.printf("rejoin: %d acknowledged writes, node 3 rejoined %d ranges by %d snapshots, 0 lost%n",
                    acked.size(), status.getRanges(), status.getSnapshotsInstalled());
        }
    }

    /** Puts distinct keys until told to stop; remembers the acknowledged ones. */
    private void write(FlotillaClient client) {
        for (long n = 0; !stop; n++) {
            String key = String.format("key-%02x-%d", n % 251, n);
            try {
                client.put(key.getBytes(StandardCharsets.UTF_8), ("v-" + key).getBytes(StandardCharsets.UTF_8)).join();
                acked.add(key);
                writes.incrementAndGet();
            } catch (RuntimeException unknownOutcome) {
                // Not acknowledged: nothing is promised about it.
            }
        }
    }

    private void awaitWrites(long more) {
        long target = writes.get() + more;
        awaitTrue(() -> writes.get() >= target, more + " more writes acknowledged", 60);
    }

    private static void awaitTrue(java.util.function.BooleanSupplier condition, String what, int seconds) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("%s within %d s", what, seconds).isLessThan(deadline);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
    }

    private static byte[] readUntilAnswered(FlotillaClient client, String key) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        RuntimeException last = null;
        while (System.nanoTime() < deadline) {
            try {
                return client.get(key.getBytes(StandardCharsets.UTF_8)).join();
            } catch (RuntimeException e) {
                last = e;
            }
        }
        throw new AssertionError("no read of " + key + " succeeded within 30 s", last);
    }

    private static void deleteRecursively(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}

package io.flotilla.tools;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.check.CheckResult;
import io.flotilla.check.LinearizabilityChecker;
import io.flotilla.check.Operation;
import io.flotilla.client.CasResult;
import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.NodeStatusResponse;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 3-process cluster under a write workload through the Java client while nodes are killed with
 * SIGKILL: the leader-heaviest node, then another single node (a minority), then all three at once;
 * each is restarted. Afterwards every acknowledged write must be present exactly once, and the
 * register histories must be linearizable.
 *
 * <p>Two workloads run side by side. Appenders: each owns one key whose value is the list of its
 * appended numbers ({@code "1;2;3;"}), extended by compare-and-set from the value it last saw, so a
 * lost write shows as a missing number. A write applied twice shows too: the second apply of a
 * compare-and-set fails its condition, so a session that failed to deduplicate a retry answers
 * "failed, the current value is exactly what you wrote"; this test counts every such answer as a
 * duplicate. Registers: clients put, compare-and-set and read a few shared keys with unique
 * values, checked by the project's linearizability checker (unknown outcomes included).
 *
 * <p>Prints {@code crash-check: <acked> acknowledged writes, <lost> lost, <duplicated> duplicated}.
 */
class CrashCheckTest {
    private static final int APPENDERS = 4;
    private static final int REGISTER_CLIENTS = 4;
    private static final int REGISTERS = 3;
    /** The faults are paced by progress, not time: the workload acknowledges this many writes between them. */
    private static final long WRITES_BETWEEN_FAULTS = 600;

    @TempDir
    Path dir;

    private LocalClusterProcesses processes;
    private volatile boolean stop;
    private final List<Operation> history = Collections.synchronizedList(new ArrayList<>());
    private final AtomicLong duplicated = new AtomicLong();
    private final AtomicLong acked = new AtomicLong();

    @AfterEach
    void stopCluster() throws Exception {
        if (processes != null) {
            processes.stop(5_000);
        }
    }

    @Test
    void acknowledgedWritesSurviveKillsOfALeaderAMinorityAndEveryNode() throws Exception {
        LocalClusterLayout layout = new LocalClusterLayout(dir.resolve("cluster"), 3, TestPorts.freeBase(3), 4242, 8);
        layout.save();
        PrintStream log = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        processes = new LocalClusterProcesses(layout, log, true);
        processes.start(60_000);

        try (FlotillaClient client = FlotillaClient.builder().seeds(layout.clientAddresses().toArray(String[]::new))
                .clusterId(layout.clusterId()).requestTimeout(Duration.ofSeconds(4)).build()) {
            List<Set<Long>> ackedByAppender = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int a = 0; a < APPENDERS; a++) {
                Set<Long> mine = Collections.synchronizedSet(new HashSet<>());
                ackedByAppender.add(mine);
                int id = a;
                threads.add(started("appender-" + a, () -> append(client, id, mine)));
            }
            for (int c = 0; c < REGISTER_CLIENTS; c++) {
                int id = c;
                threads.add(started("registers-" + c, () -> registers(client, id)));
            }

            awaitAcknowledged(WRITES_BETWEEN_FAULTS);
            killAndRestart(layout, client, List.of(leaderHeaviest(layout, client)));
            awaitAcknowledged(WRITES_BETWEEN_FAULTS);
            killAndRestart(layout, client, List.of(2));
            awaitAcknowledged(WRITES_BETWEEN_FAULTS);
            killAndRestart(layout, client, List.of(1, 2, 3));
            awaitAcknowledged(WRITES_BETWEEN_FAULTS);
            stop = true;
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(30));
                assertThat(t.isAlive()).as(t.getName() + " stopped").isFalse();
            }

            long lost = 0;
            for (int a = 0; a < APPENDERS; a++) {
                List<Long> present = parse(readUntilAnswered(client, appendKey(a)));
                Set<Long> seen = new HashSet<>();
                for (long n : present) {
                    if (!seen.add(n)) {
                        duplicated.incrementAndGet();
                    }
                }
                for (long n : ackedByAppender.get(a)) {
                    if (!seen.contains(n)) {
                        lost++;
                    }
                }
            }
            System.out.printf("crash-check: %d acknowledged writes, %d lost, %d duplicated%n", acked.get(), lost,
                    duplicated.get());
            CheckResult linearizable = LinearizabilityChecker.check(new ArrayList<>(history));
            assertThat(acked.get()).as("writes acknowledged").isGreaterThan(50);
            assertThat(lost).as("acknowledged writes lost").isZero();
            assertThat(duplicated.get()).as("writes applied twice").isZero();
            assertThat(linearizable.ok()).as(linearizable.detail()).isTrue();
        }
    }

    private static String appendKey(int appender) {
        return "append-" + appender;
    }

    /** One appender: extends its key's list with 1, 2, 3, ... by compare-and-set, until told to stop. */
    private void append(FlotillaClient client, int id, Set<Long> ackedNumbers) {
        byte[] key = appendKey(id).getBytes(StandardCharsets.UTF_8);
        String current = "";
        boolean currentKnown = true;
        for (long n = 1; !stop; n++) {
            while (!stop) {
                if (!currentKnown) {
                    String read = readOnce(client, appendKey(id));
                    if (read == null) {
                        continue;
                    }
                    current = read.equals("\0") ? "" : read;
                    currentKnown = true;
                    if (parse(current).contains(n)) {
                        break; // an attempt whose outcome was unknown did apply
                    }
                }
                String next = current + n + ";";
                try {
                    CasResult r = client.compareAndSet(key, current.isEmpty() ? null : bytes(current), bytes(next)).join();
                    if (r.succeeded()) {
                        ackedNumbers.add(n);
                        acked.incrementAndGet();
                        current = next;
                        break;
                    }
                    String now = r.currentValue() == null ? "" : new String(r.currentValue(), StandardCharsets.UTF_8);
                    if (now.equals(next)) {
                        // This very call's write is there, yet the call says its condition failed:
                        // the write was applied, then applied again by a retry that was not deduplicated.
                        duplicated.incrementAndGet();
                        ackedNumbers.add(n);
                        acked.incrementAndGet();
                    }
                    current = now;
                    if (parse(now).contains(n)) {
                        break;
                    }
                } catch (RuntimeException unknownOutcome) {
                    currentKnown = false;
                }
            }
        }
    }

    /** One register client: random puts, compare-and-sets and reads of a few shared keys. */
    private void registers(FlotillaClient client, int id) {
        SplittableRandom random = new SplittableRandom(id);
        for (int i = 0; !stop; i++) {
            String key = "register-" + random.nextInt(REGISTERS);
            String value = "c" + id + "-" + i;
            int kind = random.nextInt(3);
            String expected = kind == 2 ? "c" + random.nextInt(REGISTER_CLIENTS) + "-" + random.nextInt(Math.max(1, i)) : null;
            long call = System.nanoTime();
            try {
                if (kind == 0) {
                    client.put(bytes(key), bytes(value)).join();
                    history.add(Operation.write(id, key, value, call, System.nanoTime()));
                } else if (kind == 1) {
                    byte[] got = client.get(bytes(key)).join();
                    history.add(Operation.read(id, key, got == null ? null : new String(got, StandardCharsets.UTF_8), call,
                            System.nanoTime()));
                } else {
                    CasResult r = client.compareAndSet(bytes(key), bytes(expected), bytes(value)).join();
                    history.add(Operation.cas(id, key, expected, value, r.succeeded(), call, System.nanoTime()));
                }
            } catch (RuntimeException unknownOutcome) {
                // A failed read constrains nothing; a failed write may still apply at any later time.
                if (kind == 0) {
                    history.add(Operation.unknownWrite(id, key, value, call));
                } else if (kind == 2) {
                    history.add(Operation.unknownCas(id, key, expected, value, call));
                }
            }
        }
    }

    private static Thread started(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.start();
        return t;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static List<Long> parse(String list) {
        List<Long> numbers = new ArrayList<>();
        for (String part : list.split(";")) {
            if (!part.isEmpty()) {
                numbers.add(Long.parseLong(part));
            }
        }
        return numbers;
    }

    /** The key's value ("\0" if absent), or null if the read failed. */
    private static String readOnce(FlotillaClient client, String key) {
        try {
            byte[] v = client.get(bytes(key)).join();
            return v == null ? "\0" : new String(v, StandardCharsets.UTF_8);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static String readUntilAnswered(FlotillaClient client, String key) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            String v = readOnce(client, key);
            if (v != null) {
                return v.equals("\0") ? "" : v;
            }
        }
        throw new AssertionError("no read of " + key + " succeeded within 60 s after the workload");
    }

    private int leaderHeaviest(LocalClusterLayout layout, FlotillaClient client) {
        int best = 1;
        int most = -1;
        for (int i = 1; i <= layout.nodes(); i++) {
            try {
                NodeStatusResponse s = client.nodeStatus(layout.clientAddress(i)).get(5, TimeUnit.SECONDS);
                if (s.getLeaders() > most) {
                    most = s.getLeaders();
                    best = i;
                }
            } catch (Exception e) {
                // A node that does not answer leads nothing we can see.
            }
        }
        return best;
    }

    private void killAndRestart(LocalClusterLayout layout, FlotillaClient client, List<Integer> nodes) throws Exception {
        for (int node : nodes) {
            Optional<ProcessHandle> p = processes.running(node);
            assertThat(p).as("node " + node + " runs before it is killed").isPresent();
            p.get().destroyForcibly();
            p.get().onExit().get(10, TimeUnit.SECONDS);
        }
        if (nodes.size() < layout.nodes()) {
            // A minority is down: the others must keep acknowledging writes before it comes back.
            awaitAcknowledged(WRITES_BETWEEN_FAULTS / 2);
        }
        processes.start(60_000);
    }

    /** Waits until the workload has acknowledged {@code more} writes beyond those so far. */
    private void awaitAcknowledged(long more) {
        long target = acked.get() + more;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (acked.get() < target) {
            assertThat(System.nanoTime()).as("%d more writes acknowledged within 60 s (%d so far)", more, acked.get())
                    .isLessThan(deadline);
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
    }
}

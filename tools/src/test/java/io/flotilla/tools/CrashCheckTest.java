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
 * <p>The workload is {@link AppendRegisterWorkload}: appenders (a lost or doubled write shows as a
 * missing or repeated number) and registers checked for linearizability.
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
    private final AppendRegisterWorkload workload = new AppendRegisterWorkload(APPENDERS, REGISTER_CLIENTS, REGISTERS,
            a -> "append-" + a, r -> "register-" + r);

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
            workload.start(client);
            workload.awaitAcknowledged(WRITES_BETWEEN_FAULTS);
            killAndRestart(layout, client, List.of(leaderHeaviest(layout, client)));
            workload.awaitAcknowledged(WRITES_BETWEEN_FAULTS);
            killAndRestart(layout, client, List.of(2));
            workload.awaitAcknowledged(WRITES_BETWEEN_FAULTS);
            killAndRestart(layout, client, List.of(1, 2, 3));
            workload.awaitAcknowledged(WRITES_BETWEEN_FAULTS);
            AppendRegisterWorkload.Result r = workload.stopAndCheck(client);
            System.out.printf("crash-check: %d acknowledged writes, %d lost, %d duplicated%n", r.acked(), r.lost(),
                    r.duplicated());
            System.out.print(r.errorReport());
            assertThat(r.acked()).as("writes acknowledged").isGreaterThan(50);
            assertThat(r.lost()).as("acknowledged writes lost").isZero();
            assertThat(r.duplicated()).as("writes applied twice").isZero();
            assertThat(r.linearizable().ok()).as(r.linearizable().detail()).isTrue();
        }
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
            workload.awaitAcknowledged(WRITES_BETWEEN_FAULTS / 2);
        }
        processes.start(60_000);
    }
}

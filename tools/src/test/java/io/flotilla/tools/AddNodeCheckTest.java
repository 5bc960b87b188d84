package io.flotilla.tools;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.ListMovesResponse;
import io.flotilla.kv.proto.NodePlacement;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fourth node joins a loaded three-node cluster of 64 ranges with {@code flotilla add-node}: the
 * balancer moves replicas to it until every node holds within 10% of the mean; then
 * {@code flotilla decommission 1} drains node 1, the meta range's replica included, some ranges
 * going back to nodes they left; all the while the append/register workload runs — with no client
 * error, nothing lost, duplicated or illegal.
 */
class AddNodeCheckTest {
    private static final int RANGES = 64;

    @TempDir
    Path dir;

    private LocalClusterProcesses processes;

    @AfterEach
    void stopCluster() throws Exception {
        if (processes != null) {
            processes.stop(5_000);
        }
    }

    @Test
    void aFourthNodeTakesItsShareWithoutAClientError() throws Exception {
        Path data = dir.resolve("cluster");
        LocalClusterLayout layout = new LocalClusterLayout(data, 3, TestPorts.freeBase(4), 4444, RANGES);
        layout.save();
        PrintStream log = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        processes = new LocalClusterProcesses(layout, log, true);
        processes.start(60_000);
        AppendRegisterWorkload workload = new AppendRegisterWorkload(4, 4, 3, a -> (char) ('A' + 16 * a) + "append",
                r -> (char) ('C' + 16 * r) + "register");
        try (FlotillaClient client = FlotillaClient.builder().seeds(layout.clientAddresses().toArray(String[]::new))
                .clusterId(layout.clusterId()).requestTimeout(Duration.ofSeconds(10)).build()) {
            workload.start(client);
            workload.awaitAcknowledged(300);

            int exit = FlotillaCli.run("add-node", "--data-dir", data.toString(), "--wait-ms", "240000");
            // The new node is a process of the test's cluster too: stopped with the others.
            processes = new LocalClusterProcesses(layout.withNodeAdded(), log, true);
            assertThat(exit).as("flotilla add-node's exit code").isZero();
            ListMovesResponse moves = client.listMoves().join();
            workload.awaitAcknowledged(100);

            // Then node 1 is drained, under the same workload: its replica of the meta range moves
            // too, and ranges that moved from node 2 or 3 to node 4 go back there (a range returns
            // to a node it left).
            long drainStart = System.nanoTime();
            int drained = FlotillaCli.run("decommission", "1", "--data-dir", data.toString(), "--wait-ms", "240000");
            long drainMs = (System.nanoTime() - drainStart) / 1_000_000;
            if (drained != 0) {
                FlotillaCli.run("moves", "--data-dir", data.toString());
                FlotillaCli.run("status", "--data-dir", data.toString());
            }
            assertThat(drained).as("flotilla decommission 1's exit code").isZero();
            workload.awaitAcknowledged(100);
            AppendRegisterWorkload.Result r = workload.stopAndCheck(client);
            System.out.printf("add-node-check: node 1 drained, the meta range's replica included, in %d ms (%s)%n", drainMs,
                    counts(client.listMoves().join()));
            System.out.printf("add-node-check: %s, %d lost, %d duplicated, %d illegal, %d client errors%n",
                    counts(moves), r.lost(), r.duplicated(), r.linearizable().ok() ? 0 : 1, r.errors());
            System.out.print(r.errorReport());
            assertThat(Rebalancing.balanced(moves, 4)).as(counts(moves)).isTrue();
            assertThat(r.lost()).isZero();
            assertThat(r.duplicated()).isZero();
            assertThat(r.linearizable().ok()).as(r.linearizable().detail()).isTrue();
            assertThat(r.errors()).as("client errors while the node joined and left:%n%s", r.errorReport()).isZero();
        }
    }

    private static String counts(ListMovesResponse moves) {
        StringBuilder b = new StringBuilder("replicas per node");
        for (NodePlacement p : moves.getNodesList()) {
            b.append(' ').append(p.getNodeId()).append('=').append(p.getReplicas());
        }
        return b.toString();
    }
}

package io.flotilla.engine.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.client.FlotillaClient;
import io.flotilla.client.InvalidArgumentException;
import io.flotilla.kv.proto.UpdateSettingsRequest;
import io.flotilla.router.RouteTable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Draining a node ({@code flotilla decommission}): the balancer moves every replica off it, its
 * leaderships with them, and the node ends up holding nothing while the data stays readable. Nodes
 * holding the meta range, and drains that would leave fewer than three nodes, are refused.
 */
class DecommissionTest {
    private static final int RANGES = 8;

    @TempDir
    Path dir;

    @Test
    void aDrainedNodeEndsUpHoldingNothing() throws Exception {
        try (TestCluster cluster = new TestCluster(dir, RANGES, 4).startAll();
                FlotillaClient client = FlotillaClient.builder()
                        .seeds("127.0.0.1:" + cluster.clientAddress(1).getPort())
                        .clusterId(TestCluster.CLUSTER_ID).requestTimeout(Duration.ofSeconds(30)).retryBudget(200).build()) {
            for (long r = 1; r <= RANGES; r++) {
                cluster.awaitLeader(r);
                MoveTest.awaitRecorded(cluster, r);
            }
            for (int i = 0; i < 64; i++) {
                client.put(key(i), ("v" + i).getBytes(StandardCharsets.UTF_8)).join();
            }
            assertThat(cluster.node(4).stateMachine().ranges()).isNotEmpty();

            client.updateSettings(UpdateSettingsRequest.newBuilder().setDrainNodeId(4).build()).join();
            TestCluster.await(120_000, "node 4 holding no replica", () -> cluster.node(4).stateMachine().ranges().isEmpty());
            TestCluster.await(30_000, "the meta range recording no replica on node 4", () -> cluster.node(1).stateMachine()
                    .recordedRanges().stream().noneMatch(d -> RouteTable.hasReplicaOn(d, 4)));
            for (int i = 0; i < 64; i++) {
                assertThat(client.get(key(i)).join()).isEqualTo(("v" + i).getBytes(StandardCharsets.UTF_8));
            }
            // The meta range's nodes stay, and three nodes must remain for the ranges' replicas.
            assertThatThrownBy(() -> client.updateSettings(UpdateSettingsRequest.newBuilder().setDrainNodeId(2).build())
                    .join()).isInstanceOf(CompletionException.class).hasCauseInstanceOf(InvalidArgumentException.class)
                    .hasMessageContaining("meta range");
        }
    }

    private static byte[] key(int i) {
        return new byte[] {(byte) (i * 4), 'k', (byte) i};
    }
}

package io.flotilla.engine.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.client.FlotillaClient;
import io.flotilla.client.InvalidArgumentException;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.UpdateSettingsRequest;
import io.flotilla.router.MetaRange;
import io.flotilla.router.RouteTable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Draining a node ({@code flotilla decommission}): the balancer moves every replica off it, its
 * leaderships with them, and the node ends up holding nothing while the data stays readable. That
 * holds for a node holding (and leading) the meta range too: its replica moves like the others.
 * Drains that would leave fewer than three nodes are refused.
 */
class DecommissionTest {
    private static final int RANGES = 8;

    @TempDir
    Path dir;

    @Test
    void aDrainedNodeEndsUpHoldingNothing() throws Exception {
        try (TestCluster cluster = settled(new TestCluster(dir, RANGES, 4).startAll());
                FlotillaClient client = client(cluster, 1)) {
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
            // Three nodes must remain for the ranges' replicas.
            assertThatThrownBy(() -> client.updateSettings(UpdateSettingsRequest.newBuilder().setDrainNodeId(2).build())
                    .join()).isInstanceOf(CompletionException.class).hasCauseInstanceOf(InvalidArgumentException.class)
                    .hasMessageContaining("fewer than 3 nodes");
        }
    }

    @Test
    void aNodeLeadingTheMetaRangeIsDrainedAndTheClusterFindsTheMetaRangeElsewhere() throws Exception {
        try (TestCluster cluster = settled(new TestCluster(dir, RANGES, 4).startAll());
                FlotillaClient client = client(cluster, 2)) {
            long metaLeader = cluster.awaitLeader(MetaRange.ID);
            if (metaLeader != 1) {
                cluster.node(metaLeader).runtime().transferLeader(MetaRange.ID, 1, LeadershipHandoff.IGNORE);
                TestCluster.await(10_000, "node 1 leading the meta range",
                        () -> cluster.node(1).runtime().groupView(MetaRange.ID).leading());
            }
            for (int i = 0; i < 64; i++) {
                client.put(key(i), ("v" + i).getBytes(StandardCharsets.UTF_8)).join();
            }

            client.updateSettings(UpdateSettingsRequest.newBuilder().setDrainNodeId(1).build()).join();
            TestCluster.await(120_000, "node 1 holding no replica, the meta range's included",
                    () -> cluster.node(1).stateMachine().allRanges().isEmpty());
            for (long id = 2; id <= 4; id++) {
                FlotillaNode node = cluster.node(id);
                TestCluster.await(10_000, "node " + id + " applying node 1's removal from the meta range", () -> node
                        .stateMachine().descriptor(MetaRange.ID).getReplicasList().stream()
                        .map(ReplicaDescriptor::getNodeId).sorted().toList().equals(List.of(2L, 3L, 4L)));
            }
            TestCluster.await(30_000, "the meta range recording no replica on node 1", () -> cluster.node(2).stateMachine()
                    .recordedRanges().stream().noneMatch(d -> RouteTable.hasReplicaOn(d, 1)));
            for (int i = 0; i < 64; i++) {
                assertThat(client.get(key(i)).join()).isEqualTo(("v" + i).getBytes(StandardCharsets.UTF_8));
            }

            // A client that knows only node 1, which holds nothing now, learns from it where the meta range went.
            try (FlotillaClient viaNode1 = client(cluster, 1)) {
                viaNode1.put(key(100), "after".getBytes(StandardCharsets.UTF_8)).join();
                assertThat(viaNode1.listMoves().join().getSettings().getDrainingNodeIdsList()).containsExactly(1L);
            }

            // Node 1 restarts holding nothing, instead of re-creating the ranges it was made with.
            cluster.stop(1);
            cluster.start(1);
            assertThat(cluster.node(1).stateMachine().allRanges()).isEmpty();
            assertThat(client.get(key(100)).join()).isEqualTo("after".getBytes(StandardCharsets.UTF_8));
        }
    }

    /** {@code cluster}, once every range has a leader and is recorded in the meta range. */
    private static TestCluster settled(TestCluster cluster) {
        try {
            for (long r = 1; r <= RANGES; r++) {
                cluster.awaitLeader(r);
                MoveTest.awaitRecorded(cluster, r);
            }
            return cluster;
        } catch (RuntimeException | AssertionError e) {
            cluster.close();
            throw e;
        }
    }

    /** A client that knows only node {@code seed}. */
    private static FlotillaClient client(TestCluster cluster, long seed) {
        return FlotillaClient.builder().seeds("127.0.0.1:" + cluster.clientAddress(seed).getPort())
                .clusterId(TestCluster.CLUSTER_ID).requestTimeout(Duration.ofSeconds(30)).retryBudget(200).build();
    }

    private static byte[] key(int i) {
        return new byte[] {(byte) (i * 4), 'k', (byte) i};
    }
}

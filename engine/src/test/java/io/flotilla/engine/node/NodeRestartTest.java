package io.flotilla.engine.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.GetRequest;
import io.flotilla.kv.proto.PutRequest;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReadConsistency;
import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.Response;
import io.flotilla.multiraft.GroupView;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nodes stopped gracefully and started again on their data directories: a stopped node hands its
 * leaderships away first, a restarted node recovers its ranges and their data from its log, and a
 * whole cluster restarted at once serves what was written before.
 */
class NodeRestartTest {
    @TempDir
    Path dir;

    private static ByteString key(String s) {
        return ByteString.copyFrom(s, StandardCharsets.UTF_8);
    }

    private static Response put(TestCluster cluster, long node, RangeDescriptor range, String k, String v, long seq)
            throws Exception {
        try (TestKvClient client = new TestKvClient(cluster.clientAddress(node))) {
            return client.call(Request.newBuilder().setHeader(cluster.header(range).setClientId(3).setSequence(seq)
                    .setFirstUnackedSequence(seq)).setPut(PutRequest.newBuilder().setKey(key(k)).setValue(key(v))));
        }
    }

    private static Response get(TestCluster cluster, long node, RangeDescriptor range, String k, ReadConsistency c)
            throws Exception {
        try (TestKvClient client = new TestKvClient(cluster.clientAddress(node))) {
            return client.call(Request.newBuilder().setHeader(cluster.header(range).setConsistency(c))
                    .setGet(GetRequest.newBuilder().setKey(key(k))));
        }
    }

    @Test
    void aRestartedNodeRecoversItsRangesAndTheirData() throws Exception {
        try (TestCluster cluster = new TestCluster(dir).startAll()) {
            RangeDescriptor range = cluster.rangeOf(key("fig"));
            long leader = cluster.awaitLeader(range.getRangeId());
            assertThat(put(cluster, leader, range, "fig", "green", 1).hasPut()).isTrue();
            assertThat(put(cluster, leader, range, "fig", "purple", 2).hasPut()).isTrue();

            // Stop the leader: it hands its leaderships over first, so the others lead every range at once.
            List<RangeDescriptor> ranges = cluster.node(leader).stateMachine().ranges();
            cluster.stop(leader);
            for (RangeDescriptor r : ranges) {
                long l = cluster.awaitLeader(r.getRangeId());
                assertThat(l).isNotEqualTo(leader);
            }

            FlotillaNode restarted = cluster.start(leader);
            assertThat(restarted.stateMachine().ranges()).isEqualTo(ranges);
            assertThat(restarted.stateMachine().get(range.getRangeId(), key("fig")).getValue()).isEqualTo(key("purple"));
            Response follower = get(cluster, leader, range, "fig", ReadConsistency.FOLLOWER);
            assertThat(follower.getGet().getValue()).isEqualTo(key("purple"));

            // It catches up with writes made while it was down, and serves linearizable reads again.
            long now = cluster.awaitLeader(range.getRangeId());
            assertThat(put(cluster, now, range, "fig", "black", 3).hasPut()).isTrue();
            TestCluster.await(5_000, "the restarted node to apply the new write",
                    () -> restarted.stateMachine().get(range.getRangeId(), key("fig")).getValue().equals(key("black")));
            assertThat(get(cluster, leader, range, "fig", ReadConsistency.LINEARIZABLE).getGet().getValue())
                    .isEqualTo(key("black"));
        }
    }

    @Test
    void aWholeClusterRestartedAtOnceServesWhatWasWritten() throws Exception {
        RangeDescriptor range;
        try (TestCluster cluster = new TestCluster(dir).startAll()) {
            range = cluster.rangeOf(key("grape"));
            long leader = cluster.awaitLeader(range.getRangeId());
            assertThat(put(cluster, leader, range, "grape", "white", 1).hasPut()).isTrue();
        }
        try (TestCluster cluster = new TestCluster(dir)) {
            // The ports are new, so the data directories are reused with a new address list.
            cluster.startAll();
            long leader = cluster.awaitLeader(range.getRangeId());
            GroupView view = cluster.node(leader).runtime().groupView(range.getRangeId());
            assertThat(view.term()).isGreaterThan(1);
            Response got = get(cluster, leader, range, "grape", ReadConsistency.LINEARIZABLE);
            assertThat(got.getGet().getValue()).as("answered %s", got).isEqualTo(key("white"));
        }
    }

    @Test
    void aNodeHosting1024RangesRestartsWithEveryRangeAndServesThem() throws Exception {
        List<String> keys = List.of("\u0001first", "middle", "\u00ffzz-last");
        try (TestCluster cluster = new TestCluster(dir, 1024).startAll()) {
            assertThat(cluster.node(1).stateMachine().ranges()).hasSize(1024);
            long seq = 1;
            for (String k : keys) {
                RangeDescriptor range = cluster.rangeOf(key(k));
                long leader = cluster.awaitLeader(range.getRangeId());
                assertThat(put(cluster, leader, range, k, "v-" + k, seq++).hasPut()).isTrue();
            }

            cluster.stop(2);
            FlotillaNode restarted = cluster.start(2);
            assertThat(restarted.stateMachine().ranges()).hasSize(1024);
            TestCluster.await(30_000, "node 2 to host every range again",
                    () -> restarted.stateMachine().ranges().stream()
                            .allMatch(r -> restarted.runtime().groupView(r.getRangeId()) != null));
            for (String k : keys) {
                RangeDescriptor range = cluster.rangeOf(key(k));
                TestCluster.await(10_000, "node 2 to serve " + k, () -> {
                    try {
                        Response got = get(cluster, 2, range, k, ReadConsistency.FOLLOWER);
                        return got.hasGet() && got.getGet().getValue().equals(key("v-" + k));
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                });
            }
        }
    }
}

package io.flotilla.engine.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.PutRequest;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.RequestHeader;
import io.flotilla.kv.proto.Response;
import io.flotilla.kv.proto.RouteLookupRequest;
import io.flotilla.kv.proto.RouteLookupResponse;
import io.flotilla.kv.proto.RouteSource;
import io.flotilla.multiraft.GroupView;
import io.flotilla.router.KeySpace;
import io.flotilla.router.MetaRange;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The meta range on a real three-node cluster: it is made on the first three nodes, records every
 * range once the ranges have leaders, records both sides of a split, goes on recording after its
 * leader's node stops, answers route lookups (leader or follower, marked as such), and refuses
 * user requests.
 */
class MetaRangeTest {
    @TempDir
    Path dir;

    private static FlotillaClient client(TestCluster cluster, long... nodes) {
        String[] seeds = new String[nodes.length];
        for (int i = 0; i < nodes.length; i++) {
            seeds[i] = "127.0.0.1:" + cluster.clientAddress(nodes[i]).getPort();
        }
        return FlotillaClient.builder().seeds(seeds).clusterId(TestCluster.CLUSTER_ID)
                .requestTimeout(Duration.ofSeconds(15)).build();
    }

    /** Whether {@code ranges} tile the whole key space, in key order, with no gap and no overlap. */
    static boolean tilesKeySpace(List<RangeDescriptor> ranges) {
        List<RangeDescriptor> sorted = new ArrayList<>(ranges);
        sorted.sort(Comparator.comparing(RangeDescriptor::getStartKey, KeySpace::compare));
        ByteString next = ByteString.EMPTY;
        for (int i = 0; i < sorted.size(); i++) {
            RangeDescriptor r = sorted.get(i);
            if (!r.getStartKey().equals(next) || (r.getEndKey().isEmpty() && i != sorted.size() - 1)) {
                return false;
            }
            next = r.getEndKey();
        }
        return !sorted.isEmpty() && next.isEmpty();
    }

    /** Whether every running replica of the meta range has recorded exactly {@code expected}. */
    private static boolean recordedEverywhere(TestCluster cluster, List<RangeDescriptor> expected) {
        for (long id = 1; id <= 3; id++) {
            FlotillaNode n = cluster.node(id);
            if (n != null && !sameRanges(n.stateMachine().recordedRanges(), expected)) {
                return false;
            }
        }
        return true;
    }

    private static boolean sameRanges(List<RangeDescriptor> a, List<RangeDescriptor> b) {
        return a.size() == b.size() && a.containsAll(b);
    }

    private static long metaLeader(TestCluster cluster) {
        for (long id = 1; id <= 3; id++) {
            FlotillaNode n = cluster.node(id);
            GroupView view = n == null ? null : n.runtime().groupView(MetaRange.ID);
            if (view != null && view.leading()) {
                return id;
            }
        }
        return 0;
    }

    private static RouteLookupResponse lookup(TestCluster cluster, long node) throws Exception {
        try (TestKvClient c = new TestKvClient(cluster.clientAddress(node))) {
            Response r = c.call(Request.newBuilder()
                    .setHeader(RequestHeader.newBuilder().setClusterId(TestCluster.CLUSTER_ID))
                    .setRouteLookup(RouteLookupRequest.getDefaultInstance()));
            return r.getRouteLookup();
        }
    }

    @Test
    void recordsEveryRangeAndEverySplitAndAnswersLookups() throws Exception {
        try (TestCluster cluster = new TestCluster(dir).startAll()) {
            for (long id = 1; id <= 3; id++) {
                assertThat(cluster.node(id).stateMachine().descriptor(MetaRange.ID)).as("node %d holds the meta range", id)
                        .isNotNull();
                assertThat(cluster.node(id).stateMachine().ranges()).hasSize(TestCluster.RANGES);
            }
            List<RangeDescriptor> initial = cluster.node(1).stateMachine().ranges();
            TestCluster.await(30_000, "every range recorded in the meta range", () -> recordedEverywhere(cluster, initial));

            TestCluster.await(10_000, "a meta range leader", () -> metaLeader(cluster) != 0);
            int leaders = 0;
            for (long id = 1; id <= 3; id++) {
                RouteLookupResponse routes = lookup(cluster, id);
                assertThat(routes.getSource()).as("node %d's lookup source", id)
                        .isIn(RouteSource.META_LEADER, RouteSource.META_FOLLOWER);
                leaders += routes.getSource() == RouteSource.META_LEADER ? 1 : 0;
                assertThat(routes.getMetaRange().getReplicasList()).extracting(ReplicaDescriptor::getNodeId)
                        .containsExactly(1L, 2L, 3L);
                assertThat(routes.getNodesList()).hasSize(3);
                assertThat(tilesKeySpace(routes.getRangesList())).isTrue();
            }
            assertThat(leaders).as("answers from the meta range's leader").isLessThanOrEqualTo(1);
            long leader = metaLeader(cluster);

            try (FlotillaClient client = client(cluster, 1, 2, 3)) {
                var split = client.splitRange("m".getBytes(StandardCharsets.UTF_8)).get();
                var repeated = client.splitRange("m".getBytes(StandardCharsets.UTF_8)).get();
                assertThat(repeated.getAlreadySplit()).as("a repeated split changes nothing").isTrue();
                assertThat(repeated.getRight()).isEqualTo(split.getRight());
                assertThat(repeated.getLeft()).isEqualTo(split.getLeft());
                assertThat(split.getAlreadySplit()).isFalse();
                TestCluster.await(30_000, "both sides of the split recorded", () -> {
                    List<RangeDescriptor> recorded = cluster.node(leader).stateMachine().recordedRanges();
                    return recorded.contains(split.getLeft()) && recorded.contains(split.getRight())
                            && tilesKeySpace(recorded);
                });

                // The meta range's leader goes: the others elect one and recording goes on.
                cluster.stop(leader);
                var again = client.splitRange("t".getBytes(StandardCharsets.UTF_8)).get();
                TestCluster.await(30_000, "the second split recorded without node " + leader, () -> {
                    for (long id = 1; id <= 3; id++) {
                        FlotillaNode n = cluster.node(id);
                        if (n == null) {
                            continue;
                        }
                        List<RangeDescriptor> recorded = n.stateMachine().recordedRanges();
                        if (!recorded.contains(again.getLeft()) || !recorded.contains(again.getRight())
                                || !tilesKeySpace(recorded)) {
                            return false;
                        }
                    }
                    return true;
                });
                assertThat(cluster.node(leader == 1 ? 2 : 1).stateMachine().recordedRanges())
                        .hasSize(TestCluster.RANGES + 2);
            }
        }
    }

    @Test
    void refusesUserRequests() throws Exception {
        try (TestCluster cluster = new TestCluster(dir).startAll()) {
            TestCluster.await(10_000, "a meta range leader", () -> metaLeader(cluster) != 0);
            long leader = metaLeader(cluster);
            RangeDescriptor meta = cluster.node(leader).stateMachine().descriptor(MetaRange.ID);
            try (TestKvClient c = new TestKvClient(cluster.clientAddress(leader))) {
                Response r = c.call(Request.newBuilder().setHeader(cluster.header(meta))
                        .setPut(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8("k")).setValue(ByteString.copyFromUtf8("v"))));
                assertThat(r.getError().hasInvalidArgument()).isTrue();
                assertThat(r.getError().getMessage()).contains("meta range");
            }
        }
    }
}

package io.flotilla.engine.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.GetRequest;
import io.flotilla.kv.proto.NodeStatusRequest;
import io.flotilla.kv.proto.PutRequest;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReadConsistency;
import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.Response;
import io.flotilla.kv.proto.RouteLookupRequest;
import io.flotilla.kv.proto.ScanRequest;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three nodes in this JVM over real sockets and real logs, driven through the client protocol by a
 * raw socket client: what a client sees from a leader, from a follower, and for each kind of bad
 * request; and that a malformed frame costs only its own connection.
 */
class NodeClusterTest {
    @TempDir
    static Path dir;

    static TestCluster cluster;

    @BeforeAll
    static void startCluster() throws Exception {
        cluster = new TestCluster(dir).startAll();
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static ByteString key(String s) {
        return ByteString.copyFrom(s, StandardCharsets.UTF_8);
    }

    private static Request.Builder put(RangeDescriptor range, ByteString key, ByteString value) {
        return Request.newBuilder().setHeader(cluster.header(range).setClientId(7).setSequence(1))
                .setPut(PutRequest.newBuilder().setKey(key).setValue(value));
    }

    private static Request.Builder get(RangeDescriptor range, ByteString key, ReadConsistency consistency) {
        return Request.newBuilder().setHeader(cluster.header(range).setConsistency(consistency))
                .setGet(GetRequest.newBuilder().setKey(key));
    }

    @Test
    void putThenGetThroughTheLeaderAndAFollowerRead() throws Exception {
        ByteString k = key("apple");
        RangeDescriptor range = cluster.rangeOf(k);
        long leader = cluster.awaitLeader(range.getRangeId());
        try (TestKvClient client = new TestKvClient(cluster.clientAddress(leader))) {
            Response put = client.call(Request.newBuilder().setHeader(cluster.header(range).setClientId(11).setSequence(1)
                    .setFirstUnackedSequence(1)).setPut(PutRequest.newBuilder().setKey(k).setValue(key("red"))));
            assertThat(put.hasPut()).as("put answered %s", put).isTrue();

            Response got = client.call(get(range, k, ReadConsistency.LINEARIZABLE));
            assertThat(got.getGet().getFound()).as("get answered %s", got).isTrue();
            assertThat(got.getGet().getValue()).isEqualTo(key("red"));
            assertThat(got.getGet().getReadAtIndex()).isPositive();

            Response lease = client.call(get(range, k, ReadConsistency.LEASE));
            assertThat(lease.getGet().getValue()).isEqualTo(key("red"));
        }
        long follower = leader % 3 + 1;
        try (TestKvClient client = new TestKvClient(cluster.clientAddress(follower))) {
            TestCluster.await(5_000, "the follower to apply the put", () -> {
                try {
                    return client.call(get(range, k, ReadConsistency.FOLLOWER)).getGet().getFound();
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            Response got = client.call(get(range, k, ReadConsistency.FOLLOWER));
            assertThat(got.getGet().getValue()).isEqualTo(key("red"));
            assertThat(got.getGet().getReadAtIndex()).isPositive();
        }
    }

    @Test
    void aRetriedWriteGetsItsFirstResult() throws Exception {
        ByteString k = key("retried");
        RangeDescriptor range = cluster.rangeOf(k);
        long leader = cluster.awaitLeader(range.getRangeId());
        try (TestKvClient client = new TestKvClient(cluster.clientAddress(leader))) {
            Request.Builder first = Request.newBuilder().setHeader(cluster.header(range).setClientId(99).setSequence(1)
                    .setFirstUnackedSequence(1)).setDelete(io.flotilla.kv.proto.DeleteRequest.newBuilder().setKey(k));
            assertThat(client.call(put(range, k, key("v")).setHeader(cluster.header(range).setClientId(98).setSequence(1)))
                    .hasPut()).isTrue();
            assertThat(client.call(first.clone()).getDelete().getExisted()).isTrue();
            // The same client id and sequence again: the session answers with the first result, not a second delete.
            assertThat(client.call(first.clone()).getDelete().getExisted()).isTrue();
        }
    }

    @Test
    void aFollowerAnswersNotLeaderNamingTheLeadersClientAddress() throws Exception {
        ByteString k = key("banana");
        RangeDescriptor range = cluster.rangeOf(k);
        long leader = cluster.awaitLeader(range.getRangeId());
        long follower = leader % 3 + 1;
        try (TestKvClient client = new TestKvClient(cluster.clientAddress(follower))) {
            Response r = client.call(put(range, k, key("yellow")));
            assertThat(r.getError().hasNotLeader()).as("answered %s", r).isTrue();
            assertThat(r.getError().getNotLeader().getLeaderNodeId()).isEqualTo(leader);
            assertThat(r.getError().getNotLeader().getLeader().getClientPort())
                    .isEqualTo(cluster.clientAddress(leader).getPort());
            assertThat(r.getError().getNotLeader().getLeader().getHost()).isEqualTo("127.0.0.1");
            assertThat(r.getError().getMessage()).contains("node " + leader);
        }
    }

    @Test
    void aKeyOverTheLimitIsRefusedBeforeAnythingIsProposed() throws Exception {
        byte[] big = new byte[65 << 10];
        big[0] = 'c';
        ByteString k = ByteString.copyFrom(big);
        RangeDescriptor range = cluster.rangeOf(k);
        long leader = cluster.awaitLeader(range.getRangeId());
        try (TestKvClient client = new TestKvClient(cluster.clientAddress(leader))) {
            long appliedBefore = client.call(get(range, key("c"), ReadConsistency.LINEARIZABLE)).getGet().getReadAtIndex();
            Response r = client.call(put(range, k, key("v")));
            assertThat(r.getError().hasTooLarge()).as("answered %s", r.getError().getMessage()).isTrue();
            assertThat(r.getError().getTooLarge().getLimit()).isEqualTo("key");
            assertThat(r.getError().getTooLarge().getSize()).isEqualTo(65 << 10);
            assertThat(r.getError().getTooLarge().getMax()).isEqualTo(64 << 10);

            Response get = client.call(get(range, k, ReadConsistency.LINEARIZABLE));
            assertThat(get.getError().hasTooLarge()).isTrue();

            // The next write is the next entry: the refused one took no index.
            assertThat(client.call(put(range, key("c-small"), key("v")).setHeader(cluster.header(range).setClientId(5)
                    .setSequence(1))).hasPut()).isTrue();
            long appliedAfter = client.call(get(range, key("c"), ReadConsistency.LINEARIZABLE)).getGet().getReadAtIndex();
            assertThat(appliedAfter).isEqualTo(appliedBefore + 1);
        }
    }

    @Test
    void unknownRangesStaleEpochsForeignClustersAndMisroutedKeysGetTypedErrors() throws Exception {
        ByteString k = key("cherry");
        RangeDescriptor range = cluster.rangeOf(k);
        long leader = cluster.awaitLeader(range.getRangeId());
        try (TestKvClient client = new TestKvClient(cluster.clientAddress(leader))) {
            Error notFound = client.call(put(range, k, key("v")).setHeader(cluster.header(range).setRangeId(9_999)))
                    .getError();
            assertThat(notFound.hasRangeNotFound()).as(notFound.getMessage()).isTrue();

            Error stale = client.call(put(range, k, key("v")).setHeader(cluster.header(range).setRangeEpoch(7))).getError();
            assertThat(stale.hasEpochMismatch()).as(stale.getMessage()).isTrue();
            assertThat(stale.getEpochMismatch().getRangesList()).containsExactly(range);

            Error foreign = client.call(put(range, k, key("v")).setHeader(cluster.header(range).setClusterId(1))).getError();
            assertThat(foreign.hasClusterMismatch()).as(foreign.getMessage()).isTrue();
            assertThat(foreign.getClusterMismatch().getNodeClusterId()).isEqualTo(TestCluster.CLUSTER_ID);

            ByteString elsewhere = ByteString.copyFrom(new byte[] {(byte) 0xff, 1});
            Error misrouted = client.call(put(range, elsewhere, key("v"))).getError();
            assertThat(misrouted.hasKeyNotInRange()).as(misrouted.getMessage()).isTrue();
            assertThat(misrouted.getKeyNotInRange().getRange()).isEqualTo(range);

            Error emptyRequest = client.call(Request.newBuilder().setHeader(cluster.header(range))).getError();
            assertThat(emptyRequest.hasInternal()).isTrue();
        }
    }

    @Test
    void aMalformedFrameClosesOnlyItsConnection() throws Exception {
        ByteString k = key("damson");
        RangeDescriptor range = cluster.rangeOf(k);
        long leader = cluster.awaitLeader(range.getRangeId());
        try (TestKvClient good = new TestKvClient(cluster.clientAddress(leader));
             TestKvClient garbage = new TestKvClient(cluster.clientAddress(leader));
             TestKvClient oversized = new TestKvClient(cluster.clientAddress(leader))) {
            CompletableFuture<Response> pendingOnGarbage = garbage.send(get(range, k, ReadConsistency.LINEARIZABLE));
            pendingOnGarbage.get(10, TimeUnit.SECONDS);
            garbage.sendRaw(ByteBuffer.allocate(12).putInt(8).putLong(0xFFFF_FFFF_FFFF_FFFFL).array());
            assertThat(garbage.awaitClosedByNode(5_000)).as("connection with a malformed frame closed").isTrue();

            oversized.sendRaw(ByteBuffer.allocate(8).putInt((32 << 20) + 1).putInt(0).array());
            assertThat(oversized.awaitClosedByNode(5_000)).as("connection with an oversized frame closed").isTrue();

            assertThat(good.call(put(range, k, key("purple"))).hasPut()).isTrue();
            assertThat(good.call(get(range, k, ReadConsistency.LINEARIZABLE)).getGet().getValue()).isEqualTo(key("purple"));
        }
    }

    @Test
    void pipelinedRequestsAreAllAnsweredByRequestId() throws Exception {
        ByteString prefix = key("elder-");
        RangeDescriptor range = cluster.rangeOf(prefix);
        long leader = cluster.awaitLeader(range.getRangeId());
        try (TestKvClient client = new TestKvClient(cluster.clientAddress(leader))) {
            List<CompletableFuture<Response>> puts = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                puts.add(client.send(Request.newBuilder()
                        .setHeader(cluster.header(range).setClientId(1_000).setSequence(i + 1).setFirstUnackedSequence(1))
                        .setPut(PutRequest.newBuilder().setKey(prefix.concat(key(String.format("%03d", i)))).setValue(key("x")))));
            }
            for (CompletableFuture<Response> f : puts) {
                assertThat(f.get(10, TimeUnit.SECONDS).hasPut()).isTrue();
            }
            Response scan = client.call(Request.newBuilder().setHeader(cluster.header(range))
                    .setScan(ScanRequest.newBuilder().setStartKey(prefix).setEndKey(key("elder.")).setLimit(150)));
            assertThat(scan.getScan().getEntriesCount()).as("scan %s", scan.getError().getMessage()).isEqualTo(150);
            assertThat(scan.getScan().getMore()).isTrue();
            assertThat(scan.getScan().getContinuationKey()).isEqualTo(prefix.concat(key("150")));
        }
    }

    @Test
    void routeLookupAndNodeStatusDescribeTheCluster() throws Exception {
        try (TestKvClient client = new TestKvClient(cluster.clientAddress(1))) {
            Response routes = client.call(Request.newBuilder()
                    .setHeader(io.flotilla.kv.proto.RequestHeader.newBuilder().setClusterId(TestCluster.CLUSTER_ID))
                    .setRouteLookup(RouteLookupRequest.getDefaultInstance()));
            assertThat(routes.getRouteLookup().getRangesCount()).isEqualTo(TestCluster.RANGES);
            assertThat(routes.getRouteLookup().getNodesList()).extracting(a -> a.getClientPort())
                    .containsExactly(cluster.clientAddress(1).getPort(), cluster.clientAddress(2).getPort(),
                            cluster.clientAddress(3).getPort());

            for (RangeDescriptor r : routes.getRouteLookup().getRangesList()) {
                cluster.awaitLeader(r.getRangeId());
            }
            Response status = client.call(Request.newBuilder()
                    .setHeader(io.flotilla.kv.proto.RequestHeader.newBuilder().setClusterId(TestCluster.CLUSTER_ID))
                    .setNodeStatus(NodeStatusRequest.getDefaultInstance()));
            var s = status.getNodeStatus();
            assertThat(s.getNodeId()).isEqualTo(1);
            assertThat(s.getRanges()).isEqualTo(TestCluster.RANGES);
            assertThat(s.getRangeStatusList()).allSatisfy(rs -> {
                assertThat(rs.getLeaderNodeId()).isBetween(1L, 3L);
                assertThat(rs.getTerm()).isPositive();
            });
            assertThat(s.getLeaders()).isEqualTo((int) s.getRangeStatusList().stream().filter(rs -> rs.getLeader()).count());
            assertThat(s.getProcessCpuNs()).isPositive();
            assertThat(s.getLogBatches()).isPositive();
            assertThat(s.getThreads()).isPositive();
            assertThat(s.getRequestsServed()).isPositive();
        }
    }
}

package io.flotilla.engine.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.client.FlotillaClient;
import io.flotilla.client.InvalidArgumentException;
import io.flotilla.kv.proto.BalancerSwitch;
import io.flotilla.kv.proto.ListMovesResponse;
import io.flotilla.kv.proto.MoveProgress;
import io.flotilla.kv.proto.MoveRecord;
import io.flotilla.kv.proto.MoveReplicaResponse;
import io.flotilla.kv.proto.MoveStep;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.UpdateSettingsRequest;
import io.flotilla.router.KeySpace;
import io.flotilla.router.RouteTable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Moving a replica between real nodes: the target joins, catches up by snapshot, is promoted, the
 * leaving replica hands off its leadership if it leads and is removed and dropped, and the range's
 * data is all there on its new replicas. Moves that make no sense are refused with a reason.
 */
class MoveTest {
    @TempDir
    Path dir;

    @Test
    void aReplicaMovesToANodeWithoutOneAndTheLeavingNodeDropsIt() throws Exception {
        try (TestCluster cluster = new TestCluster(dir, 4, 4).startAll();
                FlotillaClient client = FlotillaClient.builder()
                        .seeds("127.0.0.1:" + cluster.clientAddress(1).getPort())
                        .clusterId(TestCluster.CLUSTER_ID).requestTimeout(Duration.ofSeconds(30)).retryBudget(200).build()) {
            // Only the moves this test asks for (the balancer would even out what they unbalance).
            client.updateSettings(UpdateSettingsRequest.newBuilder().setBalancer(BalancerSwitch.BALANCER_OFF).build()).join();
            // Range 1 starts on nodes 1, 2, 3; node 4 holds none of it.
            RangeDescriptor range = cluster.node(1).stateMachine().descriptor(1);
            assertThat(RouteTable.hasReplicaOn(range, 4)).isFalse();
            long leader = cluster.awaitLeader(1);
            awaitRecorded(cluster, 1);
            byte[][] keys = new byte[200][];
            for (int i = 0; i < keys.length; i++) {
                keys[i] = keyIn(range, i);
                client.put(keys[i], ("v" + i).getBytes(StandardCharsets.UTF_8)).join();
            }

            // Move the leader's replica away: it must hand off its leadership first.
            MoveReplicaResponse started = client.moveReplica(1, leader, 4, "test").join();
            assertThat(started.getAlreadyMoving()).isFalse();
            assertThat(client.moveReplica(1, leader, 4, "test").join().getAlreadyMoving()).isTrue();

            MoveProgress outcome = awaitEnded(client, started.getMove());
            assertThat(outcome.getStep()).as(outcome.getMessage()).isEqualTo(MoveStep.MOVE_DONE);
            TestCluster.await(20_000, "node " + leader + " dropping its replica of range 1",
                    () -> cluster.node(leader).stateMachine().descriptor(1) == null);
            RangeDescriptor moved = cluster.node(4).stateMachine().descriptor(1);
            assertThat(RouteTable.hasReplicaOn(moved, 4)).isTrue();
            assertThat(RouteTable.hasReplicaOn(moved, leader)).isFalse();
            assertThat(moved.getReplicasCount()).isEqualTo(3);
            for (int i = 0; i < keys.length; i++) {
                assertThat(client.get(keys[i]).join()).isEqualTo(("v" + i).getBytes(StandardCharsets.UTF_8));
            }
            // The range comes back to the node it left: a new, empty replica there catches up by
            // snapshot (before, the node refused it for good: its old replica was tombstoned).
            long other = moved.getReplicas(0).getNodeId() == 4 ? moved.getReplicas(1).getNodeId() : moved.getReplicas(0).getNodeId();
            MoveReplicaResponse again = client.moveReplica(1, other, leader, "test").join();
            MoveProgress back = awaitEnded(client, again.getMove());
            assertThat(back.getStep()).as(back.getMessage()).isEqualTo(MoveStep.MOVE_DONE);
            TestCluster.await(20_000, "node " + other + " dropping its replica of range 1",
                    () -> cluster.node(other).stateMachine().descriptor(1) == null);
            TestCluster.await(20_000, "node " + leader + " applying range 1 again",
                    () -> cluster.node(leader).stateMachine().descriptor(1) != null);
            assertThat(RouteTable.hasReplicaOn(cluster.node(leader).stateMachine().descriptor(1), leader)).isTrue();
            for (int i = 0; i < keys.length; i++) {
                assertThat(client.get(keys[i]).join()).isEqualTo(("v" + i).getBytes(StandardCharsets.UTF_8));
            }
            // It survives its node's restart, and serves as the range's leader.
            cluster.stop(leader);
            cluster.start(leader);
            client.transferLeader(keys[0], leader).join();
            client.put(keys[0], "after".getBytes(StandardCharsets.UTF_8)).join();
            assertThat(client.get(keys[0]).join()).isEqualTo("after".getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void aMoveWhoseTargetRestartsBeforeItsSnapshotArrivesFinishes() throws Exception {
        try (TestCluster cluster = new TestCluster(dir, 4, 4).startAll();
                FlotillaClient client = FlotillaClient.builder()
                        .seeds("127.0.0.1:" + cluster.clientAddress(1).getPort())
                        .clusterId(TestCluster.CLUSTER_ID).requestTimeout(Duration.ofSeconds(30)).retryBudget(200).build()) {
            RangeDescriptor range = cluster.node(1).stateMachine().descriptor(1);
            cluster.awaitLeader(1);
            awaitRecorded(cluster, 1);
            byte[][] keys = fill(client, range, 48, 512 << 10);

            MoveRecord move = client.moveReplica(1, 3, 4, "test").join().getMove();
            TestCluster.await(20_000, "node 4 starting its empty replica of range 1",
                    () -> cluster.node(4).runtime().groupView(1) != null);
            // Stopped before the snapshot installed (24 MiB take longer than this check): its replica is empty.
            assertThat(cluster.node(4).stateMachine().descriptor(1)).isNull();
            cluster.stop(4);
            cluster.start(4);

            MoveProgress outcome = awaitEnded(client, move);
            assertThat(outcome.getStep()).as(outcome.getMessage()).isEqualTo(MoveStep.MOVE_DONE);
            assertHolds(client, keys);
            assertThat(RouteTable.hasReplicaOn(cluster.node(4).stateMachine().descriptor(1), 4)).isTrue();
        }
    }

    @Test
    void aMoveGoesOnWhenTheNodeDrivingItStops() throws Exception {
        try (TestCluster cluster = new TestCluster(dir, 4, 4).startAll();
                FlotillaClient client = FlotillaClient.builder()
                        .seeds("127.0.0.1:" + cluster.clientAddress(4).getPort())
                        .clusterId(TestCluster.CLUSTER_ID).requestTimeout(Duration.ofSeconds(30)).retryBudget(200).build()) {
            // Range 2 lives on nodes 2, 3, 4; the meta range (which drives moves) on 1, 2, 3.
            RangeDescriptor range = cluster.node(2).stateMachine().descriptor(2);
            cluster.awaitLeader(2);
            awaitRecorded(cluster, 2);
            long driver = cluster.awaitLeader(io.flotilla.router.MetaRange.ID);
            byte[][] keys = fill(client, range, 48, 512 << 10);
            long from = driver == 1 ? 4 : driver;
            long to = 1 + (from % 4 == 0 ? 0 : from) % 4;
            while (RouteTable.hasReplicaOn(range, to)) {
                to = to % 4 + 1;
            }
            MoveRecord move = client.moveReplica(2, from, to, "test").join().getMove();
            long target = to;
            TestCluster.await(20_000, "node " + target + " starting its replica of range 2",
                    () -> cluster.node(target).runtime().groupView(2) != null);
            cluster.stop(driver);

            MoveProgress outcome = awaitEnded(client, move);
            assertThat(outcome.getStep()).as(outcome.getMessage()).isEqualTo(MoveStep.MOVE_DONE);
            cluster.start(driver);
            assertHolds(client, keys);
        }
    }

    @Test
    void movesThatMakeNoSenseAreRefused() throws Exception {
        try (TestCluster cluster = new TestCluster(dir, 4, 4).startAll();
                FlotillaClient client = FlotillaClient.builder()
                        .seeds("127.0.0.1:" + cluster.clientAddress(1).getPort())
                        .clusterId(TestCluster.CLUSTER_ID).requestTimeout(Duration.ofSeconds(30)).retryBudget(200).build()) {
            cluster.awaitLeader(1);
            awaitRecorded(cluster, 1);
            assertRefused(() -> client.moveReplica(1, 4, 1, "test").join(), "holds no replica");
            assertRefused(() -> client.moveReplica(1, 1, 2, "test").join(), "already holds a replica");
            assertRefused(() -> client.moveReplica(1, 1, 9, "test").join(), "not a node of this cluster");
            assertRefused(() -> client.moveReplica(77, 1, 4, "test").join(), "no record of range 77");
            ListMovesResponse moves = client.listMoves().join();
            assertThat(moves.getMovesList()).isEmpty();
        }
    }

    /** Waits until the meta range (on node 1, one of its replicas) records range {@code rangeId}. */
    static void awaitRecorded(TestCluster cluster, long rangeId) {
        TestCluster.await(10_000, "the meta range recording range " + rangeId, () -> cluster.node(1).stateMachine()
                .recordedRanges().stream().anyMatch(r -> r.getRangeId() == rangeId));
    }

    private static void assertRefused(Runnable call, String reason) {
        assertThatThrownBy(call::run).isInstanceOf(CompletionException.class)
                .hasCauseInstanceOf(InvalidArgumentException.class).hasMessageContaining(reason);
    }

    /** Waits until {@code move} is listed as ended; returns how it ended. */
    static MoveProgress awaitEnded(FlotillaClient client, MoveRecord move) {
        MoveProgress[] ended = new MoveProgress[1];
        TestCluster.await(60_000, "the move of range " + move.getRangeId() + " to end", () -> {
            ListMovesResponse list;
            try {
                list = client.listMoves().join();
            } catch (CompletionException e) {
                return false; // the meta range is electing a new leader
            }
            for (MoveProgress p : list.getEndedList()) {
                if (p.getMove().equals(move)) {
                    ended[0] = p;
                    return true;
                }
            }
            return false;
        });
        return ended[0];
    }

    /** Writes {@code count} values of {@code valueBytes} into {@code range}; returns their keys. */
    private static byte[][] fill(FlotillaClient client, RangeDescriptor range, int count, int valueBytes) {
        byte[][] keys = new byte[count][];
        java.util.List<java.util.concurrent.CompletableFuture<Void>> writes = new java.util.ArrayList<>();
        for (int i = 0; i < count; i++) {
            keys[i] = keyIn(range, i);
            writes.add(client.put(keys[i], value(i, valueBytes)));
        }
        writes.forEach(java.util.concurrent.CompletableFuture::join);
        return keys;
    }

    private static void assertHolds(FlotillaClient client, byte[][] keys) {
        for (int i = 0; i < keys.length; i++) {
            byte[] v = client.get(keys[i]).join();
            assertThat(v).as("key %d", i).isNotNull();
            assertThat(v.length > 0 ? v[0] : -1).as("key %d", i).isEqualTo((byte) i);
        }
    }

    private static byte[] value(int i, int bytes) {
        byte[] v = new byte[bytes];
        new java.util.Random(i).nextBytes(v);
        v[0] = (byte) i;
        return v;
    }

    private static byte[] keyIn(RangeDescriptor range, int i) {
        byte[] start = range.getStartKey().toByteArray();
        byte[] key = new byte[start.length + 4];
        System.arraycopy(start, 0, key, 0, start.length);
        key[start.length] = 1;
        key[start.length + 1] = (byte) (i >> 8);
        key[start.length + 2] = (byte) i;
        key[start.length + 3] = 'x';
        assertThat(KeySpace.contains(range, com.google.protobuf.ByteString.copyFrom(key))).isTrue();
        return key;
    }
}

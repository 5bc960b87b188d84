package io.flotilla.tools;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.BalancerSwitch;
import io.flotilla.kv.proto.ListMovesResponse;
import io.flotilla.kv.proto.MoveProgress;
import io.flotilla.kv.proto.MoveRecord;
import io.flotilla.kv.proto.MoveStep;
import io.flotilla.kv.proto.NodeStatusResponse;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.RangeStatus;
import io.flotilla.kv.proto.UpdateSettingsRequest;
import io.flotilla.router.MetaRange;
import io.flotilla.router.RouteTable;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replicas move under a checked workload on four node processes (real RocksDB, sockets, fsync):
 * every one of the eight ranges moves one replica to the node that holds none of it — from its
 * leader for some, from a follower for others; during one move the target is killed with SIGKILL
 * as soon as it hosts its new replica, and restarted; during another the node driving the moves
 * (the meta range's leader) is killed and restarted. The workload ({@link AppendRegisterWorkload}) keeps its
 * keys on four of the ranges. Afterwards: every move ended done, no acknowledged write is lost or
 * applied twice, the register histories are linearizable, and no call failed: the client retries
 * through both kills within its deadline (before the client's failover fix, 12-14 calls a run
 * failed with Unavailable, each a second after a kill).
 *
 * <p>Prints {@code move-check: <moves> moves, <lost> lost, <duplicated> duplicated, <illegal> illegal, <errors> client errors}.
 */
class MoveCheckTest {
    private static final int NODES = 4;
    private static final int RANGES = 8;
    /** The workload's keys start with these bytes: one in each of the first four ranges (of eight, by first byte). */
    private static final char[] APPEND_PREFIX = {'\u0010', '0', 'P', 'p'};
    private static final char[] REGISTER_PREFIX = {'\u0018', '8', 'X'};
    private static final long WRITES_BETWEEN_MOVES = 150;

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
    void replicasMoveUnderLoadWithNothingLostDuplicatedOrIllegal() throws Exception {
        LocalClusterLayout layout = new LocalClusterLayout(dir.resolve("cluster"), NODES, TestPorts.freeBase(NODES), 4343,
                RANGES);
        layout.save();
        PrintStream log = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        processes = new LocalClusterProcesses(layout, log, true);
        processes.start(60_000);
        AppendRegisterWorkload workload = new AppendRegisterWorkload(APPEND_PREFIX.length, 4, REGISTER_PREFIX.length,
                a -> APPEND_PREFIX[a] + "append-" + a, r -> REGISTER_PREFIX[r] + "register-" + r);

        try (FlotillaClient client = FlotillaClient.builder().seeds(layout.clientAddresses().toArray(String[]::new))
                .clusterId(layout.clusterId()).requestTimeout(Duration.ofSeconds(10)).build();
                FlotillaClient admin = FlotillaClient.builder().seeds(layout.clientAddresses().toArray(String[]::new))
                        .clusterId(layout.clusterId()).requestTimeout(Duration.ofSeconds(10)).retryBudget(200).build()) {
            // Only the moves this test asks for.
            admin.updateSettings(UpdateSettingsRequest.newBuilder().setBalancer(BalancerSwitch.BALANCER_OFF).build()).join();
            awaitRecorded(admin, layout);
            workload.start(client);
            workload.awaitAcknowledged(WRITES_BETWEEN_MOVES);

            int moves = 0;
            for (long range = 1; range <= RANGES; range++) {
                RangeDescriptor descriptor = leaderStatus(admin, layout, range).getRange();
                long leader = leaderNode(admin, layout, range);
                long to = nodeWithout(descriptor);
                long from = range % 2 == 1 ? leader : anotherReplica(descriptor, leader);
                MoveRecord move = admin.moveReplica(range, from, to, "move-check").join().getMove();
                if (range == 2) {
                    // Killed as soon as it hosts the new replica, restarted: the move goes on.
                    awaitHosting(admin, layout, (int) to, range);
                    killAndRestart((int) to);
                } else if (range == 5) {
                    killAndRestart((int) leaderNode(admin, layout, MetaRange.ID));
                }
                MoveProgress outcome = awaitEnded(admin, move);
                assertThat(outcome.getStep()).as("move of range %d: %s", range, outcome.getMessage())
                        .isEqualTo(MoveStep.MOVE_DONE);
                moves++;
                workload.awaitAcknowledged(WRITES_BETWEEN_MOVES);
            }

            AppendRegisterWorkload.Result r = workload.stopAndCheck(client);
            long illegal = r.linearizable().ok() ? 0 : 1;
            System.out.printf("move-check: %d moves, %d lost, %d duplicated, %d illegal, %d client errors%n", moves,
                    r.lost(), r.duplicated(), illegal, r.errors());
            System.out.print(r.errorReport());
            assertThat(r.acked()).as("writes acknowledged").isGreaterThan(500);
            assertThat(r.lost()).as("acknowledged writes lost").isZero();
            assertThat(r.duplicated()).as("writes applied twice").isZero();
            assertThat(r.linearizable().ok()).as(r.linearizable().detail()).isTrue();
            assertThat(r.errors()).as("client calls that failed:%n%s", r.errorReport()).isZero();
        }
    }

    private void killAndRestart(int node) throws Exception {
        Optional<ProcessHandle> p = processes.running(node);
        assertThat(p).as("node " + node + " runs before it is killed").isPresent();
        p.get().destroyForcibly();
        p.get().onExit().get(10, TimeUnit.SECONDS);
        processes.start(60_000);
    }

    /** Waits until the meta range records every range (a move is checked against its record). */
    private static void awaitRecorded(FlotillaClient admin, LocalClusterLayout layout) {
        await("the meta range recording every range", () -> admin.routeLookup(layout.clientAddress(1)).join()
                .getRangesList().stream().filter(d -> !MetaRange.isMeta(d)).count() == RANGES);
    }

    /** Waits until {@code node} hosts a replica of {@code range} (the move's empty replica). */
    private static void awaitHosting(FlotillaClient admin, LocalClusterLayout layout, int node, long range) {
        await("node " + node + " hosting range " + range, () -> admin.explainRange(layout.clientAddress(node), range)
                .join() != null);
    }

    private static RangeStatus leaderStatus(FlotillaClient admin, LocalClusterLayout layout, long range) {
        RangeStatus[] found = new RangeStatus[1];
        await("a leader of range " + range, () -> {
            for (int i = 1; i <= NODES; i++) {
                NodeStatusResponse s = admin.nodeStatus(layout.clientAddress(i)).join();
                for (RangeStatus r : s.getRangeStatusList()) {
                    if (r.getRange().getRangeId() == range && r.getLeader()) {
                        found[0] = r;
                        return true;
                    }
                }
            }
            return false;
        });
        return found[0];
    }

    private static long leaderNode(FlotillaClient admin, LocalClusterLayout layout, long range) {
        long[] leader = new long[1];
        await("a leader of range " + range, () -> {
            for (int i = 1; i <= NODES; i++) {
                NodeStatusResponse s = admin.nodeStatus(layout.clientAddress(i)).join();
                for (RangeStatus r : s.getRangeStatusList()) {
                    if (r.getRange().getRangeId() == range && r.getLeader()) {
                        leader[0] = s.getNodeId();
                        return true;
                    }
                }
            }
            return false;
        });
        return leader[0];
    }

    private static long nodeWithout(RangeDescriptor range) {
        for (long n = 1; n <= NODES; n++) {
            if (!RouteTable.hasReplicaOn(range, n)) {
                return n;
            }
        }
        throw new AssertionError("range " + range.getRangeId() + " has a replica on every node");
    }

    private static long anotherReplica(RangeDescriptor range, long leader) {
        for (int i = 0; i < range.getReplicasCount(); i++) {
            if (range.getReplicas(i).getNodeId() != leader) {
                return range.getReplicas(i).getNodeId();
            }
        }
        throw new AssertionError("range " + range.getRangeId() + " has no replica but its leader");
    }

    private static MoveProgress awaitEnded(FlotillaClient admin, MoveRecord move) {
        MoveProgress[] ended = new MoveProgress[1];
        await("the move of range " + move.getRangeId() + " to end", () -> {
            ListMovesResponse list = admin.listMoves().join();
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

    /** Polls {@code condition} (a failed call counts as not yet) for up to 90 s. */
    private static void await(String what, java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (true) {
            try {
                if (condition.getAsBoolean()) {
                    return;
                }
            } catch (CompletionException e) {
                // a node restarting, or the meta range electing: ask again
            }
            assertThat(System.nanoTime()).as("waiting for %s", what).isLessThan(deadline);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
        }
    }
}

package io.flotilla.multiraft;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeType;
import io.flotilla.raft.ProposeResult;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Membership operations through the runtime: a fourth node joins every group as a learner, catches
 * up, is promoted, node 1 is removed and stopped, and leadership is handed to node 4.
 */
class MembershipChangeTest {
    private static final int GROUPS = 8;

    @TempDir
    Path dir;

    @Test
    void aNodeJoinsAsLearnerIsPromotedTakesOverLeadershipAndAnOldVoterIsRemoved() throws Exception {
        try (LocalCluster cluster = new LocalCluster(dir, 2, id -> new InMemoryStateMachine())) {
            for (long id = 1; id <= 3; id++) {
                cluster.start(id, GROUPS);
            }
            writeEverywhere(cluster, "before");
            cluster.startJoining(4, GROUPS);

            for (long g = 1; g <= GROUPS; g++) {
                long group = g;
                onLeader(cluster, group, (node, done) -> node.changeMembership(group, new ConfChange(ConfChangeType.ADD_LEARNER, 4), done));
                onLeader(cluster, group, (node, done) -> node.changeMembership(group, new ConfChange(ConfChangeType.PROMOTE_LEARNER, 4), done));
            }
            writeEverywhere(cluster, "with-4");
            for (long g = 1; g <= GROUPS; g++) {
                long group = g;
                LocalCluster.waitUntil(() -> machine(cluster, 4).group(group).commands() == 2, 20_000, "node 4 applied group " + group);
            }

            for (long g = 1; g <= GROUPS; g++) {
                long group = g;
                onLeader(cluster, group, (node, done) -> node.changeMembership(group, new ConfChange(ConfChangeType.REMOVE_NODE, 1), done));
            }
            // Node 1 applies its own removal and drops its replicas for good; after a restart the log's
            // tombstones keep them from coming back although we ask it to host every group again.
            LocalCluster.waitUntil(() -> cluster.nodes.get(1L).hostedGroups() == 0, 20_000, "node 1 drops its replicas");
            cluster.stop(1);
            MultiRaftNode restarted = cluster.start(1, GROUPS);
            for (long g = 1; g <= GROUPS; g++) {
                // Each worker handles its inbox in order: this refusal comes after the group's create was handled.
                assertThat(refusalFrom(restarted, g)).as("group %d on restarted node 1", g).isEqualTo(ProposeResult.NOT_LEADER);
            }
            assertThat(refusalFrom(restarted, 1)).isEqualTo(ProposeResult.NOT_LEADER);
            assertThat(restarted.hostedGroups()).as("tombstoned replicas are not recreated").isZero();
            cluster.stop(1);
            writeEverywhere(cluster, "without-1");

            // A transfer only starts on the leader; the target refuses to campaign while a committed
            // conf change is unapplied there (and the transfer then lapses), so retry until it holds.
            for (int attempt = 0; attempt < 10 && cluster.nodes.get(4L).leaderGroups() < GROUPS; attempt++) {
                for (long g = 1; g <= GROUPS; g++) {
                    long group = g;
                    onLeader(cluster, group, (node, done) -> {
                        if (node.nodeId() == 4) {
                            done.onApplied(group, 0); // node 4 already leads it
                        } else {
                            node.transferLeader(group, 4, done);
                        }
                    });
                }
                long until = System.nanoTime() + 3_000_000_000L;
                while (System.nanoTime() < until && cluster.nodes.get(4L).leaderGroups() < GROUPS) {
                    LockSupport.parkNanos(10_000_000);
                }
            }
            assertThat(cluster.nodes.get(4L).leaderGroups()).as("groups led by node 4").isEqualTo(GROUPS);
            writeEverywhere(cluster, "led-by-4");
            for (long g = 1; g <= GROUPS; g++) {
                long group = g;
                LocalCluster.waitUntil(() -> machine(cluster, 2).group(group).commands() == 4, 20_000, "node 2 applied group " + group);
                assertThat(machine(cluster, 4).group(g).checksum()).isEqualTo(machine(cluster, 2).group(g).checksum());
            }
        }
    }

    /** Proposes through {@code node} and returns the refusal (null if it was applied). */
    private static ProposeResult refusalFrom(MultiRaftNode node, long group) {
        CompletableFuture<ProposeResult> outcome = new CompletableFuture<>();
        node.propose(group, "probe".getBytes(), new ProposalListener() {
            @Override
            public void onApplied(long groupId, long index) {
                outcome.complete(null);
            }

            @Override
            public void onRefused(long groupId, ProposeResult result, long leaderHint) {
                outcome.complete(result);
            }

            @Override
            public void onOutcomeUnknown(long groupId, long index) {
                outcome.completeExceptionally(new AssertionError("no snapshots in this test"));
            }

            @Override
            public void onBusy(long groupId) {
                outcome.complete(ProposeResult.UNCOMMITTED_LIMIT);
            }
        });
        return outcome.orTimeout(10, TimeUnit.SECONDS).join();
    }

    private static InMemoryStateMachine machine(LocalCluster cluster, long id) {
        return (InMemoryStateMachine) cluster.stateMachines.get(id);
    }

    private static void writeEverywhere(LocalCluster cluster, String tag) {
        for (long g = 1; g <= GROUPS; g++) {
            long group = g;
            byte[] cmd = (tag + "-" + g).getBytes();
            onLeader(cluster, group, (node, done) -> node.propose(group, cmd, done));
        }
    }

    /**
     * Runs an operation on the group's leader, following leader hints and retrying refusals (a
     * pending conf change, an election under way) until it is applied or 20 s pass.
     */
    private static void onLeader(LocalCluster cluster, long group, BiConsumer<MultiRaftNode, ProposalListener> operation) {
        long deadline = System.nanoTime() + 20_000_000_000L;
        long via = cluster.nodes.keySet().iterator().next();
        while (System.nanoTime() < deadline) {
            MultiRaftNode node = cluster.nodes.get(via);
            if (node == null) {
                via = cluster.nodes.keySet().iterator().next();
                continue;
            }
            CompletableFuture<long[]> outcome = new CompletableFuture<>();
            operation.accept(node, new ProposalListener() {
                @Override
                public void onApplied(long groupId, long index) {
                    outcome.complete(new long[] {1, 0});
                }

                @Override
                public void onRefused(long groupId, ProposeResult result, long leaderHint) {
                    outcome.complete(new long[] {0, leaderHint});
                }

                @Override
                public void onOutcomeUnknown(long groupId, long index) {
                    // Leadership moved after the entry was appended: try again until one applies.
                    outcome.complete(new long[] {0, 0});
                }

                @Override
                public void onBusy(long groupId) {
                    outcome.complete(new long[] {0, 0});
                }
            });
            long[] r = outcome.orTimeout(5, TimeUnit.SECONDS).exceptionally(e -> new long[] {0, 0}).join();
            if (r[0] == 1) {
                return;
            }
            if (r[1] != 0 && cluster.nodes.containsKey(r[1])) {
                via = r[1];
            } else {
                via = nextNode(cluster, via);
            }
            LockSupport.parkNanos(5_000_000);
        }
        throw new AssertionError("group " + group + ": operation not applied within 20 s");
    }

    private static long nextNode(LocalCluster cluster, long after) {
        for (long id : cluster.nodes.keySet()) {
            if (id > after) {
                return id;
            }
        }
        return cluster.nodes.keySet().iterator().next();
    }
}

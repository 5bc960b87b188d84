package io.flotilla.multiraft;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.ProposeResult;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Idle groups stop ticking; a proposal wakes its group; when a node dies, the sleeping followers of
 * the groups it led wake through the node-level heartbeat and elect new leaders.
 */
class QuiescenceTest {
    private static final int GROUPS = 200;

    @TempDir
    Path dir;

    private final ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor();

    @Test
    void idleGroupsSleepAndWakeWhenNeededOrWhenTheirLeadersNodeDies() throws Exception {
        try (LocalCluster cluster = new LocalCluster(dir, 2, id -> new InMemoryStateMachine())) {
            for (long id = 1; id <= 3; id++) {
                cluster.start(id, GROUPS);
            }
            proposeToAll(cluster, "first");
            LocalCluster.waitUntil(() -> cluster.nodes.values().stream().allMatch(n -> n.awakeGroups() == 0), 20_000,
                    "every group on every node quiescent");

            // One proposal wakes one group, which goes back to sleep after.
            CountDownLatch one = new CountDownLatch(1);
            propose(cluster, 1, 7, "wake".getBytes(), one);
            assertThat(one.await(10, TimeUnit.SECONDS)).isTrue();
            LocalCluster.waitUntil(() -> cluster.nodes.values().stream().allMatch(n -> n.awakeGroups() == 0), 20_000,
                    "quiescent again");

            // The node leading the most groups dies with no traffic at all: the sleeping followers of
            // the groups it led must wake through the node heartbeat and elect, so the other two
            // nodes lead every group.
            long victim = 1;
            for (long id = 2; id <= 3; id++) {
                if (cluster.nodes.get(id).leaderGroups() > cluster.nodes.get(victim).leaderGroups()) {
                    victim = id;
                }
            }
            assertThat(cluster.nodes.get(victim).leaderGroups()).isPositive();
            cluster.stop(victim);
            LocalCluster.waitUntil(() -> cluster.nodes.values().stream().mapToInt(MultiRaftNode::leaderGroups).sum() == GROUPS, 20_000,
                    "the surviving nodes lead all groups");
            proposeToAll(cluster, "after-crash");
        } finally {
            retries.shutdownNow();
        }
    }

    private void proposeToAll(LocalCluster cluster, String tag) throws InterruptedException {
        CountDownLatch applied = new CountDownLatch(GROUPS);
        for (long g = 1; g <= GROUPS; g++) {
            propose(cluster, cluster.nodes.keySet().iterator().next(), g, (tag + g).getBytes(), applied);
        }
        assertThat(applied.await(30, TimeUnit.SECONDS)).as("%s: %d groups left", tag, applied.getCount()).isTrue();
    }

    private void propose(LocalCluster cluster, long via, long group, byte[] cmd, CountDownLatch applied) {
        MultiRaftNode node = cluster.nodes.get(via);
        if (node == null) {
            via = cluster.nodes.keySet().iterator().next();
            node = cluster.nodes.get(via);
        }
        long from = via;
        node.propose(group, cmd, new ProposalListener() {
            @Override
            public void onApplied(long groupId, long index) {
                applied.countDown();
            }

            @Override
            public void onRefused(long groupId, ProposeResult result, long leaderHint) {
                long next = leaderHint != 0 && cluster.nodes.containsKey(leaderHint) ? leaderHint : (from % 3) + 1;
                retries.schedule(() -> propose(cluster, next, groupId, cmd, applied), 5, TimeUnit.MILLISECONDS);
            }

            @Override
            public void onOutcomeUnknown(long groupId, long index) {
                // The leader lost leadership after appending it (elections settle at the start):
                // the test only counts groups that applied something, so a retry is harmless.
                onRefused(groupId, ProposeResult.NOT_LEADER, 0);
            }

            @Override
            public void onBusy(long groupId) {
                retries.schedule(() -> propose(cluster, from, groupId, cmd, applied), 5, TimeUnit.MILLISECONDS);
            }
        });
    }
}

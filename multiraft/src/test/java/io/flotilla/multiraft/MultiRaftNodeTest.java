package io.flotilla.multiraft;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.ProposeResult;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three nodes of the multi-group runtime in one JVM, each with its own real write-ahead log, linked
 * by an in-process network: many groups elect, replicate and apply on a fixed set of threads, and a
 * node restarted from its log catches up.
 */
class MultiRaftNodeTest {
    private static final int GROUPS = 64;
    private static final int COMMANDS_PER_GROUP = 20;

    @TempDir
    Path dir;

    /** Retries wait a little while an election settles, on this thread, never on a worker. */
    private final ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor();
    private LocalCluster cluster;
    /** Proposals answered outcome-unknown (retried; each may have applied twice). */
    private final AtomicInteger unknown = new AtomicInteger();
    private Map<Long, MultiRaftNode> nodes;

    private InMemoryStateMachine machine(long id) {
        return (InMemoryStateMachine) cluster.stateMachines.get(id);
    }

    /** Proposes to node 1 and follows leader hints until applied; retries refusals. */
    private void proposeEverywhere(String tag) throws InterruptedException {
        CountDownLatch applied = new CountDownLatch(GROUPS * COMMANDS_PER_GROUP);
        AtomicInteger refusals = new AtomicInteger();
        for (long g = 1; g <= GROUPS; g++) {
            for (int i = 0; i < COMMANDS_PER_GROUP; i++) {
                byte[] cmd = (tag + "-" + g + "-" + i).getBytes();
                propose(1, g, cmd, applied, refusals);
            }
        }
        assertThat(applied.await(60, TimeUnit.SECONDS)).as("all commands applied (refusals: %d)", refusals.get()).isTrue();
    }

    private void propose(long via, long group, byte[] cmd, CountDownLatch applied, AtomicInteger refusals) {
        MultiRaftNode node = nodes.get(via);
        node.propose(group, cmd, new ProposalListener() {
            @Override
            public void onApplied(long groupId, long index) {
                applied.countDown();
            }

            @Override
            public void onRefused(long groupId, ProposeResult result, long leaderHint) {
                refusals.incrementAndGet();
                long next = leaderHint != 0 && nodes.containsKey(leaderHint) ? leaderHint : 1 + (via % 3);
                // Retry from the proposing worker's thread is fine: propose only enqueues.
                retry(next, groupId, cmd, applied, refusals);
            }

            @Override
            public void onOutcomeUnknown(long groupId, long index) {
                // The leader lost leadership after sending the entry: it may or may not apply. Retry,
                // and allow the retried command to apply twice in the counts below.
                unknown.incrementAndGet();
                retry(1 + (via % 3), groupId, cmd, applied, refusals);
            }

            @Override
            public void onBusy(long groupId) {
                retry(via, groupId, cmd, applied, refusals);
            }
        });
    }

    private void retry(long via, long group, byte[] cmd, CountDownLatch applied, AtomicInteger refusals) {
        if (!nodes.containsKey(via)) {
            via = nodes.keySet().iterator().next();
        }
        long v = via;
        retries.schedule(() -> propose(v, group, cmd, applied, refusals), 5, TimeUnit.MILLISECONDS);
    }

    /** Waits until every node has applied everything committed so far in every group (via ReadIndex). */
    private void awaitCaughtUp() throws InterruptedException {
        for (long id : nodes.keySet()) {
            CountDownLatch readable = new CountDownLatch(GROUPS);
            for (long g = 1; g <= GROUPS; g++) {
                read(id, g, readable);
            }
            assertThat(readable.await(60, TimeUnit.SECONDS)).as("node %d caught up", id).isTrue();
        }
    }

    private void read(long id, long group, CountDownLatch readable) {
        nodes.get(id).read(group, new ReadListener() {
            @Override
            public void onReadable(long groupId) {
                readable.countDown();
            }

            @Override
            public void onFailed(long groupId) {
                retries.schedule(() -> read(id, groupId, readable), 5, TimeUnit.MILLISECONDS);
            }

            @Override
            public void onBusy(long groupId) {
                onFailed(groupId);
            }
        });
    }

    @Test
    void manyGroupsReplicateOnAFixedSetOfThreadsAndARestartedNodeCatchesUpFromItsLog() throws Exception {
        cluster = new LocalCluster(dir, 2, id -> new InMemoryStateMachine());
        nodes = cluster.nodes;
        for (long id = 1; id <= 3; id++) {
            cluster.start(id, GROUPS);
        }
        proposeEverywhere("a");
        awaitCaughtUp();
        for (long g = 1; g <= GROUPS; g++) {
            long expected = machine(1).group(g).checksum();
            for (long id = 2; id <= 3; id++) {
                assertThat(machine(id).group(g).checksum()).as("group %d on node %d", g, id).isEqualTo(expected);
            }
            assertThat(machine(1).group(g).commands()).isBetween((long) COMMANDS_PER_GROUP, (long) COMMANDS_PER_GROUP + unknown.get());
        }
        assertThat(nodes.get(1L).threads()).isEqualTo(2);
        assertThat(nodes.get(1L).logBatches()).as("one log batch per round covers many groups")
                .isLessThan((long) GROUPS * COMMANDS_PER_GROUP);

        cluster.stop(3);
        proposeEverywhere("b");
        cluster.start(3, GROUPS); // a fresh state machine: everything is replayed from node 3's own log, then caught up
        awaitCaughtUp();
        for (long g = 1; g <= GROUPS; g++) {
            assertThat(machine(3).group(g).checksum()).as("group %d on restarted node 3", g)
                    .isEqualTo(machine(1).group(g).checksum());
            assertThat(machine(3).group(g).commands()).isBetween(2L * COMMANDS_PER_GROUP, 2L * COMMANDS_PER_GROUP + unknown.get());
        }
        cluster.close();
        retries.shutdownNow();
    }
}

package io.flotilla.multiraft;

import static io.flotilla.multiraft.LocalCluster.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.raft.ProposeResult;
import io.flotilla.raft.SnapshotMetadata;
import io.flotilla.transport.snapshot.SnapshotSource;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker that fails stops its whole node, on real threads and a real log: the node stops
 * heartbeating, so the other nodes elect leaders for the groups it led, and every proposal to it is
 * answered. Before, the failed worker's node kept heartbeating from its other worker and its inbox
 * took proposals nobody ever answered.
 */
class FailStopTest {
    private static final int GROUPS = 16;

    @TempDir
    Path dir;

    @Test
    void aWorkerThatFailsStopsItsNodeAnswersEveryCallerAndThePeersElectWithoutIt() throws Exception {
        AtomicBoolean poisoned = new AtomicBoolean();
        LocalCluster cluster = new LocalCluster(dir, 2, id -> id == 1 ? new PoisonedStateMachine(poisoned) : new InMemoryStateMachine());
        Throwable failed = null;
        try {
            for (long id = 1; id <= 3; id++) {
                cluster.start(id, GROUPS);
            }
            MultiRaftNode first = cluster.nodes.get(1L);
            waitUntil(() -> cluster.nodes.values().stream().mapToInt(MultiRaftNode::leaderGroups).sum() == GROUPS
                    && first.leaderGroups() > 0, 20_000, "every group has a leader, node 1 leads some");

            // Proposals to node 1 for every group: those it leads wait in its workers for their commit.
            poisoned.set(true);
            List<CompletableFuture<String>> pending = new ArrayList<>();
            for (long g = 1; g <= GROUPS; g++) {
                pending.add(propose(first, g));
            }
            waitUntil(() -> first.failure() != null, 10_000, "node 1 stops itself at its first apply");
            for (int g = 0; g < GROUPS; g++) {
                assertThat(pending.get(g).get(10, TimeUnit.SECONDS)).as("the proposal to group %d", g + 1)
                        .isIn("outcome unknown", "refused NODE_STOPPED", "refused NOT_LEADER");
            }
            assertThat(propose(first, 1).get(10, TimeUnit.SECONDS)).as("a proposal after the stop")
                    .isEqualTo("refused NODE_STOPPED");

            MultiRaftNode second = cluster.nodes.get(2L);
            MultiRaftNode third = cluster.nodes.get(3L);
            waitUntil(() -> second.leaderGroups() + third.leaderGroups() == GROUPS, 20_000,
                    "nodes 2 and 3 lead every group");
            assertThatThrownBy(() -> cluster.stop(1)).hasMessageContaining("node 1 failed");
        } catch (Throwable t) {
            failed = t;
            throw t;
        } finally {
            try {
                cluster.close();
            } catch (AssertionError e) {
                // Node 1 failed on purpose; report that only if nothing else went wrong first.
                if (failed == null) {
                    throw e;
                }
                failed.addSuppressed(e);
            }
        }
    }

    private static CompletableFuture<String> propose(MultiRaftNode node, long group) {
        CompletableFuture<String> outcome = new CompletableFuture<>();
        node.propose(group, "x".getBytes(), new ProposalListener() {
            @Override
            public void onApplied(long groupId, long index) {
                outcome.complete("applied");
            }

            @Override
            public void onRefused(long groupId, ProposeResult result, long leaderHint) {
                outcome.complete("refused " + result);
            }

            @Override
            public void onOutcomeUnknown(long groupId, long index) {
                outcome.complete("outcome unknown");
            }

            @Override
            public void onBusy(long groupId) {
                outcome.complete("busy");
            }
        });
        return outcome;
    }

    /** An in-memory state machine whose apply throws once poisoned: a bug, or a disk the engine cannot write. */
    private static final class PoisonedStateMachine implements StateMachine {
        private final InMemoryStateMachine delegate = new InMemoryStateMachine();
        private final AtomicBoolean poisoned;

        PoisonedStateMachine(AtomicBoolean poisoned) {
            this.poisoned = poisoned;
        }

        @Override
        public void apply(ApplyBatch batch) {
            if (poisoned.get()) {
                throw new IllegalStateException("poisoned: this state machine cannot apply");
            }
            delegate.apply(batch);
        }

        @Override
        public long appliedIndex(long groupId) {
            return delegate.appliedIndex(groupId);
        }

        @Override
        public long durableIndex(long groupId) {
            return delegate.durableIndex(groupId);
        }

        @Override
        public SnapshotSource.Reader snapshot(long groupId) {
            return delegate.snapshot(groupId);
        }

        @Override
        public void destroy(long groupId) {
            delegate.destroy(groupId);
        }

        @Override
        public void restore(long groupId, SnapshotMetadata snapshot, Path image) throws java.io.IOException {
            delegate.restore(groupId, snapshot, image);
        }
    }
}

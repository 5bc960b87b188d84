package io.flotilla.multiraft;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.ProposeResult;
import io.flotilla.wal.WalRecordEncoder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proposals near the log's record size: a round whose entries together exceed one record is
 * written as several records (and survives a restart); a proposal larger than a record is refused
 * with a typed result and nothing else is disturbed.
 */
class LargeProposalTest {
    /** LocalCluster's log records are at most 256 KiB. */
    private static final int MAX_PAYLOAD = WalRecordEncoder.maxEntryPayloadBytes(256 << 10);

    @TempDir
    Path dir;

    @Test
    void roundsLargerThanARecordAreSplitAndOversizedProposalsAreRefused() throws Exception {
        try (LocalCluster cluster = new LocalCluster(dir, 1, id -> new InMemoryStateMachine())) {
            for (long id = 1; id <= 3; id++) {
                cluster.start(id, 1);
            }
            LocalCluster.waitUntil(() -> cluster.nodes.values().stream().anyMatch(n -> n.leaderGroups() == 1), 10_000,
                    "group 1 elects a leader");
            MultiRaftNode leader = cluster.nodes.values().stream().filter(n -> n.leaderGroups() == 1).findFirst().orElseThrow();
            long follower = leader.nodeId() % 3 + 1;

            assertThat(propose(leader, new byte[MAX_PAYLOAD + 1]).get(10, TimeUnit.SECONDS))
                    .isEqualTo(ProposeResult.ENTRY_TOO_LARGE);

            // Proposed back to back, these land in a few rounds whose entries far exceed one record.
            List<CompletableFuture<ProposeResult>> outcomes = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                byte[] payload = new byte[MAX_PAYLOAD / 2];
                payload[0] = (byte) i;
                outcomes.add(propose(leader, payload));
            }
            outcomes.add(propose(leader, new byte[MAX_PAYLOAD]));
            for (CompletableFuture<ProposeResult> o : outcomes) {
                assertThat(o.get(20, TimeUnit.SECONDS)).isEqualTo(ProposeResult.ACCEPTED);
            }
            // Applied on the leader before its listener heard; the followers catch up to the same state.
            InMemoryStateMachine.GroupState applied = ((InMemoryStateMachine) cluster.stateMachines.get(leader.nodeId())).group(1);
            assertThat(applied.commands()).isEqualTo(13);
            long checksum = applied.checksum();
            LocalCluster.waitUntil(() -> checksumOn(cluster, follower) == checksum, 10_000, "a follower applies all 13 commands");

            // The follower rebuilds the same state from its log alone.
            cluster.stop(follower);
            cluster.start(follower, 1);
            LocalCluster.waitUntil(() -> checksumOn(cluster, follower) == checksum, 10_000,
                    "the restarted follower replays all 13 commands");
        }
    }

    /** Read from the test thread while the worker applies: only a settled value is compared. */
    private static long checksumOn(LocalCluster cluster, long node) {
        return ((InMemoryStateMachine) cluster.stateMachines.get(node)).group(1).checksum();
    }

    /** ACCEPTED once applied, else the refusal. */
    private static CompletableFuture<ProposeResult> propose(MultiRaftNode node, byte[] payload) {
        CompletableFuture<ProposeResult> outcome = new CompletableFuture<>();
        node.propose(1, payload, new ProposalListener() {
            @Override
            public void onApplied(long groupId, long index) {
                outcome.complete(ProposeResult.ACCEPTED);
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
                outcome.completeExceptionally(new AssertionError("busy"));
            }
        });
        return outcome;
    }
}

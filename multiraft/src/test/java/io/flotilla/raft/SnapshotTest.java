package io.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Log compaction and snapshot install (Raft paper §7). */
class SnapshotTest {

    @Test
    void aFollowerBehindTheCompactedLogIsSentASnapshotAndResumesFromIt() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        c.isolate(3);
        for (int i = 0; i < 20; i++) {
            c.node(1).propose(TestCluster.data("e" + i));
            c.stabilize();
        }
        long applied = c.node(1).appliedIndex();
        MemoryStorage s1 = c.storages.get(1L);
        s1.createSnapshot(applied, c.node(1).confState(), TestCluster.data("image@" + applied));
        s1.compact(applied);
        c.heal();
        c.tickAll(3);
        assertThat(c.deliveredOfType(MessageType.SNAPSHOT)).hasSize(1);
        c.node(1).reportSnapshot(3, true);
        c.node(1).propose(TestCluster.data("after"));
        c.stabilize();
        c.tickAll(2);
        MemoryStorage s3 = c.storages.get(3L);
        assertThat(s3.snapshot().metadata().index()).isEqualTo(applied);
        assertThat(new String(s3.snapshot().data())).isEqualTo("image@" + applied);
        assertThat(s3.snapshot().metadata().confState().voters()).containsExactly(1, 2, 3);
        assertThat(c.appliedData(3)).containsExactly("after");
        assertThat(c.node(3).appliedIndex()).isEqualTo(c.node(1).appliedIndex());
    }

    @Test
    void aFailedSnapshotIsRetriedAfterTheFollowerAnswersAgain() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        c.isolate(3);
        for (int i = 0; i < 5; i++) {
            c.node(1).propose(TestCluster.data("e" + i));
            c.stabilize();
        }
        MemoryStorage s1 = c.storages.get(1L);
        long applied = c.node(1).appliedIndex();
        s1.createSnapshot(applied, c.node(1).confState(), TestCluster.data("img"));
        s1.compact(applied);
        c.heal();
        c.dropIf(m -> m.type == MessageType.SNAPSHOT);
        c.tickAll(2);
        assertThat(c.node(1).progressOf(3)).startsWith("SNAPSHOT");
        c.node(1).reportSnapshot(3, false);
        assertThat(c.node(1).progressOf(3)).startsWith("PROBE");
        c.heal();
        c.tickAll(3);
        c.node(1).reportSnapshot(3, true);
        c.tickAll(2);
        assertThat(c.storages.get(3L).snapshot().metadata().index()).isEqualTo(applied);
        assertThat(c.node(1).progressOf(3)).startsWith("REPLICATE");
    }

    @Test
    void aRestartedReplicaRecoversTermVoteCommitAndMembershipFromStorage() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        for (int i = 0; i < 3; i++) {
            c.node(1).propose(TestCluster.data("e" + i));
        }
        c.stabilize();
        c.tickAll(1);
        long term = c.node(2).term();
        long commit = c.node(2).commitIndex();
        MemoryStorage s2 = c.storages.get(2L);
        s2.createSnapshot(c.node(2).appliedIndex(), c.node(2).confState(), new byte[0]);
        s2.compact(c.node(2).appliedIndex() - 1);
        RaftNode n2 = c.restart(2);
        assertThat(n2.term()).isEqualTo(term);
        assertThat(n2.commitIndex()).isEqualTo(commit);
        assertThat(n2.confState().voters()).containsExactly(1, 2, 3);
        assertThat(n2.role()).isEqualTo(Role.FOLLOWER);
        c.node(1).propose(TestCluster.data("after-restart"));
        c.stabilize();
        c.tickAll(1);
        assertThat(c.appliedData(2)).endsWith("after-restart");
    }
}

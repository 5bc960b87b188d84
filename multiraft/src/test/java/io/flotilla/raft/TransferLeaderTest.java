package io.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Leader transfer (Raft thesis §3.10). */
class TransferLeaderTest {

    @Test
    void anUpToDateTargetGetsTimeoutNowAndWins() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        long term = c.node(1).term();
        assertThat(c.node(1).transferLeader(3)).isTrue();
        c.stabilize();
        assertThat(c.deliveredOfType(MessageType.TIMEOUT_NOW)).hasSize(1);
        assertThat(c.node(3).role()).isEqualTo(Role.LEADER);
        assertThat(c.node(3).term()).isEqualTo(term + 1);
        assertThat(c.node(1).role()).isEqualTo(Role.FOLLOWER);
    }

    @Test
    void aLaggingTargetIsCaughtUpFirstAndProposalsAreRefusedMeanwhile() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        c.isolate(3);
        for (int i = 0; i < 5; i++) {
            c.node(1).propose(TestCluster.data("x" + i));
        }
        c.stabilize();
        assertThat(c.node(1).transferLeader(3)).isTrue();
        assertThat(c.node(1).propose(TestCluster.data("during"))).isEqualTo(ProposeResult.LEADER_TRANSFERRING);
        c.stabilize();
        assertThat(c.deliveredOfType(MessageType.TIMEOUT_NOW)).as("not before the target catches up").isEmpty();
        c.heal();
        c.tickAll(2);
        assertThat(c.deliveredOfType(MessageType.TIMEOUT_NOW)).hasSize(1);
        assertThat(c.node(3).role()).isEqualTo(Role.LEADER);
        assertThat(c.node(3).lastIndex()).isGreaterThanOrEqualTo(7);
    }

    @Test
    void aTransferToAnUnreachableTargetIsAbandonedAfterAnElectionTimeout() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        c.isolate(3);
        assertThat(c.node(1).transferLeader(3)).isTrue();
        assertThat(c.node(1).leadTransferee()).isEqualTo(3);
        c.tick(1, 10);
        c.stabilize();
        assertThat(c.node(1).leadTransferee()).isZero();
        assertThat(c.node(1).propose(TestCluster.data("after"))).isEqualTo(ProposeResult.ACCEPTED);
    }

    @Test
    void transferIsRefusedToNonVotersOrByFollowers() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        assertThat(c.node(1).transferLeader(1)).isFalse();
        assertThat(c.node(1).transferLeader(9)).isFalse();
        assertThat(c.node(2).transferLeader(3)).isFalse();
    }

    @Test
    void timeoutNowOverridesTheFollowersLeaseWithCheckQuorum() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withElection(true, true));
        c.elect(1);
        c.tickAll(2);
        c.node(1).transferLeader(2);
        c.stabilize();
        assertThat(c.node(2).role()).isEqualTo(Role.LEADER);
    }
}

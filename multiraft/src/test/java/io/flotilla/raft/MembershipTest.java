package io.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Learners and single-step membership changes (Raft thesis §4.1, §4.2.1). */
class MembershipTest {

    private static ConfChange cc(ConfChangeType type, long node) {
        return new ConfChange(type, node);
    }

    @Test
    void aLearnerReceivesTheLogButIsNeverAskedToVoteAndNeverCounts() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withElection(false, false));
        c.add(4, new MemoryStorage());
        c.elect(1);
        assertThat(c.node(1).proposeConfChange(cc(ConfChangeType.ADD_LEARNER, 4))).isEqualTo(ProposeResult.ACCEPTED);
        c.stabilize();
        c.node(1).propose(TestCluster.data("a"));
        c.stabilize();
        c.tickAll(2);
        assertThat(c.node(4).confState().isLearner(4)).isTrue();
        assertThat(c.appliedData(4)).containsExactly("a");
        // The learner never campaigns, and a new election never asks it.
        c.tick(4, 100);
        assertThat(c.node(4).role()).isEqualTo(Role.FOLLOWER);
        c.delivered.clear();
        c.elect(2);
        assertThat(c.deliveredOfType(MessageType.VOTE)).noneMatch(m -> m.to == 4);
    }

    @Test
    void aLearnersAcknowledgementNeverMakesAQuorum() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withElection(false, false));
        c.add(4, new MemoryStorage());
        c.add(5, new MemoryStorage());
        c.elect(1);
        c.node(1).proposeConfChange(cc(ConfChangeType.ADD_LEARNER, 4));
        c.stabilize();
        c.node(1).proposeConfChange(cc(ConfChangeType.ADD_LEARNER, 5));
        c.stabilize();
        c.isolate(2);
        c.isolate(3);
        long before = c.node(1).commitIndex();
        c.node(1).propose(TestCluster.data("needs-a-voter"));
        c.stabilize();
        assertThat(c.node(4).lastIndex()).isGreaterThan(before);
        assertThat(c.node(1).commitIndex()).as("leader + 2 learners is not a quorum of 3 voters").isEqualTo(before);
    }

    @Test
    void aVoteFromALearnerIsNotCounted() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withElection(false, false));
        c.add(4, new MemoryStorage());
        c.elect(1);
        c.node(1).proposeConfChange(cc(ConfChangeType.ADD_LEARNER, 4));
        c.stabilize();
        RaftNode n2 = c.node(2);
        c.isolate(2);
        n2.campaign();
        Ready rd = n2.ready();
        n2.advance(rd);
        Message fromLearner = new Message(MessageType.VOTE_RESPONSE, 7, 4, 2, n2.term());
        n2.step(fromLearner);
        assertThat(n2.role()).as("self + learner is not 2 of 3 voters").isEqualTo(Role.CANDIDATE);
        Message fromVoter = new Message(MessageType.VOTE_RESPONSE, 7, 3, 2, n2.term());
        n2.step(fromVoter);
        assertThat(n2.role()).isEqualTo(Role.LEADER);
    }

    @Test
    void addPromoteAndRemoveOneAtATime() {
        TestCluster c = new TestCluster(3);
        c.add(4, new MemoryStorage());
        c.elect(1);
        RaftNode leader = c.node(1);
        assertThat(leader.proposeConfChange(cc(ConfChangeType.ADD_LEARNER, 4))).isEqualTo(ProposeResult.ACCEPTED);
        assertThat(leader.proposeConfChange(cc(ConfChangeType.REMOVE_NODE, 3))).isEqualTo(ProposeResult.CONF_CHANGE_PENDING);
        c.stabilize();
        assertThat(leader.proposeConfChange(cc(ConfChangeType.ADD_VOTER, 4))).as("already a learner").isEqualTo(ProposeResult.CONF_CHANGE_INVALID);
        assertThat(leader.proposeConfChange(cc(ConfChangeType.PROMOTE_LEARNER, 4))).isEqualTo(ProposeResult.ACCEPTED);
        c.stabilize();
        assertThat(leader.confState().voters()).containsExactly(1, 2, 3, 4);
        assertThat(leader.proposeConfChange(cc(ConfChangeType.REMOVE_NODE, 3))).isEqualTo(ProposeResult.ACCEPTED);
        c.stabilize();
        c.tickAll(2);
        for (long id : new long[] {1, 2, 4}) {
            assertThat(c.node(id).confState().voters()).as("node %d", id).containsExactly(1, 2, 4);
        }
        // With 3 removed, 1, 2 and 4 are the quorum.
        c.isolate(3);
        c.node(1).propose(TestCluster.data("z"));
        c.stabilize();
        assertThat(c.appliedData(4)).contains("z");
    }

    @Test
    void aRemovedLeaderStepsDownAndTheRestElectANewOne() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        assertThat(c.node(1).proposeConfChange(cc(ConfChangeType.REMOVE_NODE, 1))).isEqualTo(ProposeResult.ACCEPTED);
        c.stabilize();
        assertThat(c.node(1).role()).isEqualTo(Role.FOLLOWER);
        c.tickAll(40);
        long leaders = c.nodes.values().stream().filter(n -> n.role() == Role.LEADER && n.id() != 1).count();
        assertThat(leaders).isEqualTo(1);
        c.tick(1, 100);
        assertThat(c.node(1).role()).as("a removed replica never campaigns").isEqualTo(Role.FOLLOWER);
    }

    @Test
    void aNewLeaderRefusesConfChangesUntilEntriesOfEarlierTermsAreApplied() {
        TestCluster c = new TestCluster(3);
        c.dropIf(m -> m.type == MessageType.APPEND_RESPONSE);
        c.elect(1);
        RaftNode leader = c.node(1);
        // The no-op of the new term is not committed, let alone applied.
        assertThat(leader.proposeConfChange(cc(ConfChangeType.ADD_LEARNER, 4))).isEqualTo(ProposeResult.CONF_CHANGE_PENDING);
        c.heal();
        c.tickAll(2);
        assertThat(leader.proposeConfChange(cc(ConfChangeType.ADD_LEARNER, 4))).isEqualTo(ProposeResult.ACCEPTED);
    }

    @Test
    void invalidChangesAreRefused() {
        TestCluster c = new TestCluster(1);
        c.elect(1);
        assertThat(c.node(1).proposeConfChange(cc(ConfChangeType.REMOVE_NODE, 1))).as("last voter").isEqualTo(ProposeResult.CONF_CHANGE_INVALID);
        assertThat(c.node(1).proposeConfChange(cc(ConfChangeType.PROMOTE_LEARNER, 2))).isEqualTo(ProposeResult.CONF_CHANGE_INVALID);
        assertThat(c.node(1).proposeConfChange(cc(ConfChangeType.ADD_VOTER, 1))).isEqualTo(ProposeResult.CONF_CHANGE_INVALID);
        assertThat(c.node(2 - 1).proposeConfChange(cc(ConfChangeType.REMOVE_NODE, 5))).isEqualTo(ProposeResult.CONF_CHANGE_INVALID);
    }
}

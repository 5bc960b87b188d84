package io.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Linearizable reads: ReadIndex (Raft thesis §6.4) and lease reads (§6.4.1). */
class ReadIndexTest {

    @Test
    void readsQueuedTogetherShareOneHeartbeatRoundAndCarryTheCommitIndex() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        c.node(1).propose(TestCluster.data("a"));
        c.stabilize();
        c.delivered.clear();
        RaftNode leader = c.node(1);
        leader.readIndex(101);
        leader.readIndex(102);
        leader.readIndex(103);
        assertThat(c.readStates.get(1L)).as("not before a quorum confirms leadership").isEmpty();
        c.stabilize();
        assertThat(c.deliveredOfType(MessageType.HEARTBEAT)).as("one round to two followers").hasSize(2);
        assertThat(c.readStates.get(1L)).extracting(ReadState::requestId).containsExactly(101L, 102L, 103L);
        assertThat(c.readStates.get(1L)).allSatisfy(rs -> {
            assertThat(rs.ok()).isTrue();
            assertThat(rs.index()).isEqualTo(leader.commitIndex());
        });
    }

    @Test
    void aReadArrivingAfterItsRoundWasSentWaitsForTheNextRound() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        RaftNode leader = c.node(1);
        leader.readIndex(1);
        c.processReady(1);
        // The round carrying read 1 has left; read 2 must not be confirmed by its acknowledgements.
        leader.readIndex(2);
        c.deliverAll();
        c.processReady(2);
        c.processReady(3);
        c.deliverAll();
        c.processReady(1);
        assertThat(c.readStates.get(1L)).extracting(ReadState::requestId).containsExactly(1L);
        c.stabilize();
        assertThat(c.readStates.get(1L)).extracting(ReadState::requestId).containsExactly(1L, 2L);
    }

    @Test
    void anIsolatedLeaderNeverConfirmsAReadAndFailsItWhenItStepsDown() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        c.isolate(1);
        c.node(1).readIndex(7);
        c.stabilize();
        assertThat(c.readStates.get(1L)).isEmpty();
        c.tick(1, 25);
        c.stabilize();
        assertThat(c.node(1).role()).isEqualTo(Role.FOLLOWER);
        assertThat(c.readStates.get(1L)).containsExactly(new ReadState(7, 0, false));
    }

    @Test
    void aFollowerForwardsReadsToTheLeader() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        c.node(1).propose(TestCluster.data("a"));
        c.stabilize();
        c.node(2).readIndex(55);
        c.stabilize();
        assertThat(c.deliveredOfType(MessageType.READ_INDEX)).hasSize(1);
        assertThat(c.readStates.get(2L)).containsExactly(new ReadState(55, c.node(1).commitIndex(), true));
    }

    @Test
    void aFollowerWithoutALeaderFailsTheReadAtOnce() {
        TestCluster c = new TestCluster(3);
        c.node(2).readIndex(9);
        c.processReady(2);
        assertThat(c.readStates.get(2L)).containsExactly(new ReadState(9, 0, false));
    }

    @Test
    void aNewLeaderAnswersReadsOnlyAfterCommittingAnEntryOfItsTerm() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withElection(false, false));
        c.elect(1);
        c.node(1).propose(TestCluster.data("a"));
        c.stabilize();
        c.isolate(1);
        // Node 2 wins, but no acknowledgement of its no-op arrives, so its commit index is stale.
        c.dropIf(m -> m.type == MessageType.APPEND_RESPONSE);
        c.elect(2);
        RaftNode n2 = c.node(2);
        n2.readIndex(1);
        c.stabilize();
        assertThat(c.readStates.get(2L)).as("no entry of its term committed yet").isEmpty();
        c.heal();
        c.isolate(1);
        c.tickAll(2);
        assertThat(c.readStates.get(2L)).singleElement().satisfies(rs -> {
            assertThat(rs.ok()).isTrue();
            assertThat(n2.termAt(rs.index())).isEqualTo(n2.term());
        });
    }

    @Test
    void leaseReadsAreAnsweredWithoutARoundWhileTheLeaseHolds() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withReadOnlyOption(ReadOnlyOption.LEASE));
        c.tickAll(30);
        long leaderId = c.nodes.values().stream().filter(n -> n.role() == Role.LEADER).findFirst().orElseThrow().id();
        RaftNode leader = c.node(leaderId);
        c.tickAll(2);
        c.delivered.clear();
        leader.readIndex(1);
        c.processReady(leaderId);
        assertThat(c.readStates.get(leaderId)).as("answered from the lease, no heartbeat round").hasSize(1);
        assertThat(c.delivered).isEmpty();
        // Cut the leader off: within electionTimeout - 1 - drift ticks the lease expires and reads stop.
        c.isolate(leaderId);
        c.tick(leaderId, 8);
        leader.readIndex(2);
        c.stabilize();
        assertThat(c.readStates.get(leaderId)).extracting(ReadState::requestId).containsExactly(1L);
    }

    @Test
    void aPerRequestLeaseReadUsesTheLeaseOnlyWhenAskedAndNotAfterTheLeaseIsDropped() {
        TestCluster c = new TestCluster(3); // SAFE reads by default: the lease is used only when a read asks
        c.tickAll(30);
        long leaderId = c.nodes.values().stream().filter(n -> n.role() == Role.LEADER).findFirst().orElseThrow().id();
        RaftNode leader = c.node(leaderId);
        c.tickAll(2);
        c.delivered.clear();

        leader.readIndex(1);
        c.processReady(leaderId);
        assertThat(c.readStates.get(leaderId)).as("an ordinary read waits for a heartbeat round").isEmpty();
        c.stabilize();
        c.delivered.clear();

        leader.readIndex(2, true);
        c.processReady(leaderId);
        assertThat(c.readStates.get(leaderId)).extracting(ReadState::requestId).as("answered from the lease")
                .containsExactly(1L, 2L);
        assertThat(c.delivered).isEmpty();

        // A replica that stops ticking (a quiescent group) drops its lease: the next lease read needs a round.
        leader.dropLease();
        leader.readIndex(3, true);
        c.processReady(leaderId);
        assertThat(c.readStates.get(leaderId)).extracting(ReadState::requestId).containsExactly(1L, 2L);
        assertThat(c.inFlight).anyMatch(m -> m.type == MessageType.HEARTBEAT);
        c.stabilize();
        assertThat(c.readStates.get(leaderId)).extracting(ReadState::requestId).containsExactly(1L, 2L, 3L);
    }

    @Test
    void aLeaderTransferRevokesTheLease() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withReadOnlyOption(ReadOnlyOption.LEASE));
        c.tickAll(30);
        RaftNode leader = c.nodes.values().stream().filter(n -> n.role() == Role.LEADER).findFirst().orElseThrow();
        long target = leader.id() == 1 ? 2 : 1;
        c.isolate(target);
        assertThat(leader.transferLeader(target)).isTrue();
        c.delivered.clear();
        leader.readIndex(1);
        c.processReady(leader.id());
        assertThat(c.readStates.get(leader.id())).as("needs a heartbeat round now").isEmpty();
        assertThat(c.inFlight).anyMatch(m -> m.type == MessageType.HEARTBEAT);
    }

    @Test
    void leaseReadsAreRefusedByConfigurationWithoutCheckQuorum() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() ->
                RaftConfig.defaults(1, 1).withElection(true, false).withReadOnlyOption(ReadOnlyOption.LEASE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("checkQuorum");
    }

    @Test
    void aSingleVoterAnswersReadsAtOnce() {
        TestCluster c = new TestCluster(1);
        c.elect(1);
        c.node(1).readIndex(3);
        c.stabilize();
        assertThat(c.readStates.get(1L)).extracting(ReadState::ok).containsExactly(true);
        assertThat(List.copyOf(c.delivered)).isEmpty();
    }
}

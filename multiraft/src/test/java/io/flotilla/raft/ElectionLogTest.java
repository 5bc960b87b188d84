package io.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.ElectionLog.Event;
import io.flotilla.raft.ElectionLog.Kind;
import io.flotilla.raft.ElectionLog.Outcome;
import io.flotilla.raft.ElectionLog.Refusal;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a replica's {@link ElectionLog} records of real elections: each refusal reason, each campaign outcome. */
class ElectionLogTest {

    private static List<Event> events(RaftNode n, Kind kind) {
        return n.report().elections().stream().filter(e -> e.kind() == kind).toList();
    }

    private static Event lastRefusal(RaftNode n) {
        List<Event> refused = events(n, Kind.VOTE_REFUSED);
        assertThat(refused).as("refusals of node %d", n.id()).isNotEmpty();
        return refused.get(refused.size() - 1);
    }

    @Test
    void aCandidateWhoseLogIsBehindLosesAndTheVotersSayWhy() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withElection(false, false));
        c.elect(1);
        c.isolate(3);
        c.node(1).propose(TestCluster.data("x"));
        c.stabilize();
        c.heal();
        c.node(3).campaign();
        c.stabilize();

        Event campaign = events(c.node(3), Kind.CAMPAIGN).get(0);
        assertThat(campaign.outcome()).isEqualTo(Outcome.LOST);
        assertThat(campaign.preVote()).isFalse();
        assertThat(campaign.votesRefused()).isEqualTo(2);
        Event refusal = lastRefusal(c.node(2));
        assertThat(refusal.refusal()).isEqualTo(Refusal.LOG_BEHIND);
        assertThat(refusal.peer()).isEqualTo(3);
        assertThat(refusal.term()).isEqualTo(campaign.term());
        assertThat(refusal.candidateLastIndex()).isEqualTo(campaign.ownLastIndex());
        assertThat(refusal.ownLastIndex()).isGreaterThan(refusal.candidateLastIndex());
        assertThat(lastRefusal(c.node(1)).refusal()).isEqualTo(Refusal.LOG_BEHIND);
    }

    @Test
    void aFollowerThatHeardFromItsLeaderRefusesForItsLease() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        c.tickAll(3);
        RaftNode n2 = c.node(2);
        n2.step(ElectionTest.voteRequest(3, 2, n2.term() + 1, n2.lastIndex(), n2.term()));

        Event refusal = lastRefusal(n2);
        assertThat(refusal.refusal()).isEqualTo(Refusal.IN_LEASE);
        assertThat(refusal.other()).isEqualTo(1);
        assertThat(refusal.ticksSinceLeader()).isLessThan(n2.report().electionTimeoutTicks());
        assertThat(n2.report().inLease()).isTrue();
    }

    @Test
    void aRequestFromAnOlderTermIsRefusedAsStale() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withElection(false, false));
        c.elect(1);
        c.elect(2);
        RaftNode n3 = c.node(3);
        n3.step(ElectionTest.voteRequest(1, 3, n3.term() - 1, n3.lastIndex(), n3.term() - 1));

        Event refusal = lastRefusal(n3);
        assertThat(refusal.refusal()).isEqualTo(Refusal.STALE_TERM);
        assertThat(refusal.term()).isEqualTo(n3.term() - 1);
    }

    @Test
    void aCandidateOutsideTheConfigurationIsRefusedAsNotAMember() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withElection(false, false));
        c.elect(1);
        RaftNode n2 = c.node(2);
        n2.step(ElectionTest.voteRequest(9, 2, n2.term() + 1, n2.lastIndex() + 5, n2.term()));

        Event refusal = lastRefusal(n2);
        assertThat(refusal.refusal()).isEqualTo(Refusal.NOT_A_MEMBER);
        assertThat(refusal.peer()).isEqualTo(9);
    }

    @Test
    void aSecondCandidateInATermIsRefusedBecauseTheVoteIsTaken() {
        TestCluster c = new TestCluster(3);
        RaftNode n3 = c.node(3);
        n3.step(ElectionTest.voteRequest(1, 3, 5, 1, 1));
        n3.step(ElectionTest.voteRequest(2, 3, 5, 1, 1));

        assertThat(events(n3, Kind.VOTE_GRANTED)).singleElement().satisfies(e -> assertThat(e.peer()).isEqualTo(1));
        Event refusal = lastRefusal(n3);
        assertThat(refusal.refusal()).isEqualTo(Refusal.ALREADY_VOTED);
        assertThat(refusal.peer()).isEqualTo(2);
        assertThat(refusal.other()).isEqualTo(1);
    }

    @Test
    void aFollowerOfALeaderInTheTermRefusesAnotherCandidate() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withElection(false, false));
        RaftNode n3 = c.node(3);
        n3.step(new Message(MessageType.HEARTBEAT, 7, 1, 3, 5));
        n3.step(ElectionTest.voteRequest(2, 3, 5, 1, 1));

        Event refusal = lastRefusal(n3);
        assertThat(refusal.refusal()).isEqualTo(Refusal.HAS_LEADER);
        assertThat(refusal.other()).isEqualTo(1);
    }

    @Test
    void campaignsEndWonTimedOutOrSteppedDownAndLeadersAreRecorded() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withElection(false, false));
        c.elect(1);
        assertThat(events(c.node(1), Kind.CAMPAIGN)).singleElement()
                .satisfies(e -> assertThat(e.outcome()).isEqualTo(Outcome.WON));
        assertThat(events(c.node(2), Kind.LEADER_CHANGED)).singleElement()
                .satisfies(e -> assertThat(e.peer()).isEqualTo(1));

        c.isolate(3);
        c.node(3).campaign();
        c.stabilize();
        c.node(3).campaign();
        c.stabilize();
        List<Event> campaigns = events(c.node(3), Kind.CAMPAIGN);
        assertThat(campaigns).extracting(Event::outcome).containsExactly(Outcome.TIMED_OUT, Outcome.PENDING);

        RaftNode n3 = c.node(3);
        n3.step(new Message(MessageType.HEARTBEAT, 7, 2, 3, n3.term() + 1));
        assertThat(events(n3, Kind.CAMPAIGN)).extracting(Event::outcome)
                .containsExactly(Outcome.TIMED_OUT, Outcome.STEPPED_DOWN);
    }

    @Test
    void aPreElectionThatWinsIsFollowedByTheRealOne() {
        TestCluster c = new TestCluster(3);
        c.node(1).campaign();
        c.stabilize();
        assertThat(events(c.node(1), Kind.CAMPAIGN)).extracting(Event::preVote, Event::outcome)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(true, Outcome.WON),
                        org.assertj.core.groups.Tuple.tuple(false, Outcome.WON));
    }

    @Test
    void aPreElectionRepeatedForTheSameTermIsCountedNotPushedOut() {
        TestCluster c = new TestCluster(3);
        c.isolate(1);
        for (int i = 0; i < 3 * ElectionLog.CAPACITY; i++) {
            c.node(1).campaign();
            c.stabilize();
        }
        List<Event> campaigns = events(c.node(1), Kind.CAMPAIGN);
        assertThat(campaigns).singleElement().satisfies(e -> {
            assertThat(e.preVote()).isTrue();
            assertThat(e.count()).isEqualTo(3 * ElectionLog.CAPACITY);
            assertThat(e.outcome()).isEqualTo(Outcome.PENDING);
        });
    }

    @Test
    void repeatsAreCountedAndTheRingKeepsTheNewest() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        RaftNode n2 = c.node(2);
        long t = n2.term() + 1;
        n2.step(ElectionTest.voteRequest(3, 2, t, 1, 1));
        n2.step(ElectionTest.voteRequest(3, 2, t, 1, 1));
        assertThat(lastRefusal(n2).count()).isEqualTo(2);

        for (int i = 0; i < 2 * ElectionLog.CAPACITY; i++) {
            n2.step(ElectionTest.voteRequest(3, 2, t + 1 + i, 1, 1));
        }
        List<Event> all = n2.report().elections();
        assertThat(all).hasSize(ElectionLog.CAPACITY);
        assertThat(all.get(all.size() - 1).term()).isEqualTo(t + 2L * ElectionLog.CAPACITY);
    }

    @Test
    void theLeaderReportsEachPeersProgressAndWhichItCouldNotReach() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        c.tickAll(2);
        RaftNode leader = c.node(1);
        leader.reportUnreachable(3);
        RaftReport report = leader.report();
        assertThat(report.peers()).hasSize(3);
        RaftReport.PeerProgress p3 = report.peers().stream().filter(p -> p.peer() == 3).findFirst().orElseThrow();
        assertThat(p3.unreachableAtTick()).isEqualTo(report.ticks());
        assertThat(p3.match()).isEqualTo(leader.lastIndex());
        assertThat(report.peers().stream().filter(p -> p.peer() == 2).findFirst().orElseThrow().unreachableAtTick())
                .isZero();
        assertThat(report.leaseHeld()).isTrue();
    }
}

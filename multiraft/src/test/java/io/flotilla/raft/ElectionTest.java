package io.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Leader election (Raft paper §5.2, §5.4.1), PreVote (thesis §9.6) and CheckQuorum (thesis §6.2). */
class ElectionTest {

    @Test
    void aFollowerWhoseTimerFiresBecomesLeaderOfAllThree() {
        TestCluster c = new TestCluster(3);
        c.tickAll(25);
        long leaders = c.nodes.values().stream().filter(n -> n.role() == Role.LEADER).count();
        assertThat(leaders).isEqualTo(1);
        long leader = c.nodes.values().stream().filter(n -> n.role() == Role.LEADER).findFirst().orElseThrow().id();
        assertThat(c.nodes.values()).allSatisfy(n -> assertThat(n.leader()).isEqualTo(leader));
    }

    @Test
    void electionSafetyAtMostOneLeaderPerTermUnderRandomPartitions() {
        for (long seed = 1; seed <= 30; seed++) {
            SplittableRandom random = new SplittableRandom(seed);
            TestCluster c = new TestCluster(5, id -> RaftConfig.defaults(id, 7).withElection(false, false).withRandomSeed(id * 31 + 1));
            Map<Long, Long> leaderOfTerm = new HashMap<>();
            for (int step = 0; step < 300; step++) {
                if (step % 20 == 0) {
                    c.heal();
                    c.isolate(1 + random.nextInt(5));
                    c.cut(1 + random.nextInt(5), 1 + random.nextInt(5));
                }
                c.tickAll(1);
                for (RaftNode n : c.nodes.values()) {
                    if (n.role() == Role.LEADER) {
                        Long previous = leaderOfTerm.putIfAbsent(n.term(), n.id());
                        assertThat(previous == null || previous == n.id())
                                .as("seed %d: term %d has leaders %s and %d", seed, n.term(), previous, n.id()).isTrue();
                    }
                }
            }
            assertThat(leaderOfTerm).as("seed %d elected nobody", seed).isNotEmpty();
        }
    }

    @Test
    void aReplicaVotesOncePerTerm() {
        TestCluster c = new TestCluster(3);
        RaftNode n3 = c.node(3);
        Message vote1 = voteRequest(1, 3, 5, 1, 1);
        Message vote2 = voteRequest(2, 3, 5, 1, 1);
        n3.step(vote1);
        n3.step(vote2);
        Ready rd = n3.ready();
        assertThat(rd.messagesAfterPersist()).extracting(m -> m.to + (m.reject ? " reject" : " grant"))
                .containsExactly("1 grant", "2 reject");
        assertThat(rd.hardState().vote()).isEqualTo(1);
    }

    @Test
    void aCandidateWithAStaleLogIsRefused() {
        // Raft paper §5.4.1: a vote goes only to a candidate whose log is at least as up to date.
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withElection(false, false));
        c.elect(1);
        c.node(1).propose(TestCluster.data("x"));
        c.stabilize();
        RaftNode n2 = c.node(2);
        n2.step(voteRequest(3, 2, n2.term() + 1, 1, n2.term()));
        Ready rd = n2.ready();
        assertThat(rd.messagesAfterPersist()).singleElement().satisfies(m -> assertThat(m.reject).isTrue());
    }

    @Test
    void votesAndVoteRequestsLeaveOnlyAfterTheTermAndVoteAreDurable() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withElection(false, false));
        c.node(1).campaign();
        Ready rd = c.node(1).ready();
        assertThat(rd.hardState().vote()).isEqualTo(1);
        assertThat(rd.messages()).noneMatch(m -> m.type == MessageType.VOTE);
        assertThat(rd.messagesAfterPersist()).extracting(m -> m.type).containsOnly(MessageType.VOTE).hasSize(2);
    }

    @Test
    void preVoteKeepsAnIsolatedReplicaFromInflatingTermsAndDisruptingTheLeader() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        long term = c.node(1).term();
        c.isolate(3);
        c.tickAll(100);
        assertThat(c.node(3).term()).as("pre-vote never won, so the term stays").isEqualTo(term);
        c.heal();
        c.tickAll(5);
        assertThat(c.node(1).role()).isEqualTo(Role.LEADER);
        assertThat(c.node(1).term()).isEqualTo(term);
    }

    @Test
    void withoutPreVoteAnIsolatedReplicaInflatesItsTermAndDisruptsTheLeaderOnReturn() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withElection(false, false));
        c.elect(1);
        long term = c.node(1).term();
        c.isolate(3);
        c.tickAll(100);
        assertThat(c.node(3).term()).isGreaterThan(term + 2);
        c.heal();
        c.tickAll(30);
        assertThat(c.node(1).term()).as("the leader saw the higher term").isGreaterThan(term);
    }

    @Test
    void checkQuorumMakesAnIsolatedLeaderStepDownWithinTwoElectionTimeouts() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        c.isolate(1);
        c.tick(1, 20);
        c.stabilize();
        assertThat(c.node(1).role()).isEqualTo(Role.FOLLOWER);
    }

    @Test
    void withoutCheckQuorumAnIsolatedLeaderStaysLeader() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withElection(true, false));
        c.elect(1);
        c.isolate(1);
        c.tick(1, 50);
        c.stabilize();
        assertThat(c.node(1).role()).isEqualTo(Role.LEADER);
    }

    @Test
    void checkQuorumFollowersIgnoreVoteRequestsWhileTheLeaderIsAlive() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withElection(false, true));
        c.elect(1);
        c.tickAll(3);
        RaftNode n2 = c.node(2);
        long term = n2.term();
        n2.step(voteRequest(3, 2, term + 1, n2.lastIndex(), n2.termAt(n2.lastIndex())));
        assertThat(n2.term()).as("in lease: the request is ignored").isEqualTo(term);
        c.tick(2, 30);
        n2.step(voteRequest(3, 2, term + 1, n2.lastIndex(), n2.termAt(n2.lastIndex())));
        assertThat(n2.term()).as("lease expired: vote handled").isEqualTo(term + 1);
    }

    @Test
    void aSingleVoterElectsItselfAndCommitsAfterItsOwnWrite() {
        TestCluster c = new TestCluster(1);
        c.elect(1);
        assertThat(c.node(1).propose(TestCluster.data("a"))).isEqualTo(ProposeResult.ACCEPTED);
        Ready rd = c.node(1).ready();
        assertThat(rd.committedEntries()).as("not durable yet, not committed").isEmpty();
        c.storages.get(1L).append(rd.entries());
        c.node(1).advance(rd);
        c.stabilize();
        assertThat(c.appliedData(1)).containsExactly("a");
    }

    static Message voteRequest(long from, long to, long term, long lastIndex, long lastTerm) {
        Message m = new Message(MessageType.VOTE, 7, from, to, term);
        m.index = lastIndex;
        m.logTerm = lastTerm;
        return m;
    }
}

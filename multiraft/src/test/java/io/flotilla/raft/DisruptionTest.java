package io.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Messages that must not disrupt or wedge a group (issue 8, finding 4): vote requests and
 * TIMEOUT_NOW from replicas that may not campaign (Raft thesis §4.2.3, disruptive servers), and
 * terms no run of elections could have reached. Each test checks what a user sees: the leader
 * stays, or the group elects one and commits again.
 */
class DisruptionTest {
    /** Ten election timeouts: ample for an election and a commit in these clusters. */
    private static final int WITHIN_TICKS = 100;
    /** A node id no replica of the group has. */
    private static final long STRANGER = 9;

    // ---------------------------------------------------------------- absurd terms

    @Test
    void aTransferVoteWithTheLargestTermFromANonMemberDoesNotWedgeTheGroup() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        for (long to = 1; to <= 3; to++) {
            c.node(to).step(transferVote(STRANGER, to, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE));
        }
        c.stabilize();
        assertThat(c.nodes.values()).allSatisfy(n -> assertThat(n.droppedMessages(DropReason.TERM_ABOVE_MAXIMUM)).isOne());
        assertElectsAndCommits(c, "after the forged vote", 1, 2, 3);
    }

    @Test
    void aTransferVoteWithTheLargestTermFromAVoterDoesNotWedgeTheGroup() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        c.node(1).step(transferVote(3, 1, Long.MAX_VALUE, 1, 1));
        c.node(2).step(transferVote(3, 2, Long.MAX_VALUE, 1, 1));
        c.stabilize();
        assertElectsAndCommits(c, "after the forged vote", 1, 2, 3);
    }

    @Test
    void aHeartbeatWithTheLargestTermDoesNotWedgeTheGroup() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        for (long to = 1; to <= 3; to++) {
            Message m = new Message(MessageType.HEARTBEAT, 7, STRANGER, to, Long.MAX_VALUE);
            c.node(to).step(m);
        }
        c.stabilize();
        assertElectsAndCommits(c, "after the forged heartbeat", 1, 2, 3);
    }

    @Test
    void aTermFarAboveAnyElectionIsIgnoredAndTheLeaderStays() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        long term = c.node(1).term();
        long farAbove = term + (1L << 40);
        for (long to = 1; to <= 3; to++) {
            c.node(to).step(new Message(MessageType.HEARTBEAT, 7, STRANGER, to, farAbove));
            c.node(to).step(new Message(MessageType.APPEND_RESPONSE, 7, to == 3 ? 2 : 3, to, farAbove));
        }
        c.stabilize();
        c.tickAll(5);
        assertThat(c.node(1).role()).isEqualTo(Role.LEADER);
        assertThat(c.nodes.values()).allSatisfy(n -> assertThat(n.term()).isEqualTo(term));
        assertThat(c.nodes.values()).allSatisfy(n -> assertThat(n.droppedMessages(DropReason.TERM_JUMP)).isEqualTo(2));
        assertElectsAndCommits(c, "after the far term", 1, 2, 3);
    }

    @Test
    void aReplicaWhoseStoredTermIsTheLargestNeverWrapsToANegativeTerm() {
        MemoryStorage storage = MemoryStorage.withMembers(1);
        storage.setHardState(new HardState(Long.MAX_VALUE, 0, MemoryStorage.BOOTSTRAP_INDEX));
        RaftNode n = new RaftNode(RaftConfig.defaults(1, 7).withElection(false, false)
                .withApplied(MemoryStorage.BOOTSTRAP_INDEX), storage);
        for (int i = 0; i < 50; i++) {
            n.tick();
            n.campaign();
            if (n.hasReady()) {
                Ready rd = n.ready();
                storage.append(rd.entries());
                n.advance(rd);
            }
        }
        assertThat(n.term()).as("the term never passes the largest long").isEqualTo(Long.MAX_VALUE);
        assertThat(n.role()).isEqualTo(Role.FOLLOWER);
    }

    // ---------------------------------------------------------------- who may campaign

    @Test
    void aTransferVoteFromANonMemberDoesNotDisturbTheLeader() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        long term = c.node(1).term();
        for (long to = 1; to <= 3; to++) {
            RaftNode n = c.node(to);
            n.step(transferVote(STRANGER, to, term + 1, n.lastIndex(), n.termAt(n.lastIndex())));
            // A claim to a longer log changes nothing: a replica in no configuration we know is
            // dropped, and only a voter of ours may skip the leader lease.
            n.step(transferVote(STRANGER, to, term + 1, n.lastIndex() + 100, term));
        }
        c.stabilize();
        c.tickAll(5);
        assertThat(c.node(1).role()).isEqualTo(Role.LEADER);
        assertThat(c.nodes.values()).allSatisfy(n -> assertThat(n.term()).isEqualTo(term));
    }

    /**
     * Runtime simulation seed 3723: while a group elects (no leader, so no lease protects anyone),
     * a vote request from a replica in no configuration of the group, claiming a log far longer
     * than anyone's, raised a candidate's term and took its vote; with two lost messages after it
     * the group stayed leaderless for eight election timeouts. A stranger's request is dropped,
     * whatever log it claims.
     */
    @Test
    void aStrangerClaimingALongerLogNeitherRaisesTheTermNorTakesTheVoteDuringAnElection() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        c.isolate(1);
        c.cut(2, 3);
        c.cut(3, 2);
        c.tick(2, 30);      // node 2 campaigns (and cannot win): no leader, no lease
        c.stabilize();
        RaftNode n2 = c.node(2);
        assertThat(n2.leader()).isZero();
        long term = n2.term();
        long vote = n2.vote();
        for (MessageType type : new MessageType[] {MessageType.PRE_VOTE, MessageType.VOTE}) {
            Message forged = new Message(type, 7, STRANGER, 2, term + 3);
            forged.index = Long.MAX_VALUE / 2;
            forged.logTerm = term;
            n2.step(forged);
        }
        c.stabilize();
        assertThat(n2.term()).isEqualTo(term);
        assertThat(n2.vote()).isEqualTo(vote);
        assertThat(n2.droppedMessages(DropReason.NOT_A_VOTER)).isEqualTo(2);
        c.heal();
        c.isolate(1);
        assertElectsAndCommits(c, "after the stranger's vote request", 2, 3);
    }

    /**
     * The one replica that knows no configuration may not refuse everyone: a voter added directly
     * (ADD_VOTER, not through a learner) whose leader died before reaching it holds an empty log,
     * and the survivors need its vote (thesis §4.1: a server takes votes from servers not yet in
     * its configuration).
     */
    @Test
    void aVoterAddedDirectlyThatHasHeardNothingStillVotes() {
        TestCluster c = new TestCluster(3);
        c.add(4, new MemoryStorage());
        c.elect(1);
        c.isolate(4);
        assertThat(c.node(1).proposeConfChange(new ConfChange(ConfChangeType.ADD_VOTER, 4)))
                .isEqualTo(ProposeResult.ACCEPTED);
        c.stabilize();
        c.tickAll(2);
        c.stabilize();
        assertThat(c.node(2).confState().voters()).containsExactly(1, 2, 3, 4);
        assertThat(c.node(3).confState().voters()).containsExactly(1, 2, 3, 4);
        assertThat(c.node(4).confState().voters()).isEmpty();
        c.heal();
        c.isolate(1);
        assertElectsAndCommits(c, "with node 1 gone", 2, 3, 4);
    }

    @Test
    void aLearnerGetsNoVoteAndCannotMakeAVoterCampaign() {
        TestCluster c = new TestCluster(3);
        c.add(4, new MemoryStorage());
        c.elect(1);
        assertThat(c.node(1).proposeConfChange(new ConfChange(ConfChangeType.ADD_LEARNER, 4)))
                .isEqualTo(ProposeResult.ACCEPTED);
        c.stabilize();
        c.tickAll(2);
        long term = c.node(1).term();
        RaftNode learner = c.node(4);
        assertThat(learner.confState().isLearner(4)).isTrue();
        for (long to = 2; to <= 3; to++) {
            c.node(to).step(transferVote(4, to, term + 1, learner.lastIndex(), learner.termAt(learner.lastIndex())));
        }
        c.stabilize();
        c.node(2).step(new Message(MessageType.TIMEOUT_NOW, 7, 4, 2, term));
        c.stabilize();
        c.tickAll(5);
        assertThat(c.node(2).droppedMessages(DropReason.NOT_A_VOTER)).isEqualTo(2);
        assertThat(c.node(1).role()).isEqualTo(Role.LEADER);
        assertThat(c.nodes.values()).allSatisfy(n -> assertThat(n.term()).isEqualTo(term));
    }

    @Test
    void aTimeoutNowFromANonMemberOrAFollowerStartsNoElection() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        long term = c.node(1).term();
        c.node(2).step(new Message(MessageType.TIMEOUT_NOW, 7, STRANGER, 2, term));
        // A voter that is not the leader cannot make a replica campaign either.
        c.node(2).step(new Message(MessageType.TIMEOUT_NOW, 7, 3, 2, term));
        c.stabilize();
        c.tickAll(5);
        assertThat(c.node(2).droppedMessages(DropReason.NOT_A_VOTER)).isOne();
        assertThat(c.node(2).droppedMessages(DropReason.NOT_THE_LEADER)).isOne();
        assertThat(c.node(1).role()).isEqualTo(Role.LEADER);
        assertThat(c.nodes.values()).allSatisfy(n -> assertThat(n.term()).isEqualTo(term));
    }

    @Test
    void aTimeoutNowWithTheLargestTermDoesNotWedgeTheGroup() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        for (long to = 1; to <= 3; to++) {
            c.node(to).step(new Message(MessageType.TIMEOUT_NOW, 7, STRANGER, to, Long.MAX_VALUE));
        }
        c.stabilize();
        assertElectsAndCommits(c, "after the forged TIMEOUT_NOW", 1, 2, 3);
    }

    /**
     * The disruptive server of Raft thesis §4.2.3: a replica removed while cut off never learns of
     * its removal and keeps campaigning. Without CheckQuorum no lease protects the leader, so only
     * the membership check keeps it from deposing the leader again and again.
     */
    @Test
    void aRemovedReplicaThatMissedItsRemovalCannotDeposeTheLeader() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withElection(false, false));
        c.elect(1);
        c.isolate(3);
        assertThat(c.node(1).proposeConfChange(new ConfChange(ConfChangeType.REMOVE_NODE, 3)))
                .isEqualTo(ProposeResult.ACCEPTED);
        c.stabilize();
        c.tickAll(2);
        assertThat(c.node(2).confState().voters()).containsExactly(1, 2);
        c.node(1).propose(TestCluster.data("while 3 is away"));
        c.stabilize();
        long term = c.node(1).term();
        c.heal();
        for (int i = 0; i < 5; i++) {
            c.tick(3, 25);
            c.stabilize();
        }
        assertThat(c.node(3).term()).as("node 3 did campaign").isGreaterThan(term);
        assertThat(c.node(1).droppedMessages(DropReason.NOT_A_VOTER)).isPositive();
        assertThat(c.node(1).role()).isEqualTo(Role.LEADER);
        assertThat(c.node(1).term()).isEqualTo(term);
        assertThat(c.node(2).term()).isEqualTo(term);
    }

    /**
     * The other side of refusing vote requests: a replica removed and added back as a learner while
     * it was cut off still counts itself a voter, and without PreVote it inflates its term. Its vote
     * requests are refused, so it rejoins only because it answers the leader's stale appends with
     * its term (simulation seed 519 found this).
     */
    @Test
    void aReplicaAddedBackAsALearnerWhileCutOffCatchesUpDespiteItsInflatedTerm() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withElection(false, false));
        c.elect(1);
        c.isolate(3);
        assertThat(c.node(1).proposeConfChange(new ConfChange(ConfChangeType.REMOVE_NODE, 3)))
                .isEqualTo(ProposeResult.ACCEPTED);
        c.stabilize();
        c.tickAll(2);
        assertThat(c.node(1).proposeConfChange(new ConfChange(ConfChangeType.ADD_LEARNER, 3)))
                .isEqualTo(ProposeResult.ACCEPTED);
        c.stabilize();
        c.tickAll(2);
        c.tick(3, 100);
        c.stabilize();
        assertThat(c.node(3).term()).as("node 3 campaigned alone").isGreaterThan(c.node(1).term());
        assertThat(c.node(3).confState().isVoter(3)).as("in its own view").isTrue();
        c.heal();
        assertElectsAndCommits(c, "after node 3 is back", 1, 2, 3);
        assertThat(c.node(3).confState().isLearner(3)).isTrue();
    }

    /**
     * Raft thesis §4.1: a vote may be needed from a replica that has not yet learned that the
     * candidate is a voter. Node 4 is promoted; node 3 misses the promotion, node 2 misses the entry
     * after it, and the old leader dies for good. Node 4 holds the longest log, so only it can win,
     * and it needs node 3's vote: refusing every candidate outside node 3's configuration would
     * leave the group without a leader although three of its four voters are up.
     */
    @Test
    void aPromotedLearnerGetsTheVoteOfAVoterThatHasNotLearnedOfThePromotion() {
        TestCluster c = new TestCluster(3);
        c.add(4, new MemoryStorage());
        c.elect(1);
        c.node(1).proposeConfChange(new ConfChange(ConfChangeType.ADD_LEARNER, 4));
        c.stabilize();
        c.tickAll(2);
        c.cut(1, 3);
        assertThat(c.node(1).proposeConfChange(new ConfChange(ConfChangeType.PROMOTE_LEARNER, 4)))
                .isEqualTo(ProposeResult.ACCEPTED);
        c.stabilize();
        c.tick(1, 1);
        c.stabilize();
        assertThat(c.node(2).confState().voters()).containsExactly(1, 2, 3, 4);
        assertThat(c.node(4).confState().voters()).containsExactly(1, 2, 3, 4);
        c.dropIf(m -> m.to == 2 && m.type == MessageType.APPEND);
        c.node(1).propose(TestCluster.data("only 4 has it"));
        c.stabilize();
        assertThat(c.node(4).lastIndex()).isGreaterThan(c.node(2).lastIndex());
        assertThat(c.node(2).lastIndex()).isGreaterThan(c.node(3).lastIndex());
        assertThat(c.node(3).confState().isLearner(4)).isTrue();
        c.heal();
        c.isolate(1);
        assertElectsAndCommits(c, "with node 1 gone", 2, 3, 4);
        assertThat(c.node(4).role()).isEqualTo(Role.LEADER);
    }

    /**
     * A voter that holds the promotion in its log but has not applied it (it never heard that the
     * entry committed) still counts the promoted replica as a voter, and grants it its vote.
     */
    @Test
    void aVoterHoldingAnUnappliedPromotionGrantsThePromotedReplicaItsVote() {
        TestCluster c = new TestCluster(3);
        c.add(4, new MemoryStorage());
        c.elect(1);
        c.node(1).proposeConfChange(new ConfChange(ConfChangeType.ADD_LEARNER, 4));
        c.stabilize();
        c.tickAll(2);
        // Node 3 receives the promotion but nothing that tells it the entry committed.
        long promotion = c.node(1).lastIndex() + 1;
        c.dropIf(m -> m.to == 3 && (m.type == MessageType.HEARTBEAT
                || (m.type == MessageType.APPEND && m.index >= promotion)));
        c.node(1).proposeConfChange(new ConfChange(ConfChangeType.PROMOTE_LEARNER, 4));
        c.stabilize();
        RaftNode n3 = c.node(3);
        assertThat(n3.lastIndex()).isEqualTo(promotion);
        assertThat(n3.confState().isLearner(4)).as("not applied on node 3").isTrue();
        c.tick(3, 30);      // past node 3's leader lease
        c.stabilize();
        c.delivered.clear();
        RaftNode n4 = c.node(4);
        Message vote = new Message(MessageType.VOTE, 7, 4, 3, n3.term() + 1);
        vote.index = n3.lastIndex();
        vote.logTerm = n3.termAt(n3.lastIndex());
        n3.step(vote);
        c.stabilize();
        assertThat(c.deliveredOfType(MessageType.VOTE_RESPONSE))
                .singleElement().satisfies(r -> assertThat(r.reject).isFalse());
        assertThat(n4.confState().isVoter(4)).isTrue();
    }

    // ---------------------------------------------------------------- helpers

    static Message transferVote(long from, long to, long term, long lastIndex, long lastTerm) {
        Message m = new Message(MessageType.VOTE, 7, from, to, term);
        m.index = lastIndex;
        m.logTerm = lastTerm;
        m.context = Message.CAMPAIGN_TRANSFER;
        return m;
    }

    /**
     * Ticks until a leader among {@code live} has committed {@code data} and every replica in
     * {@code live} has applied it, proposing it to each new leader; fails after {@link #WITHIN_TICKS}.
     */
    private static void assertElectsAndCommits(TestCluster c, String data, long... live) {
        long proposedTo = 0;
        long proposedTerm = -1;
        for (int tick = 0; tick < WITHIN_TICKS; tick++) {
            if (appliedEverywhere(c, data, live)) {
                for (long id : live) {
                    assertThat(c.node(id).term()).as("node %d's term stays small", id).isBetween(1L, 1000L);
                }
                return;
            }
            for (long id : live) {
                RaftNode n = c.node(id);
                if (n.role() == Role.LEADER && (proposedTo != id || proposedTerm != n.term())
                        && n.propose(TestCluster.data(data)) == ProposeResult.ACCEPTED) {
                    proposedTo = id;
                    proposedTerm = n.term();
                }
            }
            c.stabilize();
            for (long id : live) {
                c.tick(id, 1);
            }
            c.stabilize();
        }
        StringBuilder state = new StringBuilder();
        for (long id : live) {
            RaftNode n = c.node(id);
            state.append(String.format("%n  node %d: %s term=%d leader=%d applied=%s", id, n.role(), n.term(),
                    n.leader(), c.appliedData(id)));
        }
        throw new AssertionError("no leader committed \"" + data + "\" on " + java.util.Arrays.toString(live)
                + " within " + WITHIN_TICKS + " ticks:" + state);
    }

    private static boolean appliedEverywhere(TestCluster c, String data, long... live) {
        for (long id : live) {
            if (!c.appliedData(id).contains(data)) {
                return false;
            }
        }
        return true;
    }
}

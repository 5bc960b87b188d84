package io.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Log replication (Raft paper §5.3), the commit rule (§5.4.2) and flow control. */
class ReplicationTest {

    @Test
    void aProposalIsCommittedAndAppliedOnEveryReplicaInOrder() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        for (String s : List.of("a", "b", "c")) {
            assertThat(c.node(1).propose(TestCluster.data(s))).isEqualTo(ProposeResult.ACCEPTED);
        }
        c.stabilize();
        c.tickAll(2);
        for (long id = 1; id <= 3; id++) {
            assertThat(c.appliedData(id)).as("node %d", id).containsExactly("a", "b", "c");
        }
    }

    @Test
    void followersRefuseProposals() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        assertThat(c.node(2).propose(TestCluster.data("x"))).isEqualTo(ProposeResult.NOT_LEADER);
        assertThat(c.node(2).leader()).isEqualTo(1);
    }

    @Test
    void appendAcknowledgementsWaitForPersistenceButLeaderAppendsDoNot() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        c.node(1).propose(TestCluster.data("a"));
        Ready leaderReady = c.node(1).ready();
        assertThat(leaderReady.messages()).extracting(m -> m.type).containsOnly(MessageType.APPEND).hasSize(2);
        assertThat(leaderReady.entries()).hasSize(1);
        Message append = leaderReady.messages().get(0);
        c.node(append.to).step(append);
        Ready followerReady = c.node(append.to).ready();
        assertThat(followerReady.messages()).noneMatch(m -> m.type == MessageType.APPEND_RESPONSE);
        assertThat(followerReady.messagesAfterPersist()).extracting(m -> m.type).containsExactly(MessageType.APPEND_RESPONSE);
    }

    @Test
    void theLeaderCountsItselfOnlyForEntriesItHasPersisted() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        RaftNode leader = c.node(1);
        leader.propose(TestCluster.data("a"));
        Ready rd = leader.ready();
        long index = rd.entries().get(0).index();
        // A follower persists and acknowledges, but the leader has not finished its own write: 1 durable copy of 3.
        Message append = rd.messages().get(0);
        c.node(append.to).step(append);
        Ready frd = c.node(append.to).ready();
        c.storages.get(append.to).append(frd.entries());
        c.node(append.to).advance(frd);
        leader.step(frd.messagesAfterPersist().get(0));
        assertThat(leader.commitIndex()).as("the leader's unpersisted copy does not count").isLessThan(index);
        // The leader's write completes: now 2 durable copies.
        c.storages.get(1L).append(rd.entries());
        leader.advance(rd);
        assertThat(leader.commitIndex()).isEqualTo(index);
        // The reverse: the leader's copy is durable, no follower has it.
        leader.propose(TestCluster.data("b"));
        Ready rd2 = leader.ready();
        long index2 = rd2.entries().get(0).index();
        c.storages.get(1L).append(rd2.entries());
        leader.advance(rd2);
        assertThat(leader.commitIndex()).as("a lone durable copy is no quorum").isLessThan(index2);
    }

    @Test
    void logMatchingADivergentFollowerIsOverwrittenByTheLeader() {
        // Node 3 is leader in term 2 and appends entries nobody else gets; then 1 leads and overwrites them.
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withElection(false, false));
        c.elect(3);
        c.isolate(3);
        for (int i = 0; i < 5; i++) {
            c.node(3).propose(TestCluster.data("lost" + i));
        }
        c.stabilize();
        c.elect(1);
        c.node(1).propose(TestCluster.data("kept"));
        c.stabilize();
        c.heal();
        c.tickAll(3);
        assertThat(c.log(3)).isEqualTo(c.log(1));
        assertThat(c.appliedData(3)).containsExactly("kept");
    }

    @Test
    void fastBacktrackingSkipsAWholeTermOfDivergentEntriesPerRoundTrip() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withElection(false, false));
        c.elect(3);
        c.isolate(3);
        for (int i = 0; i < 100; i++) {
            c.node(3).propose(TestCluster.data("stale" + i));
            c.stabilize();
        }
        c.elect(1);
        for (int i = 0; i < 100; i++) {
            c.node(1).propose(TestCluster.data("new" + i));
            c.stabilize();
        }
        c.heal();
        c.delivered.clear();
        c.tickAll(2);
        long rejections = c.deliveredOfType(MessageType.APPEND_RESPONSE).stream().filter(m -> m.reject).count();
        assertThat(c.log(3)).isEqualTo(c.log(1));
        assertThat(rejections).as("one hint per divergent term, not one per entry").isLessThanOrEqualTo(3);
    }

    @Test
    void figure8AnEntryFromAnEarlierTermIsNotCommittedByCountingReplicas() {
        // The leader of term 3 holds an old term-1 entry on every replica but has not yet replicated
        // its own no-op: it must not advance the commit index for the old entry.
        MemoryStorage s1 = MemoryStorage.withMembers(1, 2, 3);
        s1.append(List.of(Entry.normal(1, 2, TestCluster.data("old"))));
        s1.setHardState(new HardState(2, 0, 1));
        RaftNode n = new RaftNode(RaftConfig.defaults(1, 7).withElection(false, false), s1);
        n.campaign();
        Ready rd = n.ready();
        s1.setHardState(rd.hardState());
        n.advance(rd);
        for (long voter = 2; voter <= 3; voter++) {
            Message grant = new Message(MessageType.VOTE_RESPONSE, 7, voter, 1, n.term());
            n.step(grant);
        }
        assertThat(n.role()).isEqualTo(Role.LEADER);
        assertThat(n.term()).isEqualTo(3);
        // Followers acknowledge index 2 (the term-1 entry) but not the new no-op at index 3.
        Message ack = new Message(MessageType.APPEND_RESPONSE, 7, 2, 1, n.term());
        ack.index = 2;
        n.step(ack);
        Ready rd2 = n.ready();
        s1.append(rd2.entries());
        n.advance(rd2);
        assertThat(n.commitIndex()).as("term-1 entry on a majority is not committed by counting").isEqualTo(1);
        Message ack2 = new Message(MessageType.APPEND_RESPONSE, 7, 2, 1, n.term());
        ack2.index = 3;
        n.step(ack2);
        assertThat(n.commitIndex()).as("the no-op of term 3 commits both").isEqualTo(3);
    }

    @Test
    void aFollowerCommitsOnlyUpToTheLastEntryTheAppendVouchesFor() {
        // Raft paper figure 2: commitIndex = min(leaderCommit, index of last new entry). Entries 4-5
        // are from a deposed term-2 leader; an append covering only up to 3 must not commit them.
        MemoryStorage s = MemoryStorage.withMembers(1, 2, 3);
        s.append(List.of(Entry.normal(1, 2, TestCluster.data("a")), Entry.normal(1, 3, TestCluster.data("b")),
                Entry.normal(2, 4, TestCluster.data("stale1")), Entry.normal(2, 5, TestCluster.data("stale2"))));
        s.setHardState(new HardState(2, 0, 1));
        RaftNode follower = new RaftNode(RaftConfig.defaults(2, 7), s);
        Message append = new Message(MessageType.APPEND, 7, 1, 2, 3);
        append.index = 2;
        append.logTerm = 1;
        append.entries = List.of(Entry.normal(1, 3, TestCluster.data("b")));
        append.commit = 5;
        follower.step(append);
        assertThat(follower.commitIndex()).isEqualTo(3);
        assertThat(follower.ready().messagesAfterPersist()).singleElement().satisfies(m -> assertThat(m.index).isEqualTo(3));
    }

    @Test
    void leaderCompletenessANewLeaderHoldsEveryCommittedEntry() {
        TestCluster c = new TestCluster(5, id -> RaftConfig.defaults(id, 7).withElection(false, false));
        c.elect(1);
        for (int i = 0; i < 10; i++) {
            c.node(1).propose(TestCluster.data("e" + i));
        }
        c.isolate(4);
        c.isolate(5);
        c.stabilize();
        long committed = c.node(1).commitIndex();
        c.heal();
        c.isolate(1);
        // 4 and 5 have stale logs; any leader among 2..5 must be one that has every committed entry.
        c.tickAll(60);
        RaftNode leader = c.nodes.values().stream().filter(n -> n.id() != 1 && n.role() == Role.LEADER).findFirst().orElseThrow();
        assertThat(leader.id()).isIn(2L, 3L);
        assertThat(leader.lastIndex()).isGreaterThanOrEqualTo(committed);
    }

    @Test
    void probeStateSendsOneAppendAndReplicateStateIsBoundedByTheInflightWindow() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withFlowControl(1 << 20, 4, 64L << 20));
        c.elect(1);
        RaftNode leader = c.node(1);
        assertThat(leader.progressOf(2)).startsWith("REPLICATE");
        c.cut(2, 1);
        for (int i = 0; i < 20; i++) {
            leader.propose(TestCluster.data("p" + i));
            c.processReady(1);
        }
        long appendsTo2 = c.inFlight.stream().filter(m -> m.type == MessageType.APPEND && m.to == 2).count();
        assertThat(appendsTo2).as("window of 4").isEqualTo(4);
        assertThat(leader.progressOf(2)).contains("inflight=4");
        c.heal();
        c.stabilize();
        c.tickAll(2);
        assertThat(c.appliedData(2)).hasSize(20);
        c.node(1).reportUnreachable(2);
        assertThat(leader.progressOf(2)).startsWith("PROBE");
    }

    @Test
    void aLostAcknowledgementDoesNotStallAFullInflightWindow() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withFlowControl(1 << 20, 1, 64L << 20));
        c.elect(1);
        c.isolate(3);
        c.dropIf(m -> m.type == MessageType.APPEND_RESPONSE && m.from == 2);
        c.node(1).propose(TestCluster.data("a"));
        c.stabilize();
        c.node(1).propose(TestCluster.data("b"));
        c.stabilize();
        assertThat(c.node(1).progressOf(2)).contains("inflight=1");
        c.dropIf(m -> false);
        c.isolate(3);
        c.tickAll(3);
        assertThat(c.appliedData(2)).containsExactly("a", "b");
        assertThat(c.appliedData(1)).containsExactly("a", "b");
    }

    @Test
    void aLeaderIsQuiescableOnlyWhenEveryMemberHoldsItsWholeLogAndNothingIsPending() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        c.tickAll(2);
        RaftNode leader = c.node(1);
        assertThat(leader.quiescable()).isTrue();
        assertThat(c.node(2).quiescable()).as("followers are never quiescable leaders").isFalse();
        leader.propose(TestCluster.data("x"));
        assertThat(leader.quiescable()).as("pending proposal").isFalse();
        c.isolate(3);
        c.stabilize();
        c.tickAll(1);
        assertThat(leader.quiescable()).as("node 3 lags").isFalse();
        c.heal();
        c.tickAll(2);
        assertThat(leader.quiescable()).isTrue();
        leader.readIndex(1);
        assertThat(leader.quiescable()).as("pending read").isFalse();
    }

    @Test
    void proposalsBeyondTheUncommittedByteCapAreRefused() {
        TestCluster c = new TestCluster(3, id -> RaftConfig.defaults(id, 7).withFlowControl(1 << 20, 256, 1000));
        c.elect(1);
        c.isolate(1);
        RaftNode leader = c.node(1);
        byte[] payload = new byte[300];
        assertThat(leader.propose(payload)).isEqualTo(ProposeResult.ACCEPTED);
        assertThat(leader.propose(payload)).isEqualTo(ProposeResult.ACCEPTED);
        assertThat(leader.propose(payload)).isEqualTo(ProposeResult.ACCEPTED);
        assertThat(leader.propose(payload)).isEqualTo(ProposeResult.UNCOMMITTED_LIMIT);
        c.heal();
        c.stabilize();
        c.tickAll(1);
        assertThat(leader.uncommittedBytes()).isZero();
        assertThat(leader.propose(payload)).isEqualTo(ProposeResult.ACCEPTED);
    }

    @Test
    void malformedOrMisaddressedMessagesAreDroppedNotApplied() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        RaftNode n2 = c.node(2);
        long last = n2.lastIndex();
        Message gap = new Message(MessageType.APPEND, 7, 1, 2, n2.term());
        gap.index = last;
        gap.logTerm = n2.termAt(last);
        gap.entries = List.of(Entry.normal(n2.term(), last + 2, TestCluster.data("gap")));
        n2.step(gap);
        Message otherGroup = new Message(MessageType.APPEND, 99, 1, 2, n2.term());
        n2.step(otherGroup);
        Message future = new Message(MessageType.APPEND, 7, 1, 2, n2.term());
        future.index = last;
        future.logTerm = n2.termAt(last);
        future.entries = List.of(Entry.normal(n2.term() + 5, last + 1, TestCluster.data("future")));
        n2.step(future);
        assertThat(n2.droppedMessages()).isEqualTo(3);
        assertThat(n2.lastIndex()).isEqualTo(last);
    }

    /**
     * The storage need not persist a hard state that moved only the commit index, so a replica may
     * restart with a recovered commit below its compaction point and below what its state machine
     * applied: both are committed, and the replica counts them so (etcd does the same).
     */
    @Test
    void aReplicaRestartsWithACommitIndexBelowItsCompactionPointAndItsAppliedIndex() {
        TestCluster c = new TestCluster(3);
        c.elect(1);
        for (int i = 0; i < 10; i++) {
            c.node(1).propose(TestCluster.data("e" + i));
            c.stabilize();
        }
        c.tickAll(2);
        RaftNode n3 = c.node(3);
        long applied = n3.appliedIndex();
        MemoryStorage s3 = c.storages.get(3L);
        long compacted = applied - 4;
        s3.createSnapshot(compacted, n3.confState(), TestCluster.data("image"));
        s3.compact(compacted);
        HardState durable = s3.initialHardState();
        // The commit-only hard states written since compacted - 2 were lost in a crash.
        s3.setHardState(new HardState(durable.term(), durable.vote(), compacted - 2));

        RaftNode restarted = new RaftNode(RaftConfig.defaults(3, 7).withApplied(applied), s3);

        assertThat(restarted.appliedIndex()).isEqualTo(applied);
        assertThat(restarted.commitIndex()).isEqualTo(applied);
        assertThat(restarted.hasReady() && !restarted.ready().committedEntries().isEmpty())
                .as("nothing applied twice").isFalse();
    }
}

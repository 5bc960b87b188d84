package io.flotilla.tools;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.kv.proto.ExplainEvent;
import io.flotilla.kv.proto.ExplainEventKind;
import io.flotilla.kv.proto.ExplainOutcome;
import io.flotilla.kv.proto.ExplainPeer;
import io.flotilla.kv.proto.ExplainRangeResponse;
import io.flotilla.kv.proto.ExplainRefusal;
import io.flotilla.kv.proto.ExplainRole;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import io.flotilla.tools.RangeDiagnosis.NodeAnswer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The sentences {@code flotilla why} derives from replicas' accounts, without a cluster. */
class RangeDiagnosisTest {
    private static final RangeDescriptor RANGE = RangeDescriptor.newBuilder().setRangeId(7).setEpoch(2).setConfVersion(3)
            .addReplicas(voter(1)).addReplicas(voter(2)).addReplicas(voter(3)).build();

    private static ReplicaDescriptor voter(long node) {
        return ReplicaDescriptor.newBuilder().setNodeId(node).setRole(ReplicaRole.VOTER).build();
    }

    private static ExplainRangeResponse.Builder replica(long node, ExplainRole role, long term, long applied) {
        return ExplainRangeResponse.newBuilder().setNodeId(node).setRange(RANGE).setRole(role).setTerm(term)
                .setCommitIndex(applied).setAppliedIndex(applied).setLastIndex(applied).setLastTerm(term)
                .setElectionTimeoutMs(1000);
    }

    private static String address(long node) {
        return "127.0.0.1:7" + node + "00";
    }

    @Test
    void aHealthyRangeNamesItsLeaderTermCommitIndexAndQuiescence() {
        ExplainRangeResponse leader = replica(2, ExplainRole.EXPLAIN_LEADER, 5, 1234).setLeaderNodeId(2)
                .setLeaseHeld(true).setQuiescent(true)
                .addPeers(ExplainPeer.newBuilder().setNodeId(1).setMatchIndex(1234).setRecentActive(true))
                .addPeers(ExplainPeer.newBuilder().setNodeId(2).setMatchIndex(1234).setRecentActive(true))
                .addPeers(ExplainPeer.newBuilder().setNodeId(3).setMatchIndex(1234).setRecentActive(true)).build();
        String text = RangeDiagnosis.explain(7, List.of(
                NodeAnswer.of(address(1), replica(1, ExplainRole.EXPLAIN_FOLLOWER, 5, 1234).setLeaderNodeId(2).build()),
                NodeAnswer.of(address(2), leader),
                NodeAnswer.of(address(3), replica(3, ExplainRole.EXPLAIN_FOLLOWER, 5, 1234).setLeaderNodeId(2).build())));

        assertThat(text).startsWith("Range 7 is healthy: node 2 leads since term 5, all 3 replicas within 0 entries"
                + " of its commit index 1,234; quiescent");
        assertThat(text).contains("lease held").doesNotContain("UNREACHABLE").doesNotContain("→ Start");
    }

    @Test
    void aLeaderWithADeadFollowerSaysWhichAndHowLongAgoItWasHeard() {
        ExplainRangeResponse leader = replica(2, ExplainRole.EXPLAIN_LEADER, 5, 1234).setLeaderNodeId(2)
                .addPeers(ExplainPeer.newBuilder().setNodeId(1).setMatchIndex(1234).setRecentActive(true))
                .addPeers(ExplainPeer.newBuilder().setNodeId(3).setMatchIndex(900).setHeard(true).setHeardMsAgo(4200)
                        .setReportedUnreachable(true).setUnreachableMsAgo(100)).build();
        String text = RangeDiagnosis.explain(7, List.of(
                NodeAnswer.of(address(1), replica(1, ExplainRole.EXPLAIN_FOLLOWER, 5, 1234).setLeaderNodeId(2).build()),
                NodeAnswer.of(address(2), leader),
                NodeAnswer.down(3, address(3), "connection refused")));

        assertThat(text).startsWith("Range 7 has a leader: node 2 leads since term 5 (commit index 1,234), but node 3"
                + " is unreachable (no answer from 127.0.0.1:7300); the leader last heard from it 4,200 ms ago.");
        assertThat(text).contains("(2 of 3) is up; 2 answer.").contains("→ Start node 3");
    }

    @Test
    void noLeaderWithADeadReplicaAndARefusedVoteSaysWhyAndWhatToDo() {
        ExplainEvent campaign = ExplainEvent.newBuilder().setKind(ExplainEventKind.EXPLAIN_CAMPAIGN).setTerm(12)
                .setMsAgo(200).setOutcome(ExplainOutcome.EXPLAIN_LOST).setVotesRefused(1).setOwnLastTerm(5)
                .setOwnLastIndex(130).setCount(1).build();
        ExplainEvent refused = ExplainEvent.newBuilder().setKind(ExplainEventKind.EXPLAIN_VOTE_REFUSED).setTerm(12)
                .setPeer(1).setRefusal(ExplainRefusal.EXPLAIN_LOG_BEHIND).setCandidateLastTerm(5)
                .setCandidateLastIndex(130).setOwnLastTerm(5).setOwnLastIndex(141).setCount(1).build();
        String text = RangeDiagnosis.explain(7, List.of(
                NodeAnswer.of(address(1), replica(1, ExplainRole.EXPLAIN_FOLLOWER, 12, 130).addEvents(campaign).build()),
                NodeAnswer.of(address(2), replica(2, ExplainRole.EXPLAIN_FOLLOWER, 12, 141).setInLease(true)
                        .setLeaderNodeId(3).setSinceLeaderMs(300).addEvents(refused).build()),
                NodeAnswer.down(3, address(3), "connection refused")));

        assertThat(text).startsWith("Range 7 has no leader. Node 3 is unreachable (no answer from 127.0.0.1:7300).");
        assertThat(text).contains("Node 1 campaigned in term 12 200 ms ago and lost (0 granted, 1 refused): node 2"
                + " refused its vote because node 2's log is ahead (node 1's last entry 5/130, node 2's 5/141).");
        assertThat(text).contains("Node 2 has not campaigned: it heard from a leader (node 3) 300 ms ago (lease).");
        assertThat(text).contains("→ Start node 3, or wait: node 2 will campaign after its election timeout.");
        assertThat(text).contains("UNREACHABLE").doesNotContain("Only");
    }

    @Test
    void withoutAMajorityItSaysNoElectionCanSucceed() {
        ExplainEvent oldWin = ExplainEvent.newBuilder().setKind(ExplainEventKind.EXPLAIN_CAMPAIGN).setTerm(2)
                .setOutcome(ExplainOutcome.EXPLAIN_WON).setCount(1).build();
        ExplainEvent retried = ExplainEvent.newBuilder().setKind(ExplainEventKind.EXPLAIN_CAMPAIGN).setTerm(5)
                .setPreVote(true).setMsAgo(300).setCount(4).build();
        String text = RangeDiagnosis.explain(7, List.of(
                NodeAnswer.of(address(1), replica(1, ExplainRole.EXPLAIN_PRE_CANDIDATE, 4, 10).addEvents(oldWin)
                        .addEvents(retried).build()),
                NodeAnswer.down(2, address(2), "connection refused"),
                NodeAnswer.down(3, address(3), "connection refused")));

        assertThat(text).contains("Only 1 of its 3 voters answer; electing a leader needs 2.")
                .contains("Node 1 ran a pre-election for term 5 300 ms ago (after 3 earlier campaigns that timed out)"
                        + " and is still collecting votes (no answers).")
                .doesNotContain("term 2")
                .contains("→ Start nodes 2 and 3: no election can succeed until 2 of the 3 voters are up.");
    }

    @Test
    void aLeaderWithoutAMajoritySaysNothingCommits() {
        ExplainRangeResponse leader = replica(1, ExplainRole.EXPLAIN_LEADER, 5, 7).setLeaderNodeId(1).setQuiescent(true)
                .build();
        String text = RangeDiagnosis.explain(7, List.of(NodeAnswer.of(address(1), leader),
                NodeAnswer.down(2, address(2), "connection refused"),
                NodeAnswer.down(3, address(3), "connection refused")));

        assertThat(text).contains("Only 1 of its 3 voters answer, fewer than the 2 a write needs: nothing commits, and"
                + " node 1 (asleep, so it has not noticed) steps down at its next quorum check.")
                .contains("→ Start nodes 2 and 3: writes commit again once 2 of the 3 voters are up.")
                .doesNotContain("It serves reads and writes");
    }

    @Test
    void eachRefusalReasonReadsAsASentence() {
        ExplainEvent.Builder e = ExplainEvent.newBuilder().setKind(ExplainEventKind.EXPLAIN_VOTE_REFUSED).setTerm(9)
                .setPeer(1).setCount(1);
        assertThat(RangeDiagnosis.refusal(2, 1, e.setRefusal(ExplainRefusal.EXPLAIN_IN_LEASE).setOther(3)
                .setSinceLeaderMs(250).build())).isEqualTo("node 2 refused its vote because it had heard from its leader"
                + " node 3 250 ms before (lease)");
        assertThat(RangeDiagnosis.refusal(2, 1, e.setRefusal(ExplainRefusal.EXPLAIN_ALREADY_VOTED).setOther(3).build()))
                .isEqualTo("node 2 refused its vote because it had voted for node 3 in term 9");
        assertThat(RangeDiagnosis.refusal(2, 1, e.setRefusal(ExplainRefusal.EXPLAIN_NOT_A_MEMBER).setCount(4).build()))
                .isEqualTo("node 2 refused its vote (4 times) because node 1 is not a voter in any configuration node 2"
                        + " knows");
        assertThat(RangeDiagnosis.refusal(2, 1, e.setRefusal(ExplainRefusal.EXPLAIN_STALE_TERM).setCount(1).build()))
                .isEqualTo("node 2 refused its vote because it is in a later term already");
        assertThat(RangeDiagnosis.refusal(2, 1, e.setRefusal(ExplainRefusal.EXPLAIN_HAS_LEADER).setOther(3).build()))
                .isEqualTo("node 2 refused its vote because it follows node 3 in term 9");
    }
}

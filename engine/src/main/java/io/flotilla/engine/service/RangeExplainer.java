package io.flotilla.engine.service;

import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.kv.proto.ExplainEvent;
import io.flotilla.kv.proto.ExplainPeer;
import io.flotilla.kv.proto.ExplainRangeResponse;
import io.flotilla.kv.proto.ExplainRole;
import io.flotilla.kv.proto.ExplainSnapshot;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.Response;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.multiraft.ReplicaReport;
import io.flotilla.raft.ElectionLog;
import io.flotilla.raft.RaftReport;

/**
 * Answers ExplainRange ({@code flotilla why}): this node's replica of a range reports its own
 * records — its elections and votes, lease, progress of its peers, snapshots in flight — with its
 * descriptor. Any replica answers, leader or not: a range without a leader is exactly when an
 * operator asks. The report is taken on the replica's worker thread ({@link MultiRaftNode#explain})
 * and answered from there; called on a connection's event loop.
 */
final class RangeExplainer {
    private final long nodeId;
    private final MultiRaftNode runtime;
    private final KvStateMachine stateMachine;

    RangeExplainer(long nodeId, MultiRaftNode runtime, KvStateMachine stateMachine) {
        this.nodeId = nodeId;
        this.runtime = runtime;
        this.stateMachine = stateMachine;
    }

    void explain(long rangeId, Reply reply) {
        runtime.explain(rangeId).whenComplete((report, failure) -> {
            if (failure != null) {
                reply.fail(Errors.unavailable("node " + nodeId + " could not report on range " + rangeId + " ("
                        + failure.getMessage() + "): ask again"));
            } else if (report == null) {
                reply.fail(Errors.rangeNotFound(nodeId, rangeId));
            } else {
                reply.send(Response.newBuilder().setExplainRange(answer(stateMachine.descriptor(rangeId), report)));
            }
        });
    }

    /**
     * The wire form of {@code report}; ticks become milliseconds before now. The replica's clock
     * stood still while it slept, so the sleep is added to every age.
     */
    ExplainRangeResponse.Builder answer(RangeDescriptor range, ReplicaReport report) {
        RaftReport raft = report.raft();
        long tickMs = report.tickIntervalMs();
        long now = raft.ticks() + report.asleepTicks();
        ExplainRangeResponse.Builder b = ExplainRangeResponse.newBuilder()
                .setNodeId(nodeId)
                .setRole(role(raft))
                .setTerm(raft.term())
                .setVote(raft.vote())
                .setLeaderNodeId(raft.leader())
                .setCommitIndex(raft.commitIndex())
                .setAppliedIndex(raft.appliedIndex())
                .setLastIndex(raft.lastIndex())
                .setLastTerm(raft.lastTerm())
                .setLeaseHeld(raft.leaseHeld())
                .setInLease(raft.inLease())
                .setSinceLeaderMs((raft.electionElapsedTicks() + report.asleepTicks()) * tickMs)
                .setElectionTimeoutMs(raft.electionTimeoutTicks() * tickMs)
                .setQuiescent(report.asleep())
                .setAwaitingSnapshot(raft.awaitingSnapshot())
                .setLeadTransferee(raft.leadTransferee());
        if (range != null) {
            b.setRange(range);
        }
        for (RaftReport.PeerProgress p : raft.peers()) {
            b.addPeers(ExplainPeer.newBuilder().setNodeId(p.peer()).setLearner(p.learner()).setMatchIndex(p.match())
                    .setNextIndex(p.next()).setState(p.state()).setPendingSnapshot(p.pendingSnapshot())
                    .setRecentActive(p.recentActive())
                    .setHeard(p.heardAtTick() > 0).setHeardMsAgo(msAgo(now, p.heardAtTick(), tickMs))
                    .setReportedUnreachable(p.unreachableAtTick() > 0)
                    .setUnreachableMsAgo(msAgo(now, p.unreachableAtTick(), tickMs)));
        }
        for (ReplicaReport.SnapshotTransfer s : report.snapshotsSending()) {
            b.addSnapshotsSending(ExplainSnapshot.newBuilder().setNodeId(s.peer()).setIndex(s.index())
                    .setAckedBytes(s.ackedBytes()).setTotalBytes(s.totalBytes()).setAttempts(s.attempts()));
        }
        for (ElectionLog.Event e : raft.elections()) {
            b.addEvents(event(e, now, tickMs));
        }
        return b;
    }

    /** The core's enums carry the wire codes (ElectionLog: "Codes are stable"). */
    private static ExplainEvent event(ElectionLog.Event e, long now, long tickMs) {
        ExplainEvent.Builder b = ExplainEvent.newBuilder()
                .setKindValue(e.kind().code)
                .setMsAgo(msAgo(now, e.atTick(), tickMs))
                .setTerm(e.term())
                .setPreVote(e.preVote())
                .setTransfer(e.transfer())
                .setPeer(e.peer())
                .setOther(e.other())
                .setSinceLeaderMs(e.ticksSinceLeader() * tickMs)
                .setCandidateLastTerm(e.candidateLastTerm())
                .setCandidateLastIndex(e.candidateLastIndex())
                .setOwnLastTerm(e.ownLastTerm())
                .setOwnLastIndex(e.ownLastIndex())
                .setVotesGranted(e.votesGranted())
                .setVotesRefused(e.votesRefused())
                .setCount(e.count());
        if (e.outcome() != null) {
            b.setOutcomeValue(e.outcome().code);
        }
        if (e.refusal() != null) {
            b.setRefusalValue(e.refusal().code);
        }
        return b.build();
    }

    private static long msAgo(long now, long atTick, long tickMs) {
        return atTick <= 0 ? 0 : Math.max(0, now - atTick) * tickMs;
    }

    private static ExplainRole role(RaftReport raft) {
        return switch (raft.role()) {
            case FOLLOWER -> ExplainRole.EXPLAIN_FOLLOWER;
            case PRE_CANDIDATE -> ExplainRole.EXPLAIN_PRE_CANDIDATE;
            case CANDIDATE -> ExplainRole.EXPLAIN_CANDIDATE;
            case LEADER -> ExplainRole.EXPLAIN_LEADER;
        };
    }
}

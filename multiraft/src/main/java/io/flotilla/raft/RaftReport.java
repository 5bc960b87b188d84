package io.flotilla.raft;

import java.util.List;

/**
 * What one replica can say about its group's health, copied out of its {@link RaftNode} by
 * {@link RaftNode#report()} on the replica's thread and then read anywhere (it is immutable). Ticks
 * are the replica's own: {@code ticks} is its clock now, every {@code atTick} in {@code elections}
 * is on the same clock.
 *
 * @param leaseHeld a leader that holds its read lease now ({@link LeaderLease})
 * @param inLease a follower that heard from its leader less than an election timeout ago, so it
 *     refuses vote requests (CheckQuorum, Raft thesis §4.2.3)
 * @param quiescable a leader whose whole group holds its whole log, so its runtime may stop ticking it
 * @param awaitingSnapshot a replica whose state machine lags its log and that waits for a snapshot
 * @param peers a leader's progress of each member (empty on a follower)
 * @param elections the replica's {@link ElectionLog}, oldest first
 */
public record RaftReport(long id, Role role, long term, long vote, long leader, long commitIndex,
        long appliedIndex, long lastIndex, long lastTerm, long ticks, long electionElapsedTicks,
        int electionTimeoutTicks, boolean leaseHeld, boolean inLease, boolean quiescable,
        boolean awaitingSnapshot, long leadTransferee, List<PeerProgress> peers,
        List<ElectionLog.Event> elections) {

    /**
     * A leader's view of one member. {@code state}: PROBE, REPLICATE or SNAPSHOT;
     * {@code pendingSnapshot}: in SNAPSHOT, the index being sent; {@code heardAtTick}: the last
     * answer from it in this term (0: none); {@code unreachableAtTick}: the last time the transport
     * reported it unreachable in this term (0: never).
     */
    public record PeerProgress(long peer, boolean learner, long match, long next, String state,
            long pendingSnapshot, boolean recentActive, long heardAtTick, long unreachableAtTick) {
    }
}

package io.flotilla.raft;

import java.util.ArrayDeque;

/**
 * A leader's pending read-index requests (Raft thesis §6.4). Each heartbeat broadcast is a numbered
 * round; a read queued while round r is the newest one sent waits until a quorum of voters has
 * acknowledged round r, because only a round sent after the read arrived proves the leader was
 * still the leader when it recorded the read index. All reads queued between two {@code Ready}s
 * share one round. Owned by the leader's thread; reset on every term change.
 */
final class ReadOnly {
    /** A read waiting for its round; {@code from} is the replica that asked (the leader itself for local reads). */
    record PendingRead(long requestId, long index, long round, long from) {
    }

    /** A read waiting for the leader's first commit in its term (thesis §6.4 step 1). */
    record WaitingRead(long requestId, long from) {
    }

    final ArrayDeque<PendingRead> pending = new ArrayDeque<>();
    final ArrayDeque<WaitingRead> waitingForCommit = new ArrayDeque<>();
    /** Rounds sent and not yet confirmed, with the leader's tick at sending, for the lease. */
    private final ArrayDeque<long[]> roundSendTicks = new ArrayDeque<>();
    long sentRound;
    long confirmedRound;
    /** A round was broadcast since the last Ready: later reads may join it, its messages have not left yet. */
    boolean roundSentSinceReady;

    void reset() {
        pending.clear();
        waitingForCommit.clear();
        roundSendTicks.clear();
        sentRound = 0;
        confirmedRound = 0;
        roundSentSinceReady = false;
    }

    long startRound(long nowTick) {
        sentRound++;
        roundSendTicks.addLast(new long[] {sentRound, nowTick});
        roundSentSinceReady = true;
        return sentRound;
    }

    /**
     * A quorum has acknowledged {@code round}. Returns the tick at which that round was sent (the
     * start of the leader's lease), or -1 if it was already confirmed.
     */
    long confirm(long round) {
        if (round <= confirmedRound) {
            return -1;
        }
        confirmedRound = round;
        long sentAt = -1;
        while (!roundSendTicks.isEmpty() && roundSendTicks.peekFirst()[0] <= round) {
            sentAt = roundSendTicks.pollFirst()[1];
        }
        return sentAt;
    }
}

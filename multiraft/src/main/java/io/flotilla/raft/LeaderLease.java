package io.flotilla.raft;

/**
 * A leader's lease for serving reads without a heartbeat round (Raft thesis §6.4.1). Owned by the
 * leader's thread.
 *
 * <p>Why it is safe: a follower that receives a heartbeat resets its election timer and, with
 * CheckQuorum, refuses (pre-)votes for any other candidate until {@code electionTimeoutTicks} of
 * its own ticks have passed; a restarted replica refuses them for its first election timeout too.
 * So once a quorum has acknowledged a heartbeat the leader sent at its tick {@code S}, no other
 * leader can be elected before the followers' clocks have advanced {@code electionTimeoutTicks}
 * ticks past receipt, i.e. at least {@code electionTimeoutTicks - 1} tick periods (the first tick
 * may come at once). The leader therefore holds the lease while its own tick count is below
 * {@code S + electionTimeoutTicks - 1 - maxClockDriftTicks}.
 *
 * <p>The clock-drift assumption: over one election timeout, no replica's tick clock runs faster
 * than the leader's by more than {@code maxClockDriftTicks} ticks. A leader transfer forces an
 * election that ignores leases, so starting one revokes the lease for the rest of the term.
 */
final class LeaderLease {
    private final int electionTimeoutTicks;
    private final int maxClockDriftTicks;
    private long expiresAtTick;
    private boolean revoked;

    LeaderLease(int electionTimeoutTicks, int maxClockDriftTicks) {
        this.electionTimeoutTicks = electionTimeoutTicks;
        this.maxClockDriftTicks = maxClockDriftTicks;
    }

    void reset() {
        expiresAtTick = 0;
        revoked = false;
    }

    /** A quorum acknowledged a heartbeat sent at {@code sentAtTick}. */
    void extend(long sentAtTick) {
        expiresAtTick = Math.max(expiresAtTick, sentAtTick + electionTimeoutTicks - 1 - maxClockDriftTicks);
    }

    /** Invalid until the next {@link #extend}; unlike {@link #revoke}, only until then. */
    void expire() {
        expiresAtTick = 0;
    }

    void revoke() {
        revoked = true;
    }

    boolean validAt(long nowTick) {
        return !revoked && nowTick < expiresAtTick;
    }
}

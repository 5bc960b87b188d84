package io.flotilla.raft;

/** How a leader confirms it is still the leader before answering a read index. */
public enum ReadOnlyOption {
    /** One heartbeat round acknowledged by a quorum, shared by all reads queued meanwhile (Raft thesis §6.4). */
    SAFE,
    /**
     * Answer at once while the leader lease holds (Raft thesis §6.4.1). Correct only if no replica's
     * clock runs faster than the leader's by more than {@link RaftConfig#maxClockDriftTicks()} ticks per
     * election timeout; see {@link LeaderLease}. Requires CheckQuorum.
     */
    LEASE
}

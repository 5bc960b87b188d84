package io.flotilla.raft;

/**
 * The settings of one replica. Immutable and validated on construction.
 *
 * @param id this replica's node id (non-zero)
 * @param groupId the Raft group this replica belongs to; stamped on every message
 * @param electionTimeoutTicks a follower that hears nothing for a random time in
 *        [electionTimeoutTicks, 2 * electionTimeoutTicks) ticks campaigns
 * @param heartbeatIntervalTicks a leader sends heartbeats this often
 * @param applied the index the state machine has already applied at start (0 if it restarts empty)
 * @param maxSizePerMsgBytes upper bound on the entry bytes of one append message (at least one entry is sent)
 * @param maxInflightMsgs appends in flight to one follower in REPLICATE state
 * @param maxUncommittedEntriesBytes proposals beyond this many uncommitted bytes are refused
 * @param preVote run a pre-vote round before bumping the term (thesis §9.6)
 * @param checkQuorum a leader that has not heard from a quorum for an election timeout steps down,
 *        and followers that heard from a leader within one ignore vote requests (thesis §6.2)
 * @param readOnlyOption how read-index requests are confirmed
 * @param maxClockDriftTicks for LEASE reads: the lease is shortened by this many ticks to cover
 *        clock drift between replicas
 * @param randomSeed seed for this replica's randomized election timeouts
 */
public record RaftConfig(
        long id,
        long groupId,
        int electionTimeoutTicks,
        int heartbeatIntervalTicks,
        long applied,
        long maxSizePerMsgBytes,
        int maxInflightMsgs,
        long maxUncommittedEntriesBytes,
        boolean preVote,
        boolean checkQuorum,
        ReadOnlyOption readOnlyOption,
        int maxClockDriftTicks,
        long randomSeed) {

    public RaftConfig {
        Check.argument(id > 0, "replica id must be positive, got %d", id);
        Check.argument(heartbeatIntervalTicks > 0, "heartbeatIntervalTicks must be positive, got %d", heartbeatIntervalTicks);
        Check.argument(electionTimeoutTicks > heartbeatIntervalTicks,
                "electionTimeoutTicks (%d) must exceed heartbeatIntervalTicks (%d)", electionTimeoutTicks, heartbeatIntervalTicks);
        Check.argument(applied >= 0, "applied must be >= 0, got %d", applied);
        Check.argument(maxSizePerMsgBytes > 0, "maxSizePerMsgBytes must be positive, got %d", maxSizePerMsgBytes);
        Check.argument(maxInflightMsgs > 0, "maxInflightMsgs must be positive, got %d", maxInflightMsgs);
        Check.argument(maxUncommittedEntriesBytes > 0, "maxUncommittedEntriesBytes must be positive, got %d", maxUncommittedEntriesBytes);
        Check.argument(readOnlyOption != ReadOnlyOption.LEASE || checkQuorum, "LEASE reads need checkQuorum");
        Check.argument(maxClockDriftTicks >= 0 && maxClockDriftTicks < electionTimeoutTicks - 1,
                "maxClockDriftTicks must be in [0, electionTimeoutTicks - 1), got %d", maxClockDriftTicks);
    }

    /** Defaults for a replica: 10-tick election timeout, 1-tick heartbeat, PreVote and CheckQuorum on, SAFE reads. */
    public static RaftConfig defaults(long id, long groupId) {
        return new RaftConfig(id, groupId, 10, 1, 0, 1 << 20, 256, 64L << 20, true, true,
                ReadOnlyOption.SAFE, 1, id * 0x9E3779B97F4A7C15L ^ groupId);
    }

    public RaftConfig withApplied(long applied) {
        return new RaftConfig(id, groupId, electionTimeoutTicks, heartbeatIntervalTicks, applied, maxSizePerMsgBytes,
                maxInflightMsgs, maxUncommittedEntriesBytes, preVote, checkQuorum, readOnlyOption, maxClockDriftTicks, randomSeed);
    }

    public RaftConfig withReadOnlyOption(ReadOnlyOption option) {
        return new RaftConfig(id, groupId, electionTimeoutTicks, heartbeatIntervalTicks, applied, maxSizePerMsgBytes,
                maxInflightMsgs, maxUncommittedEntriesBytes, preVote, checkQuorum, option, maxClockDriftTicks, randomSeed);
    }

    public RaftConfig withElection(boolean preVote, boolean checkQuorum) {
        return new RaftConfig(id, groupId, electionTimeoutTicks, heartbeatIntervalTicks, applied, maxSizePerMsgBytes,
                maxInflightMsgs, maxUncommittedEntriesBytes, preVote, checkQuorum, readOnlyOption, maxClockDriftTicks, randomSeed);
    }

    public RaftConfig withFlowControl(long maxSizePerMsgBytes, int maxInflightMsgs, long maxUncommittedEntriesBytes) {
        return new RaftConfig(id, groupId, electionTimeoutTicks, heartbeatIntervalTicks, applied, maxSizePerMsgBytes,
                maxInflightMsgs, maxUncommittedEntriesBytes, preVote, checkQuorum, readOnlyOption, maxClockDriftTicks, randomSeed);
    }

    public RaftConfig withRandomSeed(long seed) {
        return new RaftConfig(id, groupId, electionTimeoutTicks, heartbeatIntervalTicks, applied, maxSizePerMsgBytes,
                maxInflightMsgs, maxUncommittedEntriesBytes, preVote, checkQuorum, readOnlyOption, maxClockDriftTicks, seed);
    }
}

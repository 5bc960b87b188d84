package io.flotilla.sim;

import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.ReadOnlyOption;
import java.util.SplittableRandom;

/**
 * The parameters of one simulation run, all derived from its seed by {@link #forSeed(long)}.
 * Immutable; read by the single thread that runs the seed. Times are simulated microseconds.
 *
 * @param faultProfile which faults the nemesis favours in this seed
 * @param groupCount Raft groups, each with a replica on every node
 * @param initialVoters voters of every group at start (nodes 1..initialVoters); the other nodes
 *        host an empty replica that waits to be added
 * @param snapshotEveryEntries a replica snapshots its state machine and compacts its log after
 *        applying this many entries past its last snapshot
 * @param keepEntriesAfterSnapshot entries kept below the snapshot index when compacting
 * @param slowProbability share of messages delayed by {@code slowDelayUs} (reordering)
 * @param opTimeoutUs a client gives up an operation after this long (a write becomes "unknown")
 * @param reproposeAfterUs a client proposes a write again (same client id and sequence) if it has
 *        not seen it applied after this long
 * @param readRetryAfterUs a client asks another replica if a read has no answer after this long
 * @param minOps the active phase lasts until the clients have finished this many operations ...
 * @param minEvents ... and the nemesis has injected this many events ...
 * @param minActiveUs ... and at least this long has passed, but never longer than {@code maxActiveUs}
 * @param settleLimitUs after the active phase, every group must have a leader, caught-up members and
 *        no pending client operation within this long
 */
public record SimConfig(
        long seed,
        FaultProfile faultProfile,
        int nodeCount,
        int groupCount,
        int initialVoters,
        int clientsPerGroup,
        boolean preVote,
        boolean checkQuorum,
        ReadOnlyOption readOnlyOption,
        int electionTimeoutTicks,
        int heartbeatIntervalTicks,
        int maxClockDriftTicks,
        long maxSizePerMsgBytes,
        int maxInflightMsgs,
        long maxUncommittedEntriesBytes,
        int snapshotEveryEntries,
        int keepEntriesAfterSnapshot,
        long tickIntervalUs,
        long minDiskDelayUs,
        long maxDiskDelayUs,
        long minNetDelayUs,
        long maxNetDelayUs,
        double baseLossProbability,
        double baseDuplicateProbability,
        double slowProbability,
        long slowDelayUs,
        long opTimeoutUs,
        long reproposeAfterUs,
        long readRetryAfterUs,
        int minOps,
        int minEvents,
        long minActiveUs,
        long maxActiveUs,
        long settleLimitUs) {

    /** Which faults the nemesis favours in a seed; concentrated faults reach deeper combinations. */
    public enum FaultProfile { MIXED, CRASHES, NETWORK, RECONFIGURATION }

    static final long MS = 1_000;
    static final long SECOND = 1_000_000;

    /** Draws every parameter from {@code seed}; the same seed always gives the same config. */
    public static SimConfig forSeed(long seed) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L);
        int groups = 1 + r.nextInt(3);
        int voters = r.nextInt(4) == 0 ? 5 : 3;
        boolean preVote = r.nextBoolean();
        boolean checkQuorum = r.nextBoolean();
        ReadOnlyOption reads = checkQuorum && r.nextBoolean() ? ReadOnlyOption.LEASE : ReadOnlyOption.SAFE;
        boolean tightFlow = r.nextInt(3) == 0;
        long maxMsgBytes = tightFlow ? 64 + r.nextInt(448) : 1 << 20;
        int inflight = tightFlow ? 1 + r.nextInt(4) : 256;
        long uncommitted = tightFlow ? 256 + r.nextInt(1792) : 64L << 20;
        // Slow disks widen the window between a write's start and its completion, where crashes bite.
        long[] diskProfilesUs = {2 * MS, 2 * MS, 5 * MS, 10 * MS, 20 * MS};
        long maxDiskDelayUs = diskProfilesUs[r.nextInt(diskProfilesUs.length)];
        FaultProfile[] profiles = FaultProfile.values();
        FaultProfile profile = profiles[r.nextInt(profiles.length)];
        return new SimConfig(
                seed,
                profile,
                5,
                groups,
                voters,
                5 + r.nextInt(4),
                preVote,
                checkQuorum,
                reads,
                10,
                1 + r.nextInt(3),
                1 + r.nextInt(2),
                maxMsgBytes,
                inflight,
                uncommitted,
                50 + r.nextInt(151),
                2 + r.nextInt(9),
                10 * MS,
                100,
                maxDiskDelayUs,
                200,
                5 * MS,
                r.nextInt(3) == 0 ? 0.0 : r.nextDouble() * 0.02,
                r.nextInt(3) == 0 ? 0.0 : r.nextDouble() * 0.02,
                0.01,
                50 * MS,
                3 * SECOND,
                500 * MS,
                200 * MS,
                1500,
                20,
                10 * SECOND,
                30 * SECOND,
                30 * SECOND);
    }

    /** The config of replica {@code nodeId} of {@code groupId}; each incarnation draws other election timeouts. */
    RaftConfig raftConfig(long nodeId, long groupId, int incarnation, long applied) {
        long replicaSeed = seed * 0x9E3779B97F4A7C15L ^ nodeId * 0xBF58476D1CE4E5B9L ^ groupId * 0x94D049BB133111EBL ^ incarnation;
        return new RaftConfig(nodeId, groupId, electionTimeoutTicks, heartbeatIntervalTicks, applied, maxSizePerMsgBytes,
                maxInflightMsgs, maxUncommittedEntriesBytes, preVote, checkQuorum, readOnlyOption, maxClockDriftTicks,
                replicaSeed);
    }

    /** One line naming the parameters that vary by seed. */
    public String describe() {
        return String.format("seed=%d faults=%s groups=%d voters=%d clients/group=%d preVote=%s checkQuorum=%s reads=%s heartbeat=%dticks "
                        + "msgBytes=%d inflight=%d uncommittedBytes=%d snapshotEvery=%d keep=%d disk<=%dus loss=%.3f dup=%.3f",
                seed, faultProfile, groupCount, initialVoters, clientsPerGroup, preVote, checkQuorum, readOnlyOption, heartbeatIntervalTicks,
                maxSizePerMsgBytes, maxInflightMsgs, maxUncommittedEntriesBytes, snapshotEveryEntries, keepEntriesAfterSnapshot,
                maxDiskDelayUs, baseLossProbability, baseDuplicateProbability);
    }
}

package io.flotilla.multiraft;

import io.flotilla.raft.Check;
import io.flotilla.raft.RaftConfig;

/**
 * Settings of a node's multi-group runtime. Immutable and validated.
 *
 * @param nodeId              this node's id (> 0)
 * @param workers             worker threads; each owns the groups that hash to it
 * @param tickIntervalMs      one Raft tick, for every group of a worker (one timer per worker)
 * @param electionTimeoutTicks election timeout of every group, in ticks
 * @param heartbeatIntervalTicks heartbeat interval of every group, in ticks
 * @param inboxCapacity       commands a worker's inbox holds before callers get BUSY
 * @param maxGroupsPerWorker  groups one worker may host
 * @param logRetainEntries    a group's log is compacted once it holds more than twice this many
 *                            entries the state machine has made durable, down to this many; they
 *                            let a briefly lagging follower catch up without a snapshot
 */
public record MultiRaftConfig(long nodeId, int workers, int tickIntervalMs, int electionTimeoutTicks,
        int heartbeatIntervalTicks, int inboxCapacity, int maxGroupsPerWorker, int logRetainEntries) {

    public MultiRaftConfig {
        Check.argument(nodeId > 0, "nodeId must be positive, was %d", nodeId);
        Check.argument(workers > 0 && workers <= 256, "workers must be in [1, 256], was %d", workers);
        Check.argument(tickIntervalMs > 0, "tickIntervalMs must be positive, was %d", tickIntervalMs);
        Check.argument(inboxCapacity >= 64, "inboxCapacity must be at least 64, was %d", inboxCapacity);
        Check.argument(maxGroupsPerWorker > 0, "maxGroupsPerWorker must be positive, was %d", maxGroupsPerWorker);
        Check.argument(logRetainEntries > 0, "logRetainEntries must be positive, was %d", logRetainEntries);
    }

    /** Defaults: one worker per core, 10 ms ticks, 10-tick elections, 1-tick heartbeats, 1,000 retained entries. */
    public static MultiRaftConfig defaults(long nodeId) {
        return new MultiRaftConfig(nodeId, Runtime.getRuntime().availableProcessors(), 10, 10, 1, 1 << 16, 1 << 16, 1000);
    }

    long tickIntervalNs() {
        return tickIntervalMs * 1_000_000L;
    }

    /** The Raft settings of one replica (its election timer is seeded by node and group). */
    RaftConfig raftConfig(long nodeId, long groupId) {
        RaftConfig d = RaftConfig.defaults(nodeId, groupId);
        return new RaftConfig(nodeId, groupId, electionTimeoutTicks, heartbeatIntervalTicks, 0, d.maxSizePerMsgBytes(),
                d.maxInflightMsgs(), d.maxUncommittedEntriesBytes(), true, true, d.readOnlyOption(), 1, d.randomSeed());
    }
}

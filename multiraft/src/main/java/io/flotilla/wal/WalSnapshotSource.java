package io.flotilla.wal;

/**
 * What the log cannot answer about a snapshot: the log records the snapshot mark (group, index,
 * term and membership) but not the state machine's data, which the state machine supplies here.
 * Called on the thread that owns the group (its worker), from {@link WalGroupStorage}.
 */
public interface WalSnapshotSource {
    /**
     * The snapshot to send to a follower that needs entries this log no longer holds, or that asked
     * for one, or null if none can be made now (the core asks again later). {@code latestMark} is
     * the log's newest snapshot mark (index, term and membership), null if the log was never
     * compacted. Called from {@link WalGroupStorage#snapshot()} on the thread that owns the group.
     */
    io.flotilla.raft.Snapshot snapshot(long groupId, io.flotilla.raft.SnapshotMetadata latestMark);
}

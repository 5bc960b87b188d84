package io.flotilla.wal;

import io.flotilla.raft.ConfState;

/**
 * What the log cannot answer about a snapshot: the log records only a snapshot mark (group, index,
 * term); the membership and the data live with the state machine, which supplies them here. Called
 * on the thread that owns the group (its worker), from {@link WalGroupStorage}.
 */
public interface WalSnapshotSource {
    /** Membership as of the group's snapshot at {@code index}/{@code term}; never null. */
    ConfState confState(long groupId, long index, long term);

    /** The snapshot's data (a handle the core carries unread), or null if it is not available yet. */
    byte[] data(long groupId, long index, long term);
}

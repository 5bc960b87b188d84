package io.flotilla.multiraft;

import io.flotilla.transport.snapshot.SnapshotSource;

/**
 * An image of a group's state machine a worker captured for streaming to followers over its
 * {@link SnapshotChannel}. Owned by that worker; the channel reads it through {@link #reader}.
 */
final class OutgoingImage {
    final long groupId;
    final long index;
    final long term;
    final SnapshotSource.Reader reader;
    /** Transfers queued and not yet reported (worker thread). */
    int transfers;

    OutgoingImage(long groupId, long index, long term, SnapshotSource.Reader reader) {
        this.groupId = groupId;
        this.index = index;
        this.term = term;
        this.reader = reader;
    }
}

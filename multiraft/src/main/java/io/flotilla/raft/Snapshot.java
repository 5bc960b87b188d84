package io.flotilla.raft;

/**
 * A state machine image up to {@code metadata.index}. The core carries {@code data} without looking
 * at it; in the multi-group runtime the payload is a handle to SST files streamed separately.
 * Immutable by contract: {@code data} is never written after the snapshot is made.
 */
public record Snapshot(SnapshotMetadata metadata, byte[] data) {
    public static final Snapshot EMPTY = new Snapshot(SnapshotMetadata.EMPTY, new byte[0]);

    public boolean isEmpty() {
        return metadata.index() == 0;
    }
}

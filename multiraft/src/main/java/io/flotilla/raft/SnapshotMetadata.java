package io.flotilla.raft;

/** Where a snapshot sits in the log (last included index and term) and the membership at that point. */
public record SnapshotMetadata(long index, long term, ConfState confState) {
    public static final SnapshotMetadata EMPTY = new SnapshotMetadata(0, 0, ConfState.EMPTY);

    @Override
    public String toString() {
        return "index=" + index + " term=" + term + " " + confState;
    }
}

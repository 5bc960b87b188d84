package io.flotilla.raft;

/** Thrown by {@link RaftStorage} reads below the first retained index: the entries live only in a snapshot. */
public final class LogCompactedException extends RuntimeException {
    public LogCompactedException(long index, long firstIndex) {
        super("index " + index + " is compacted; first retained index is " + firstIndex, null, false, false);
    }
}

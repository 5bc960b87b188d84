package io.flotilla.raft;

/**
 * The append messages in flight to one follower, as the last index each carried, in a bounded ring.
 * A leader in REPLICATE state stops sending when it is full (flow control). Owned by the leader's thread.
 */
final class Inflights {
    private final long[] lastIndexes;
    private int start;
    private int count;

    Inflights(int capacity) {
        this.lastIndexes = new long[capacity];
    }

    boolean full() {
        return count == lastIndexes.length;
    }

    int count() {
        return count;
    }

    void add(long lastIndex) {
        Check.state(!full(), "inflight window of %d is full", lastIndexes.length);
        lastIndexes[(start + count) % lastIndexes.length] = lastIndex;
        count++;
    }

    /** Frees every message whose last index is {@code <= index}: the follower has acknowledged them. */
    void freeLE(long index) {
        while (count > 0 && lastIndexes[start] <= index) {
            start = (start + 1) % lastIndexes.length;
            count--;
        }
    }

    /** Frees the oldest slot; used when a heartbeat shows the follower alive but an answer may be lost. */
    void freeFirstOne() {
        if (count > 0) {
            start = (start + 1) % lastIndexes.length;
            count--;
        }
    }

    void reset() {
        start = 0;
        count = 0;
    }
}

package io.flotilla.raft;

/**
 * The append messages in flight to one follower, as the last index each carried, in a bounded ring.
 * A leader in REPLICATE state stops sending when it is full (flow control). Owned by the leader's thread.
 */
final class Inflights {
    private static final long[] NONE = new long[0];

    private final int capacity;
    /** Grown on demand up to {@code capacity}: most replicas (followers, idle groups) never need a window. */
    private long[] lastIndexes = NONE;
    private int start;
    private int count;

    Inflights(int capacity) {
        this.capacity = capacity;
    }

    boolean full() {
        return count == capacity;
    }

    int count() {
        return count;
    }

    void add(long lastIndex) {
        Check.state(!full(), "inflight window of %d is full", capacity);
        if (count == lastIndexes.length) {
            grow();
        }
        lastIndexes[(start + count) % lastIndexes.length] = lastIndex;
        count++;
    }

    private void grow() {
        long[] bigger = new long[Math.min(capacity, Math.max(4, lastIndexes.length * 2))];
        for (int i = 0; i < count; i++) {
            bigger[i] = lastIndexes[(start + i) % lastIndexes.length];
        }
        lastIndexes = bigger;
        start = 0;
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

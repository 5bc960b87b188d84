package io.flotilla.engine.rocks;

/**
 * Maps one column family's RocksDB sequence numbers to the group's applied indexes, so that a
 * completed flush (which reports the largest sequence number it persisted) tells which applied
 * index became durable. The worker adds a point after each round's write (the sequence number is
 * read after the write, so it may be larger than the write's own: that only makes durability
 * conservative); the flush listener's thread takes the points a flush covered. Bounded: when full,
 * every other point is dropped, which delays but never overstates durability. Guarded by its monitor
 * (shared by exactly those two threads, never between workers).
 */
final class FlushPoints {
    private static final int CAPACITY = 256;

    private final long[] sequences = new long[CAPACITY];
    private final long[] indexes = new long[CAPACITY];
    private int size;

    synchronized void add(long sequence, long appliedIndex) {
        if (size == CAPACITY) {
            // Keep the later point of each pair: a flush that covers it covers the earlier one too.
            for (int i = 0; i < CAPACITY / 2; i++) {
                sequences[i] = sequences[2 * i + 1];
                indexes[i] = indexes[2 * i + 1];
            }
            size = CAPACITY / 2;
        }
        sequences[size] = sequence;
        indexes[size] = appliedIndex;
        size++;
    }

    /** Removes the points at or below {@code largestSequence}; returns the largest index among them, or -1. */
    synchronized long takeFlushed(long largestSequence) {
        int n = 0;
        while (n < size && sequences[n] <= largestSequence) {
            n++;
        }
        if (n == 0) {
            return -1;
        }
        long index = indexes[n - 1];
        System.arraycopy(sequences, n, sequences, 0, size - n);
        System.arraycopy(indexes, n, indexes, 0, size - n);
        size -= n;
        return index;
    }
}

package io.flotilla.engine.node;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Ids for the ranges this node splits off as a range's leader: {@code node id * 2^32 + n}, with
 * {@code n} counting up from 1 across restarts. Unique without asking anyone: no other node
 * allocates in this node's block, the initial ranges have ids below 2^32, and a block of ids is
 * recorded as reserved in the data directory (synced) before any id of it is handed out, so a
 * restart never hands out an id twice (it skips what the last run reserved and did not use).
 * Thread-safe.
 */
final class RangeIds {
    /** Ids reserved per write of the data directory's counter. */
    static final long BLOCK = 1024;
    private static final long PER_NODE = 1L << 32;

    private final DataDirectory directory;
    private final long base;
    private long next;
    private long reserved;

    RangeIds(DataDirectory directory, long nodeId) throws IOException {
        if (nodeId <= 0 || nodeId >= (1L << 31)) {
            throw new IllegalArgumentException("node id " + nodeId + " is outside [1, 2^31): it cannot allocate range ids");
        }
        this.directory = directory;
        this.base = nodeId * PER_NODE;
        this.reserved = directory.reservedRangeIds();
        this.next = reserved + 1;
    }

    /**
     * A range id no range has had.
     *
     * @throws UncheckedIOException if the reservation cannot be written (the split is not proposed)
     */
    synchronized long next() {
        if (next > reserved) {
            long bound = reserved + BLOCK;
            if (bound >= PER_NODE) {
                throw new IllegalStateException("this node has created " + reserved + " ranges, the most it can");
            }
            try {
                directory.reserveRangeIds(bound);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot record reserved range ids in " + directory.root(), e);
            }
            reserved = bound;
        }
        return base + next++;
    }
}

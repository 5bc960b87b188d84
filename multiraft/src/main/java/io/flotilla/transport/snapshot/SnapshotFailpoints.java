package io.flotilla.transport.snapshot;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Named failpoints of a {@link SnapshotSender}, set by tests from any thread and read by the
 * sender's I/O thread as it builds each chunk. Each one-shot failpoint fires once and disarms.
 * A sender without faults never has them armed ({@link #DISARMED}).
 */
public final class SnapshotFailpoints {
    public static final long DISARMED = -1;

    /**
     * Flip one bit of the data of the chunk that holds this offset after its CRC32C was computed,
     * as a corrupting network or NIC would: the receiver's chunk check catches it. One-shot.
     */
    public final AtomicLong corruptChunkAtOffset = new AtomicLong(DISARMED);

    /**
     * Flip one bit of the data of the chunk that holds this offset before its CRC32C is computed,
     * as a bad read of the source would: only the whole-snapshot checksum catches it. One-shot.
     */
    public final AtomicLong corruptSourceAtOffset = new AtomicLong(DISARMED);

    /** Close the transfer's connection once it has sent chunks up to at least this offset. One-shot. */
    public final AtomicLong cutConnectionAtOffset = new AtomicLong(DISARMED);

    /**
     * Send no chunk that starts at or after this offset (the transfer stalls, its connection stays
     * up) until {@link SnapshotSender#releaseHold()}. Not one-shot: applies to every transfer.
     */
    public volatile long holdAtOffset = Long.MAX_VALUE;

    /**
     * Takes a one-shot failpoint armed at an offset in {@code [fromOffset, toOffset)}: returns that
     * offset and disarms it, or returns {@link #DISARMED}.
     */
    static long take(AtomicLong point, long fromOffset, long toOffset) {
        long at = point.get();
        if (at != DISARMED && at >= fromOffset && at < toOffset && point.compareAndSet(at, DISARMED)) {
            return at;
        }
        return DISARMED;
    }
}

package io.flotilla.wal;

/**
 * Counters of a {@link WalWriter} since it opened, for benchmarks. An immutable snapshot; the fields
 * are read one by one while the writer runs, so they may be a round apart from each other.
 *
 * <p>Invariant while the log has not failed: {@code forces == commits + rollovers} (one fsync per
 * group commit, one per segment left behind).
 *
 * @param commits      group commits: rounds that wrote and forced at least one batch
 * @param batches      batches made durable
 * @param records      records made durable
 * @param entries      Raft entries inside those records
 * @param bytes        record bytes written, padding included
 * @param writes       {@code write} calls on segment files
 * @param forces       {@code force} calls on segment files
 * @param rollovers    switches to the next segment
 * @param segmentWaits rollovers that had to wait for the preallocator to finish the next segment
 */
public record WalWriterStats(long commits, long batches, long records, long entries, long bytes, long writes,
        long forces, long rollovers, long segmentWaits) {
    /** Raft entries per fsync: what group commit buys (0 before the first force). */
    public double entriesPerForce() {
        return forces == 0 ? 0 : (double) entries / forces;
    }

    /** Batches per fsync (0 before the first force). */
    public double batchesPerForce() {
        return forces == 0 ? 0 : (double) batches / forces;
    }
}

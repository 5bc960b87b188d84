package io.flotilla.sim;

/**
 * What the nodes' real write-ahead logs did in one run (all zero on MemoryStorage). Immutable.
 *
 * @param batches batches written and waited for
 * @param forces fsyncs the writers made
 * @param bytes bytes of records written
 * @param rollovers moves to a new segment
 * @param purgedSegments segment files deleted by purge
 * @param rewrites lagging groups whose live records were rewritten forward
 * @param recoveries reopenings of a log after a crash (each checked against the log as it closed)
 * @param diskReads entries reads served from segment files rather than the cache
 */
public record SimWalStats(long batches, long forces, long bytes, long rollovers, long purgedSegments, long rewrites,
        long recoveries, long diskReads) {
    public static final SimWalStats NONE = new SimWalStats(0, 0, 0, 0, 0, 0, 0, 0);

    public SimWalStats plus(SimWalStats o) {
        return new SimWalStats(batches + o.batches, forces + o.forces, bytes + o.bytes, rollovers + o.rollovers,
                purgedSegments + o.purgedSegments, rewrites + o.rewrites, recoveries + o.recoveries, diskReads + o.diskReads);
    }
}

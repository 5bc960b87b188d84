package io.flotilla.engine.node;

/**
 * When a node splits the ranges it leads on its own ({@link SplitTrigger}). Immutable.
 *
 * @param sizeBytes         split a range whose keys and values take about this many bytes (RocksDB's
 *                          estimate), at its middle key by size; 0: never by size
 * @param loadOpsPerSecond  split a range that served at least this many writes per second, or as
 *                          many reads, for {@code loadSeconds} in a row, at the median key of its
 *                          requests; 0: never by load
 * @param loadSeconds       how long a range must stay that busy
 */
public record SplitPolicy(long sizeBytes, long loadOpsPerSecond, int loadSeconds) {
    public static final long DEFAULT_SIZE_BYTES = 128L << 20;
    /** CockroachDB's default load-based split threshold (2,500 queries per second), for each of writes and reads. */
    public static final long DEFAULT_LOAD_OPS_PER_SECOND = 2_500;
    public static final int DEFAULT_LOAD_SECONDS = 10;

    public SplitPolicy {
        if (sizeBytes < 0 || loadOpsPerSecond < 0 || loadSeconds < 1) {
            throw new IllegalArgumentException("split policy needs sizes and rates >= 0 and at least 1 second of load, not "
                    + sizeBytes + " bytes, " + loadOpsPerSecond + " ops/s, " + loadSeconds + " s");
        }
    }

    public static SplitPolicy defaults() {
        return new SplitPolicy(DEFAULT_SIZE_BYTES, DEFAULT_LOAD_OPS_PER_SECOND, DEFAULT_LOAD_SECONDS);
    }

    /** No automatic splits (only {@code flotilla split} and the admin API). */
    public static SplitPolicy manualOnly() {
        return new SplitPolicy(0, 0, DEFAULT_LOAD_SECONDS);
    }

    boolean enabled() {
        return sizeBytes > 0 || loadOpsPerSecond > 0;
    }
}

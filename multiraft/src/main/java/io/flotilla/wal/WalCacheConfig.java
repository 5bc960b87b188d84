package io.flotilla.wal;

import io.flotilla.raft.Check;

/**
 * Limits of one group's cache of recent entries ({@link WalGroupIndex}): immutable and validated,
 * shared by every thread.
 *
 * @param maxEntries the most recent entries kept as objects (0 turns the cache off)
 * @param maxBytes   the most payload bytes ({@link io.flotilla.raft.Entry#sizeBytes()}) kept
 */
public record WalCacheConfig(int maxEntries, long maxBytes) {
    /** The cap on {@link #maxEntries}: the cache ring is a power of two no larger than this. */
    public static final int MAX_ENTRIES_LIMIT = 1 << 20;
    public static final int DEFAULT_MAX_ENTRIES = 256;
    public static final long DEFAULT_MAX_BYTES = 1 << 20;

    public WalCacheConfig {
        Check.argument(maxEntries >= 0 && maxEntries <= MAX_ENTRIES_LIMIT,
                "cache maxEntries %d must be in [0, %d]", maxEntries, MAX_ENTRIES_LIMIT);
        Check.argument(maxBytes >= 0, "cache maxBytes %d must not be negative", maxBytes);
    }

    public static WalCacheConfig defaults() {
        return new WalCacheConfig(DEFAULT_MAX_ENTRIES, DEFAULT_MAX_BYTES);
    }
}

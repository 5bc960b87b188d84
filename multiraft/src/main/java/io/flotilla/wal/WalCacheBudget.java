package io.flotilla.wal;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The node-wide memory budget for cached log entries, shared by every group's {@link WalGroupIndex}
 * on every worker thread. Lock-free: each index adds and subtracts its own cached bytes and evicts
 * its oldest entries while the total is over the limit.
 */
public final class WalCacheBudget {
    /** No node-wide limit: only each group's {@link WalCacheConfig} applies. */
    public static final WalCacheBudget UNLIMITED = new WalCacheBudget(Long.MAX_VALUE);

    private final long maxBytes;
    private final AtomicLong cachedBytes = new AtomicLong();

    public WalCacheBudget(long maxBytes) {
        io.flotilla.raft.Check.argument(maxBytes > 0, "cache budget must be positive, was %d", maxBytes);
        this.maxBytes = maxBytes;
    }

    void add(long bytes) {
        if (this != UNLIMITED) {
            cachedBytes.addAndGet(bytes);
        }
    }

    boolean exceeded() {
        return cachedBytes.get() > maxBytes;
    }

    /** Bytes cached by all groups now. */
    public long cachedBytes() {
        return cachedBytes.get();
    }

    public long maxBytes() {
        return maxBytes;
    }
}

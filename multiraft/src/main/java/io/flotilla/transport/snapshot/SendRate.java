package io.flotilla.transport.snapshot;

/**
 * The snapshot sender's rate limit: a token bucket shared by every transfer of the node, refilled
 * at {@code bytesPerSecond} and holding at most one second's worth (or one chunk, if larger), so a
 * node's outgoing snapshots together never exceed the limit for long. 0 means no limit. The limit
 * may change at any time (any thread); {@link #take} is called on the sender's event loop only.
 */
final class SendRate {
    private volatile long bytesPerSecond;
    private double tokens;
    private long lastNs;

    void limit(long bytesPerSecond) {
        this.bytesPerSecond = Math.max(0, bytesPerSecond);
    }

    long limit() {
        return bytesPerSecond;
    }

    /** Takes {@code n} bytes' worth and returns 0 if they may be sent now; else how many ns until they may (nothing taken). */
    long take(int n, long nowNs) {
        long rate = bytesPerSecond;
        if (rate == 0) {
            return 0;
        }
        double cap = Math.max(rate, n);
        tokens = lastNs == 0 ? cap : Math.min(cap, tokens + (nowNs - lastNs) * (rate / 1e9));
        lastNs = nowNs;
        if (tokens >= n) {
            tokens -= n;
            return 0;
        }
        return (long) Math.ceil((n - tokens) * 1e9 / rate);
    }
}

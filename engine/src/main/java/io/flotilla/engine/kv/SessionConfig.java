package io.flotilla.engine.kv;

/**
 * TEMPORARY STAND-IN, replaced at merge by the state machine's own {@code SessionConfig} (branch of
 * the RocksDB state machine): only the shape the node needs to compile. How client sessions of a
 * group expire and how many a group keeps. Immutable.
 *
 * @param ttlMs               a session idle this long in log time expires
 * @param maxSessionsPerGroup sessions a group keeps at most
 */
public record SessionConfig(long ttlMs, int maxSessionsPerGroup) {
    public SessionConfig {
        if (ttlMs <= 0 || maxSessionsPerGroup <= 0) {
            throw new IllegalArgumentException("ttlMs and maxSessionsPerGroup must be positive, were " + ttlMs
                    + " and " + maxSessionsPerGroup);
        }
    }

    public static SessionConfig defaults() {
        return new SessionConfig(3_600_000, 100_000);
    }
}

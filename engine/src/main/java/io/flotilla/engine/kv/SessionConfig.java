package io.flotilla.engine.kv;

/**
 * How a group keeps client sessions for exactly-once writes ({@link ClientSessions}). Immutable and
 * validated; shared by every group of a node.
 *
 * @param ttlMs               a session unused for longer than this much log time expires (and a later
 *                            write of that client with {@code first_unacked_sequence > 1} gets
 *                            SessionExpired). It must exceed the longest time a client keeps retrying
 *                            one write, or a retry that outlives its session could apply twice.
 * @param maxSessionsPerGroup sessions one group keeps at most; a new client past it gets Busy unless the
 *                            least recently used session is older than {@code ttlMs}
 */
public record SessionConfig(long ttlMs, int maxSessionsPerGroup) {
    /** Ten minutes of log time. */
    public static final long DEFAULT_TTL_MS = 10 * 60 * 1000L;
    public static final int DEFAULT_MAX_SESSIONS_PER_GROUP = 10_000;

    public SessionConfig {
        if (ttlMs <= 0) {
            throw new IllegalArgumentException("session ttlMs must be positive, was " + ttlMs);
        }
        if (maxSessionsPerGroup <= 0) {
            throw new IllegalArgumentException("maxSessionsPerGroup must be positive, was " + maxSessionsPerGroup);
        }
    }

    /** A ten-minute TTL and 10,000 sessions per group. */
    public static SessionConfig defaults() {
        return new SessionConfig(DEFAULT_TTL_MS, DEFAULT_MAX_SESSIONS_PER_GROUP);
    }
}

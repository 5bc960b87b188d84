package io.flotilla.client;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * The settings of one {@link FlotillaClient}, validated. Immutable, any thread.
 *
 * @param seeds nodes to ask for routes first; the nodes they name are asked too
 * @param clusterId the cluster every node must belong to
 * @param requestTimeout a call's deadline, across all its attempts
 * @param attemptTimeout how long one attempt waits for its response before it is retried
 *     (a lost response or a stuck node); at most the request timeout
 * @param connectTimeout how long a connection attempt to a node may take
 * @param retryPolicy attempts per call and the waits between them
 * @param maxInFlight calls in flight at once; more are refused with {@link ClientOverloadedException}
 * @param maxFrameBytes the largest frame sent or accepted (a request over it fails with
 *     {@link TooLargeException}; a response over it closes the connection)
 * @param callbackExecutor where calls complete their futures; null completes them on the client's
 *     I/O thread, which then must not block
 */
record ClientConfig(List<HostPort> seeds, long clusterId, Duration requestTimeout, Duration attemptTimeout,
        Duration connectTimeout, RetryPolicy retryPolicy, int maxInFlight, int maxFrameBytes, Executor callbackExecutor) {
    static final int MAX_FRAME_BYTES_LIMIT = 1 << 30;

    ClientConfig {
        seeds = List.copyOf(seeds);
        if (seeds.isEmpty()) {
            throw new IllegalArgumentException("a client needs at least one seed node address (host:port)");
        }
        requirePositive("request timeout", requestTimeout);
        requirePositive("attempt timeout", attemptTimeout);
        requirePositive("connect timeout", connectTimeout);
        if (attemptTimeout.compareTo(requestTimeout) > 0) {
            attemptTimeout = requestTimeout;
        }
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("maxInFlight must be at least 1, not " + maxInFlight);
        }
        if (maxFrameBytes < 1024 || maxFrameBytes > MAX_FRAME_BYTES_LIMIT) {
            throw new IllegalArgumentException("maxFrameBytes must be in 1 KiB..1 GiB, not " + maxFrameBytes);
        }
    }

    private static void requirePositive(String what, Duration value) {
        if (value == null || value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(what + " must be positive, not " + value);
        }
    }
}

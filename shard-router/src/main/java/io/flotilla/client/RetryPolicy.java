package io.flotilla.client;

import java.time.Duration;

/**
 * How a call retries: at most {@code maxAttempts} sends, the waits between them growing
 * exponentially from {@code initialBackoff} up to {@code maxBackoff}, each wait jittered into the
 * upper half of its step so that clients that failed together do not retry together. The caller's
 * deadline bounds all of it. Immutable and validated; pure, any thread.
 */
public record RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
    /**
     * Thirty attempts, waits from 10 ms up to 1 s: enough that a call's deadline, not its attempts,
     * ends it while a range elects a new leader after its leader died (an election timeout of 1-2 s,
     * with the dead node still among the replicas tried). Ten ran out in about a second.
     */
    public static final RetryPolicy DEFAULT = new RetryPolicy(30, Duration.ofMillis(10), Duration.ofSeconds(1));

    public RetryPolicy {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("a call needs at least 1 attempt, not " + maxAttempts);
        }
        if (initialBackoff.isNegative() || initialBackoff.isZero()) {
            throw new IllegalArgumentException("initial backoff must be positive, not " + initialBackoff);
        }
        if (maxBackoff.compareTo(initialBackoff) < 0) {
            throw new IllegalArgumentException("max backoff " + maxBackoff + " is below the initial backoff " + initialBackoff);
        }
    }

    /**
     * The wait before retry number {@code retry} (1 for the first retry), given a uniform random
     * {@code unitRandom} in [0, 1): a step of {@code min(maxBackoff, initialBackoff * 2^(retry-1))},
     * of which the wait is the upper half, jittered.
     */
    public long backoffNanos(int retry, double unitRandom) {
        if (retry < 1) {
            throw new IllegalArgumentException("retries count from 1, not " + retry);
        }
        long initialNs = initialBackoff.toNanos();
        long maxNs = maxBackoff.toNanos();
        int doublings = Math.min(retry - 1, 62);
        long stepNs = initialNs > (maxNs >> doublings) ? maxNs : Math.min(maxNs, initialNs << doublings);
        long halfNs = stepNs / 2;
        return stepNs - halfNs + (long) (halfNs * unitRandom);
    }
}

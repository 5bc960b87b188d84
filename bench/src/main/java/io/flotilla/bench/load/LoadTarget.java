package io.flotilla.bench.load;

import java.util.concurrent.CompletableFuture;

/**
 * What the load generator sends operations to: the cluster through the Java client
 * ({@link ClientTarget}), or a stand-in in tests. {@link #issue} is called by the sending thread
 * (the closed loop's: the client's I/O thread) and must not block.
 */
interface LoadTarget {
    /**
     * Starts one operation on key number {@code key}; {@code slot} spreads operations over the
     * target's connections (clients). The future completes with whether the operation found what it
     * looked for (a get or scan found a value, a compare-and-set's condition held; always true for
     * a put), or fails with the client's typed exception.
     */
    CompletableFuture<Boolean> issue(OpKind kind, long key, long slot);

    /** {@link #issue}, with an exception it throws (a refusal before anything was sent) as a failed future. */
    default CompletableFuture<Boolean> start(OpKind kind, long key, long slot) {
        try {
            return issue(kind, key, slot);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }
}

package io.flotilla.multiraft;

import java.security.SecureRandom;
import java.util.function.LongSupplier;

/**
 * What the runtime takes from its surroundings besides the log, the state machine and the
 * transports: a monotonic clock and the start of its read request ids. Production uses
 * {@link #system()}; the deterministic runtime simulation passes a simulated clock and a seeded
 * start, so that a seed replays exactly. Immutable; read by every thread of the node.
 *
 * @param clockNs        monotonic nanoseconds (as {@link System#nanoTime})
 * @param firstReadId    the first read request id of this incarnation of the node
 */
public record RuntimeEnvironment(LongSupplier clockNs, long firstReadId) {

    /**
     * The real clock, and read ids starting at a random 62-bit number. Read request ids must never
     * repeat across restarts of a node: a leader's answer to a request of the previous incarnation
     * would otherwise be taken for a new request's (a stale read index; found by the cluster check).
     */
    public static RuntimeEnvironment system() {
        return new RuntimeEnvironment(System::nanoTime, new SecureRandom().nextLong() >>> 2);
    }
}

package io.flotilla.client;

import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;

/**
 * This client's write sessions: the sequence numbers it hands out (from 1, one sequence for all
 * ranges) and those still unacknowledged, whose lowest is the {@code first_unacked_sequence} every
 * write carries so a range may forget the results below it. A retried write keeps its sequence,
 * which is what lets the range apply it once.
 *
 * <p>Why one sequence for all ranges, not one per range: a write keeps its sequence when a split
 * moves its key to a new range, and the new range starts with a copy of the old one's sessions. A
 * retry of a write the old range applied before the split then gets its first answer from the new
 * range; with a fresh per-range sequence it would be applied a second time. A range sees only some
 * of the numbers, which its session table allows (it keeps results by sequence). Not thread-safe:
 * owned by the client's I/O thread.
 */
final class SessionTracker {
    /** Invariant: every unacked sequence is below {@code nextSequence}. */
    private long nextSequence = 1;
    private final TreeSet<Long> unacked = new TreeSet<>();
    /** Ranges that have answered one of our writes with its applied result: they hold (or held) our session. */
    private final Set<Long> established = new HashSet<>();

    /** A new sequence for a write, unacknowledged until {@link #release}d. */
    long begin() {
        long sequence = nextSequence++;
        unacked.add(sequence);
        return sequence;
    }

    /**
     * Ends a write's sequence: its response arrived, or the client gave up on it and will never
     * send it again. Unknown sequences are ignored.
     */
    void release(long sequence) {
        unacked.remove(sequence);
    }

    /** Notes that {@code rangeId} answered a write of ours with its applied result. */
    void established(long rangeId) {
        established.add(rangeId);
    }

    /** Whether {@code rangeId} has answered a write of ours with its applied result (it has our session). */
    boolean isEstablished(long rangeId) {
        return established.contains(rangeId);
    }

    /** The lowest unacknowledged sequence, or the next to be handed out if none is. */
    long firstUnacked() {
        return unacked.isEmpty() ? nextSequence : unacked.first();
    }
}

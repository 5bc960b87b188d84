package io.flotilla.client;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;

/**
 * This client's write sessions, one per range: the sequence numbers it hands out (from 1, per
 * range) and those still unacknowledged, whose lowest is the {@code first_unacked_sequence} every
 * write carries so the range may forget the results below it. A retried write keeps its sequence,
 * which is what lets the range apply it once. Not thread-safe: owned by the client's I/O thread.
 */
final class SessionTracker {
    /** Invariant: every unacked sequence is below {@code nextSequence}. */
    private static final class RangeSession {
        long nextSequence = 1;
        final TreeSet<Long> unacked = new TreeSet<>();
        /** The range has answered one of our writes with its applied result: it holds (or held) our session. */
        boolean established;
    }

    private final Map<Long, RangeSession> sessions = new HashMap<>();

    /** A new sequence for a write to {@code rangeId}, unacknowledged until {@link #release}d. */
    long begin(long rangeId) {
        RangeSession session = sessions.computeIfAbsent(rangeId, id -> new RangeSession());
        long sequence = session.nextSequence++;
        session.unacked.add(sequence);
        return sequence;
    }

    /**
     * Ends a write's sequence: its response arrived, or the client gave up on it and will never
     * send it again. Unknown sequences are ignored.
     */
    void release(long rangeId, long sequence) {
        RangeSession session = sessions.get(rangeId);
        if (session != null) {
            session.unacked.remove(sequence);
        }
    }

    /** Notes that {@code rangeId} answered a write of ours with its applied result. */
    void established(long rangeId) {
        RangeSession session = sessions.get(rangeId);
        if (session != null) {
            session.established = true;
        }
    }

    /** Whether {@code rangeId} has answered a write of ours with its applied result (it has our session). */
    boolean isEstablished(long rangeId) {
        RangeSession session = sessions.get(rangeId);
        return session != null && session.established;
    }

    /** The lowest unacknowledged sequence of {@code rangeId}, or the next to be handed out if none is. */
    long firstUnacked(long rangeId) {
        RangeSession session = sessions.get(rangeId);
        if (session == null) {
            return 1;
        }
        return session.unacked.isEmpty() ? session.nextSequence : session.unacked.first();
    }
}

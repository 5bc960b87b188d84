package io.flotilla.sim;

import java.util.PriorityQueue;

/**
 * The simulated clock and its event queue. Events run in order of simulated time (microseconds);
 * events due at the same time run in the order they were scheduled, so a run never depends on
 * wall-clock time or on hash order. Owned by the single thread that runs the seed.
 */
final class SimScheduler {
    private static final class Event implements Comparable<Event> {
        final long atUs;
        final long seq;
        final Runnable action;

        Event(long atUs, long seq, Runnable action) {
            this.atUs = atUs;
            this.seq = seq;
            this.action = action;
        }

        @Override
        public int compareTo(Event o) {
            int c = Long.compare(atUs, o.atUs);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    private final PriorityQueue<Event> queue = new PriorityQueue<>();
    private long nowUs;
    private long nextSeq;
    private long eventsRun;

    long nowUs() {
        return nowUs;
    }

    long eventsRun() {
        return eventsRun;
    }

    /** Runs {@code action} {@code delayUs} from now (0: after everything already due now). */
    void after(long delayUs, Runnable action) {
        if (delayUs < 0) {
            throw new IllegalArgumentException("negative delay " + delayUs);
        }
        queue.add(new Event(nowUs + delayUs, nextSeq++, action));
    }

    /** Runs the next event if one is due at or before {@code limitUs}; false if none is. */
    boolean runNext(long limitUs) {
        Event e = queue.peek();
        if (e == null || e.atUs > limitUs) {
            return false;
        }
        queue.poll();
        nowUs = e.atUs;
        eventsRun++;
        e.action.run();
        return true;
    }
}

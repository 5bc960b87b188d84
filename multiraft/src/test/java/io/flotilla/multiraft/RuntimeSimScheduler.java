package io.flotilla.multiraft;

import io.flotilla.raft.Check;
import java.util.PriorityQueue;

/**
 * The runtime simulation's clock and event queue, in simulated nanoseconds. Events run in order of
 * time; events due at the same instant run in the order they were scheduled, so a run depends on
 * nothing but its seed. Owned by the single thread that runs the seed.
 */
final class RuntimeSimScheduler {
    private record Event(long atNs, long seq, Runnable action) implements Comparable<Event> {
        @Override
        public int compareTo(Event o) {
            int c = Long.compare(atNs, o.atNs);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    private final PriorityQueue<Event> queue = new PriorityQueue<>();
    private long nowNs;
    private long nextSeq;
    private long eventsRun;

    long nowNs() {
        return nowNs;
    }

    long eventsRun() {
        return eventsRun;
    }

    /** Runs {@code action} {@code delayNs} from now (0: after everything already due now). */
    void after(long delayNs, Runnable action) {
        Check.argument(delayNs >= 0, "negative delay %d", delayNs);
        queue.add(new Event(nowNs + delayNs, nextSeq++, action));
    }

    /** Runs the next event if one is due at or before {@code limitNs}; false (and the clock at the limit) if none is. */
    boolean runNext(long limitNs) {
        Event e = queue.peek();
        if (e == null || e.atNs > limitNs) {
            nowNs = Math.max(nowNs, limitNs);
            return false;
        }
        queue.poll();
        nowNs = e.atNs;
        eventsRun++;
        e.action.run();
        return true;
    }
}

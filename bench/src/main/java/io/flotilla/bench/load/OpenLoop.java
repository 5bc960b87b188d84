package io.flotilla.bench.load;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The open loop: operation {@code i} is due at {@code start + i / rate}, whether or not earlier ones
 * have been answered, and at most {@code window} are outstanding. Each operation's latency is
 * measured from the time it was <em>due</em>, not from when it was sent: when the cluster stalls, the
 * window fills and sends fall behind schedule, and the operations that waited for the window (or for
 * a sender that was descheduled) count that wait. This corrects coordinated omission (Gil Tene,
 * "How NOT to measure latency"): a loop that timed from the send would record a few slow operations
 * where a fixed-rate population of clients would have seen many. When the sender has fallen behind
 * it sends what is due back to back until it has caught up.
 *
 * <p>One sender thread ({@code flotilla-load-sender}, or the caller's in {@link #runUntil}) owns the
 * schedule and the random generator; completions run on the client's I/O thread. Time comes from a
 * {@link Clock} so that a test can drive the loop on a simulated one.
 */
final class OpenLoop implements LoadDriver {
    /** How long the sender waits before it looks again at a full window. */
    static final long WINDOW_POLL_NS = 100_000;

    /** The open loop's time: the system's, or a test's simulated one. */
    interface Clock {
        long nanoTime();

        /** Waits until about {@code deadlineNs} (it may return earlier; the caller checks). */
        void parkUntil(long deadlineNs);
    }

    static final Clock SYSTEM = new Clock() {
        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public void parkUntil(long deadlineNs) {
            long waitNs = deadlineNs - System.nanoTime();
            if (waitNs > 0) {
                LockSupport.parkNanos(waitNs);
            }
        }
    };

    private final Clock clock;
    private final LoadTarget target;
    private final LoadStats stats;
    private final Workload workload;
    private final double nsPerOp;
    private final int window;
    private final SplittableRandom random;
    private final AtomicInteger outstanding = new AtomicInteger();
    private volatile boolean stopping;
    /** How far behind schedule the latest send was. Written by the sender. */
    private volatile long behindNs;
    private Thread sender;

    OpenLoop(Clock clock, LoadTarget target, LoadStats stats, Workload workload, double opsPerSecond, int window, long seed) {
        if (!(opsPerSecond > 0)) {
            throw new IllegalArgumentException("--rate must be above 0 operations per second, not " + opsPerSecond);
        }
        if (window < 1) {
            throw new IllegalArgumentException("--inflight (the open loop's window) must be at least 1, not " + window);
        }
        this.clock = clock;
        this.target = target;
        this.stats = stats;
        this.workload = workload;
        this.nsPerOp = 1e9 / opsPerSecond;
        this.window = window;
        this.random = new SplittableRandom(seed);
    }

    @Override
    public void start() {
        long startNs = clock.nanoTime();
        sender = new Thread(() -> runUntil(startNs, Long.MAX_VALUE), "flotilla-load-sender");
        sender.setDaemon(true);
        sender.start();
    }

    /** Sends every operation due in {@code [startNs, endNs)} on schedule, on this thread, then returns (or on {@link #stop}). */
    void runUntil(long startNs, long endNs) {
        for (long i = 0; !stopping; i++) {
            long dueNs = startNs + (long) (i * nsPerOp);
            if (dueNs >= endNs) {
                return;
            }
            while (!stopping && clock.nanoTime() < dueNs) {
                clock.parkUntil(dueNs);
            }
            while (!stopping && outstanding.get() >= window) {
                clock.parkUntil(clock.nanoTime() + WINDOW_POLL_NS);
            }
            if (!stopping) {
                send(dueNs, i);
            }
        }
    }

    private void send(long dueNs, long i) {
        OpKind kind = workload.nextKind(random);
        long key = workload.nextKey(random);
        outstanding.incrementAndGet();
        behindNs = clock.nanoTime() - dueNs;
        target.start(kind, key, i).whenComplete((matched, failure) -> {
            // From when it was due, not from the send: see the class comment.
            stats.ended(kind, clock.nanoTime() - dueNs, matched, failure);
            outstanding.decrementAndGet();
        });
    }

    @Override
    public int inFlight() {
        return outstanding.get();
    }

    @Override
    public String progressNote() {
        long behindMs = TimeUnit.NANOSECONDS.toMillis(behindNs);
        return behindMs >= 1 ? String.format("sender %,d ms behind schedule", behindMs) : "";
    }

    @Override
    public boolean stop(long timeoutMs) throws InterruptedException {
        stopping = true;
        long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        if (sender != null) {
            sender.join(Math.max(1, timeoutMs));
        }
        while (outstanding.get() > 0 && System.nanoTime() < deadlineNs) {
            Thread.sleep(1); // a bounded wait for the last answers at shutdown
        }
        return outstanding.get() == 0;
    }
}

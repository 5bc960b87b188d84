package io.flotilla.engine.node;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * A daemon thread that runs a round every {@code periodMs} until closed: the shape of the node's
 * background loops (recording ranges in the meta range, looking at it, driving moves). A round that
 * throws is reported to {@code onFailure} and the next one runs on time. {@link #wake} runs the next
 * round at once. Start, wake and close from any thread but the loop's own.
 */
final class RoundLoop implements AutoCloseable {
    private final Thread thread;
    private final long periodNs;
    private final Runnable round;
    private final Consumer<RuntimeException> onFailure;
    private volatile boolean stopped;

    RoundLoop(String name, long periodMs, Runnable round, Consumer<RuntimeException> onFailure) {
        this.periodNs = TimeUnit.MILLISECONDS.toNanos(periodMs);
        this.round = round;
        this.onFailure = onFailure;
        this.thread = new Thread(this::run, name);
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Runs the next round now rather than at the end of the period. */
    void wake() {
        LockSupport.unpark(thread);
    }

    /** Whether the loop was closed (a long round checks it between steps). */
    boolean stopped() {
        return stopped;
    }

    private void run() {
        while (!stopped) {
            try {
                round.run();
            } catch (RuntimeException e) {
                onFailure.accept(e);
            }
            LockSupport.parkNanos(periodNs);
        }
    }

    /** Stops the loop and waits (up to 5 s) for its round to end. */
    @Override
    public void close() {
        stopped = true;
        thread.interrupt();
        try {
            if (thread.isAlive()) {
                thread.join(5_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

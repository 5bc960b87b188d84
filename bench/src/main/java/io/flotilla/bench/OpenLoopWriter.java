package io.flotilla.bench;

import io.flotilla.client.FlotillaClient;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongFunction;
import org.HdrHistogram.Recorder;

/**
 * Puts at a fixed rate over {@code keys} keys (key {@code i} is {@code keyOf(i)}), open loop: each
 * put is timed from when it was due, not from when it was sent, so a stall shows in every put it
 * delayed. Run it on its own thread; {@link #stop} ends it.
 */
final class OpenLoopWriter implements Runnable {
    private final FlotillaClient client;
    private final int rate;
    private final int valueSize;
    private final long keys;
    private final LongFunction<byte[]> keyOf;
    private final Recorder recorder;
    volatile boolean stop;
    /** Puts that failed (their latency is recorded all the same). */
    final AtomicLong errors = new AtomicLong();

    OpenLoopWriter(FlotillaClient client, int rate, int valueSize, long keys, LongFunction<byte[]> keyOf, Recorder recorder) {
        this.client = client;
        this.rate = rate;
        this.valueSize = valueSize;
        this.keys = keys;
        this.keyOf = keyOf;
        this.recorder = recorder;
    }

    @Override
    public void run() {
        SplittableRandom random = new SplittableRandom(2);
        long intervalNs = TimeUnit.SECONDS.toNanos(1) / rate;
        long due = System.nanoTime();
        byte[] value = new byte[valueSize];
        while (!stop) {
            long now = System.nanoTime();
            if (now < due) {
                LockSupport.parkNanos(due - now);
                continue;
            }
            long dueAt = due;
            due += intervalNs;
            client.put(keyOf.apply(random.nextLong(keys)), value).whenComplete((v, e) -> {
                if (e != null) {
                    errors.incrementAndGet();
                }
                recorder.recordValue(Math.max(1, System.nanoTime() - dueAt));
            });
        }
    }
}

package io.flotilla.tools;

import io.flotilla.client.FlotillaClient;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Recorder;
import org.HdrHistogram.Histogram;

/**
 * A closed-loop mixed workload for {@code flotilla demo}: {@code inflight} requests always
 * outstanding, each a get (with probability {@code readPercent}) or a put of a random key among
 * {@code keys}. The keys spread evenly over the whole key space, so over every range of a cluster
 * whose ranges tile it evenly (each key is two bytes that place it, then {@code demo-<number>}); with
 * {@code oneRange} they are {@code demo-<number>} alone, which all fall in one range (a hot range).
 * Latency goes into an HdrHistogram recorder, fed from the client's callback thread; the caller's
 * thread prints progress once a second. {@link #start} starts the load, {@link #warmUp} runs it
 * unmeasured (the JIT compilers of a fresh client and fresh nodes take seconds of CPU), {@link #measure}
 * measures it, and {@link #stop} ends it.
 */
final class DemoWorkload {
    private final FlotillaClient client;
    private final int inflight;
    private final int readPercent;
    private final byte[][] keys;
    private final byte[] value;
    private final Recorder latency = new Recorder(3);
    private final LongAdder done = new LongAdder();
    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
    private final AtomicLong seed = new AtomicLong(42);
    private volatile boolean stopping;
    private CountDownLatch drained;

    DemoWorkload(FlotillaClient client, int inflight, int readPercent, int keys, int valueBytes, boolean oneRange) {
        this.client = client;
        this.inflight = inflight;
        this.readPercent = readPercent;
        this.keys = new byte[keys][];
        for (int k = 0; k < keys; k++) {
            byte[] name = String.format("demo-%06d", k).getBytes(StandardCharsets.US_ASCII);
            if (oneRange) {
                this.keys[k] = name;
            } else {
                // Ranges tile the key space by its first two bytes (KeySpace.tile): spread the keys over them, in order.
                int place = (int) ((long) k * 65_536 / keys);
                byte[] key = new byte[2 + name.length];
                key[0] = (byte) (place >>> 8);
                key[1] = (byte) place;
                System.arraycopy(name, 0, key, 2, name.length);
                this.keys[k] = key;
            }
        }
        // Printable, so that `flotilla scan` after the demo shows something a person can read.
        StringBuilder v = new StringBuilder(valueBytes);
        SplittableRandom letters = new SplittableRandom(7);
        while (v.length() < valueBytes) {
            v.append((char) ('a' + letters.nextInt(26)));
        }
        this.value = v.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** What a run measured. */
    record Result(long ops, double seconds, Histogram latency, Map<String, Long> errorsByType) {
        long errors() {
            return errorsByType.values().stream().mapToLong(Long::longValue).sum();
        }

        String table() {
            Table t = new Table("ops", "ops/s", "p50 ms", "p99 ms", "max ms", "errors");
            t.row(Long.toString(ops), String.format("%,.0f", ops / seconds),
                    ms(latency.getValueAtPercentile(50)), ms(latency.getValueAtPercentile(99)),
                    ms(latency.getMaxValue()), errorsByType.isEmpty() ? "0" : errorsByType.toString());
            return t.render();
        }

        private static String ms(long ns) {
            return String.format("%.2f", ns / 1e6);
        }
    }

    /** Puts {@code inflight} requests in flight; each completion sends the next. */
    void start() {
        drained = new CountDownLatch(inflight);
        for (int i = 0; i < inflight; i++) {
            next(new SplittableRandom(seed.incrementAndGet()));
        }
    }

    /** Runs the load for {@code seconds} without measuring it (progress lines only). */
    void warmUp(int seconds, PrintStream out) throws InterruptedException {
        if (seconds > 0) {
            tick("warm-up", seconds, out);
            out.println();
            latency.getIntervalHistogram(); // what the warm-up recorded is dropped
        }
    }

    /** Measures the load for {@code seconds}; errors count from {@link #start}. */
    Result measure(int seconds, PrintStream out) throws InterruptedException {
        long startNs = System.nanoTime();
        long opsBefore = done.sum();
        Histogram total = tick("", seconds, out);
        double elapsed = (System.nanoTime() - startNs) / 1e9;
        long ops = done.sum() - opsBefore;
        Map<String, Long> byType = new java.util.TreeMap<>();
        errors.forEach((k, v) -> byType.put(k, v.sum()));
        return new Result(ops, elapsed, total, byType);
    }

    /** Stops sending and waits (at most 30 s) for the requests in flight. */
    void stop() throws InterruptedException {
        stopping = true;
        drained.await(30, TimeUnit.SECONDS);
    }

    private Histogram tick(String label, int seconds, PrintStream out) throws InterruptedException {
        long startNs = System.nanoTime();
        Histogram total = new Histogram(3);
        long last = done.sum();
        for (int s = 1; s <= seconds; s++) {
            Thread.sleep(Math.max(0, startNs + TimeUnit.SECONDS.toNanos(s) - System.nanoTime()) / 1_000_000);
            long now = done.sum();
            total.add(latency.getIntervalHistogram());
            out.printf("\r[%s%2d/%d s] %,8d ops/s   %,d errors", label.isEmpty() ? "" : label + " ", s, seconds, now - last,
                    errorCount());
            last = now;
        }
        return total;
    }

    private long errorCount() {
        return errors.values().stream().mapToLong(LongAdder::sum).sum();
    }

    private void next(SplittableRandom random) {
        if (stopping) {
            drained.countDown();
            return;
        }
        byte[] key = keys[random.nextInt(keys.length)];
        long startNs = System.nanoTime();
        var call = random.nextInt(100) < readPercent ? client.get(key) : client.put(key, value);
        call.whenComplete((ok, failure) -> {
            if (failure == null) {
                latency.recordValue(Math.max(1, System.nanoTime() - startNs));
                done.increment();
            } else {
                Throwable cause = failure.getCause() != null ? failure.getCause() : failure;
                errors.computeIfAbsent(cause.getClass().getSimpleName(), k -> new LongAdder()).increment();
            }
            next(random);
        });
    }
}

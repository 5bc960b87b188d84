package io.flotilla.bench;

import io.flotilla.bench.load.KeyCodec;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.ReadConsistency;
import io.flotilla.client.WriteBatch;
import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The real {@link FlotillaClient} against a local cluster of three node processes (RocksDB, fsync,
 * sockets: the same processes as {@code flotilla start}), started in {@code @Setup(Level.Trial)} and
 * stopped in {@code @TearDown(Level.Trial)}, one cluster per parameter combination. Each invocation
 * starts one asynchronous operation once the window of {@code inflight} outstanding operations has
 * room, so the score is operations per second at that depth (a batch counts as its
 * {@link #BATCH_OPS} writes). The window is drained at the end of every iteration, so that no
 * iteration's operations complete in the next. An operation that fails (or a compare-and-set whose
 * condition does not hold) is counted and fails the trial at its end: a benchmark of errors is no benchmark.
 *
 * <p>Before measuring, the setup writes every key once, so gets find values and compare-and-sets
 * (expected value and new value both the benchmark's value) hold. The benchmark thread waits on the
 * window; completions run on the client's I/O thread. Meant to run single-threaded.
 *
 * <p>Run: {@code bench/run ClientBenchmark -p ranges=64 -p inflight=1,64 -p valueSize=128}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 5, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 5, timeUnit = TimeUnit.SECONDS)
public class ClientBenchmark {
    /** Keys written in the setup and used by every operation: spread over every range. */
    static final int KEYS = 10_000;
    static final int KEY_SIZE = 16;
    /** Writes per batch; all to keys of one range (a batch is atomic within one range only). */
    static final int BATCH_OPS = 8;
    private static final long DRAIN_TIMEOUT_MS = 60_000;

    @Param({"64"})
    public int ranges;

    @Param({"128"})
    public int valueSize;

    @Param({"1", "64"})
    public int inflight;

    @Param({"LINEARIZABLE"})
    public ReadConsistency consistency;

    private LocalBenchCluster cluster;
    private FlotillaClient client;
    private Semaphore window;
    private KeyCodec keys;
    private byte[] value;
    private final LongAdder errors = new LongAdder();
    private volatile Throwable firstError;

    /** Per benchmark thread: which key comes next. */
    @State(Scope.Thread)
    public static class Keys {
        final SplittableRandom random = new SplittableRandom(42);

        int next() {
            return random.nextInt(KEYS);
        }
    }

    @Setup(Level.Trial)
    public void startCluster() throws Exception {
        cluster = LocalBenchCluster.start(null, ranges, System.out);
        client = FlotillaClient.builder().seeds(cluster.clientAddresses().toArray(String[]::new))
                .clusterId(cluster.clusterId()).requestTimeout(Duration.ofSeconds(10))
                .maxInFlight(Math.max(10_000, 2 * inflight)).build();
        window = new Semaphore(inflight);
        keys = new KeyCodec(KEYS, KEY_SIZE);
        value = new byte[valueSize];
        new SplittableRandom(7).nextBytes(value);
        for (int k = 0; k < KEYS; k++) {
            awaitRoom();
            track(client.put(keys.key(k), value));
        }
        drainWindow();
        checkNoErrors("writing the keys");
    }

    @TearDown(Level.Iteration)
    public void drainWindow() throws InterruptedException {
        if (!window.tryAcquire(inflight, DRAIN_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException("operations still in flight " + DRAIN_TIMEOUT_MS + " ms after the iteration");
        }
        window.release(inflight);
    }

    @TearDown(Level.Trial)
    public void stopCluster() throws Exception {
        try {
            if (client != null) {
                client.close();
            }
        } finally {
            if (cluster != null) {
                cluster.close();
            }
        }
        checkNoErrors("the benchmark");
    }

    private void checkNoErrors(String what) {
        if (errors.sum() > 0) {
            throw new IllegalStateException(errors.sum() + " operations failed during " + what + "; the first: " + firstError,
                    firstError);
        }
    }

    /** Counts the operation's end and gives its place in the window back (taken by {@link #awaitRoom}). */
    private <T> CompletableFuture<T> track(CompletableFuture<T> op) {
        op.whenComplete((result, failure) -> {
            if (failure != null) {
                failed(failure);
            }
            window.release();
        });
        return op;
    }

    private void failed(Throwable failure) {
        if (firstError == null) {
            firstError = failure;
        }
        errors.increment();
    }

    private void awaitRoom() throws InterruptedException {
        window.acquire();
    }

    @Benchmark
    public void put(Keys k) throws InterruptedException {
        awaitRoom();
        track(client.put(keys.key(k.next()), value));
    }

    @Benchmark
    public void get(Keys k) throws InterruptedException {
        awaitRoom();
        track(client.get(keys.key(k.next()), consistency));
    }

    @Benchmark
    public void cas(Keys k) throws InterruptedException {
        awaitRoom();
        byte[] key = keys.key(k.next());
        track(client.compareAndSet(key, value, value)).thenAccept(r -> {
            if (!r.succeeded()) {
                // Every key holds the benchmark's value since the setup: a failed condition is a lost write.
                failed(new IllegalStateException("a compare-and-set found another value than the one every key holds"));
            }
        });
    }

    /** {@link #BATCH_OPS} puts of keys that share their first two bytes with one key, so lie in its range. */
    @Benchmark
    @OperationsPerInvocation(BATCH_OPS)
    public void batch(Keys k) throws InterruptedException {
        byte[] base = keys.key(k.next());
        WriteBatch batch = new WriteBatch();
        for (int i = 0; i < BATCH_OPS; i++) {
            byte[] key = Arrays.copyOf(base, base.length + 1);
            key[base.length] = (byte) i;
            batch.put(key, value);
        }
        awaitRoom();
        track(client.batch(batch));
    }
}

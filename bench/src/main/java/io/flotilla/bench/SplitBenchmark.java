package io.flotilla.bench;

import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.SplitRangeResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What a split costs a client: a local 3-process cluster with one range, loaded with {@code --mib}
 * MiB of incompressible values, split at its middle key while an open-loop writer puts at
 * {@code --rate} writes per second over the whole key space (latency from each write's due time,
 * so a stall counts in full). Reports the time from the split command to its answer and until a
 * write to each side succeeded, and the writes' p99.9 in the seconds before the split against the
 * seconds from the command until one second after both sides served. The last line is
 * {@code split-bench: <mib> MiB, <ms> ms to both serving, p99.9 <ms> ms during, <ms> ms before}.
 */
@Command(name = "SplitBenchmark", mixinStandardHelpOptions = true,
        description = "Splits a loaded range under writes and reports the split's time and the writes' stall.")
public final class SplitBenchmark implements Callable<Integer> {
    @Option(names = "--mib", defaultValue = "128", description = "MiB of values loaded into the range (default: ${DEFAULT-VALUE})")
    int mib;

    @Option(names = "--value-size", defaultValue = "1024", description = "bytes per value (default: ${DEFAULT-VALUE})")
    int valueSize;

    @Option(names = "--rate", defaultValue = "1000", description = "writes per second during the measurement (default: ${DEFAULT-VALUE})")
    int rate;

    @Option(names = "--seconds-before", defaultValue = "10", description = "measured seconds before the split (default: ${DEFAULT-VALUE})")
    int secondsBefore;

    @Option(names = "--seconds-after", defaultValue = "10", description = "seconds of writes after the split (default: ${DEFAULT-VALUE})")
    int secondsAfter;

    @Option(names = "--data-dir", description = "where the nodes keep their data (default: a temporary directory, deleted)")
    Path dataDir;

    public static void main(String[] args) {
        System.exit(new CommandLine(new SplitBenchmark()).execute(args));
    }

    private static byte[] key(long i) {
        return String.format("key-%012d", i).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public Integer call() throws Exception {
        long keys = ((long) mib << 20) / valueSize;
        List<String> manualSplitsOnly = List.of("--split-size-mib", "0", "--split-load-ops", "0");
        try (LocalBenchCluster cluster = LocalBenchCluster.start(dataDir, 1, List.of(), manualSplitsOnly, System.out);
                FlotillaClient client = FlotillaClient.builder().seeds(cluster.clientAddresses().toArray(String[]::new))
                        .clusterId(cluster.clusterId()).requestTimeout(Duration.ofSeconds(30)).maxInFlight(20_000).build()) {
            long loadStart = System.nanoTime();
            load(client, keys);
            System.out.printf("loaded %d keys, %d MiB of %d-byte values, in %.1f s%n", keys, mib, valueSize,
                    (System.nanoTime() - loadStart) / 1e9);

            Recorder recorder = new Recorder(3);
            OpenLoopWriter writer = new OpenLoopWriter(client, rate, valueSize, keys, i -> key(i), recorder);
            Thread thread = new Thread(writer, "split-bench-writer");
            thread.start();
            Thread.sleep(2_000); // the writer settles
            recorder.getIntervalHistogram();
            Thread.sleep(secondsBefore * 1000L);
            Histogram before = recorder.getIntervalHistogram();

            long t0 = System.nanoTime();
            SplitRangeResponse split = client.splitRange(key(keys / 2)).join();
            long answeredNs = System.nanoTime() - t0;
            client.sync().put(key(0), new byte[] {1});
            client.sync().put(key(keys - 1), new byte[] {1});
            long servingNs = System.nanoTime() - t0;
            Thread.sleep(1_000);
            Histogram during = recorder.getIntervalHistogram();
            Thread.sleep(Math.max(0, secondsAfter * 1000L - 1_000));
            Histogram after = recorder.getIntervalHistogram();
            writer.stop = true;
            thread.join(30_000);

            System.out.printf("split of range %d at key %d of %d: answered in %.1f ms; a write to each side succeeded %.1f ms"
                    + " after the command; new range %d%n", split.getLeft().getRangeId(), keys / 2, keys, answeredNs / 1e6,
                    servingNs / 1e6, split.getRight().getRangeId());
            System.out.printf("writes at %d/s (open loop, latency from due time): before  p50 %.2f ms, p99 %.2f ms,"
                    + " p99.9 %.2f ms, max %.2f ms (%d writes)%n", rate, ms(before, 50), ms(before, 99), ms(before, 99.9),
                    before.getMaxValue() / 1e6, before.getTotalCount());
            System.out.printf("%33s during  p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms (%d writes, command"
                    + " to 1 s after both sides served)%n", "", ms(during, 50), ms(during, 99), ms(during, 99.9),
                    during.getMaxValue() / 1e6, during.getTotalCount());
            System.out.printf("%33s after   p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms (%d writes); %d errors%n",
                    "", ms(after, 50), ms(after, 99), ms(after, 99.9), after.getMaxValue() / 1e6, after.getTotalCount(),
                    writer.errors.get());
            System.out.printf("split-bench: %d MiB, %.0f ms to both serving, p99.9 %.2f ms during, %.2f ms before%n", mib,
                    servingNs / 1e6, ms(during, 99.9), ms(before, 99.9));
        }
        return 0;
    }

    private static double ms(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(percentile) / 1e6;
    }

    /** Puts every key once, 512 in flight. */
    private void load(FlotillaClient client, long keys) throws InterruptedException {
        Semaphore inflight = new Semaphore(512);
        SplittableRandom random = new SplittableRandom(1);
        List<CompletableFuture<Void>> failures = new ArrayList<>();
        for (long i = 0; i < keys; i++) {
            byte[] value = new byte[valueSize];
            for (int b = 0; b < valueSize; b += 8) {
                long r = random.nextLong();
                for (int j = 0; j < 8 && b + j < valueSize; j++) {
                    value[b + j] = (byte) (r >>> (8 * j));
                }
            }
            inflight.acquire();
            CompletableFuture<Void> put = client.put(key(i), value);
            put.whenComplete((v, e) -> inflight.release());
            if (i % 4096 == 0) {
                failures.add(put);
            }
        }
        inflight.acquire(512);
        CompletableFuture.allOf(failures.toArray(CompletableFuture[]::new)).join();
    }
}

package io.flotilla.bench.load;

import io.flotilla.tools.StatusCommand.NodeReport;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.HdrHistogram.Histogram;

/**
 * One run of the load generator over a started {@link LoadDriver}: a warm-up whose measurements are
 * dropped, then the measured seconds, with a progress line each second, each second's histograms in
 * the hlog (if any), and the nodes' counters read just before and just after. Runs on the caller's
 * thread (the main thread), which is the only one that samples {@link LoadStats}.
 */
final class LoadRun {
    /** How long the operations in flight at the end get to finish before the clients close. */
    private static final long DRAIN_TIMEOUT_MS = 30_000;

    private final LoadDriver driver;
    private final LoadStats stats;
    private final PrintStream out;

    LoadRun(LoadDriver driver, LoadStats stats, PrintStream out) {
        this.driver = driver;
        this.stats = stats;
        this.out = out;
    }

    /**
     * @param hlog       where the HdrHistogram log goes, or null
     * @param nodeStatus asks every node for its status (before and after the measured seconds)
     */
    LoadResult run(int warmupSeconds, int seconds, Path hlog, String description, Supplier<List<NodeReport>> nodeStatus)
            throws IOException, InterruptedException {
        driver.start();
        tick("warm-up ", warmupSeconds, (sample, all) -> { });
        stats.startMeasuring();
        Instant measuredFrom = Instant.now();
        List<NodeReport> before = nodeStatus.get();

        Map<OpKind, Histogram> totals = new EnumMap<>(OpKind.class);
        for (OpKind kind : OpKind.values()) {
            totals.put(kind, new Histogram(3));
        }
        List<Long> opsPerSecond = new ArrayList<>();
        long startNs = System.nanoTime();
        try (HlogFile log = hlog == null ? null : new HlogFile(hlog, System.currentTimeMillis(), description)) {
            tick("", seconds, (sample, all) -> {
                sample.forEach((kind, h) -> totals.get(kind).add(h));
                opsPerSecond.add(all.getTotalCount());
                if (log != null) {
                    log.interval(sample, all);
                }
            });
        }
        double elapsedSeconds = (System.nanoTime() - startNs) / 1e9;
        Instant measuredTo = Instant.now();
        Map<String, Long> errors = stats.errorsByType();
        Map<OpKind, Long> noMatch = new EnumMap<>(OpKind.class);
        for (OpKind kind : OpKind.values()) {
            noMatch.put(kind, stats.noMatch(kind));
        }
        List<NodeReport> after = nodeStatus.get();

        if (!driver.stop(DRAIN_TIMEOUT_MS)) {
            out.printf("%d operations were still in flight %d s after the run; the clients close without them%n",
                    driver.inFlight(), TimeUnit.MILLISECONDS.toSeconds(DRAIN_TIMEOUT_MS));
        }
        List<NodeCost.Delta> nodes = new ArrayList<>();
        for (int i = 0; i < after.size(); i++) {
            nodes.add(NodeCost.delta(before.get(i), after.get(i)));
        }
        return new LoadResult(totals, opsPerSecond, elapsedSeconds, noMatch, errors, nodes, measuredFrom, measuredTo);
    }

    /** What to do with each second's sample: per kind, and all kinds together. */
    private interface PerSecond {
        void accept(Map<OpKind, Histogram> sample, Histogram all) throws IOException;
    }

    private void tick(String label, int seconds, PerSecond perSecond) throws IOException, InterruptedException {
        long startNs = System.nanoTime();
        long lastNs = startNs;
        for (int s = 1; s <= seconds; s++) {
            long dueNs = startNs + TimeUnit.SECONDS.toNanos(s);
            for (long waitNs = dueNs - System.nanoTime(); waitNs > 0; waitNs = dueNs - System.nanoTime()) {
                TimeUnit.NANOSECONDS.sleep(waitNs); // the reporting thread's pace: once a second
            }
            Map<OpKind, Histogram> sample = stats.sample();
            Histogram all = LoadStats.combined(sample);
            long nowNs = System.nanoTime();
            perSecond.accept(sample, all);
            String note = driver.progressNote();
            out.printf("[%s%2d/%d s] %,9.0f ops/s  p50 %8s ms  p99 %8s ms  in flight %,6d  errors %,d%s%n", label, s, seconds,
                    all.getTotalCount() / ((nowNs - lastNs) / 1e9), LoadResult.ms(all, 50), LoadResult.ms(all, 99),
                    driver.inFlight(), stats.errorCount(), note.isEmpty() ? "" : "  " + note);
            lastNs = nowNs;
        }
    }
}

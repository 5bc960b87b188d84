package io.flotilla.multiraft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The deterministic simulation of the real multi-group runtime ({@link RuntimeSimCluster}) over a
 * range of seeds: {@code -Druntime.sim.seeds=N} (default 500), {@code -Druntime.sim.firstSeed=S}
 * (default 1), {@code -Druntime.sim.nemeses=crash,close,...} (default all; see
 * {@link RuntimeSimNemesis}), {@code -Druntime.sim.ignore=READ_HANG,...} (checks, by
 * {@link RuntimeSimChecker.Kind} name, whose violations are reported but do not fail the run: for
 * isolating a known, unfixed bug), {@code -Druntime.sim.snapshots=off|half|all} (which seeds run
 * with a snapshot channel, compaction, purge and rewrite-forward; default half). Fails on any other violation, or on a seed too quiet to prove
 * anything; a failing seed prints the command that replays it, which narrates the run. Seeds run
 * on two threads and share nothing.
 */
class RuntimeSimulationTest {
    private static final int THREADS = 2;
    /**
     * A seed that completes fewer client operations proves little: its workload or nemeses are
     * broken. Some seeds are legitimately slow (nodes crash back to back for most of the run), so
     * the bound per seed is low and the run as a whole must average {@link #MIN_MEAN_OPS}.
     */
    static final int MIN_OPS = 10;
    static final int MIN_MEAN_OPS = 50;
    static final int MIN_EVENTS = 3;

    /** The runtime logs a warning for each tombstoned group a restart asks for: expected here, and noisy. */
    private static final Logger RUNTIME_LOG = Logger.getLogger("io.flotilla");
    private static Level savedLevel;

    @BeforeAll
    static void quietRuntimeLog() {
        savedLevel = RUNTIME_LOG.getLevel();
        RUNTIME_LOG.setLevel(Level.SEVERE);
    }

    @AfterAll
    static void restoreRuntimeLog() {
        RUNTIME_LOG.setLevel(savedLevel);
    }

    @Test
    void everySeedIsSafeLiveAndLinearizable() throws InterruptedException, ExecutionException {
        long firstSeed = Long.getLong("runtime.sim.firstSeed", 1);
        int seeds = Integer.getInteger("runtime.sim.seeds", 500);
        Set<RuntimeSimNemesis> nemeses = RuntimeSimNemesis.parse(System.getProperty("runtime.sim.nemeses"));
        Set<RuntimeSimChecker.Kind> ignored = ignoredChecks(System.getProperty("runtime.sim.ignore"));
        RuntimeSimConfig.Snapshots snapshots = snapshotMode();
        long startNs = System.nanoTime();
        List<RuntimeSimResult> results = runSeeds(firstSeed, seeds, nemeses, snapshots);
        double seconds = (System.nanoTime() - startNs) / 1e9;

        long ops = 0;
        long events = 0;
        long violations = 0;
        long unknown = 0;
        long leaderTerms = 0;
        long crashes = 0;
        long restarts = 0;
        long listeners = 0;
        long simulatedNs = 0;
        long slowestNs = 0;
        long cpuNs = 0;
        long slowestSeed = 0;
        long snapshotSeeds = 0;
        long[] maintenance = new long[5];
        int[] segmentHistogram = new int[64];
        Map<RuntimeSimChecker.Kind, List<Long>> seedsByKind = new EnumMap<>(RuntimeSimChecker.Kind.class);
        List<String> report = new ArrayList<>();
        for (RuntimeSimResult r : results) {
            ops += r.ops();
            events += r.nemesisEvents();
            unknown += r.unknownOps();
            leaderTerms += r.leaderTerms();
            crashes += r.crashes();
            restarts += r.restarts();
            listeners += r.listeners();
            simulatedNs += r.simulatedNs();
            cpuNs += r.cpuNs();
            if (RuntimeSimConfig.forSeed(r.seed(), nemeses, snapshots).snapshots()) {
                snapshotSeeds++;
                segmentHistogram[Math.min(63, r.maxWalSegments())]++;
            }
            for (int i = 0; i < maintenance.length; i++) {
                maintenance[i] += r.maintenance()[i];
            }
            if (r.cpuNs() > slowestNs) {
                slowestNs = r.cpuNs();
                slowestSeed = r.seed();
            }
            List<String> problems = new ArrayList<>();
            List<RuntimeSimChecker.Kind> failed = new ArrayList<>();
            for (RuntimeSimChecker.Kind k : r.violations()) {
                seedsByKind.computeIfAbsent(k, x -> new ArrayList<>()).add(r.seed());
                if (!ignored.contains(k)) {
                    failed.add(k);
                }
            }
            if (r.ok() && r.ops() < MIN_OPS) {
                problems.add("only " + r.ops() + " client operations (need " + MIN_OPS + ")");
            }
            if (r.ok() && !nemeses.isEmpty() && r.nemesisEvents() < MIN_EVENTS) {
                problems.add("only " + r.nemesisEvents() + " nemesis events (need " + MIN_EVENTS + ")");
            }
            violations += failed.size() + problems.size();
            if (!failed.isEmpty() || !problems.isEmpty()) {
                StringBuilder b = new StringBuilder("seed " + r.seed() + ": " + r.violations() + "\n  "
                        + RuntimeSimConfig.forSeed(r.seed(), nemeses, snapshots).describe() + "\n");
                for (String p : problems) {
                    b.append("  ").append(p).append('\n');
                }
                b.append(r.report());
                b.append("  rerun: ").append(replayCommand(r.seed(), nemeses, ignored, snapshots));
                report.add(b.toString());
            }
        }
        System.out.printf("runtime-simulation: %d seeds, %d ops, %d nemesis events, %d violations%n", seeds, ops, events,
                violations);
        assertTrue(ops >= (long) MIN_MEAN_OPS * seeds, "the seeds completed " + ops + " client operations, fewer than "
                + MIN_MEAN_OPS + " per seed on average: the workload is broken");
        System.out.printf("  took %.1f s on %d threads, %.1f CPU s (slowest seed %d: %.2f CPU s) for %.0f simulated s; nemeses %s;"
                + " %d unknown outcomes, %d leader terms, %d crashes, %d restarts, %d listeners%n", seconds, THREADS, cpuNs / 1e9,
                slowestSeed, slowestNs / 1e9, simulatedNs / 1e9, RuntimeSimNemesis.names(nemeses), unknown, leaderTerms, crashes, restarts,
                listeners);
        System.out.printf("  snapshots in %d seeds: %d sent, %d installed, %d compactions, %d log segments purged, %d records"
                + " rewritten forward; most segments on a node once the sweeps settled: %s%n", snapshotSeeds, maintenance[0],
                maintenance[1], maintenance[2], maintenance[3], maintenance[4], histogram(segmentHistogram));
        for (Map.Entry<RuntimeSimChecker.Kind, List<Long>> e : seedsByKind.entrySet()) {
            List<Long> s = e.getValue();
            System.out.printf("  %s%s in %d seed(s): %s%n", e.getKey(), ignored.contains(e.getKey()) ? " (ignored)" : "",
                    s.size(), s.subList(0, Math.min(20, s.size())) + (s.size() > 20 ? " ..." : ""));
        }
        for (String line : report.subList(0, Math.min(10, report.size()))) {
            System.out.println(line);
        }
        if (report.size() > 10) {
            System.out.println("  (" + (report.size() - 10) + " more failing seeds not shown)");
        }
        long total = violations;
        assertEquals(0, total, () -> total + " violations; first failing seeds:\n"
                + String.join("\n", report.subList(0, Math.min(3, report.size()))));
    }

    @Test
    void oneSeedTwiceGivesTheSameRun() {
        long seed = Long.getLong("runtime.sim.firstSeed", 1);
        Set<RuntimeSimNemesis> nemeses = RuntimeSimNemesis.parse(System.getProperty("runtime.sim.nemeses"));
        RuntimeSimConfig.Snapshots snapshots = snapshotMode();
        RuntimeSimResult first = new RuntimeSimCluster(RuntimeSimConfig.forSeed(seed, nemeses, snapshots), null).run();
        RuntimeSimResult second = new RuntimeSimCluster(RuntimeSimConfig.forSeed(seed, nemeses, snapshots), null).run();
        assertTrue(first.batchesDelivered() > 0, "the run delivered no message");
        assertEquals(first.fingerprint(), second.fingerprint(), "seed " + seed + " is not deterministic");
        assertEquals(first.violations(), second.violations(), "seed " + seed + " is not deterministic");
        assertEquals(first.report(), second.report(), "seed " + seed + " is not deterministic");
    }

    /** "segments x seeds" for the non-empty buckets. */
    private static String histogram(int[] buckets) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < buckets.length; i++) {
            if (buckets[i] > 0) {
                b.append(b.length() == 0 ? "" : ", ").append(i).append(" in ").append(buckets[i]);
            }
        }
        return b.length() == 0 ? "none" : b.toString();
    }

    /**
     * {@code -Druntime.sim.snapshots}: {@code off} (default while the log bugs it finds are open),
     * {@code half} (a seed's coin decides) or {@code all}.
     */
    static RuntimeSimConfig.Snapshots snapshotMode() {
        return RuntimeSimConfig.Snapshots.parse(System.getProperty("runtime.sim.snapshots"));
    }

    static String replayCommand(long seed, Set<RuntimeSimNemesis> nemeses, Set<RuntimeSimChecker.Kind> ignored,
            RuntimeSimConfig.Snapshots snapshots) {
        StringBuilder b = new StringBuilder("mvn -B -q -pl multiraft test -Dtest=RuntimeSimulationTest#everySeedIsSafeLiveAndLinearizable"
                + " -Dsurefire.failIfNoSpecifiedTests=false -Druntime.sim.firstSeed=" + seed + " -Druntime.sim.seeds=1"
                + " -Druntime.sim.nemeses=" + RuntimeSimNemesis.names(nemeses)
                + " -Druntime.sim.snapshots=" + snapshots.name().toLowerCase(Locale.ROOT));
        if (!ignored.isEmpty()) {
            List<String> names = new ArrayList<>();
            for (RuntimeSimChecker.Kind k : ignored) {
                names.add(k.name());
            }
            b.append(" -Druntime.sim.ignore=").append(String.join(",", names));
        }
        return b.toString();
    }

    /** Parses {@code runtime.sim.ignore}: check names, comma-separated (case and '-' for '_' do not matter). */
    static Set<RuntimeSimChecker.Kind> ignoredChecks(String list) {
        Set<RuntimeSimChecker.Kind> kinds = EnumSet.noneOf(RuntimeSimChecker.Kind.class);
        if (list == null || list.isBlank()) {
            return kinds;
        }
        for (String name : list.split(",")) {
            String n = name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
            if (n.isEmpty()) {
                continue;
            }
            try {
                kinds.add(RuntimeSimChecker.Kind.valueOf(n));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown check '" + name + "' in runtime.sim.ignore; known: "
                        + Arrays.toString(RuntimeSimChecker.Kind.values()), e);
            }
        }
        return kinds;
    }

    private static List<RuntimeSimResult> runSeeds(long firstSeed, int seeds, Set<RuntimeSimNemesis> nemeses,
            RuntimeSimConfig.Snapshots snapshots)
            throws InterruptedException, ExecutionException {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<RuntimeSimResult>> futures = new ArrayList<>();
            for (long s = firstSeed; s < firstSeed + seeds; s++) {
                long seed = s;
                // Rerunning one seed narrates it: the whole trace shows what led to a violation.
                Consumer<String> narrator = seeds == 1 ? line -> System.out.println("  " + line) : null;
                futures.add(pool.submit(() -> new RuntimeSimCluster(RuntimeSimConfig.forSeed(seed, nemeses, snapshots), narrator).run()));
            }
            List<RuntimeSimResult> results = new ArrayList<>();
            for (Future<RuntimeSimResult> f : futures) {
                results.add(f.get());
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }
}

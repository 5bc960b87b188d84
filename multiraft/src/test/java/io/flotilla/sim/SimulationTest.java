package io.flotilla.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Runs the deterministic simulation over a range of seeds ({@code -Dsim.firstSeed}, {@code -Dsim.seeds})
 * and fails on any violation, or on a seed too quiet to prove anything. Each seed runs on one of two
 * threads; seeds share nothing.
 */
class SimulationTest {
    static final int MIN_OPS = 500;
    static final int MIN_EVENTS = 5;
    private static final int THREADS = 2;

    @Test
    void everySeedIsSafeLiveAndLinearizable() throws InterruptedException, ExecutionException {
        long firstSeed = Long.getLong("sim.firstSeed", 1);
        int seeds = Integer.getInteger("sim.seeds", 1000);
        long startNs = System.nanoTime();
        List<SimResult> results = runSeeds(firstSeed, seeds);
        double seconds = (System.nanoTime() - startNs) / 1e9;

        long ops = 0;
        long events = 0;
        long violations = 0;
        long elections = 0;
        long snapshots = 0;
        long confChanges = 0;
        long unknown = 0;
        List<String> report = new ArrayList<>();
        for (SimResult r : results) {
            ops += r.ops();
            events += r.nemesisEvents();
            elections += r.leaderElections();
            snapshots += r.snapshotsInstalled();
            confChanges += r.confChangesCommitted();
            unknown += r.unknownOps();
            List<String> problems = new ArrayList<>(r.violations());
            if (r.ok() && r.ops() < MIN_OPS) {
                problems.add("only " + r.ops() + " client operations (need " + MIN_OPS + ")");
            }
            if (r.ok() && r.nemesisEvents() < MIN_EVENTS) {
                problems.add("only " + r.nemesisEvents() + " nemesis events (need " + MIN_EVENTS + ")");
            }
            violations += problems.size();
            for (String p : problems) {
                report.add("seed " + r.seed() + ": " + p + "\n  " + SimConfig.forSeed(r.seed()).describe()
                        + "\n  rerun: mvn -pl multiraft test -Dtest=SimulationTest -Dsim.firstSeed=" + r.seed() + " -Dsim.seeds=1");
            }
        }
        System.out.printf("simulation: %d seeds, %d ops, %d nemesis events, %d violations%n", seeds, ops, events, violations);
        System.out.printf("  took %.1f s on %d threads; %d unknown writes, %d leader elections, %d snapshots installed, %d membership changes%n",
                seconds, THREADS, unknown, elections, snapshots, confChanges);
        for (String line : report) {
            System.out.println(line);
        }
        assertEquals(0, violations, () -> String.join("\n", report));
    }

    @Test
    void oneSeedTwiceGivesTheSameTrace() {
        long seed = Long.getLong("sim.firstSeed", 1);
        SimResult first = new SimCluster(SimConfig.forSeed(seed), SimHooks.NONE).run();
        SimResult second = new SimCluster(SimConfig.forSeed(seed), SimHooks.NONE).run();
        assertTrue(first.messagesDelivered() > 0, "the run delivered no message");
        assertEquals(first, second, "seed " + seed + " is not deterministic");
    }

    private static List<SimResult> runSeeds(long firstSeed, int seeds) throws InterruptedException, ExecutionException {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<SimResult>> futures = new ArrayList<>();
            for (long s = firstSeed; s < firstSeed + seeds; s++) {
                long seed = s;
                // Rerunning one seed narrates it: the log shows what led to a violation.
                Consumer<String> log = seeds == 1 ? line -> System.out.println("  " + line) : null;
                futures.add(pool.submit(() -> new SimCluster(SimConfig.forSeed(seed), SimHooks.NONE, log).run()));
            }
            List<SimResult> results = new ArrayList<>();
            for (Future<SimResult> f : futures) {
                results.add(f.get());
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }
}

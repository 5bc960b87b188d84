package io.flotilla.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Raft core on the real write-ahead log: a fixed subset of the simulation's seeds
 * ({@code -Dsimwal.firstSeed}, {@code -Dsimwal.seeds}) runs with every node's groups sharing one
 * {@link io.flotilla.wal.Wal} in a temporary directory, real fsyncs included, under the same
 * invariants, liveness and linearizability checks as {@link SimulationTest}. Each node's log rolls
 * over, is purged, has lagging groups rewritten forward, and is recovered after every crash (and
 * checked against what it held at the crash). Since every write is waited for, a seed's run on the
 * WAL must be exactly its run on MemoryStorage: same operations, same events, same fingerprint; a
 * difference means the WAL answered the core differently. Seeds run on two threads.
 */
class SimulationOnWalTest {
    /**
     * Seeds 1..16 of {@link SimulationTest}'s range: every fault profile, 1 to 3 groups, lagging
     * groups rewritten forward in three of them. They write 146,000 fsynced batches (3,000 to 24,000
     * a seed); at 0.25 to 0.45 ms a batch on this machine's shared disk, 20 to 35 s on two threads.
     */
    private static final int DEFAULT_SEEDS = 16;
    /** A cheap seed with many crashes (36 log recoveries) for the determinism check. */
    private static final long DETERMINISM_SEED = 13;
    private static final int THREADS = 2;

    @TempDir
    Path dir;

    private record Outcome(SimResult onWal, SimResult onMemory, SimWalStats wal) {
    }

    @Test
    void seedsOnTheWalAreSafeLiveLinearizableAndRunAsOnMemoryStorage() throws InterruptedException, ExecutionException {
        long firstSeed = Long.getLong("simwal.firstSeed", 1);
        int seeds = Integer.getInteger("simwal.seeds", DEFAULT_SEEDS);
        long startNs = System.nanoTime();
        List<Outcome> outcomes = runSeeds(firstSeed, seeds);
        double seconds = (System.nanoTime() - startNs) / 1e9;

        long ops = 0;
        long events = 0;
        long violations = 0;
        SimWalStats wal = SimWalStats.NONE;
        List<String> report = new ArrayList<>();
        for (Outcome o : outcomes) {
            SimResult r = o.onWal();
            ops += r.ops();
            events += r.nemesisEvents();
            wal = wal.plus(o.wal());
            List<String> problems = new ArrayList<>(r.violations());
            if (r.ok() && r.ops() < SimulationTest.MIN_OPS) {
                problems.add("only " + r.ops() + " client operations (need " + SimulationTest.MIN_OPS + ")");
            }
            if (r.ok() && r.nemesisEvents() < SimulationTest.MIN_EVENTS) {
                problems.add("only " + r.nemesisEvents() + " nemesis events (need " + SimulationTest.MIN_EVENTS + ")");
            }
            if (r.ok() && o.onMemory().ok() && !r.equals(o.onMemory())) {
                problems.add("the run on the WAL differs from the run on MemoryStorage:\n    wal:    " + r + "\n    memory: " + o.onMemory());
            }
            violations += problems.size();
            for (String p : problems) {
                report.add("seed " + r.seed() + ": " + p + "\n  " + SimConfig.forSeed(r.seed()).describe()
                        + "\n  rerun: mvn -pl multiraft test -Dtest=SimulationOnWalTest -Dsimwal.firstSeed=" + r.seed() + " -Dsimwal.seeds=1");
            }
        }
        System.out.printf("simulation-on-wal: %d seeds, %d ops, %d nemesis events, %d violations%n", seeds, ops, events, violations);
        System.out.printf("  took %.1f s on %d threads; %d batches, %d fsyncs, %.1f MB written, %d rollovers, %d segments purged, "
                        + "%d groups rewritten forward, %d recoveries checked, %d entry reads from segments%n",
                seconds, THREADS, wal.batches(), wal.forces(), wal.bytes() / 1e6, wal.rollovers(), wal.purgedSegments(),
                wal.rewrites(), wal.recoveries(), wal.diskReads());
        for (String line : report) {
            System.out.println(line);
        }
        assertEquals(0, violations, () -> String.join("\n", report));
        // A subset that never rolled, purged, rewrote or recovered would prove little about the log.
        SimWalStats exercised = wal;
        assertTrue(wal.rollovers() > 0 && wal.purgedSegments() > 0 && wal.rewrites() > 0 && wal.recoveries() > 0
                && wal.diskReads() > 0, () -> "the seeds did not exercise every part of the log: " + exercised);
    }

    @Test
    void oneSeedTwiceOnTheWalGivesTheSameTrace() {
        long seed = Long.getLong("simwal.firstSeed", DETERMINISM_SEED);
        SimResult first = new SimCluster(SimConfig.forSeed(seed), SimHooks.NONE, null, dir.resolve("first")).run();
        SimResult second = new SimCluster(SimConfig.forSeed(seed), SimHooks.NONE, null, dir.resolve("second")).run();
        assertTrue(first.messagesDelivered() > 0, "the run delivered no message");
        assertEquals(first, second, "seed " + seed + " is not deterministic on the WAL");
    }

    private List<Outcome> runSeeds(long firstSeed, int seeds) throws InterruptedException, ExecutionException {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<Outcome>> futures = new ArrayList<>();
            for (long s = firstSeed; s < firstSeed + seeds; s++) {
                long seed = s;
                Path seedDirectory = dir.resolve("seed-" + seed);
                futures.add(pool.submit(() -> {
                    // Rerunning one seed narrates it: the log shows what led to a violation.
                    SimCluster onWal = new SimCluster(SimConfig.forSeed(seed), SimHooks.NONE,
                            seeds == 1 ? line -> System.out.println("  " + line) : null, seedDirectory);
                    SimResult walResult = onWal.run();
                    SimResult memoryResult = new SimCluster(SimConfig.forSeed(seed), SimHooks.NONE).run();
                    return new Outcome(walResult, memoryResult, onWal.walStats());
                }));
            }
            List<Outcome> outcomes = new ArrayList<>();
            for (Future<Outcome> f : futures) {
                outcomes.add(f.get());
            }
            return outcomes;
        } finally {
            pool.shutdownNow();
        }
    }
}

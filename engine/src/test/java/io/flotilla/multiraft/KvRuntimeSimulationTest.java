package io.flotilla.multiraft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.EnumMap;
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
 * The runtime simulation ({@link RuntimeSimCluster}: real {@link MultiRaftNode}s in stepped mode,
 * simulated disks, network, snapshot channel and nemeses) with the engine's apply logic as every
 * node's state machine — {@link io.flotilla.engine.kv.KvStateMachine} over an in-memory store that
 * loses what was not flushed when its node crashes ({@link KvRuntimeSimStore}) — and clients that
 * behave as the real one does ({@link KvRuntimeSimClients}). So exactly-once writes, CAS, batches,
 * limits and sessions (which travel in snapshots) are checked across seeds, crashes and leader
 * changes, with every check of the register simulation plus: each client write applies at most
 * once on every replica, retried writes are answered as their first apply was, acknowledged
 * appends are all there at the end, replicas agree at every applied index, and the history is
 * linearizable.
 *
 * <p>{@code -Dkv.sim.seeds=N} (default 200), {@code -Dkv.sim.firstSeed=S} (default 1),
 * {@code -Dkv.sim.nemeses=...} and {@code -Dkv.sim.snapshots=off|half|all} as the register
 * simulation reads them (default: every nemesis, snapshots in half the seeds), and
 * {@code -Dkv.sim.splits=on|off} (default on: ranges split while the clients run, see
 * {@link KvRuntimeSimSplits}), {@code -Dkv.sim.moves=on|off} (default on: replicas move between
 * nodes and a node is decommissioned in half the seeds, see {@link KvRuntimeSimMoves}). A failing seed
 * prints the command that replays it, which narrates the run. Seeds run on two threads and share
 * nothing.
 */
class KvRuntimeSimulationTest {
    private static final int THREADS = 2;

    private static final Logger RUNTIME_LOG = Logger.getLogger("io.flotilla");
    private static Level savedLevel;

    /** The split listener logs each split at INFO (as a node should); thousands of simulated splits would bury the summary. */
    private static final ch.qos.logback.classic.Logger SPLIT_LOG =
            (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(io.flotilla.engine.node.SplitStarter.class);
    private static ch.qos.logback.classic.Level savedSplitLevel;

    @BeforeAll
    static void quietRuntimeLog() {
        savedLevel = RUNTIME_LOG.getLevel();
        RUNTIME_LOG.setLevel(Level.OFF);
        savedSplitLevel = SPLIT_LOG.getLevel();
        SPLIT_LOG.setLevel(ch.qos.logback.classic.Level.WARN);
    }

    @AfterAll
    static void restoreRuntimeLog() {
        RUNTIME_LOG.setLevel(savedLevel);
        SPLIT_LOG.setLevel(savedSplitLevel);
    }

    private static Set<RuntimeSimNemesis> nemeses() {
        return RuntimeSimNemesis.parse(System.getProperty("kv.sim.nemeses"));
    }

    private static boolean splits() {
        return !"off".equalsIgnoreCase(System.getProperty("kv.sim.splits", "on").trim());
    }

    private static boolean moves() {
        return !"off".equalsIgnoreCase(System.getProperty("kv.sim.moves", "on").trim());
    }

    private static RuntimeSimConfig.Snapshots snapshots() {
        return RuntimeSimConfig.Snapshots.parse(System.getProperty("kv.sim.snapshots"));
    }

    /** One seed: its config, its application (kept for the counters) and what the run found. */
    private record Run(RuntimeSimConfig config, KvRuntimeSimApplication app, RuntimeSimResult result) {
    }

    private static Run run(long seed, Set<RuntimeSimNemesis> nemeses, RuntimeSimConfig.Snapshots snapshots,
            Consumer<String> narrator) {
        RuntimeSimConfig config = RuntimeSimConfig.forSeed(seed, nemeses, snapshots);
        KvRuntimeSimApplication app = new KvRuntimeSimApplication(config, splits(), moves());
        return new Run(config, app, new RuntimeSimCluster(config, narrator, app).run());
    }

    @Test
    void everySeedAppliesEachWriteOnceAndStaysLinearizable() throws InterruptedException, ExecutionException {
        long firstSeed = Long.getLong("kv.sim.firstSeed", 1);
        int seeds = Integer.getInteger("kv.sim.seeds", 200);
        Set<RuntimeSimNemesis> nemeses = nemeses();
        RuntimeSimConfig.Snapshots snapshots = snapshots();
        long startNs = System.nanoTime();
        List<Run> runs = runSeeds(firstSeed, seeds, nemeses, snapshots);
        double seconds = (System.nanoTime() - startNs) / 1e9;

        long ops = 0;
        long events = 0;
        long violations = 0;
        long unknown = 0;
        long crashes = 0;
        long restarts = 0;
        long cpuNs = 0;
        long rounds = 0;
        long lost = 0;
        long retries = 0;
        long refused = 0;
        long expired = 0;
        long fromSessions = 0;
        long busy = 0;
        long leaseReads = 0;
        long splitsApplied = 0;
        long splitsProposed = 0;
        long splitsRefused = 0;
        long missedBySnapshot = 0;
        long joinedAfterMissedSplit = 0;
        long strandedRanges = 0;
        long atWritesInDoubt = 0;
        long strandedKeys = 0;
        long rerouted = 0;
        long lookups = 0;
        long rangeNotFound = 0;
        long acrossSplit = 0;
        long batchesSplitApart = 0;
        long movesStarted = 0;
        long movesDone = 0;
        long movesFailed = 0;
        long movesInterfered = 0;
        long moveTransfers = 0;
        long replicasDropped = 0;
        long drains = 0;
        long drainMoves = 0;
        long returns = 0;
        long leftOnDrained = 0;
        long[] maintenance = new long[5];
        Map<RuntimeSimChecker.Kind, List<Long>> seedsByKind = new EnumMap<>(RuntimeSimChecker.Kind.class);
        List<String> report = new ArrayList<>();
        for (Run run : runs) {
            RuntimeSimResult r = run.result();
            ops += r.ops();
            events += r.nemesisEvents();
            unknown += r.unknownOps();
            crashes += r.crashes();
            restarts += r.restarts();
            cpuNs += r.cpuNs();
            rounds += run.app().rounds;
            lost += run.app().lostEntries;
            KvRuntimeSimClients clients = run.app().clients();
            retries += clients.retries;
            refused += clients.refusedAsExpected;
            expired += clients.sessionsExpired;
            fromSessions += clients.answeredFromSession;
            busy += clients.busyAnswers;
            leaseReads += clients.leaseReads;
            rerouted += clients.rerouted;
            lookups += clients.lookups;
            rangeNotFound += clients.rangeNotFound;
            acrossSplit += clients.answeredAcrossSplit;
            batchesSplitApart += clients.batchesSplitApart;
            strandedKeys += clients.strandedKeys;
            KvRuntimeSimSplits splits = run.app().splits();
            if (splits != null) {
                splitsApplied += splits.applied();
                splitsProposed += splits.proposed;
                splitsRefused += splits.refused;
                missedBySnapshot += splits.missedBySnapshot;
                joinedAfterMissedSplit += splits.joinedAfterMissedSplit;
                strandedRanges += splits.strandedRanges.size();
                atWritesInDoubt += splits.atWritesInDoubt;
            }
            KvRuntimeSimMoves moves = run.app().moves();
            if (moves != null) {
                movesStarted += moves.started;
                movesDone += moves.completed();
                movesFailed += moves.failed;
                movesInterfered += moves.interfered;
                moveTransfers += moves.transfers;
                replicasDropped += moves.dropped;
                drains += moves.drained() != 0 ? 1 : 0;
                drainMoves += moves.drainMoves;
                returns += moves.returns;
                leftOnDrained += moves.leftOnDrained;
            }
            for (int i = 0; i < maintenance.length; i++) {
                maintenance[i] += r.maintenance()[i];
            }
            List<String> problems = new ArrayList<>();
            for (RuntimeSimChecker.Kind k : r.violations()) {
                seedsByKind.computeIfAbsent(k, x -> new ArrayList<>()).add(r.seed());
            }
            if (r.ok() && r.ops() < RuntimeSimulationTest.MIN_OPS) {
                problems.add("only " + r.ops() + " client operations (need " + RuntimeSimulationTest.MIN_OPS + ")");
            }
            if (r.ok() && !nemeses.isEmpty() && r.nemesisEvents() < RuntimeSimulationTest.MIN_EVENTS) {
                problems.add("only " + r.nemesisEvents() + " nemesis events (need " + RuntimeSimulationTest.MIN_EVENTS + ")");
            }
            violations += r.violations().size() + problems.size();
            if (!r.ok() || !problems.isEmpty()) {
                StringBuilder b = new StringBuilder("seed " + r.seed() + ": " + r.violations() + "\n  " + run.config().describe()
                        + ", sessions " + run.app().sessions() + "\n");
                for (String p : problems) {
                    b.append("  ").append(p).append('\n');
                }
                b.append(r.report());
                b.append("  rerun: ").append(replayCommand(r.seed(), nemeses, snapshots));
                report.add(b.toString());
            }
        }
        System.out.printf("kv-simulation: %d seeds, %d ops, %d nemesis events, %d splits, %d moves, %d violations%n", seeds, ops,
                events, splitsApplied, movesDone, violations);
        System.out.printf("  took %.1f s on %d threads, %.1f CPU s; nemeses %s; %d unknown outcomes, %d retries (%d writes answered"
                + " from their session after an earlier attempt applied), %d bad requests refused as they must be, %d sessions expired, %d writes answered Busy by a full session table, %d lease reads, %d crashes, %d restarts, %d rounds applied, %d applied entries"
                + " lost with state not yet flushed; snapshots %d sent, %d installed, %d compactions%n", seconds, THREADS,
                cpuNs / 1e9, RuntimeSimNemesis.names(nemeses), unknown, retries, fromSessions, refused, expired, busy, leaseReads, crashes, restarts, rounds, lost,
                maintenance[0], maintenance[1], maintenance[2]);
        System.out.printf("  splits %s: %d proposed (%d at the key of a write applied and not yet answered), %d applied, %d refused (epoch changed); %d replicas joined a new range whose split they missed"
                + " (MissingReplicas), %d replicas that installed a snapshot past a split and do not host its new range at the end (violations), which left %d ranges with no quorum (%d keys not read at the end); clients: %d answers EpochMismatch routed again, %d RangeNotFound,"
                + " %d route lookups, %d writes answered by another range than their first apply's, %d batches split apart%n",
                splits() ? "on" : "off", splitsProposed, atWritesInDoubt, splitsApplied, splitsRefused, joinedAfterMissedSplit, missedBySnapshot, strandedRanges, strandedKeys,
                rerouted, rangeNotFound,
                lookups, acrossSplit, batchesSplitApart);
        System.out.printf("  moves %s: %d started, %d done (%d with another membership change in between), %d failed (another"
                + " change removed both nodes), %d leader hand-offs asked, %d replicas started again where the range was"
                + " removed before (rejoinGroup); %d removed replicas dropped (RemovedReplicas);"
                + " %d nodes decommissioned by %d moves BalancePlan chose, %d replicas left on them at the end%n",
                moves() ? "on" : "off", movesStarted, movesDone, movesInterfered, movesFailed, moveTransfers, returns,
                replicasDropped, drains, drainMoves, leftOnDrained);
        for (Map.Entry<RuntimeSimChecker.Kind, List<Long>> e : seedsByKind.entrySet()) {
            List<Long> s = e.getValue();
            System.out.printf("  %s in %d seed(s): %s%n", e.getKey(), s.size(),
                    s.subList(0, Math.min(20, s.size())) + (s.size() > 20 ? " ..." : ""));
        }
        for (String line : report.subList(0, Math.min(5, report.size()))) {
            System.out.println(line);
        }
        assertTrue(ops >= (long) RuntimeSimulationTest.MIN_MEAN_OPS * seeds, "the seeds completed " + ops
                + " client operations, fewer than " + RuntimeSimulationTest.MIN_MEAN_OPS + " per seed on average: the workload is broken");
        long total = violations;
        assertEquals(0, total, () -> total + " violations; first failing seeds:\n"
                + String.join("\n", report.subList(0, Math.min(3, report.size()))));
    }

    @Test
    void oneSeedTwiceGivesTheSameRun() {
        long seed = Long.getLong("kv.sim.firstSeed", 1);
        RuntimeSimResult first = run(seed, nemeses(), snapshots(), null).result();
        RuntimeSimResult second = run(seed, nemeses(), snapshots(), null).result();
        assertTrue(first.ops() > 0, "the run did nothing");
        assertEquals(first.fingerprint(), second.fingerprint(), "seed " + seed + " is not deterministic");
        assertEquals(first.report(), second.report(), "seed " + seed + " is not deterministic");
    }

    static String replayCommand(long seed, Set<RuntimeSimNemesis> nemeses, RuntimeSimConfig.Snapshots snapshots) {
        return "mvn -B -o -q -pl engine -am test -Dtest='KvRuntimeSimulationTest#everySeedAppliesEachWriteOnceAndStaysLinearizable'"
                + " -Dsurefire.failIfNoSpecifiedTests=false -Dkv.sim.firstSeed=" + seed + " -Dkv.sim.seeds=1"
                + " -Dkv.sim.nemeses=" + RuntimeSimNemesis.names(nemeses)
                + " -Dkv.sim.snapshots=" + snapshots.name().toLowerCase(Locale.ROOT)
                + " -Dkv.sim.splits=" + (splits() ? "on" : "off")
                + " -Dkv.sim.moves=" + (moves() ? "on" : "off");
    }

    private static List<Run> runSeeds(long firstSeed, int seeds, Set<RuntimeSimNemesis> nemeses,
            RuntimeSimConfig.Snapshots snapshots) throws InterruptedException, ExecutionException {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<Run>> futures = new ArrayList<>();
            for (long s = firstSeed; s < firstSeed + seeds; s++) {
                long seed = s;
                // Rerunning one seed narrates it: the whole trace shows what led to a violation.
                Consumer<String> narrator = seeds == 1 ? line -> System.out.println("  " + line) : null;
                futures.add(pool.submit(() -> run(seed, nemeses, snapshots, narrator)));
            }
            List<Run> runs = new ArrayList<>();
            for (Future<Run> f : futures) {
                runs.add(f.get());
            }
            return runs;
        } finally {
            pool.shutdownNow();
        }
    }
}

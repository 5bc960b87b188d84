package io.flotilla.sim;

import io.flotilla.check.CheckResult;
import io.flotilla.check.LinearizabilityChecker;
import io.flotilla.raft.ConfState;
import io.flotilla.raft.Message;
import io.flotilla.raft.MessageType;
import io.flotilla.raft.RaftNode;
import io.flotilla.raft.Role;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * A deterministic simulation of {@link SimConfig#nodeCount()} nodes hosting
 * {@link SimConfig#groupCount()} Raft groups, in one thread, on a simulated clock, driven by one
 * seed. A run has two phases: <em>active</em> (clients and nemesis at work, invariants checked at
 * every step) and <em>settling</em> (network healed, every node up, no new operations), which must
 * end within {@link SimConfig#settleLimitUs()} with a leader and caught-up members in every group
 * and every client operation finished; then each group's history must be linearizable. Each node
 * keeps its replicas' logs in MemoryStorage, or, given a directory, in one real shared write-ahead
 * log per node ({@link SimWalNode}; its writer thread is waited for at every write, so the run
 * stays a function of the seed). Not thread
 * safe: one instance belongs to the thread that calls {@link #run()}, and different instances
 * share nothing, so seeds can run in parallel.
 */
public final class SimCluster {
    private enum Phase { ACTIVE, SETTLING, DONE }

    private static final long PHASE_CHECK_US = 10 * SimConfig.MS;

    private final SimConfig config;
    private final SimHooks hooks;
    /** Receives a line per notable event (faults, crashes, elections, membership); null: no log. */
    private final Consumer<String> log;
    /** Where the nodes keep their write-ahead logs (a subdirectory each); null: MemoryStorage. */
    private final Path walDirectory;
    private final SimScheduler scheduler = new SimScheduler();
    private final SimTrace trace = new SimTrace();
    private final SplittableRandom diskRandom;
    private final SplittableRandom nodeRandom;
    private final SimNetwork network;
    private final SimInvariants invariants;
    /** nodes[n] for node id n; index 0 unused. */
    private final SimNode[] nodes;
    private final SimWorkload workload;
    private final SimNemesis nemesis;
    private long nextRequestId;
    private Phase phase = Phase.ACTIVE;
    private long settleStartUs;

    public SimCluster(SimConfig config, SimHooks hooks) {
        this(config, hooks, null);
    }

    /** A cluster that also narrates its run to {@code log}, one line per fault, crash, election or membership change. */
    public SimCluster(SimConfig config, SimHooks hooks, Consumer<String> log) {
        this(config, hooks, log, null);
    }

    /**
     * A cluster whose nodes keep their logs in real write-ahead logs under {@code walDirectory}
     * (which should be empty; node n uses {@code node-n}), or in MemoryStorage if it is null.
     */
    public SimCluster(SimConfig config, SimHooks hooks, Consumer<String> log, Path walDirectory) {
        this.config = config;
        this.hooks = hooks;
        this.log = log;
        this.walDirectory = walDirectory;
        SplittableRandom master = new SplittableRandom(config.seed());
        this.diskRandom = master.split();
        this.nodeRandom = master.split();
        this.network = new SimNetwork(scheduler, master.split(), config, new Endpoints(), trace);
        this.invariants = new SimInvariants(scheduler, config.groupCount());
        this.nodes = new SimNode[config.nodeCount() + 1];
        for (int n = 1; n <= config.nodeCount(); n++) {
            nodes[n] = new SimNode(this, n);
        }
        this.workload = new SimWorkload(this, master.split());
        this.nemesis = new SimNemesis(this, master.split());
    }

    /** Runs the seed to the end; never throws for a violation, it reports it in the result. */
    public SimResult run() {
        List<String> violations = new ArrayList<>();
        try {
            for (int n = 1; n <= config.nodeCount(); n++) {
                nodes[n].start();
            }
            workload.start();
            nemesis.start();
            scheduler.after(PHASE_CHECK_US, this::phaseCheck);
            while (phase != Phase.DONE && scheduler.runNext(Long.MAX_VALUE)) {
                // Every event checks the invariants it touches.
            }
            for (int g = 1; g <= config.groupCount(); g++) {
                CheckResult r = LinearizabilityChecker.check(workload.history(g));
                if (!r.ok()) {
                    violations.add(String.format("group %d history of %d operations is %s on key %s: %s",
                            g, workload.history(g).size(), r.verdict(), r.key(), r.detail()));
                }
            }
        } catch (SimViolation v) {
            violations.add(v.getMessage());
        } catch (RuntimeException e) {
            violations.add(String.format("t=%.3fms exception: %s", scheduler.nowUs() / 1000.0, describe(e)));
        } finally {
            closeStorage(violations);
        }
        return new SimResult(config.seed(), workload.ops(), workload.unknownOps(), nemesis.events(),
                invariants.leaderElections(), invariants.snapshotsInstalled(), invariants.confChangesCommitted(), network.delivered(), scheduler.eventsRun(), scheduler.nowUs(),
                trace.fingerprint(), List.copyOf(violations));
    }

    /** Releases every node's write-ahead log (nothing to do on MemoryStorage). */
    private void closeStorage(List<String> violations) {
        for (int n = 1; n <= config.nodeCount(); n++) {
            try {
                nodes[n].closeStorage();
            } catch (RuntimeException e) {
                violations.add(String.format("closing node %d's log: %s", n, describe(e)));
            }
        }
    }

    /** What the nodes' write-ahead logs did; {@link SimWalStats#NONE} on MemoryStorage. */
    public SimWalStats walStats() {
        SimWalStats total = SimWalStats.NONE;
        for (int n = 1; n <= config.nodeCount(); n++) {
            total = total.plus(nodes[n].walStats());
        }
        return total;
    }

    private void phaseCheck() {
        long now = scheduler.nowUs();
        if (phase == Phase.ACTIVE) {
            boolean enough = now >= config.minActiveUs() && workload.ops() >= config.minOps()
                    && nemesis.events() >= config.minEvents();
            if (enough || now >= config.maxActiveUs()) {
                log("active phase ends: %d operations, %d nemesis events; healing and settling", workload.ops(), nemesis.events());
                phase = Phase.SETTLING;
                settleStartUs = now;
                nemesis.stop();
                workload.stopIssuing();
            }
        } else if (phase == Phase.SETTLING) {
            if (workload.busyClients() == 0 && unsettledGroups().isEmpty()) {
                log("settled");
                phase = Phase.DONE;
                return;
            }
            if (now - settleStartUs > config.settleLimitUs()) {
                throw new SimViolation(now, String.format("liveness: %.1fs after healing, %d client operations pending; %s",
                        config.settleLimitUs() / 1e6, workload.busyClients(), String.join("; ", unsettledGroups())));
            }
        }
        scheduler.after(PHASE_CHECK_US, this::phaseCheck);
    }

    /** Groups without a leader whose whole log is committed and applied by every member, described. */
    private List<String> unsettledGroups() {
        List<String> out = new ArrayList<>();
        for (int g = 1; g <= config.groupCount(); g++) {
            String why = unsettled(g);
            if (why != null) {
                out.add("group " + g + ": " + why);
            }
        }
        return out;
    }

    private String unsettled(int groupId) {
        SimReplica leader = leaderOf(groupId);
        if (leader == null) {
            return "no leader; " + describeGroup(groupId);
        }
        RaftNode lr = leader.raft();
        ConfState cs = lr.confState();
        if (!cs.isVoter(leader.nodeId)) {
            return "leader " + leader.nodeId + " is not a voter; " + describeGroup(groupId);
        }
        if (lr.commitIndex() != lr.lastIndex()) {
            return "leader " + leader.nodeId + " has uncommitted entries; " + describeGroup(groupId);
        }
        for (int n = 1; n <= config.nodeCount(); n++) {
            if (!cs.isVoter(n) && !cs.isLearner(n)) {
                continue;
            }
            SimReplica r = replica(n, groupId);
            if (!r.isUp() || r.raft().leader() != leader.nodeId || r.lastApplied() != lr.commitIndex()) {
                return "member " + n + " is not caught up with leader " + leader.nodeId + "; " + describeGroup(groupId);
            }
        }
        return null;
    }

    private String describeGroup(int groupId) {
        StringBuilder b = new StringBuilder();
        SimReplica leader = leaderOf(groupId);
        for (int n = 1; n <= config.nodeCount(); n++) {
            SimReplica r = replica(n, groupId);
            if (n > 1) {
                b.append(", ");
            }
            b.append(n).append(':');
            if (!r.isUp()) {
                b.append("down");
                continue;
            }
            RaftNode raft = r.raft();
            b.append(raft.role()).append(" term=").append(raft.term()).append(" leader=").append(raft.leader())
                    .append(" last=").append(raft.lastIndex()).append(" commit=").append(raft.commitIndex())
                    .append(" applied=").append(r.lastApplied()).append(" conf={").append(raft.confState()).append('}');
            String progress = leader == null || leader == r ? null : leader.raft().progressOf(n);
            if (progress != null) {
                b.append(" progress={").append(progress).append('}');
            }
        }
        return b.toString();
    }

    private static String describe(RuntimeException e) {
        StringBuilder b = new StringBuilder(e.toString());
        StackTraceElement[] trace = e.getStackTrace();
        for (int i = 0; i < Math.min(8, trace.length); i++) {
            b.append("\n        at ").append(trace[i]);
        }
        return b.toString();
    }

    /** The running replica of {@code groupId} that leads the highest term, or null. */
    SimReplica leaderOf(int groupId) {
        SimReplica best = null;
        for (int n = 1; n <= config.nodeCount(); n++) {
            SimReplica r = replica(n, groupId);
            if (r.isUp() && r.raft().role() == Role.LEADER && (best == null || r.raft().term() > best.raft().term())) {
                best = r;
            }
        }
        return best;
    }

    void crash(int nodeId) {
        if (nodes[nodeId].isUp()) {
            log("node %d crashes", nodeId);
            nodes[nodeId].crash();
        }
    }

    void restart(int nodeId) {
        if (!nodes[nodeId].isUp()) {
            log("node %d restarts", nodeId);
            nodes[nodeId].start();
        }
    }

    boolean logging() {
        return log != null;
    }

    void log(String format, Object... args) {
        if (log != null) {
            log.accept(String.format("%10.3fms  ", scheduler.nowUs() / 1000.0) + String.format(format, args));
        }
    }

    /** The directory of the nodes' write-ahead logs; null on MemoryStorage. */
    Path walDirectory() {
        return walDirectory;
    }

    SimConfig config() {
        return config;
    }

    SimHooks hooks() {
        return hooks;
    }

    SimScheduler scheduler() {
        return scheduler;
    }

    SimNetwork network() {
        return network;
    }

    SimInvariants invariants() {
        return invariants;
    }

    SimNemesis nemesis() {
        return nemesis;
    }

    SimTrace trace() {
        return trace;
    }

    SimNode node(int nodeId) {
        return nodes[nodeId];
    }

    SimReplica replica(int nodeId, int groupId) {
        return nodes[nodeId].replica(groupId);
    }

    SplittableRandom diskRandom() {
        return diskRandom;
    }

    SplittableRandom nodeRandom() {
        return nodeRandom;
    }

    void stallDisk(int nodeId, long durationUs, long delayUs) {
        nodes[nodeId].stallDisk(durationUs, delayUs);
    }

    long diskDelayUs(int nodeId) {
        return nodes[nodeId].diskDelayUs();
    }

    long nextRequestId() {
        return ++nextRequestId;
    }

    /** Delivery outcomes: a message reaches its replica, or the sender learns (some of) what was lost. */
    private final class Endpoints implements SimNetwork.Endpoints {
        @Override
        public int incarnation(int nodeId) {
            return nodes[nodeId].incarnation();
        }

        @Override
        public boolean isUp(int nodeId) {
            return nodes[nodeId].isUp();
        }

        @Override
        public void deliver(Message m) {
            int groupId = (int) m.groupId;
            if (groupId < 1 || groupId > config.groupCount()) {
                return;
            }
            SimReplica to = replica((int) m.to, groupId);
            if (!to.isUp()) {
                return;
            }
            to.step(m);
            if (m.type == MessageType.SNAPSHOT) {
                SimReplica from = replica((int) m.from, groupId);
                if (from.isUp()) {
                    from.reportSnapshot(m.to, true);
                }
            }
        }

        @Override
        public void undeliverable(Message m, int senderIncarnation, boolean partitioned) {
            int groupId = (int) m.groupId;
            SimNode sender = nodes[(int) m.from];
            if (!sender.isUp() || sender.incarnation() != senderIncarnation || groupId < 1 || groupId > config.groupCount()) {
                return;
            }
            SimReplica from = sender.replica(groupId);
            if (m.type == MessageType.SNAPSHOT) {
                from.reportSnapshot(m.to, false);
            } else if (partitioned && (m.type == MessageType.APPEND || m.type == MessageType.HEARTBEAT)) {
                from.reportUnreachable(m.to);
            }
        }
    }
}

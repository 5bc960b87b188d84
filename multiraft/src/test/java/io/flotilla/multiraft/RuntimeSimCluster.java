package io.flotilla.multiraft;

import io.flotilla.check.CheckResult;
import io.flotilla.check.LinearizabilityChecker;
import io.flotilla.check.Verdict;
import io.flotilla.multiraft.RuntimeSimChecker.Call;
import io.flotilla.multiraft.RuntimeSimChecker.CallKind;
import io.flotilla.multiraft.RuntimeSimChecker.Kind;
import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeType;
import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.ProposeResult;
import io.flotilla.raft.RaftNode;
import io.flotilla.raft.Role;
import io.flotilla.wal.crash.CrashMode;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * One run of the runtime simulation: real {@link MultiRaftNode}s in stepped mode on simulated
 * disks ({@link RuntimeSimDisk}), a simulated network ({@link RuntimeSimNetwork}), a workload
 * ({@link RuntimeSimClients}'s registers, or another {@link RuntimeSimApplication}'s) and the
 * nemeses ({@link RuntimeSimFaults}), all driven from one seed on one thread by a simulated
 * clock. Cheap checks run after every worker step (one leader
 * per term) and every few milliseconds (reads that hang, groups left leaderless); the rest runs
 * as things happen (answers, applied entries) and at the end: after the run, everything is healed
 * and restarted, the network stops losing, a quiet period passes, every register is read once more,
 * every listener of a live node must have been answered, and the history must be linearizable.
 * Finally every node is closed, and must answer whatever is left. Owned by the seed's thread.
 */
final class RuntimeSimCluster implements RuntimeSimRegisters.Observer {
    /** How a listener was answered. */
    enum Answer { APPLIED, REFUSED, UNKNOWN, BUSY, READABLE, FAILED }

    /** What a client does with an answer; {@code captured} is what the listener read at once (a value, a CAS outcome). */
    interface Then {
        void run(Answer answer, long number, Object captured);
    }

    /** A group stays leaderless at most this long while a quorum of its voters is up and connected. */
    static final int LEADERLESS_ELECTION_TIMEOUTS = 8;
    /** A read must be answered or failed within this many election timeouts. */
    static final int READ_DEADLINE_ELECTION_TIMEOUTS = 5;
    private static final long CHECK_EVERY_NS = 5_000_000;
    /** Simulated time after the run with everything healed and up, before the final reads. */
    private static final int QUIET_ELECTION_TIMEOUTS = 15;
    /** An upper bound on the log bytes of one entry with snapshots: padded command, key, value, record framing. */
    private static final int MAX_ENTRY_LOG_BYTES = 384;
    private static final int FINAL_READ_ELECTION_TIMEOUTS = 15;
    private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();

    /** What the simulation tracks of a group besides its replicas. */
    static final class GroupState {
        final long id;
        /** A membership change the operator has in flight. */
        Call adminCall;
        /** After a voter was removed: the operator adds another node to get back to three. */
        boolean refill;
        long leaderlessSinceNs = -1;
        /** The membership at the highest applied index any replica has reached so far (replicas that lag or went down included). */
        ConfState latestConf;
        long latestConfAppliedIndex = -1;
        String leaderlessSignature;
        boolean leaderlessFlagged;

        GroupState(long id) {
            this.id = id;
        }
    }

    private final RuntimeSimConfig config;
    private final SplittableRandom random;
    private final RuntimeSimScheduler scheduler = new RuntimeSimScheduler();
    private final RuntimeSimChecker checker;
    private final RuntimeSimNetwork network;
    private final RuntimeSimNode[] nodes;
    private final RuntimeSimApplication application;
    private final RuntimeSimWorkload clients;
    private final RuntimeSimFaults faults;
    private final GroupState[] groups;
    /** "node.incarnation" of incarnations that ended in a crash: their listeners are exempt. */
    private final Set<String> crashedIncarnations = new HashSet<>();
    private boolean finalPhase;
    private long restarts;
    private int maxWalSegments;

    RuntimeSimCluster(RuntimeSimConfig config, Consumer<String> narrator) {
        this(config, narrator, RuntimeSimApplication.REGISTERS);
    }

    /** A run of {@code application}'s state machine and workload in place of the simulation's own registers. */
    RuntimeSimCluster(RuntimeSimConfig config, Consumer<String> narrator, RuntimeSimApplication application) {
        this.config = config;
        this.application = application;
        this.random = new SplittableRandom(config.seed());
        this.checker = new RuntimeSimChecker(scheduler::nowNs, narrator);
        this.network = new RuntimeSimNetwork(this, config, random.split());
        this.nodes = new RuntimeSimNode[config.totalNodes()];
        for (int i = 0; i < nodes.length; i++) {
            nodes[i] = new RuntimeSimNode(this, i + 1, random.nextLong());
        }
        this.groups = new GroupState[config.groupIds().length];
        for (int g = 0; g < groups.length; g++) {
            groups[g] = new GroupState(config.groupIds()[g]);
        }
        this.clients = application.workload(this, random.split());
        this.faults = new RuntimeSimFaults(this, config, random.split());
    }

    // ---------------------------------------------------------------- accessors for the parts

    RuntimeSimConfig config() {
        return config;
    }

    RuntimeSimApplication application() {
        return application;
    }

    RuntimeSimScheduler scheduler() {
        return scheduler;
    }

    RuntimeSimChecker checker() {
        return checker;
    }

    RuntimeSimNetwork network() {
        return network;
    }

    SplittableRandom random() {
        return random;
    }

    RuntimeSimNode node(long id) {
        return nodes[(int) id - 1];
    }

    RuntimeSimNode[] nodes() {
        return nodes;
    }

    GroupState[] groups() {
        return groups;
    }

    void trace(String line) {
        checker.trace(line);
    }

    static String describe(Throwable e) {
        StringBuilder b = new StringBuilder(e.toString());
        StackTraceElement[] stack = e.getStackTrace();
        for (int i = 0; i < Math.min(4, stack.length); i++) {
            b.append(" at ").append(stack[i]);
        }
        if (e.getCause() != null && e.getCause() != e) {
            b.append("; caused by ").append(describe(e.getCause()));
        }
        return b.toString();
    }

    // ---------------------------------------------------------------- timing of the threads we replace

    /** Time until a worker's next round: mostly busy, sometimes slow, now and then descheduled for a while. */
    long stepGapNs() {
        int dice = random.nextInt(100);
        if (dice < 70) {
            return 50_000 + random.nextLong(950_000);
        }
        return dice < 95 ? 1_000_000 + random.nextLong(3_000_000) : 5_000_000 + random.nextLong(25_000_000);
    }

    /** Time until the log's next group commit: fsync latency varies, and is sometimes very slow. */
    long commitGapNs() {
        int dice = random.nextInt(100);
        if (dice < 70) {
            return 100_000 + random.nextLong(900_000);
        }
        return dice < 95 ? 1_000_000 + random.nextLong(4_000_000) : 10_000_000 + random.nextLong(30_000_000);
    }

    CrashMode randomCrashMode() {
        CrashMode[] modes = CrashMode.values();
        return modes[random.nextInt(modes.length)];
    }

    // ---------------------------------------------------------------- the run

    RuntimeSimResult run() {
        long startNs = System.nanoTime();
        long startCpuNs = CPU.getCurrentThreadCpuTime();
        try {
            runPhases();
        } catch (RuntimeException | Error e) {
            checker.violation(Kind.SEED_ABORTED, describe(e));
        }
        long[] maintenance = new long[5];
        for (RuntimeSimNode n : nodes) {
            long[] c = n.counters();
            for (int i = 0; i < c.length; i++) {
                maintenance[i] += c[i];
            }
        }
        return new RuntimeSimResult(config.seed(), clients.history().size(), faults.events(), checker.violatedKinds(),
                checker.ok() ? "" : checker.report(25), fingerprint(), clients.unknownOps(), checker.leaderTerms(),
                faults.crashes(), restarts, network.batchesDelivered(), checker.calls(), System.nanoTime() - startNs,
                CPU.getCurrentThreadCpuTime() - startCpuNs, scheduler.nowNs(), maintenance, maxWalSegments);
    }

    private void runPhases() {
        for (int g = 0; g < groups.length; g++) {
            for (long v : config.initialVoters()[g]) {
                node(v).hosted.put(groups[g].id, config.initialVoters()[g]);
            }
        }
        for (RuntimeSimNode n : nodes) {
            n.start(false);
        }
        clients.start();
        faults.start();
        scheduler.after(CHECK_EVERY_NS, this::periodicChecks);
        scheduler.after(3 * config.electionTimeoutNs(), this::operator);
        runUntil(config.runNs());

        finalPhase = true;
        trace("final phase: heal, restart every node, no more loss; quiet for " + QUIET_ELECTION_TIMEOUTS + " election timeouts");
        faults.stopAll();
        network.stopFaults();
        network.heal();
        for (RuntimeSimNode n : nodes) {
            if (n.snapshots() != null) {
                n.snapshots().stopFaults();
            }
        }
        for (RuntimeSimNode n : nodes) {
            if (n.failed()) {
                supervisorRestart(n);
            } else if (!n.up()) {
                restart(n, false);
            } else {
                n.disk().disarm();
                n.stateMachine().failNextApply(false);
            }
        }
        long quietEnd = config.runNs() + QUIET_ELECTION_TIMEOUTS * config.electionTimeoutNs();
        runUntil(quietEnd);
        trace("final reads");
        long readDeadline = quietEnd + FINAL_READ_ELECTION_TIMEOUTS * config.electionTimeoutNs();
        clients.finalReads(readDeadline);
        while (!clients.finalReadsDone() && scheduler.runNext(readDeadline + 1)) {
            // Run until every final read is answered or has missed its deadline.
        }
        // A call made just now (a final read's retry) has the runtime's read deadline to be answered.
        runUntil(scheduler.nowNs() + READ_DEADLINE_ELECTION_TIMEOUTS * config.electionTimeoutNs());
        checkEveryListenerAnswered();
        checkLinearizable();
        clients.finalChecks();
        checkDiskBounded();
        for (RuntimeSimNode n : nodes) {
            if (n.up()) {
                closeNode(n);
            }
        }
    }

    /**
     * With snapshots, the most log segments a node may hold once its log sweeps settled. The live data:
     * each group keeps at most {@code 2 * logRetainEntries + 1} entries once its state machine's
     * flushes caught up (compaction cuts it back to {@code logRetainEntries} when it holds more than
     * twice that), so at most {@code live = groups * (2 * retain + 1) * MAX_ENTRY_LOG_BYTES}. Purge
     * keeps every segment from the oldest any group still reads; a group (the cold one, a
     * tombstone) lagging further behind the active segment than the rewrite window is rewritten
     * forward, and that window is {@code max(LAG_SEGMENTS, 2 * live / segmentBytes + 1)}
     * ({@link LogPurgeTracker#lagSegments}). So: the window, the active segment, and one more for
     * the segment the oldest live record sits in.
     */
    int maxQuietWalSegments() {
        long liveBytes = (long) config.groupIds().length * (2L * config.logRetainEntries() + 1) * MAX_ENTRY_LOG_BYTES;
        long window = Math.max(LogMaintenance.LAG_SEGMENTS, 2 * liveBytes / RuntimeSimNode.SNAPSHOT_SEGMENT_BYTES + 1);
        return (int) window + 2;
    }

    /**
     * With snapshots, once the log sweeps had time to settle after the last write: every node's log
     * holds at most {@link #maxQuietWalSegments} segments. A sweep runs every
     * {@link LogMaintenance#COMPACTIONS_PER_LOG_SWEEP} election timeouts; a lagging group is
     * rewritten forward at one sweep and its old segments deleted at the next, so this waits three
     * sweeps (one more for a node restarted last, whose sweeps start out of phase).
     */
    private void checkDiskBounded() {
        if (!config.snapshots()) {
            return;
        }
        trace("waiting for the log sweeps to settle");
        runUntil(scheduler.nowNs() + 3L * LogMaintenance.COMPACTIONS_PER_LOG_SWEEP * config.electionTimeoutNs());
        for (RuntimeSimNode n : nodes) {
            if (!n.up()) {
                continue;
            }
            int segments = n.walSegments();
            maxWalSegments = Math.max(maxWalSegments, segments);
            if (segments > maxQuietWalSegments()) {
                checker.violation(Kind.DISK_UNBOUNDED, "node " + n.id + "." + n.incarnation() + " holds " + segments
                        + " log segments of " + RuntimeSimNode.SNAPSHOT_SEGMENT_BYTES + " bytes once its log sweeps settled"
                        + " (at most " + maxQuietWalSegments() + "); counters " + Arrays.toString(n.counters()));
            }
        }
    }

    private void runUntil(long endNs) {
        while (scheduler.runNext(endNs)) {
            // One event at a time, in simulated time order.
        }
    }

    private long fingerprint() {
        long h = scheduler.eventsRun();
        h = h * 31 + network.batchesDelivered();
        h = h * 31 + checker.calls();
        h = h * 31 + clients.history().hashCode();
        return h;
    }

    // ---------------------------------------------------------------- node lifecycle

    void crash(RuntimeSimNode n, CrashMode mode, String why) {
        crashedIncarnations.add(n.id + "." + n.incarnation());
        String what = n.crash(mode);
        trace("node " + n.id + "." + n.incarnation() + " crashes (" + why + "): disk " + what);
        // Sometimes back within an election timeout, before its peers notice the silence.
        long delay = config.electionTimeoutNs() / 5 + random.nextLong((finalPhase ? 1 : 8) * config.electionTimeoutNs());
        int inc = n.incarnation();
        scheduler.after(delay, () -> {
            if (n.state() == RuntimeSimNode.State.CRASHED && n.incarnation() == inc) {
                restart(n, false);
            }
        });
    }

    void restart(RuntimeSimNode n, boolean keepRegisters) {
        restarts++;
        n.start(keepRegisters);
    }

    /** Graceful close: afterwards no listener of the node may be left waiting. */
    void closeNode(RuntimeSimNode n) {
        int inc = n.incarnation();
        n.close();
        trace("node " + n.id + "." + inc + " closed");
        List<Call> left = new ArrayList<>();
        for (Call c : checker.unanswered()) {
            if (c.node == n.id && c.incarnation == inc && !c.flagged) {
                c.flagged = true;
                left.add(c);
            }
        }
        if (!left.isEmpty()) {
            checker.violation(Kind.UNANSWERED_AT_CLOSE, "node " + n.id + "." + inc + " closed with " + left.size()
                    + " listener(s) unanswered, first " + left.get(0));
        }
    }

    /**
     * A worker of {@code n} failed: the node's listeners of that worker's groups must have been
     * answered by now (fail-stop answers its callers), except those handed over in the last election
     * timeout; then it is killed and restarted.
     */
    void supervisorRestart(RuntimeSimNode n) {
        int inc = n.incarnation();
        long recentNs = scheduler.nowNs() - config.electionTimeoutNs();
        List<Call> left = new ArrayList<>();
        for (Call c : checker.unanswered()) {
            if (c.node == n.id && c.incarnation == inc && n.failedGroups.contains(c.groupId) && !c.flagged
                    && c.issuedNs < recentNs) {
                c.flagged = true;
                left.add(c);
            }
        }
        if (!left.isEmpty()) {
            checker.violation(Kind.UNANSWERED_AFTER_FAILURE, "node " + n.id + "." + inc + " has a failed worker since "
                    + RuntimeSimChecker.ms(n.failedAtNs) + "; " + left.size() + " listener(s) of its groups "
                    + n.failedGroups + " never answered, first " + left.get(0));
        }
        crash(n, CrashMode.KEEP_UNSYNCED, "restarted by its supervisor after a worker failed");
    }

    // ---------------------------------------------------------------- listeners

    /** A listener for {@code call}; with {@code capture}, onApplied reads the state machine's {@link RuntimeSimStateMachine#appliedOutcome}. */
    ProposalListener proposalListener(Call call, RuntimeSimStateMachine stateMachine, boolean capture, Then then) {
        return new ProposalListener() {
            @Override
            public void onApplied(long groupId, long index) {
                Object captured = capture ? stateMachine.appliedOutcome(groupId, index) : null;
                if (checker.answered(call, "onApplied(" + index + ")", false)) {
                    if (call.kind == CallKind.PROPOSE) {
                        checker.acknowledged(call, index);
                    }
                    scheduler.after(0, () -> then.run(Answer.APPLIED, index, captured));
                }
            }

            @Override
            public void onRefused(long groupId, ProposeResult result, long leaderHint) {
                if (checker.answered(call, "onRefused(" + result + ", hint " + leaderHint + ")", true)) {
                    scheduler.after(0, () -> then.run(Answer.REFUSED, leaderHint, result));
                }
            }

            @Override
            public void onOutcomeUnknown(long groupId, long index) {
                if (checker.answered(call, "onOutcomeUnknown(" + index + ")", false)) {
                    scheduler.after(0, () -> then.run(Answer.UNKNOWN, index, null));
                }
            }

            @Override
            public void onBusy(long groupId) {
                if (checker.answered(call, "onBusy", true)) {
                    scheduler.after(0, () -> then.run(Answer.BUSY, 0, null));
                }
            }
        };
    }

    ReadListener readListener(Call call, RuntimeSimRegisters registers, String key, Then then) {
        return new ReadListener() {
            @Override
            public void onReadable(long groupId) {
                String value = registers.get(groupId, key);
                if (checker.answered(call, "onReadable", false)) {
                    scheduler.after(0, () -> then.run(Answer.READABLE, 0, value));
                }
            }

            @Override
            public void onFailed(long groupId) {
                if (checker.answered(call, "onFailed", false)) {
                    scheduler.after(0, () -> then.run(Answer.FAILED, 0, null));
                }
            }

            @Override
            public void onBusy(long groupId) {
                if (checker.answered(call, "onBusy", false)) {
                    scheduler.after(0, () -> then.run(Answer.BUSY, 0, null));
                }
            }
        };
    }

    @Override
    public void applied(long node, long groupId, Entry entry, long attemptId) {
        checker.applied(node, groupId, entry, attemptId);
    }

    @Override
    public void gap(long node, long groupId, long expectedIndex, long gotIndex) {
        checker.violation(Kind.APPLY_GAP, "node " + node + " group " + groupId + " was handed index " + gotIndex + " after "
                + (expectedIndex - 1));
    }

    // ---------------------------------------------------------------- checks

    /** After every worker round of {@code n}: at most one leader per term. */
    void afterStep(RuntimeSimNode n) {
        for (GroupState g : groups) {
            RaftNode r = n.replica(g.id);
            if (r != null && r.appliedIndex() > g.latestConfAppliedIndex) {
                g.latestConfAppliedIndex = r.appliedIndex();
                g.latestConf = r.confState();
            }
            if (r != null && r.role() == Role.LEADER && checker.leader(g.id, r.term(), n.id)) {
                trace("node " + n.id + " leads group " + g.id + " in term " + r.term());
            }
        }
    }

    private void periodicChecks() {
        long now = scheduler.nowNs();
        long readDeadlineNs = READ_DEADLINE_ELECTION_TIMEOUTS * config.electionTimeoutNs();
        for (Call c : checker.unanswered()) {
            if (c.kind != CallKind.READ || c.flagged || now - c.issuedNs <= readDeadlineNs) {
                continue;
            }
            RuntimeSimNode n = node(c.node);
            if (n.live() && n.incarnation() == c.incarnation) {
                c.flagged = true;
                checker.violation(Kind.READ_HANG, c + " neither answered nor failed after " + RuntimeSimChecker.ms(now - c.issuedNs));
            }
        }
        for (GroupState g : groups) {
            checkLeader(g, now);
        }
        scheduler.after(CHECK_EVERY_NS, this::periodicChecks);
    }

    /** The group's voters as its most advanced replica that is up applied them; null if no replica is up. */
    long[] voters(long groupId) {
        ConfState conf = confState(groupId);
        return conf == null ? null : conf.voters();
    }

    /** The group's membership as its most advanced replica that is up applied it; null if no replica is up. */
    ConfState confState(long groupId) {
        RaftNode best = null;
        for (RuntimeSimNode n : nodes) {
            RaftNode r = n.replica(groupId);
            if (r != null && (best == null || r.appliedIndex() > best.appliedIndex())) {
                best = r;
            }
        }
        return best == null ? null : best.confState();
    }

    /** The live node whose replica leads the group (highest term if several think so), or null. */
    RuntimeSimNode leaderOf(long groupId) {
        RuntimeSimNode leader = null;
        long term = -1;
        for (RuntimeSimNode n : nodes) {
            RaftNode r = n.live() ? n.replica(groupId) : null;
            if (r != null && r.role() == Role.LEADER && r.term() > term) {
                leader = n;
                term = r.term();
            }
        }
        return leader;
    }

    /**
     * Leaderless too long? A voter counts if its node is up with no failed worker and hosts the
     * replica; a quorum of those on one side of any partition must have a leader among them within
     * {@link #LEADERLESS_ELECTION_TIMEOUTS}, timed from when that quorum last changed.
     */
    private void checkLeader(GroupState g, long now) {
        long[] voters = voters(g.id);
        if (voters == null || voters.length == 0) {
            g.leaderlessSinceNs = -1;
            return;
        }
        int quorum = voters.length / 2 + 1;
        List<Long> quorumSide = null;
        for (int side = 0; side <= 1 && quorumSide == null; side++) {
            List<Long> here = new ArrayList<>();
            for (long v : voters) {
                RuntimeSimNode n = v >= 1 && v <= nodes.length ? node(v) : null;
                if (n != null && n.live() && n.replica(g.id) != null && network.side(v) == side) {
                    here.add(v);
                }
            }
            if (here.size() >= quorum) {
                quorumSide = here;
            }
        }
        boolean led = false;
        if (quorumSide != null) {
            for (long v : quorumSide) {
                RaftNode r = node(v).replica(g.id);
                led |= r.role() == Role.LEADER;
            }
        }
        if (quorumSide == null || led) {
            g.leaderlessSinceNs = -1;
            g.leaderlessFlagged = false;
            return;
        }
        String signature = Arrays.toString(voters) + quorumSide;
        if (g.leaderlessSinceNs < 0 || !signature.equals(g.leaderlessSignature)) {
            g.leaderlessSinceNs = now;
            g.leaderlessSignature = signature;
            g.leaderlessFlagged = false;
            return;
        }
        if (!g.leaderlessFlagged && now - g.leaderlessSinceNs > LEADERLESS_ELECTION_TIMEOUTS * config.electionTimeoutNs()) {
            g.leaderlessFlagged = true;
            StringBuilder roles = new StringBuilder();
            for (long v : quorumSide) {
                RaftNode r = node(v).replica(g.id);
                roles.append(" n").append(v).append('=').append(r.role()).append("@").append(r.term()).append("(leader ")
                        .append(r.leader()).append(", vote ").append(r.vote()).append(", last ").append(r.lastIndex()).append("/")
                        .append(r.termAt(r.lastIndex())).append(", commit ").append(r.commitIndex()).append(", applied ").append(r.appliedIndex()).append(", conf ").append(r.confState()).append(")");
            }
            checker.violation(Kind.LEADERLESS, "group " + g.id + " voters " + Arrays.toString(voters) + ": no leader since "
                    + RuntimeSimChecker.ms(g.leaderlessSinceNs) + " although " + quorumSide + " are up and connected;" + roles);
        }
    }

    private void checkEveryListenerAnswered() {
        List<Call> left = new ArrayList<>();
        for (Call c : checker.unanswered()) {
            if (c.flagged || crashedIncarnations.contains(c.node + "." + c.incarnation)) {
                continue;
            }
            c.flagged = true;
            left.add(c);
        }
        if (!left.isEmpty()) {
            StringBuilder b = new StringBuilder(left.size() + " listener(s) of live nodes never answered:");
            for (Call c : left.subList(0, Math.min(5, left.size()))) {
                b.append(' ').append(c).append(';');
            }
            checker.violation(Kind.UNANSWERED_AT_END, b.toString());
        }
    }

    private void checkLinearizable() {
        CheckResult r = LinearizabilityChecker.check(clients.history());
        if (r.verdict() != Verdict.OK) {
            String detail = r.detail();
            checker.violation(Kind.NOT_LINEARIZABLE, (r.verdict() == Verdict.UNKNOWN ? "search budget exhausted on key " : "key ")
                    + r.key() + ": " + (detail.length() > 3000 ? detail.substring(0, 3000) + " ..." : detail));
        }
    }

    // ---------------------------------------------------------------- the operator

    /**
     * The operator keeps membership sane: it removes voters whose replica was destroyed and, after a
     * removal it chose to refill, adds a node that never hosted the group (as a voter, or as a
     * learner it then promotes). One change at a time per group, through the leader.
     */
    private void operator() {
        for (GroupState g : groups) {
            if (g.adminCall != null && (g.adminCall.answers > 0
                    || scheduler.nowNs() - g.adminCall.issuedNs > 10 * config.electionTimeoutNs())) {
                g.adminCall = null;
            }
            if (g.adminCall != null || application.holdsMembership(g.id)) {
                continue;
            }
            RuntimeSimNode leader = leaderOf(g.id);
            ConfState conf = confState(g.id);
            if (leader == null || conf == null) {
                continue;
            }
            long dead = 0;
            for (long v : conf.voters()) {
                if (node(v).gone.contains(g.id)) {
                    dead = v;
                }
            }
            for (long l : conf.learners()) {
                if (node(l).gone.contains(g.id)) {
                    dead = l;
                }
            }
            if (dead != 0) {
                changeMembership(g, leader, new ConfChange(ConfChangeType.REMOVE_NODE, dead));
            } else if (conf.learners().length > 0) {
                changeMembership(g, leader, new ConfChange(ConfChangeType.PROMOTE_LEARNER, conf.learners()[0]));
            } else if (g.refill && conf.voters().length < 3) {
                List<RuntimeSimNode> fresh = new ArrayList<>();
                for (RuntimeSimNode n : nodes) {
                    if (n.live() && !n.hosted.containsKey(g.id)) {
                        fresh.add(n);
                    }
                }
                if (!fresh.isEmpty()) {
                    RuntimeSimNode joiner = fresh.get(random.nextInt(fresh.size()));
                    joiner.host(g.id, new long[0]);
                    ConfChangeType type = random.nextBoolean() ? ConfChangeType.ADD_VOTER : ConfChangeType.ADD_LEARNER;
                    changeMembership(g, leader, new ConfChange(type, joiner.id));
                }
            } else if (conf.voters().length >= 3) {
                g.refill = false;
            }
        }
        scheduler.after(3 * config.electionTimeoutNs(), this::operator);
    }

    /** A membership change through {@code via}, tracked like any other listener. */
    Call changeMembership(GroupState g, RuntimeSimNode via, ConfChange change) {
        trace("operator: " + change + " in group " + g.id + " via node " + via.id);
        via.node().changeMembership(g.id, change, membershipListener(g, via, change, (answer, number, captured) -> {
        }));
        return g.adminCall;
    }

    /**
     * The listener of a membership change of {@code g} proposed through {@code via}, by the operator
     * or by another part of the simulation (a replica move's step): tracked like any other listener,
     * held as the group's change in flight, and its outcome noted in the group's membership; then
     * {@code then} is told.
     */
    ProposalListener membershipListener(GroupState g, RuntimeSimNode via, ConfChange change, Then then) {
        Call call = checker.newCall(CallKind.CONF_CHANGE, via.id, via.incarnation(), g.id, 0);
        g.adminCall = call;
        return proposalListener(call, via.stateMachine(), false, (answer, number, captured) -> {
            trace(change + " in group " + g.id + ": " + answer + (answer == Answer.APPLIED ? " at " + number : ""));
            noteMembership(g, change, answer, number);
            then.run(answer, number, captured);
        });
    }

    /** The group {@code id} among the run's initial groups, or null (a range split off later). */
    GroupState group(long id) {
        for (GroupState g : groups) {
            if (g.id == id) {
                return g;
            }
        }
        return null;
    }

    /**
     * Keeps {@link GroupState#latestConf} at least as small as the real membership: a replica that
     * applies its own removal is gone before anyone sees its membership, so an applied removal (or
     * one whose outcome is unknown, to stay on the safe side) is taken off here. Additions count
     * only once a replica shows them. An applied removal also holds back {@link #afterStep} from
     * taking the membership of a replica that has not applied it yet (a new leader that lags).
     */
    private void noteMembership(GroupState g, ConfChange change, Answer answer, long index) {
        if (change.type() != ConfChangeType.REMOVE_NODE || (answer != Answer.APPLIED && answer != Answer.UNKNOWN)) {
            return;
        }
        ConfState conf = g.latestConf != null ? g.latestConf : confState(g.id);
        if (conf != null) {
            g.latestConf = new ConfState(without(conf.voters(), change.nodeId()), without(conf.learners(), change.nodeId()));
        }
        if (answer == Answer.APPLIED) {
            g.latestConfAppliedIndex = Math.max(g.latestConfAppliedIndex, index);
        }
    }

    private static long[] without(long[] ids, long id) {
        return java.util.Arrays.stream(ids).filter(x -> x != id).toArray();
    }
}

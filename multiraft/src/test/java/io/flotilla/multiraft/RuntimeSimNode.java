package io.flotilla.multiraft;

import io.flotilla.raft.Message;
import io.flotilla.raft.RaftNode;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalCacheBudget;
import io.flotilla.wal.WalCacheConfig;
import io.flotilla.wal.WalConfig;
import io.flotilla.wal.WalSegmentNames;
import io.flotilla.wal.WalWriterConfig;
import io.flotilla.wal.crash.CrashMode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * One node of the runtime simulation across its incarnations: its disk (which outlives them), and
 * while it is up a real {@link Wal} opened with {@link Wal#openStepped} and a real
 * {@link MultiRaftNode} started with {@link MultiRaftNode#startStepped}. Each worker and the log's
 * group commit are driven by their own seeded event streams, so rounds of one worker overlap with
 * the log's commits and with the other worker's rounds, as threads would. A worker that throws has
 * failed and is never run again (as its thread would have stopped); the rest of the node runs on.
 * Owned by the seed's thread.
 */
final class RuntimeSimNode {
    enum State { UP, CRASHED, CLOSED }

    /** Small segments so that runs roll over; small caches so that old entries are read back from the segments. */
    private static final int SEGMENT_BYTES = 64 << 10;
    private static final int MAX_RECORD_BYTES = 16 << 10;
    /** With snapshots: smaller still, so that compaction frees whole segments often and purge deletes them. */
    static final int SNAPSHOT_SEGMENT_BYTES = 4 << 10;
    private static final int SNAPSHOT_MAX_RECORD_BYTES = 2 << 10;
    private static final WalCacheConfig CACHE = new WalCacheConfig(32, 8 << 10);
    private static final long CACHE_BUDGET_BYTES = 32 << 10;

    final long id;
    private final RuntimeSimCluster cluster;
    private final RuntimeSimDisk disk;
    private final WalConfig walConfig;
    /** Null without snapshots; else this node's channel, whose received images outlive incarnations. */
    private final RuntimeSimSnapshots snapshots;
    private State state = State.CRASHED;
    private int incarnation;
    private Wal wal;
    private MultiRaftNode node;
    private int workers;
    /** The node stopped itself (a worker failed): the runtime stops every worker (fail-stop). */
    private boolean anyWorkerFailed;
    private RuntimeSimStateMachine stateMachine;
    /** Groups this node was asked to host, with their initial voters (empty: it joined later). Survives incarnations. */
    final Map<Long, long[]> hosted = new LinkedHashMap<>();
    /** Groups whose replica here the simulation destroyed (destroyReplica), or that removed this node. */
    final Set<Long> gone = new HashSet<>();
    /**
     * Groups whose replica here the application dropped once a newer membership had removed it
     * (a node's RemovedReplicas): lost for good to the replicas that have not applied the removal.
     */
    final Set<Long> dropped = new HashSet<>();
    /** Groups owned by a failed worker of this incarnation. */
    final Set<Long> failedGroups = new HashSet<>();
    long failedAtNs = -1;
    /** Snapshot and log maintenance counters of the incarnations that ended: sent, installed, compactions, segments purged, records rewritten. */
    private final long[] pastCounters = new long[5];

    RuntimeSimNode(RuntimeSimCluster cluster, long id, long tearSeed) {
        this.cluster = cluster;
        this.id = id;
        this.disk = new RuntimeSimDisk(tearSeed);
        boolean withSnapshots = cluster.config().snapshots();
        this.walConfig = new WalConfig(Path.of("/sim/node-" + id + "/wal"), cluster.config().seed(), id,
                withSnapshots ? SNAPSHOT_SEGMENT_BYTES : SEGMENT_BYTES, withSnapshots ? SNAPSHOT_MAX_RECORD_BYTES : MAX_RECORD_BYTES);
        this.snapshots = withSnapshots ? new RuntimeSimSnapshots(cluster, id, new SplittableRandom(tearSeed ^ 0x5EED5)) : null;
    }

    RuntimeSimSnapshots snapshots() {
        return snapshots;
    }

    /** The log's segment files on the disk (between steps; empty while the node is down). */
    int walSegments() {
        try {
            int n = 0;
            for (String name : disk.list(walConfig.directory())) {
                n += name.endsWith(WalSegmentNames.SUFFIX) ? 1 : 0;
            }
            return n;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    State state() {
        return state;
    }

    boolean up() {
        return state == State.UP;
    }

    /** Up, and no worker has failed. */
    boolean live() {
        return state == State.UP && !anyWorkerFailed;
    }

    boolean failed() {
        return state == State.UP && anyWorkerFailed;
    }

    int incarnation() {
        return incarnation;
    }

    MultiRaftNode node() {
        return node;
    }

    /** This incarnation's state machine (the last one's while the node is down). */
    RuntimeSimStateMachine stateMachine() {
        return stateMachine;
    }

    /** The state machine, when it is the simulation's own registers. */
    RuntimeSimRegisters registers() {
        return (RuntimeSimRegisters) stateMachine;
    }

    RuntimeSimDisk disk() {
        return disk;
    }

    /** This node's replica of {@code groupId}, or null (down, not hosted, or removed). Between steps only. */
    RaftNode replica(long groupId) {
        return state == State.UP ? node.node(groupId) : null;
    }

    /**
     * A new incarnation: recovers the log from the disk, starts the runtime in stepped mode and asks
     * it to host every group it hosted before (tombstoned ones it refuses by itself). With
     * {@code keepRegisters} the state machine of the last incarnation is kept (as a durable one would be).
     */
    void start(boolean keepRegisters) {
        incarnation++;
        RuntimeSimConfig config = cluster.config();
        try {
            wal = Wal.openStepped(disk, walConfig, new WalWriterConfig(64, 64 << 10, 1), CACHE,
                    new WalCacheBudget(CACHE_BUDGET_BYTES));
        } catch (Exception | Error e) {
            cluster.checker().violation(RuntimeSimChecker.Kind.RUNTIME_THREW, "node " + id + ": recovery of its log failed: "
                    + RuntimeSimCluster.describe(e));
            state = State.CRASHED;
            return;
        }
        if (!keepRegisters || stateMachine == null) {
            stateMachine = cluster.application().recover(cluster, this, stateMachine);
        }
        int recoveredGroups = wal.recoveredGroups().size();
        long firstReadId = cluster.random().nextLong() >>> 2;
        node = new MultiRaftNode(config.nodeConfig(id), wal, stateMachine, cluster.network().senderOf(id), snapshots,
                new RuntimeEnvironment(cluster.scheduler()::nowNs, firstReadId));
        node.startStepped();
        workers = node.workerCount();
        anyWorkerFailed = false;
        failedGroups.clear();
        failedAtNs = -1;
        state = State.UP;
        for (Map.Entry<Long, long[]> g : hosted.entrySet()) {
            node.createGroup(g.getKey(), g.getValue());
        }
        int inc = incarnation;
        for (int w = 0; w < workers; w++) {
            int worker = w;
            cluster.scheduler().after(cluster.stepGapNs(), () -> step(inc, worker));
        }
        cluster.scheduler().after(cluster.commitGapNs(), () -> commit(inc));
        if (cluster.application().flushes(this)) {
            cluster.scheduler().after(flushGapNs(), () -> flush(inc));
        }
        cluster.checker().trace("node " + id + "." + incarnation + " starts (" + workers + " workers, recovered "
                + recoveredGroups + " groups" + (keepRegisters ? ", state machine kept" : "") + ")");
    }

    /**
     * Snapshot and log maintenance counters over every incarnation so far: snapshots sent, snapshots
     * installed, compactions, log segments purged, log records rewritten forward.
     */
    long[] counters() {
        long[] c = pastCounters.clone();
        addCounters(c);
        return c;
    }

    private void addCounters(long[] c) {
        if (node != null) {
            c[0] += node.snapshotsSent();
            c[1] += node.snapshotsInstalled();
            c[2] += node.compactions();
            c[3] += node.logSegmentsPurged();
            c[4] += node.logRecordsRewritten();
        }
    }

    /**
     * Asks this node to host {@code groupId} again after its replica was removed (a move brings the
     * range back: {@link MultiRaftNode#rejoinGroup}); once the replica is revived, restarts host it
     * as any other.
     */
    void rejoin(long groupId) {
        hosted.put(groupId, new long[0]);
        if (up()) {
            node.rejoinGroup(groupId);
        }
    }

    /** Asks this node to host {@code groupId} (again after restarts). */
    void host(long groupId, long[] voters) {
        hosted.putIfAbsent(groupId, voters);
        if (up()) {
            node.createGroup(groupId, voters);
        }
    }

    private void step(int inc, int worker) {
        if (state != State.UP || inc != incarnation || anyWorkerFailed) {
            return;
        }
        try {
            node.doWork(worker, cluster.scheduler().nowNs());
        } catch (RuntimeException | Error e) {
            cluster.checker().violation(RuntimeSimChecker.Kind.RUNTIME_THREW, "node " + id + " worker " + worker
                    + ": doWork threw " + RuntimeSimCluster.describe(e));
        }
        if (disk.powerCut()) {
            cluster.crash(this, cluster.randomCrashMode(), "its power failed during a log force");
            return;
        }
        Throwable failure = node.failure();
        if (failure != null) {
            nodeFailed(worker, failure);
            return;
        }
        cluster.afterStep(this);
        cluster.scheduler().after(cluster.stepGapNs(), () -> step(inc, worker));
    }

    /** A worker failed and the node stopped itself: every group it hosted is failed here until a restart. */
    private void nodeFailed(int worker, Throwable e) {
        anyWorkerFailed = true;
        if (failedAtNs < 0) {
            failedAtNs = cluster.scheduler().nowNs();
        }
        failedGroups.addAll(hosted.keySet());
        boolean failpoint = false;
        for (Throwable t = e; t != null; t = t.getCause()) {
            failpoint |= t instanceof RuntimeSimRegisters.FailpointException;
        }
        cluster.checker().trace("node " + id + "." + incarnation + " worker " + worker + " failed, the node stops: "
                + RuntimeSimCluster.describe(e));
        if (!failpoint) {
            cluster.checker().violation(RuntimeSimChecker.Kind.WORKER_THREW, "node " + id + " worker " + worker + ": "
                    + RuntimeSimCluster.describe(e));
        }
    }

    /** Time until the state machine's next flush: a few to a few dozen ticks. */
    private long flushGapNs() {
        return cluster.config().tickNs() * (2 + cluster.random().nextInt(40));
    }

    /** The state machine makes its state durable (a memtable flush, on a thread of its own). */
    private void flush(int inc) {
        if (state != State.UP || inc != incarnation) {
            return;
        }
        stateMachine.flush();
        cluster.scheduler().after(flushGapNs(), () -> flush(inc));
    }

    private void commit(int inc) {
        if (state != State.UP || inc != incarnation) {
            return;
        }
        try {
            wal.commitQueued();
        } catch (RuntimeException | Error e) {
            if (!disk.powerCut()) {
                cluster.checker().violation(RuntimeSimChecker.Kind.RUNTIME_THREW, "node " + id + ": commitQueued threw "
                        + RuntimeSimCluster.describe(e));
            }
        }
        if (disk.powerCut()) {
            cluster.crash(this, cluster.randomCrashMode(), "its power failed during a log force");
            return;
        }
        cluster.scheduler().after(cluster.commitGapNs(), () -> commit(inc));
    }

    /** The transport hands a batch to the node. */
    void deliver(List<Message> messages) {
        try {
            node.deliver(messages);
        } catch (RuntimeException | Error e) {
            cluster.checker().violation(RuntimeSimChecker.Kind.RUNTIME_THREW, "node " + id + ": deliver of " + messages + " threw "
                    + RuntimeSimCluster.describe(e));
        }
    }

    /** Power failure: the runtime is dropped without a word; the disk keeps what {@code mode} says survives. */
    String crash(CrashMode mode) {
        addCounters(pastCounters);
        String what = disk.crash(mode);
        if (snapshots != null) {
            snapshots.reset();
        }
        state = State.CRASHED;
        node = null;
        wal = null;
        workers = 0;
        return what;
    }

    /** Graceful close of the runtime, then of the log. Failpoints armed for this incarnation are disarmed first. */
    void close() {
        disk.disarm();
        stateMachine.failNextApply(false);
        try {
            node.close();
        } catch (Exception | Error e) {
            cluster.checker().violation(RuntimeSimChecker.Kind.RUNTIME_THREW, "node " + id + ": close threw "
                    + RuntimeSimCluster.describe(e));
        }
        try {
            wal.close();
        } catch (Exception | Error e) {
            cluster.checker().violation(RuntimeSimChecker.Kind.RUNTIME_THREW, "node " + id + ": closing its log threw "
                    + RuntimeSimCluster.describe(e));
        }
        addCounters(pastCounters);
        if (snapshots != null) {
            snapshots.reset();
        }
        state = State.CLOSED;
        node = null;
        wal = null;
        workers = 0;
    }
}

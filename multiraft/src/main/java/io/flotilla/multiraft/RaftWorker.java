package io.flotilla.multiraft;

import io.flotilla.raft.Check;
import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeType;
import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.HardState;
import io.flotilla.raft.Message;
import io.flotilla.raft.MessageType;
import io.flotilla.raft.ProposeResult;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.RaftNode;
import io.flotilla.raft.ReadState;
import io.flotilla.raft.Role;
import io.flotilla.raft.Ready;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.SnapshotMetadata;
import io.flotilla.transport.snapshot.SnapshotSender;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalAppendCallback;
import io.flotilla.wal.WalBatch;
import io.flotilla.wal.WalFailedException;
import io.flotilla.wal.WalGroupIndex;
import io.flotilla.wal.WalGroupStorage;
import io.flotilla.wal.WalRecord;
import io.flotilla.wal.WalRecordEncoder;
import io.flotilla.wal.WalSegmentReader;
import io.flotilla.wal.WalSnapshotSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongFunction;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.OneToOneConcurrentArrayQueue;

/**
 * One worker of the multi-group runtime: a single thread that owns a fixed set of groups for their
 * life (their {@link RaftNode}s, log indexes and apply state). Other threads reach it only through
 * its bounded inbox. Its loop, once per round:
 * <ol>
 *   <li>drain completed log writes, then the inbox (peer messages, proposals, reads, admin);</li>
 *   <li>tick every group when the worker's one timer fires;</li>
 *   <li>take the {@link Ready} of every group that has one, send leader appends at once (one
 *       {@link PeerSender#send} per destination node), and submit <b>one</b> {@link WalBatch} with
 *       every group's entries and hard states;</li>
 *   <li>when that batch is durable (the log's writer thread hands it back through a queue): send
 *       votes and acknowledgements, apply the committed entries of all groups in one
 *       {@link StateMachine#apply} call, answer proposals and reads, and {@code advance}.</li>
 * </ol>
 * Nothing blocks: a full inbox is BUSY for the caller; a full log queue defers the round.
 *
 * <p>Quiescence: a leader whose followers hold its whole log, and a caught-up follower of a live
 * leader, stop ticking (no timers, no heartbeats) until a message, proposal or read wakes them; the
 * node-level liveness heartbeat ({@link NodeLiveness}) wakes the followers of a leader whose node
 * goes silent, so they elect. An idle worker parks until its next tick or until someone hands it
 * work; with no group ticking, it sleeps through ticks up to the next compaction pass or node
 * heartbeat (at most a quarter election timeout). Ticks cost O(awake groups).
 *
 * <p>Membership: conf changes and leader transfers go through the leader's replica; a replica that
 * applies its own removal is destroyed and tombstoned in the log, so it is never recreated.
 *
 * <p>Compaction and snapshots (only with a {@link SnapshotStreams} channel, without which no
 * follower could catch up past a compacted log): every election timeout a worker compacts the logs
 * of groups holding more than {@code 2 × logRetainEntries} entries the state machine has made
 * durable, down to {@code logRetainEntries}, writing a snapshot mark with the membership at that
 * point. A leader whose follower needs compacted entries captures a state machine image at its
 * applied index and streams it; the Raft snapshot message follows once the image arrived. The
 * follower writes the snapshot mark, then restores its state machine from the received file,
 * which it keeps until the state machine says that state is durable: a crash in between is
 * repaired from the file at restart.
 *
 * <p>Log purge (with compaction only: without it every entry stays live and nothing could go).
 * Every {@link #COMPACTIONS_PER_LOG_SWEEP} election timeouts a worker sweeps its groups: it publishes
 * the oldest log segment they (and its rounds in flight) still need to the node's
 * {@link LogPurgeTracker}, where worker 0 deletes the segments below every worker's; and it rewrites
 * forward the live records of groups whose oldest record lags far behind the active segment (an
 * idle group's old entries, a removed replica's tombstone), so they stop holding segments back.
 */
public final class RaftWorker implements Runnable {
    private static final int DRAIN_LIMIT = 4096;
    /** A power of two: it sizes the ring of {@link #submittedSegments}. */
    private static final int MAX_ROUNDS_IN_FLIGHT = 64;
    /**
     * Log sweeps run every this many compaction passes (every 8 election timeouts, 0.8 s by
     * default): the oldest live segment moves only as groups compact or get rewritten, so more
     * often would only repeat the O(groups) scan; idle nodes pay nothing per tick.
     */
    static final int COMPACTIONS_PER_LOG_SWEEP = 8;
    /**
     * A group whose oldest live record is more than this many segments behind the active one is
     * rewritten forward (the window widens with the live data rewritten: {@link LogPurgeTracker#lagSegments}).
     * Small, so disk use stays a few segments above the live data.
     */
    static final int LAG_SEGMENTS = 4;
    /**
     * Bytes one sweep of one worker rewrites at most, so a sweep never copies the whole log at once
     * (the rest waits for the next sweep). A group larger than this on its own is not rewritten: it
     * holds the log back until compaction shrinks it.
     */
    static final long MAX_REWRITE_BYTES_PER_SWEEP = 4L << 20;

    /** One group hosted by this worker. */
    private static final class Replica {
        final long groupId;
        final RaftNode node;
        final WalGroupIndex index;
        final WalGroupStorage storage;
        /** Bytes of the group's last rewrite forward (its share of the node's rewritten live data). */
        long rewrittenBytes;
        /** First index of the log when a rewrite was refused as too large (0: none): not tried again until it compacts. */
        long rewriteRefusedAtFirstIndex;
        /** The Ready submitted to the log and not yet advanced; at most one per group. */
        Ready outstanding;
        /** Proposals appended and not yet applied, in index order. */
        final ArrayDeque<PendingProposal> proposals = new ArrayDeque<>();
        /** Reads confirmed by ReadIndex, waiting for the state machine to reach their index. */
        final ArrayDeque<PendingRead> readsWaitingForApply = new ArrayDeque<>();
        boolean dirty;
        /** Not ticked (quiescent); any message, proposal or read wakes it. */
        boolean asleep;
        boolean leading;
        /** The worker tick at which it last woke: it stays awake for two heartbeats after. */
        long wokeAtTick;
        /** This node has been in the group's membership: leaving it later means the replica was removed. */
        boolean wasMember;
        /** Removed from this worker: every list that still holds it skips it. */
        boolean destroyed;
        /** Index of the latest conf change applied (conservatively, the applied index at start or the last snapshot). */
        long lastConfChangeIndex;
        /** Compaction submitted to the log up to here (may not be durable yet). */
        long compactingTo;
        /** In the worker's compaction candidates. */
        boolean compactionCandidate;
        /** A received snapshot image kept until the state machine's durable index reaches it (0 = none). */
        long retainedImageIndex;
        /** Images captured for followers, at most a few; null until the first. */
        ArrayList<SnapshotStreams.OutgoingImage> images;
        /** Snapshot messages waiting for their image's transfer to end, by follower node. */
        Long2ObjectHashMap<HeldSnapshot> heldSnapshots;

        Replica(long groupId, RaftNode node, WalGroupStorage storage) {
            this.groupId = groupId;
            this.node = node;
            this.index = storage.index();
            this.storage = storage;
        }
    }

    private record PendingProposal(long index, long term, ProposalListener listener) {
    }

    /** A leader's snapshot message, sent once its image reached the follower. */
    private record HeldSnapshot(Message message, SnapshotStreams.OutgoingImage image) {
    }

    /** How a snapshot transfer ended (from the snapshot channel, or at once when it could not start). */
    private record SnapshotSent(long peer, long groupId, long index, boolean ok) {
    }

    private record PendingRead(long requestId, long index, ReadListener listener) {
    }

    /** A round whose log batch was submitted: the groups and Readys it covers. */
    private static final class Round implements WalAppendCallback {
        final ArrayList<Replica> replicas = new ArrayList<>();
        final ArrayList<Ready> readies = new ArrayList<>();
        WalBatch batch;
        WalFailedException failure;
        /** A rare write its submitter waits for ({@link #awaitDurable}); whoever polls it just marks it. */
        boolean awaited;
        boolean durable;
        OneToOneConcurrentArrayQueue<Round> completions;
        RaftWorker worker;

        @Override
        public void onDurable(WalBatch b, long segmentSequence, long endOffsetBytes) {
            // The log's completer thread: hand the round back to its worker. The queue has room for every round in flight.
            completions.offer(this);
            worker.wakeIfParked();
        }

        @Override
        public void onFailed(WalBatch b, WalFailedException error) {
            failure = error;
            completions.offer(this);
            worker.wakeIfParked();
        }
    }

    private final long nodeId;
    private final int workerId;
    private final MultiRaftConfig config;
    private final Wal wal;
    /** The log's largest record, and so the largest proposal it can take. */
    private final int maxRecordBytes;
    private final int maxEntryPayloadBytes;
    private final WalSegmentReader reader;
    private final StateMachine stateMachine;
    private final PeerSender sender;
    /** Null: no snapshot channel, so logs are never compacted. */
    private final SnapshotStreams streams;
    private static final System.Logger LOG = System.getLogger(RaftWorker.class.getName());

    private final Long2ObjectHashMap<Replica> groups = new Long2ObjectHashMap<>();
    /** Removed replicas of this worker's groups: their logs' tombstones (kept for purge accounting). */
    private final Long2ObjectHashMap<WalGroupIndex> tombstones = new Long2ObjectHashMap<>();
    /**
     * Groups the log recovered that the owner has not created (again) yet: handed over by the node
     * before the thread starts, so their records count as live from the first log sweep.
     */
    private final Long2ObjectHashMap<WalGroupIndex> recovered = new Long2ObjectHashMap<>();
    private final LogPurgeTracker purges;
    private final ManyToOneConcurrentArrayQueue<Object> inbox;
    private final OneToOneConcurrentArrayQueue<Round> completions = new OneToOneConcurrentArrayQueue<>(MAX_ROUNDS_IN_FLIGHT);
    private final Long2ObjectHashMap<ArrayList<Message>> outbound = new Long2ObjectHashMap<>();
    private final ArrayList<Replica> dirty = new ArrayList<>();
    private final StateMachine.ApplyBatch applyBatch;
    private final NodeLiveness liveness;
    /** Replicas that tick; the others sleep. */
    private final ArrayList<Replica> awake = new ArrayList<>();
    /** Sleeping followers by the node of their leader, woken if that node goes silent. */
    private final Long2ObjectHashMap<ArrayList<Replica>> sleepersByLeaderNode = new Long2ObjectHashMap<>();
    private final Thread thread;
    /** Set while the worker parks, so producers know to wake it. */
    private volatile boolean parked;
    /** The core asks for a snapshot for a follower: capture the state machine's image at the applied index. */
    private final WalSnapshotSource snapshotSource = (groupId, latestMark) -> captureSnapshot(groupId);
    /** Transfer outcomes from the snapshot channel's thread. */
    private final ConcurrentLinkedQueue<SnapshotSent> snapshotReports = new ConcurrentLinkedQueue<>();
    /** Transfers that could not start, reported to the core on the next round. */
    private final ArrayDeque<SnapshotSent> localSnapshotReports = new ArrayDeque<>();
    private final ArrayList<Replica> compactionCandidates = new ArrayList<>();
    /** Compaction records and rewrites forward for the next log batch. */
    private final ArrayList<WalRecord> maintenance = new ArrayList<>();
    /** Lagging groups found by a log sweep (reused). */
    private final ArrayList<WalGroupIndex> lagging = new ArrayList<>();
    /** {@link #maintenance} holds a rewrite forward not yet submitted. */
    private boolean rewriteQueued;
    /** The round carrying the last rewrite forward until it is durable; null: none in flight. */
    private Round rewriteRound;
    /** Sum of {@link Replica#rewrittenBytes} over this worker's groups. */
    private long rewrittenLiveBytes;
    /**
     * The active log segment when each round in flight was submitted, oldest first, in a ring from
     * {@link #oldestRoundSlot}: a round's records land in that segment or a later one. The log's
     * writer completes one worker's rounds in the order it submitted them.
     */
    private final long[] submittedSegments = new long[MAX_ROUNDS_IN_FLIGHT];
    private int oldestRoundSlot;

    private int roundsInFlight;
    private long ticks;
    private long nextTickNs;
    /** Ticks at which the next compaction pass, and (worker 0) the next node heartbeat, are due. */
    private long nextCompactionTick;
    private long nextHeartbeatTick;
    private long compactionPasses;
    /** Never repeats across restarts of this node (see {@link RuntimeEnvironment#system}). */
    private long nextReadId;
    private final RuntimeEnvironment env;
    /** No thread: the owner calls {@link #doWork} (the deterministic simulation). */
    private boolean stepped;
    private volatile boolean running;
    private volatile Throwable failure;

    // Counters, written by the worker thread only (volatile for readers elsewhere).
    private volatile long rounds;
    private volatile long logBatches;
    private volatile long droppedMessages;
    private volatile long snapshotsSent;
    private volatile long snapshotsInstalled;
    private volatile long compactions;
    private volatile long recordsRewritten;
    private volatile long bytesRewritten;
    private volatile int awakeGroups;
    private volatile int leaderGroups;
    private volatile int hostedGroups;

    RaftWorker(long nodeId, int workerId, MultiRaftConfig config, Wal wal, StateMachine stateMachine, PeerSender sender,
            SnapshotStreams streams, NodeLiveness liveness, LogPurgeTracker purges, RuntimeEnvironment env) {
        this.env = env;
        // Workers draw from disjoint ranges of the node's read ids.
        this.nextReadId = env.firstReadId() + ((long) workerId << 48);
        this.streams = streams;
        this.purges = purges;
        this.liveness = liveness;
        this.nodeId = nodeId;
        this.workerId = workerId;
        this.config = config;
        this.wal = wal;
        this.maxRecordBytes = wal.config().maxRecordBytes();
        this.maxEntryPayloadBytes = WalRecordEncoder.maxEntryPayloadBytes(maxRecordBytes);
        this.reader = wal.newReader();
        this.stateMachine = stateMachine;
        this.sender = sender;
        this.inbox = new ManyToOneConcurrentArrayQueue<>(config.inboxCapacity());
        this.applyBatch = new StateMachine.ApplyBatch(config.maxGroupsPerWorker());
        this.thread = new Thread(this, "flotilla-worker-" + nodeId + "-" + workerId);
        this.thread.setDaemon(true);
    }

    // ---------------------------------------------------------------- commands from other threads

    private record Inbound(List<Message> messages) {
    }

    private record Propose(long groupId, byte[] data, ProposalListener listener) {
    }

    private record Read(long groupId, ReadListener listener) {
    }

    private record CreateGroup(long groupId, long[] voters) {
    }

    private record Campaign(long groupId) {
    }

    private record Destroy(long groupId) {
    }

    private record ChangeMembership(long groupId, ConfChange change, ProposalListener listener) {
    }

    private record TransferLeader(long groupId, long target, ProposalListener listener) {
    }

    /** Any thread: messages from a peer for groups of this worker. False if the inbox is full (dropped; Raft retries). */
    boolean deliver(List<Message> messages) {
        return offer(new Inbound(messages));
    }

    private boolean offer(Object command) {
        if (!inbox.offer(command)) {
            return false;
        }
        if (parked) {
            LockSupport.unpark(thread);
        }
        return true;
    }

    /** Any thread: proposes a command; the outcome reaches the listener on this worker's thread. */
    void propose(long groupId, byte[] data, ProposalListener listener) {
        if (!offer(new Propose(groupId, data, listener))) {
            listener.onBusy(groupId);
        }
    }

    /** Any thread: asks for a linearizable read point. */
    void read(long groupId, ReadListener listener) {
        if (!offer(new Read(groupId, listener))) {
            listener.onBusy(groupId);
        }
    }

    /**
     * Any thread: hosts a replica of {@code groupId}. If the log has none, the group is created with
     * {@code voters} as its initial membership (the same on every initial member).
     */
    boolean createGroup(long groupId, long[] voters) {
        return offer(new CreateGroup(groupId, voters.clone()));
    }

    /**
     * Any thread: proposes a single-step membership change through this replica (which must lead).
     * The listener hears {@code onApplied} once the change is committed and applied here.
     */
    void changeMembership(long groupId, ConfChange change, ProposalListener listener) {
        if (!offer(new ChangeMembership(groupId, change, listener))) {
            listener.onBusy(groupId);
        }
    }

    /**
     * Any thread: asks this replica (the leader) to hand leadership to {@code target}. The listener
     * hears {@code onApplied(groupId, 0)} when the transfer started, or {@code onRefused} if this
     * replica is not the leader or the target is not another voter; whether it completes shows in
     * {@link #leaderGroups()} and in later proposals.
     */
    void transferLeader(long groupId, long target, ProposalListener listener) {
        if (!offer(new TransferLeader(groupId, target, listener))) {
            listener.onBusy(groupId);
        }
    }

    /**
     * Any thread: removes this node's replica of {@code groupId} for good: a durable tombstone in the
     * log keeps it from ever being created again, and messages for it are dropped.
     */
    boolean destroyReplica(long groupId) {
        return offer(new Destroy(groupId));
    }

    /** Any thread: makes this replica campaign now (tests and leader placement). */
    boolean campaign(long groupId) {
        return offer(new Campaign(groupId));
    }

    /** The snapshot channel's thread: a transfer ended. */
    void snapshotSent(long peer, long groupId, long index, boolean ok) {
        snapshotReports.add(new SnapshotSent(peer, groupId, index, ok));
        wakeIfParked();
    }

    private void wakeIfParked() {
        if (parked) {
            LockSupport.unpark(thread);
        }
    }

    void start() {
        running = true;
        thread.start();
    }

    /** Owner thread, instead of {@link #start}: no thread; the owner calls {@link #doWork} (the simulation). */
    void startStepped(long nowNs) {
        stepped = true;
        running = true;
        nextTickNs = nowNs + config.tickIntervalNs();
    }

    void stop() throws InterruptedException {
        running = false;
        if (stepped) {
            finishRoundsInFlight();
            closeReader();
            return;
        }
        LockSupport.unpark(thread);
        thread.join();
    }

    /** Lets the rounds in flight finish so no durable write is left unapplied. */
    private void finishRoundsInFlight() {
        while (roundsInFlight > 0) {
            pumpLogIfStepped();
            drainCompletions();
            Thread.onSpinWait();
        }
    }

    /** Stepped mode: nobody else runs the log's writer, so a worker waiting for a write runs it. */
    private void pumpLogIfStepped() {
        if (stepped) {
            wal.commitQueued();
        }
    }

    private void closeReader() {
        try {
            reader.close();
        } catch (IOException e) {
            if (failure == null) {
                failure = e;
            }
        }
    }

    Throwable failure() {
        return failure;
    }

    long rounds() {
        return rounds;
    }

    long logBatches() {
        return logBatches;
    }

    long droppedMessages() {
        return droppedMessages;
    }

    long snapshotsSent() {
        return snapshotsSent;
    }

    long snapshotsInstalled() {
        return snapshotsInstalled;
    }

    long compactions() {
        return compactions;
    }

    long recordsRewritten() {
        return recordsRewritten;
    }

    long bytesRewritten() {
        return bytesRewritten;
    }

    /** The node's thread, before {@link #start}: a group the log recovered, whose replica belongs here. */
    void adoptRecovered(WalGroupIndex index) {
        Check.state(!thread.isAlive(), "worker %d of node %d adopts recovered groups only before it starts", workerId, nodeId);
        (index.removed() ? tombstones : recovered).put(index.groupId(), index);
    }

    // ---------------------------------------------------------------- the loop

    @Override
    public void run() {
        nextTickNs = env.clockNs().getAsLong() + config.tickIntervalNs();
        int idle = 0;
        try {
            while (running) {
                int work = doWork(env.clockNs().getAsLong());
                if (work > 0) {
                    idle = 0;
                } else if (++idle > 100) {
                    parkUntilWorkOrTick();
                } else {
                    Thread.onSpinWait();
                }
            }
            finishRoundsInFlight();
        } catch (Throwable t) {
            failure = t;
            running = false;
        } finally {
            closeReader();
        }
    }

    /**
     * Sleeps until the next tick unless work arrives: producers unpark us when they see
     * {@code parked}; the flag is set before the final emptiness check so no hand-off is missed.
     */
    private void parkUntilWorkOrTick() {
        parked = true;
        if (inbox.isEmpty() && completions.isEmpty() && snapshotReports.isEmpty() && running) {
            long waitNs = nextTickNs + (idleStrideTicks() - 1) * config.tickIntervalNs() - env.clockNs().getAsLong();
            if (waitNs > 0) {
                LockSupport.parkNanos(this, waitNs);
            }
        }
        parked = false;
    }

    /**
     * Ticks an idle worker may sleep through at once: with no group ticking and nothing in flight,
     * a tick has nothing to do until the next compaction pass or node heartbeat, and silent
     * leaders' nodes are noticed at most a quarter election timeout late. Idle nodes wake a few
     * times per election timeout instead of every tick.
     */
    private long idleStrideTicks() {
        if (!awake.isEmpty() || roundsInFlight > 0 || !dirty.isEmpty()) {
            return 1;
        }
        long due = nextCompactionTick;
        if (workerId == 0) {
            due = Math.min(due, nextHeartbeatTick);
        }
        return Math.max(1, Math.min(due - ticks, heartbeatEveryTicks()));
    }

    /** A node heartbeat every quarter election timeout: three may be lost before a peer wakes the followers of our groups. */
    private long heartbeatEveryTicks() {
        return Math.max(1, config.electionTimeoutTicks() / 4);
    }

    /** One round; returns how much work it did (0 = idle). */
    int doWork(long nowNs) {
        int work = drainCompletions();
        work += inbox.drain(this::dispatch, DRAIN_LIMIT);
        work += drainSnapshotReports();
        if (nowNs >= nextTickNs) {
            long tickNs = config.tickIntervalNs();
            // Ticks skipped while idle count (nothing ticked then); a busy worker that fell behind drops them.
            long passed = awake.isEmpty() ? 1 + (nowNs - nextTickNs) / tickNs : 1;
            nextTickNs = Math.max(nextTickNs + passed * tickNs, nowNs - tickNs);
            ticks += passed;
            tickAwake(nowNs);
            wakeFollowersOfSilentLeaders(nowNs);
            if (ticks >= nextCompactionTick) {
                nextCompactionTick = ticks + config.electionTimeoutTicks();
                // Before compaction: a rewrite built now must not see a compaction queued but not applied.
                if (streams != null && ++compactionPasses % COMPACTIONS_PER_LOG_SWEEP == 0) {
                    sweepLog();
                }
                compactLogs();
            }
            if (workerId == 0 && ticks >= nextHeartbeatTick) {
                nextHeartbeatTick = ticks + heartbeatEveryTicks();
                queue(liveness.heartbeats());
                flushOutbound();
            }
        }
        work += collectReadies();
        if (work > 0) {
            rounds++;
            hostedGroups = groups.size();
        }
        return work;
    }

    private void tickAwake(long nowNs) {
        int kept = 0;
        for (int i = 0; i < awake.size(); i++) {
            Replica r = awake.get(i);
            if (r.asleep || r.destroyed) {
                continue;
            }
            if (mayQuiesce(r, nowNs)) {
                r.asleep = true;
                if (r.node.role() != Role.LEADER) {
                    ArrayList<Replica> sleepers = sleepersByLeaderNode.get(r.node.leader());
                    if (sleepers == null) {
                        sleepers = new ArrayList<>();
                        sleepersByLeaderNode.put(r.node.leader(), sleepers);
                    }
                    sleepers.add(r);
                }
                continue;
            }
            awake.set(kept++, r);
            r.node.tick();
            markDirty(r);
        }
        truncate(awake, kept);
        awakeGroups = kept;
    }

    /**
     * A leader may stop ticking once every member holds its whole log and nothing is pending; a
     * follower once it has applied everything its live leader has and nothing is pending.
     */
    private boolean mayQuiesce(Replica r, long nowNs) {
        // Awake for at least two heartbeat intervals, so a leader woken by a straggler's message
        // heartbeats (and brings it up to date) before it sleeps again.
        if (ticks - r.wokeAtTick < 2L * config.heartbeatIntervalTicks()) {
            return false;
        }
        if (r.outstanding != null || !r.proposals.isEmpty() || !r.readsWaitingForApply.isEmpty() || r.node.hasReady()) {
            return false;
        }
        RaftNode n = r.node;
        if (n.role() == Role.LEADER) {
            return n.quiescable();
        }
        return n.role() == Role.FOLLOWER && n.leader() != 0
                && n.commitIndex() == n.lastIndex() && n.appliedIndex() == n.commitIndex()
                && liveness.heardWithin(n.leader(), nowNs, electionTimeoutNs());
    }

    private long electionTimeoutNs() {
        return config.electionTimeoutTicks() * config.tickIntervalNs();
    }

    /** The node-level heartbeat stopped: the followers of that node's leaders wake up and, in time, elect. */
    private void wakeFollowersOfSilentLeaders(long nowNs) {
        for (Long2ObjectHashMap<ArrayList<Replica>>.EntryIterator it = sleepersByLeaderNode.entrySet().iterator(); it.hasNext(); ) {
            it.next();
            if (!liveness.heardWithin(it.getLongKey(), nowNs, electionTimeoutNs())) {
                for (Replica r : it.getValue()) {
                    wake(r);
                }
                it.remove();
            }
        }
    }

    private void wake(Replica r) {
        if (r.asleep && !r.destroyed) {
            r.asleep = false;
            r.wokeAtTick = ticks;
            awake.add(r);
        }
    }

    /** Drops the elements from {@code size} on; unlike {@code subList(..).clear()}, allocates nothing (every round). */
    private static void truncate(ArrayList<Replica> list, int size) {
        for (int i = list.size() - 1; i >= size; i--) {
            list.remove(i);
        }
    }

    private void markDirty(Replica r) {
        if (!r.dirty) {
            r.dirty = true;
            dirty.add(r);
        }
    }

    private void dispatch(Object command) {
        if (command instanceof Inbound in) {
            for (Message m : in.messages()) {
                Replica r = groups.get(m.groupId);
                if (r == null || (m.type == MessageType.SNAPSHOT && !imageReceived(m))) {
                    droppedMessages++;
                    continue;
                }
                wake(r);
                r.node.step(m);
                markDirty(r);
            }
        } else if (command instanceof Propose p) {
            handlePropose(p);
        } else if (command instanceof Read rd) {
            Replica r = groups.get(rd.groupId());
            if (r == null) {
                rd.listener().onFailed(rd.groupId());
                return;
            }
            wake(r);
            long id = nextReadId++;
            pendingReads.put(id, rd.listener());
            r.node.readIndex(id);
            markDirty(r);
        } else if (command instanceof CreateGroup c) {
            createReplica(c.groupId(), c.voters());
        } else if (command instanceof ChangeMembership c) {
            Replica r = groups.get(c.groupId());
            if (r == null) {
                c.listener().onRefused(c.groupId(), ProposeResult.NOT_LEADER, 0);
                return;
            }
            wake(r);
            ProposeResult result = r.node.proposeConfChange(c.change());
            if (result != ProposeResult.ACCEPTED) {
                c.listener().onRefused(c.groupId(), result, r.node.leader());
                return;
            }
            r.proposals.addLast(new PendingProposal(r.node.lastIndex(), r.node.term(), c.listener()));
            markDirty(r);
        } else if (command instanceof TransferLeader t) {
            Replica r = groups.get(t.groupId());
            if (r == null) {
                t.listener().onRefused(t.groupId(), ProposeResult.NOT_LEADER, 0);
                return;
            }
            wake(r);
            if (r.node.transferLeader(t.target())) {
                t.listener().onApplied(t.groupId(), 0);
            } else {
                t.listener().onRefused(t.groupId(), ProposeResult.NOT_LEADER, r.node.leader());
            }
            markDirty(r);
        } else if (command instanceof Destroy d) {
            Replica r = groups.get(d.groupId());
            if (r != null) {
                destroy(r);
            }
        } else if (command instanceof Campaign c) {
            Replica r = groups.get(c.groupId());
            if (r != null) {
                wake(r);
                r.node.campaign();
                markDirty(r);
            }
        } else {
            throw new IllegalStateException("unknown command " + command);
        }
    }

    /** Read requests by id, waiting for their ReadState. */
    private final Long2ObjectHashMap<ReadListener> pendingReads = new Long2ObjectHashMap<>();

    private void handlePropose(Propose p) {
        Replica r = groups.get(p.groupId());
        if (r == null) {
            p.listener().onRefused(p.groupId(), ProposeResult.NOT_LEADER, 0);
            return;
        }
        if (p.data().length > maxEntryPayloadBytes) {
            p.listener().onRefused(p.groupId(), ProposeResult.ENTRY_TOO_LARGE, r.node.leader());
            return;
        }
        wake(r);
        ProposeResult result = r.node.propose(p.data());
        if (result != ProposeResult.ACCEPTED) {
            p.listener().onRefused(p.groupId(), result, r.node.leader());
            return;
        }
        r.proposals.addLast(new PendingProposal(r.node.lastIndex(), r.node.term(), p.listener()));
        markDirty(r);
    }

    private void createReplica(long groupId, long[] voters) {
        if (groups.containsKey(groupId)) {
            return;
        }
        if (tombstones.containsKey(groupId)) {
            // Removed in this incarnation, or recovered removed: a new replica would follow the tombstone in the log.
            LOG.log(System.Logger.Level.WARNING, "node " + nodeId + ": not creating group " + groupId
                    + ": its replica on this node was removed (tombstoned in the log)");
            return;
        }
        Check.state(groups.size() < config.maxGroupsPerWorker(), "worker %d of node %d hosts the maximum of %d groups",
                workerId, nodeId, config.maxGroupsPerWorker());
        WalGroupIndex index = recovered.remove(groupId);
        if (index == null) {
            index = wal.takeIndex(groupId);
        }
        if (index.removed()) {
            // Its replica here was removed; hosting it again could resurrect a member the group dropped.
            tombstones.put(groupId, index);
            LOG.log(System.Logger.Level.WARNING, "node " + nodeId + ": not creating group " + groupId
                    + ": its replica on this node was removed (tombstoned in the log)");
            return;
        }
        // With no voters, this is a new replica of an existing group: it starts empty and waits for
        // the leader, whose log (with the group's membership) it then receives.
        if (voters.length > 0 && index.lastIndex() == 0 && index.hardState().equals(HardState.EMPTY)) {
            bootstrap(index, voters);
        }
        if (index.snapshotIndex() > stateMachine.appliedIndex(groupId)) {
            restoreRetainedImage(index);
        }
        WalGroupStorage storage = new WalGroupStorage(index, reader, snapshotSource);
        long applied = stateMachine.appliedIndex(groupId);
        RaftConfig rc = config.raftConfig(nodeId, groupId).withApplied(applied);
        Replica r = new Replica(groupId, new RaftNode(rc, storage), storage);
        r.lastConfChangeIndex = Math.max(applied, index.snapshotIndex());
        r.retainedImageIndex = index.snapshotIndex() > stateMachine.durableIndex(groupId) ? index.snapshotIndex() : 0;
        if (r.retainedImageIndex > 0) {
            addCompactionCandidate(r);
        }
        groups.put(groupId, r);
        r.wokeAtTick = ticks;
        awake.add(r);
        markDirty(r);
    }

    /**
     * The log holds a snapshot mark past what the state machine has: the node stopped after making
     * a received snapshot's mark durable and before the state machine restored it (or the state
     * machine keeps nothing across restarts). The received image is still on disk: restore it.
     */
    private void restoreRetainedImage(WalGroupIndex index) {
        long groupId = index.groupId();
        SnapshotMetadata meta = new SnapshotMetadata(index.snapshotIndex(), index.snapshotTerm(), index.snapshotConfState());
        Path image = streams == null ? null : streams.receivedImage(groupId, meta.index(), meta.term());
        Check.state(image != null, "node %d, group %d: the log holds a snapshot at index %d term %d, the state machine has "
                + "applied only %d, and no received image of that snapshot is kept", nodeId, groupId, meta.index(),
                meta.term(), stateMachine.appliedIndex(groupId));
        restore(groupId, meta, image);
    }

    private void restore(long groupId, SnapshotMetadata meta, Path image) {
        try {
            stateMachine.restore(groupId, meta, image);
        } catch (IOException e) {
            throw new UncheckedIOException("node " + nodeId + ", group " + groupId + ": restoring the snapshot at index "
                    + meta.index() + " from " + image + " failed", e);
        }
        Check.state(stateMachine.appliedIndex(groupId) == meta.index(),
                "group %d: the state machine restored a snapshot at %d but reports applied index %d", groupId,
                meta.index(), stateMachine.appliedIndex(groupId));
    }

    /**
     * A new group's initial membership is a run of committed ADD_VOTER entries at the start of its
     * log, identical on every initial member (as etcd bootstraps), written and made durable before the
     * group starts, so a restart rebuilds it from the log alone.
     */
    private void bootstrap(WalGroupIndex index, long[] voters) {
        long groupId = index.groupId();
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < voters.length; i++) {
            entries.add(new Entry(1, i + 1, EntryType.CONF_CHANGE, new ConfChange(ConfChangeType.ADD_VOTER, voters[i]).encode()));
        }
        List<WalRecord> records = List.of(new WalRecord.Entries(groupId, entries),
                new WalRecord.HardStateUpdate(groupId, new HardState(1, 0, voters.length)));
        WalBatch batch = new WalBatch(records);
        Round round = new Round();
        round.completions = completions;
        round.worker = this;
        awaitDurable(batch, round);
        Wal.applyDurable(batch, id -> id == groupId ? index : null);
    }

    /**
     * Submits one batch and waits until it is durable, handling other rounds that complete
     * meanwhile. Only for rare writes (group creation and removal).
     */
    private void awaitDurable(WalBatch batch, Round round) {
        round.awaited = true;
        submitBlocking(batch, round);
        // Other rounds completing meanwhile are handled here; handling one may itself await a write
        // (a replica removed by a conf change writes its tombstone), which may consume our round, so
        // rounds are marked durable rather than matched by identity.
        while (!round.durable) {
            pumpLogIfStepped();
            if (drainCompletions() == 0) {
                Thread.onSpinWait();
            }
        }
        if (round.failure != null) {
            throw new UncheckedIOException(round.failure);
        }
    }

    private void submitBlocking(WalBatch batch, Round round) {
        long segment = wal.activeSegmentSequence();
        try {
            while (!wal.submit(batch, round)) {
                pumpLogIfStepped();
                Thread.onSpinWait();
            }
        } catch (WalFailedException e) {
            throw new UncheckedIOException(e);
        }
        Check.state(roundsInFlight < MAX_ROUNDS_IN_FLIGHT, "worker %d: %d rounds in flight", workerId, roundsInFlight);
        submittedSegments[(oldestRoundSlot + roundsInFlight) & (MAX_ROUNDS_IN_FLIGHT - 1)] = segment;
        roundsInFlight++;
    }

    // ---------------------------------------------------------------- Ready collection and the log

    private int collectReadies() {
        if ((dirty.isEmpty() && maintenance.isEmpty()) || roundsInFlight >= MAX_ROUNDS_IN_FLIGHT - 1) {
            return 0;
        }
        Round round = null;
        List<WalRecord> records = null;
        if (!maintenance.isEmpty()) {
            // First in the batch: maintenance describes each group's log as of before this round's
            // Readies, whose records must land after it.
            round = new Round();
            round.completions = completions;
            round.worker = this;
            records = new ArrayList<>(maintenance);
            maintenance.clear();
            if (rewriteQueued) {
                rewriteQueued = false;
                rewriteRound = round;
            }
        }
        int kept = 0;
        for (int i = 0; i < dirty.size(); i++) {
            Replica r = dirty.get(i);
            if (r.destroyed) {
                r.dirty = false;
                continue;
            }
            if (r.outstanding != null) {
                // Still being persisted; look again when its round completes.
                dirty.set(kept++, r);
                continue;
            }
            r.dirty = false;
            if (!r.node.hasReady()) {
                continue;
            }
            Ready rd = r.node.ready();
            r.outstanding = rd;
            queue(rd.messages());
            if (round == null) {
                round = new Round();
                round.completions = completions;
        round.worker = this;
                records = new ArrayList<>();
            }
            round.replicas.add(r);
            round.readies.add(rd);
            addRecords(r, rd, records, maxRecordBytes);
        }
        truncate(dirty, kept);
        flushOutbound();
        if (round == null) {
            return 0;
        }
        if (records.isEmpty()) {
            // Nothing to persist (only messages, commits or reads): the round is "durable" already.
            handleDurable(round);
            return 1;
        }
        round.batch = new WalBatch(records);
        logBatches++;
        submitBlocking(round.batch, round);
        return 1;
    }

    private static void addRecords(Replica r, Ready rd, List<WalRecord> records, int maxRecordBytes) {
        long groupId = r.groupId;
        if (rd.snapshot() != null) {
            // A received snapshot replaces the whole log: compact to it, drop any suffix, mark it.
            SnapshotMetadata meta = rd.snapshot().metadata();
            long at = meta.index();
            WalGroupIndex index = r.index;
            boolean keepsSuffix = at > index.compactedIndex() && at < index.lastIndex() && index.term(at) == meta.term();
            records.add(new WalRecord.CompactPrefix(groupId, at, meta.term()));
            if (keepsSuffix) {
                records.add(new WalRecord.TruncateSuffix(groupId, at + 1));
            }
            records.add(new WalRecord.SnapshotMark(groupId, at, meta.term(), meta.confState()));
        }
        if (!rd.entries().isEmpty()) {
            // Proposals are checked against the record size, but a Ready may carry many entries.
            records.addAll(WalRecordEncoder.entriesRecords(groupId, rd.entries(), maxRecordBytes));
        }
        if (rd.hardState() != null) {
            records.add(new WalRecord.HardStateUpdate(groupId, rd.hardState()));
        }
    }

    private int drainCompletions() {
        int n = 0;
        Round round;
        while ((round = completions.poll()) != null) {
            roundsInFlight--;
            oldestRoundSlot = (oldestRoundSlot + 1) & (MAX_ROUNDS_IN_FLIGHT - 1);
            round.durable = true;
            if (!round.awaited) {
                handleDurable(round);
            }
            n++;
        }
        return n;
    }

    private void handleDurable(Round round) {
        if (round.failure != null) {
            // Fail-stop: the log refuses further writes; this worker stops with the error.
            throw new UncheckedIOException("the write-ahead log failed; worker " + workerId + " stops", round.failure);
        }
        if (round.batch != null) {
            Wal.applyDurable(round.batch, indexOf);
        }
        if (round == rewriteRound) {
            rewriteRound = null;
        }
        applyBatch.clear();
        for (int i = 0; i < round.replicas.size(); i++) {
            Replica r = round.replicas.get(i);
            if (r.destroyed) {
                continue;
            }
            Ready rd = round.readies.get(i);
            if (rd.snapshot() != null) {
                installSnapshot(r, rd.snapshot().metadata());
            }
            queue(rd.messagesAfterPersist());
            applyBatch.add(r.groupId, rd.committedEntries());
        }
        flushOutbound();
        if (applyBatch.size() > 0) {
            stateMachine.apply(applyBatch);
        }
        for (int i = 0; i < round.replicas.size(); i++) {
            Replica r = round.replicas.get(i);
            if (r.destroyed) {
                continue;
            }
            Ready rd = round.readies.get(i);
            if (rd.softState() != null && (rd.softState().role() == Role.LEADER) != r.leading) {
                r.leading = !r.leading;
                leaderGroups += r.leading ? 1 : -1;
            }
            if (rd.snapshot() != null) {
                abandonProposalsCoveredBy(r, rd.snapshot().metadata().index());
            }
            completeProposals(r, rd.committedEntries());
            noteConfChanges(r, rd.committedEntries());
            r.node.advance(rd);
            r.outstanding = null;
            if (streams != null && !r.compactionCandidate
                    && r.node.appliedIndex() - Math.max(r.index.compactedIndex(), r.compactingTo) > 2L * config.logRetainEntries()) {
                addCompactionCandidate(r);
            }
            if (rd.committedEntries().size() > 0 && removedByConfChange(r)) {
                destroy(r);
                continue;
            }
            for (ReadState rs : rd.readStates()) {
                handleReadState(r, rs);
            }
            releaseReads(r);
            markDirty(r);
        }
    }

    /** True once the applied membership no longer has this node, having had it before. */
    private boolean removedByConfChange(Replica r) {
        ConfState conf = r.node.confState();
        boolean member = conf.isVoter(nodeId) || conf.isLearner(nodeId);
        if (member) {
            r.wasMember = true;
            return false;
        }
        return r.wasMember;
    }

    /**
     * Removes a replica for good: writes and waits for its tombstone (rare; the group must not
     * speak again before it is durable), then forgets it. Proposals and reads still pending fail.
     */
    private void destroy(Replica r) {
        r.destroyed = true;
        groups.remove(r.groupId);
        // Compactions or a rewrite queued for it must not follow its tombstone into the log (recovery
        // refuses records after a tombstone); the tombstone makes them moot.
        if (!maintenance.isEmpty()) {
            maintenance.removeIf(record -> record.groupId() == r.groupId);
            rewriteQueued &= !maintenance.isEmpty();
        }
        rewrittenLiveBytes -= r.rewrittenBytes;
        WalBatch batch = new WalBatch(List.of(new WalRecord.Tombstone(r.groupId)));
        Round round = new Round();
        round.completions = completions;
        round.worker = this;
        awaitDurable(batch, round);
        Wal.applyDurable(batch, id -> id == r.groupId ? r.index : null);
        tombstones.put(r.groupId, r.index);
        stateMachine.destroy(r.groupId);
        if (r.images != null) {
            for (SnapshotStreams.OutgoingImage image : r.images) {
                streams.withdraw(image);
            }
            r.images = null;
        }
        if (streams != null) {
            streams.deleteReceived(r.groupId, Long.MAX_VALUE, true);
        }
        if (r.leading) {
            r.leading = false;
            leaderGroups--;
        }
        for (PendingProposal p : r.proposals) {
            p.listener().onRefused(r.groupId, ProposeResult.NOT_LEADER, 0);
        }
        for (PendingRead p : r.readsWaitingForApply) {
            p.listener().onFailed(r.groupId);
        }
    }

    private final LongFunction<WalGroupIndex> indexOf = groupId -> {
        Replica r = groups.get(groupId);
        // A removed replica's only later record is its tombstone, rewritten forward by a log sweep.
        return r != null ? r.index : tombstones.get(groupId);
    };

    private void completeProposals(Replica r, List<Entry> committed) {
        for (Entry e : committed) {
            while (!r.proposals.isEmpty() && r.proposals.peekFirst().index() <= e.index()) {
                PendingProposal p = r.proposals.pollFirst();
                if (p.index() == e.index() && p.term() == e.term()) {
                    p.listener().onApplied(r.groupId, e.index());
                } else {
                    // Another leader's entry took its place: it will never apply.
                    p.listener().onRefused(r.groupId, ProposeResult.NOT_LEADER, r.node.leader());
                }
            }
        }
    }

    private void handleReadState(Replica r, ReadState rs) {
        ReadListener listener = pendingReads.remove(rs.requestId());
        if (listener == null) {
            return;
        }
        if (!rs.ok()) {
            listener.onFailed(r.groupId);
            return;
        }
        r.readsWaitingForApply.addLast(new PendingRead(rs.requestId(), rs.index(), listener));
    }

    private void releaseReads(Replica r) {
        long applied = r.node.appliedIndex();
        while (!r.readsWaitingForApply.isEmpty() && r.readsWaitingForApply.peekFirst().index() <= applied) {
            r.readsWaitingForApply.pollFirst().listener().onReadable(r.groupId);
        }
    }

    // ---------------------------------------------------------------- snapshots and compaction

    /**
     * The core needs a snapshot for a follower (called from inside {@link RaftNode#step} or
     * {@link RaftNode#tick}): an image of the state machine at the applied index, where the core's
     * membership and the state machine agree. Null (the core asks again later) without a channel.
     */
    private Snapshot captureSnapshot(long groupId) {
        Replica r = groups.get(groupId);
        if (streams == null || r == null) {
            return null;
        }
        RaftNode n = r.node;
        long at = n.appliedIndex();
        long term = n.termAt(at);
        if (term <= 0) {
            return null;
        }
        SnapshotStreams.OutgoingImage image = imageAt(r, at);
        if (image == null) {
            image = new SnapshotStreams.OutgoingImage(groupId, at, term, stateMachine.snapshot(groupId));
            streams.publish(image);
            if (r.images == null) {
                r.images = new ArrayList<>(2);
            }
            r.images.add(image);
        }
        return new Snapshot(new SnapshotMetadata(at, term, n.confState()), NO_DATA);
    }

    private static final byte[] NO_DATA = new byte[0];

    private static SnapshotStreams.OutgoingImage imageAt(Replica r, long index) {
        if (r.images != null) {
            for (SnapshotStreams.OutgoingImage image : r.images) {
                if (image.index == index) {
                    return image;
                }
            }
        }
        return null;
    }

    /** A snapshot message from the core: stream its image first; the message follows when it arrived. */
    private void startSnapshotTransfer(Message m) {
        Replica r = groups.get(m.groupId);
        long index = m.snapshot.metadata().index();
        SnapshotStreams.OutgoingImage image = r == null ? null : imageAt(r, index);
        SnapshotSender.SendResult result = image == null ? null : streams.send(m.to, image);
        if (result != SnapshotSender.SendResult.QUEUED) {
            // Not started (a transfer to that follower is still running, or the queue is full): the
            // core hears of the failure and asks again later.
            localSnapshotReports.add(new SnapshotSent(m.to, m.groupId, index, false));
            if (image != null && image.transfers == 0) {
                releaseImage(r, image);
            }
            return;
        }
        image.transfers++;
        if (r.heldSnapshots == null) {
            r.heldSnapshots = new Long2ObjectHashMap<>();
        }
        r.heldSnapshots.put(m.to, new HeldSnapshot(m, image));
    }

    private void releaseImage(Replica r, SnapshotStreams.OutgoingImage image) {
        r.images.remove(image);
        streams.withdraw(image);
    }

    private int drainSnapshotReports() {
        int n = 0;
        SnapshotSent s;
        while ((s = localSnapshotReports.poll()) != null) {
            snapshotTransferEnded(s);
            n++;
        }
        while ((s = snapshotReports.poll()) != null) {
            snapshotTransferEnded(s);
            n++;
        }
        return n;
    }

    /** A transfer ended: on success the held snapshot message goes out; either way the core hears of it. */
    private void snapshotTransferEnded(SnapshotSent s) {
        Replica r = groups.get(s.groupId());
        if (r == null) {
            return;
        }
        HeldSnapshot held = r.heldSnapshots == null ? null : r.heldSnapshots.get(s.peer());
        boolean delivered = false;
        if (held != null && held.image().index == s.index()) {
            r.heldSnapshots.remove(s.peer());
            if (--held.image().transfers == 0) {
                releaseImage(r, held.image());
            }
            if (s.ok()) {
                queue(held.message());
                delivered = true;
                snapshotsSent++;
            }
        }
        wake(r);
        r.node.reportSnapshot(s.peer(), delivered);
        markDirty(r);
    }

    /** A follower steps a snapshot message only with the snapshot's image complete on its disk. */
    private boolean imageReceived(Message m) {
        return streams != null && m.snapshot != null
                && streams.receivedImage(m.groupId, m.snapshot.metadata().index(), m.snapshot.metadata().term()) != null;
    }

    /** The snapshot's mark is durable: the state machine takes the received image; older images go. */
    private void installSnapshot(Replica r, SnapshotMetadata meta) {
        Path image = streams.receivedImage(r.groupId, meta.index(), meta.term());
        Check.state(image != null, "group %d: the image of the snapshot at %d term %d vanished before its restore",
                r.groupId, meta.index(), meta.term());
        restore(r.groupId, meta, image);
        snapshotsInstalled++;
        streams.deleteReceived(r.groupId, meta.index(), false);
        r.retainedImageIndex = meta.index();
        r.lastConfChangeIndex = Math.max(r.lastConfChangeIndex, meta.index());
        addCompactionCandidate(r);
    }

    /** Proposals a received snapshot covers: whether their entries were the ones committed is unknown here. */
    private static void abandonProposalsCoveredBy(Replica r, long snapshotIndex) {
        while (!r.proposals.isEmpty() && r.proposals.peekFirst().index() <= snapshotIndex) {
            PendingProposal p = r.proposals.pollFirst();
            p.listener().onOutcomeUnknown(r.groupId, p.index());
        }
    }

    private static void noteConfChanges(Replica r, List<Entry> committed) {
        for (int i = committed.size() - 1; i >= 0; i--) {
            if (committed.get(i).type() == EntryType.CONF_CHANGE) {
                r.lastConfChangeIndex = Math.max(r.lastConfChangeIndex, committed.get(i).index());
                return;
            }
        }
    }

    private void addCompactionCandidate(Replica r) {
        if (!r.compactionCandidate) {
            r.compactionCandidate = true;
            compactionCandidates.add(r);
        }
    }

    /** Once per election timeout: compact what the state machine made durable; drop images it no longer needs. */
    private void compactLogs() {
        int kept = 0;
        for (int i = 0; i < compactionCandidates.size(); i++) {
            Replica r = compactionCandidates.get(i);
            if (r.destroyed || compact(r)) {
                r.compactionCandidate = false;
                continue;
            }
            compactionCandidates.set(kept++, r);
        }
        compactionCandidates.subList(kept, compactionCandidates.size()).clear();
    }

    /**
     * Compacts the group's log to {@code logRetainEntries} below what the state machine holds
     * durably, if that leaves more than twice as many; returns true when nothing is left to wait for.
     * The mark carries the current membership, which is the membership at the compaction point only
     * if no conf change applied after it: otherwise compaction waits.
     */
    private boolean compact(Replica r) {
        long durable = Math.min(stateMachine.durableIndex(r.groupId), r.node.appliedIndex());
        if (r.retainedImageIndex > 0 && durable >= r.retainedImageIndex) {
            streams.deleteReceived(r.groupId, r.retainedImageIndex, true);
            r.retainedImageIndex = 0;
        }
        long floor = Math.max(r.index.compactedIndex(), r.compactingTo);
        long retain = config.logRetainEntries();
        // A snapshot install in flight compacts past anything we would pick now: try at the next sweep.
        boolean installing = r.outstanding != null && r.outstanding.snapshot() != null;
        if (durable - floor > 2 * retain && !installing) {
            long to = durable - retain;
            if (to >= r.lastConfChangeIndex && to <= r.index.lastIndex()) {
                long term = r.index.term(to);
                maintenance.add(new WalRecord.SnapshotMark(r.groupId, to, term, r.node.confState()));
                maintenance.add(new WalRecord.CompactPrefix(r.groupId, to, term));
                r.compactingTo = to;
                compactions++;
            }
        }
        return r.retainedImageIndex == 0 && r.node.appliedIndex() - Math.max(floor, r.compactingTo) <= 2 * retain;
    }

    // ---------------------------------------------------------------- log purge

    /**
     * Publishes the oldest log segment this worker still needs and queues rewrites forward of the
     * groups that lag (see the class comment). O(groups), every {@link #COMPACTIONS_PER_LOG_SWEEP}
     * election timeouts.
     *
     * <p>Why a rewrite built here cannot reorder with the group's own records. It copies the group's
     * index as of now, and when it is durable it is applied to the index as if it were the state the
     * group's records had built; that holds only if no record of the group is in flight now and every
     * later one lands after it. In flight: none, because a group with an outstanding Ready, a
     * compaction not yet applied, or (worker-wide) an earlier rewrite not yet durable is skipped, and
     * indexes change only when rounds complete ({@link #drainCompletions}, at the start of a round),
     * never during this sweep. Later: the rewrite goes into {@link #maintenance}, which is first in
     * the next batch, ahead of that round's Readies; the writer keeps one worker's batches in order;
     * and compaction records queued after this sweep follow it in the same batch. A replica destroyed
     * before the batch goes drops its queued records ({@link #destroy}).
     */
    private void sweepLog() {
        long active = wal.activeSegmentSequence();
        long lagSegments = purges.lagSegments(LAG_SEGMENTS, wal.config().segmentBytes());
        boolean mayRewrite = rewriteRound == null && !rewriteQueued;
        // Records of a round in flight land in the segment active when it was submitted, or later.
        long oldest = roundsInFlight > 0 ? Math.min(active, submittedSegments[oldestRoundSlot]) : active;
        lagging.clear();
        for (Replica r : groups.values()) {
            long segment = r.index.oldestLiveSegment();
            oldest = Math.min(oldest, segment);
            if (mayRewrite && segment < active - lagSegments && r.outstanding == null
                    && r.compactingTo <= r.index.compactedIndex() && r.rewriteRefusedAtFirstIndex != r.index.firstIndex()) {
                lagging.add(r.index);
            }
        }
        for (WalGroupIndex tombstone : tombstones.values()) {
            long segment = tombstone.oldestLiveSegment();
            oldest = Math.min(oldest, segment);
            if (mayRewrite && segment < active - lagSegments) {
                lagging.add(tombstone);
            }
        }
        // Not hosted (yet): they hold the log back until the owner creates them; nothing here may read them.
        for (WalGroupIndex index : recovered.values()) {
            oldest = Math.min(oldest, index.oldestLiveSegment());
        }
        purges.publish(workerId, oldest, rewrittenLiveBytes);
        if (!lagging.isEmpty()) {
            rewriteLagging();
        }
        if (workerId == 0) {
            // Deleting a few files and one directory fsync, only when the oldest live segment moved.
            purges.purge(wal);
        }
    }

    /** Queues rewrites of the lagging groups, oldest first (they hold back the most), up to the sweep's byte budget. */
    private void rewriteLagging() {
        lagging.sort(BY_OLDEST_LIVE_SEGMENT);
        long sweepBytes = 0;
        for (int i = 0; i < lagging.size() && sweepBytes < MAX_REWRITE_BYTES_PER_SWEEP; i++) {
            WalGroupIndex index = lagging.get(i);
            Replica r = groups.get(index.groupId());
            if (r != null && !fitsRewriteBudget(r)) {
                r.rewriteRefusedAtFirstIndex = index.firstIndex();
                LOG.log(System.Logger.Level.WARNING, "node " + nodeId + ": group " + r.groupId + " holds more than "
                        + MAX_REWRITE_BYTES_PER_SWEEP + " bytes of live log; it is not rewritten forward and keeps log"
                        + " segments from " + index.oldestLiveSegment() + " on until it compacts");
                continue;
            }
            // A tombstone (r == null) rewrites to itself and reads nothing.
            List<WalRecord> records = Wal.rewriteForward(index, r == null ? null : r.storage, maxRecordBytes);
            long bytes = 0;
            for (int k = 0; k < records.size(); k++) {
                bytes += WalBatch.recordBytes(records.get(k));
            }
            if (r != null) {
                rewrittenLiveBytes += bytes - r.rewrittenBytes;
                r.rewrittenBytes = bytes;
            }
            maintenance.addAll(records);
            rewriteQueued |= !records.isEmpty();
            sweepBytes += bytes;
            recordsRewritten += records.size();
            bytesRewritten += bytes;
        }
    }

    private static final Comparator<WalGroupIndex> BY_OLDEST_LIVE_SEGMENT =
            Comparator.comparingLong(WalGroupIndex::oldestLiveSegment);

    /** Whether the group's live entries fit the sweep's budget; reads at most that much to find out. */
    private boolean fitsRewriteBudget(Replica r) {
        long first = r.index.firstIndex();
        long last = r.index.lastIndex();
        if (last < first) {
            return true;
        }
        List<Entry> probe = r.storage.entries(first, last + 1, MAX_REWRITE_BYTES_PER_SWEEP);
        return probe.get(probe.size() - 1).index() == last;
    }

    // ---------------------------------------------------------------- outbound batching

    private void queue(List<Message> messages) {
        for (Message m : messages) {
            if (m.type == MessageType.SNAPSHOT) {
                startSnapshotTransfer(m);
                continue;
            }
            queue(m);
        }
    }

    private void queue(Message m) {
        ArrayList<Message> list = outbound.get(m.to);
        if (list == null) {
            list = new ArrayList<>();
            outbound.put(m.to, list);
        }
        list.add(m);
    }

    /** One send per destination node per round: the transport makes it one frame and one flush. */
    private void flushOutbound() {
        for (Long2ObjectHashMap<ArrayList<Message>>.EntryIterator it = outbound.entrySet().iterator(); it.hasNext(); ) {
            it.next();
            ArrayList<Message> list = it.getValue();
            if (!list.isEmpty()) {
                long peer = it.getLongKey();
                if (!sender.send(peer, list)) {
                    reportUnreachable(peer, list);
                }
                it.setValue(new ArrayList<>());
            }
        }
    }

    private void reportUnreachable(long peer, List<Message> dropped) {
        for (Message m : dropped) {
            Replica r = groups.get(m.groupId);
            if (r != null) {
                r.node.reportUnreachable(peer);
            }
        }
    }

    // ---------------------------------------------------------------- inspection (tests)

    /** Worker thread or after stop: the replica's Raft node, or null. */
    RaftNode node(long groupId) {
        Replica r = groups.get(groupId);
        return r == null ? null : r.node;
    }

    /** Groups whose replica here is the leader (as of the last Ready handled). */
    int leaderGroups() {
        return leaderGroups;
    }

    /** Groups ticked at the last tick (the rest are quiescent). */
    int awakeGroups() {
        return awakeGroups;
    }

    /** Replicas hosted (as of the last round; for other threads). */
    int hostedGroups() {
        return hostedGroups;
    }

    int groupCount() {
        return groups.size();
    }
}


package io.flotilla.multiraft;

import io.flotilla.raft.Check;
import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeType;
import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.HardState;
import io.flotilla.raft.Message;
import io.flotilla.raft.ProposeResult;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.RaftNode;
import io.flotilla.raft.ReadState;
import io.flotilla.raft.Role;
import io.flotilla.raft.Ready;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalAppendCallback;
import io.flotilla.wal.WalBatch;
import io.flotilla.wal.WalFailedException;
import io.flotilla.wal.WalGroupIndex;
import io.flotilla.wal.WalGroupStorage;
import io.flotilla.wal.WalRecord;
import io.flotilla.wal.WalSegmentReader;
import io.flotilla.wal.WalSnapshotSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
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
 * work. Ticks cost O(awake groups).
 *
 * <p>Membership: conf changes and leader transfers go through the leader's replica; a replica that
 * applies its own removal is destroyed and tombstoned in the log, so it is never recreated.
 *
 * <p>Not yet: log compaction and snapshot installs (the local state machine has no durable snapshot
 * store until the engine provides one; the streaming channel is in {@code io.flotilla.transport.snapshot}).
 */
public final class RaftWorker implements Runnable {
    private static final int DRAIN_LIMIT = 4096;
    private static final int MAX_ROUNDS_IN_FLIGHT = 64;

    /** One group hosted by this worker. */
    private static final class Replica {
        final long groupId;
        final RaftNode node;
        final WalGroupIndex index;
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

        Replica(long groupId, RaftNode node, WalGroupIndex index) {
            this.groupId = groupId;
            this.node = node;
            this.index = index;
        }
    }

    private record PendingProposal(long index, long term, ProposalListener listener) {
    }

    private record PendingRead(long requestId, long index, ReadListener listener) {
    }

    /** Learns when a linearizable read of a group may be served from the local state machine. */
    public interface ReadListener {
        /** The state machine has applied everything committed when the read was issued: serve it now (worker thread). */
        void onReadable(long groupId);

        /** Leadership could not be confirmed (no leader, or it changed); retry. */
        void onFailed(long groupId);

        void onBusy(long groupId);
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
    private final WalSegmentReader reader;
    private final StateMachine stateMachine;
    private final PeerSender sender;
    private static final System.Logger LOG = System.getLogger(RaftWorker.class.getName());

    private final Long2ObjectHashMap<Replica> groups = new Long2ObjectHashMap<>();
    /** Removed replicas of this worker's groups: their logs' tombstones (kept for purge accounting). */
    private final Long2ObjectHashMap<WalGroupIndex> tombstones = new Long2ObjectHashMap<>();
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
    private final WalSnapshotSource noSnapshots = new WalSnapshotSource() {
        @Override
        public ConfState confState(long groupId, long index, long term) {
            return ConfState.EMPTY;
        }

        @Override
        public byte[] data(long groupId, long index, long term) {
            return null;
        }
    };

    private int roundsInFlight;
    private long ticks;
    private long nextTickNs;
    /**
     * Read request ids must never repeat across restarts of this node: a leader's answer to a
     * request of the previous incarnation would otherwise be taken for a new request's (a stale read
     * index). Found by the cluster check. A random 62-bit start makes a collision vanishingly unlikely.
     */
    private long nextReadId = new java.security.SecureRandom().nextLong() >>> 2;
    private volatile boolean running;
    private volatile Throwable failure;

    // Counters, written by the worker thread only (volatile for readers elsewhere).
    private volatile long rounds;
    private volatile long logBatches;
    private volatile long droppedMessages;
    private volatile int awakeGroups;
    private volatile int leaderGroups;
    private volatile int hostedGroups;

    RaftWorker(long nodeId, int workerId, MultiRaftConfig config, Wal wal, StateMachine stateMachine, PeerSender sender,
            NodeLiveness liveness) {
        this.liveness = liveness;
        this.nodeId = nodeId;
        this.workerId = workerId;
        this.config = config;
        this.wal = wal;
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

    private void wakeIfParked() {
        if (parked) {
            LockSupport.unpark(thread);
        }
    }

    void start() {
        running = true;
        thread.start();
    }

    void stop() throws InterruptedException {
        running = false;
        LockSupport.unpark(thread);
        thread.join();
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

    // ---------------------------------------------------------------- the loop

    @Override
    public void run() {
        nextTickNs = System.nanoTime() + config.tickIntervalNs();
        int idle = 0;
        try {
            while (running) {
                int work = doWork(System.nanoTime());
                if (work > 0) {
                    idle = 0;
                } else if (++idle > 100) {
                    parkUntilWorkOrTick();
                } else {
                    Thread.onSpinWait();
                }
            }
            // Let the rounds in flight finish so no durable write is left unapplied.
            while (roundsInFlight > 0) {
                drainCompletions();
                Thread.onSpinWait();
            }
        } catch (Throwable t) {
            failure = t;
            running = false;
        } finally {
            try {
                reader.close();
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                }
            }
        }
    }

    /**
     * Sleeps until the next tick unless work arrives: producers unpark us when they see
     * {@code parked}; the flag is set before the final emptiness check so no hand-off is missed.
     */
    private void parkUntilWorkOrTick() {
        parked = true;
        if (inbox.isEmpty() && completions.isEmpty() && running) {
            long waitNs = nextTickNs - System.nanoTime();
            if (waitNs > 0) {
                LockSupport.parkNanos(this, waitNs);
            }
        }
        parked = false;
    }

    /** One round; returns how much work it did (0 = idle). */
    int doWork(long nowNs) {
        int work = drainCompletions();
        work += inbox.drain(this::dispatch, DRAIN_LIMIT);
        if (nowNs >= nextTickNs) {
            nextTickNs = Math.max(nextTickNs + config.tickIntervalNs(), nowNs - config.tickIntervalNs());
            ticks++;
            tickAwake(nowNs);
            wakeFollowersOfSilentLeaders(nowNs);
            // A node heartbeat every quarter election timeout: three may be lost before a peer
            // wakes the followers of our groups.
            if (workerId == 0 && ticks % Math.max(1, config.electionTimeoutTicks() / 4) == 0) {
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
        awake.subList(kept, awake.size()).clear();
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
                if (r == null) {
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
        Check.state(groups.size() < config.maxGroupsPerWorker(), "worker %d of node %d hosts the maximum of %d groups",
                workerId, nodeId, config.maxGroupsPerWorker());
        WalGroupIndex index = wal.takeIndex(groupId);
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
        WalGroupStorage storage = new WalGroupStorage(index, reader, noSnapshots);
        RaftConfig rc = config.raftConfig(nodeId, groupId).withApplied(stateMachine.appliedIndex(groupId));
        Replica r = new Replica(groupId, new RaftNode(rc, storage), index);
        groups.put(groupId, r);
        r.wokeAtTick = ticks;
        awake.add(r);
        markDirty(r);
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
            if (drainCompletions() == 0) {
                Thread.onSpinWait();
            }
        }
        if (round.failure != null) {
            throw new UncheckedIOException(round.failure);
        }
    }

    private void submitBlocking(WalBatch batch, Round round) {
        try {
            while (!wal.submit(batch, round)) {
                Thread.onSpinWait();
            }
        } catch (WalFailedException e) {
            throw new UncheckedIOException(e);
        }
        roundsInFlight++;
    }

    // ---------------------------------------------------------------- Ready collection and the log

    private int collectReadies() {
        if (dirty.isEmpty() || roundsInFlight >= MAX_ROUNDS_IN_FLIGHT - 1) {
            return 0;
        }
        Round round = null;
        List<WalRecord> records = null;
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
            addRecords(r.groupId, rd, records);
        }
        dirty.subList(kept, dirty.size()).clear();
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

    private static void addRecords(long groupId, Ready rd, List<WalRecord> records) {
        // Invariant: nothing is compacted yet (no durable snapshot store before the engine), so no leader
        // ever has to send a snapshot.
        Check.state(rd.snapshot() == null, "group %d received a snapshot, but no replica compacts its log in this runtime", groupId);
        if (!rd.entries().isEmpty()) {
            records.add(new WalRecord.Entries(groupId, rd.entries()));
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
        applyBatch.clear();
        for (int i = 0; i < round.replicas.size(); i++) {
            Replica r = round.replicas.get(i);
            if (r.destroyed) {
                continue;
            }
            Ready rd = round.readies.get(i);
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
            completeProposals(r, rd.committedEntries());
            r.node.advance(rd);
            r.outstanding = null;
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
        io.flotilla.raft.ConfState conf = r.node.confState();
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
        WalBatch batch = new WalBatch(List.of(new WalRecord.Tombstone(r.groupId)));
        Round round = new Round();
        round.completions = completions;
        round.worker = this;
        awaitDurable(batch, round);
        Wal.applyDurable(batch, id -> id == r.groupId ? r.index : null);
        tombstones.put(r.groupId, r.index);
        stateMachine.destroy(r.groupId);
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
        return r == null ? null : r.index;
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

    // ---------------------------------------------------------------- outbound batching

    private void queue(List<Message> messages) {
        for (Message m : messages) {
            ArrayList<Message> list = outbound.get(m.to);
            if (list == null) {
                list = new ArrayList<>();
                outbound.put(m.to, list);
            }
            list.add(m);
        }
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

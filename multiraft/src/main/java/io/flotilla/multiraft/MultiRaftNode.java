package io.flotilla.multiraft;

import io.flotilla.raft.Check;
import io.flotilla.raft.ConfChange;
import io.flotilla.raft.Message;
import io.flotilla.raft.RaftNode;
import io.flotilla.wal.Wal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.ToLongFunction;

/**
 * The multi-group runtime of one node: a fixed pool of {@link RaftWorker}s sharing one
 * {@link Wal}, one {@link StateMachine}, one {@link PeerSender} and, optionally, one
 * {@link SnapshotChannel} ({@link SnapshotStreams} in production; without one logs are never compacted). A group belongs to the
 * worker its id hashes to, for its life. Thread-safe entry points hand work to the owning worker's inbox.
 * With a snapshot channel, the workers also keep the log's disk use bounded: they rewrite groups that
 * hold old segments back and worker 0 deletes the segments no group needs ({@link LogPurgeTracker}).
 */
public final class MultiRaftNode implements AutoCloseable {
    private final MultiRaftConfig config;
    private final RaftWorker[] workers;
    private final NodeLiveness liveness;
    private final long electionTimeoutNs;
    private final LogPurgeTracker purges;
    private final RuntimeEnvironment env;
    private final NodeStatus status;
    private final StrayGroups strays = new StrayGroups();

    /** A node whose logs are never compacted: no follower ever needs a snapshot. */
    public MultiRaftNode(MultiRaftConfig config, Wal wal, StateMachine stateMachine, PeerSender sender) {
        this(config, wal, stateMachine, sender, null);
    }

    /**
     * A node that compacts its logs as its state machine makes state durable and streams snapshots
     * to followers over {@code snapshots} (closed by its owner after this node).
     */
    public MultiRaftNode(MultiRaftConfig config, Wal wal, StateMachine stateMachine, PeerSender sender,
            SnapshotStreams snapshots) {
        this(config, wal, stateMachine, sender, snapshots, RuntimeEnvironment.system());
    }

    /** As above, with the clock and read ids of {@code env} (the deterministic simulation's seam). */
    public MultiRaftNode(MultiRaftConfig config, Wal wal, StateMachine stateMachine, PeerSender sender,
            SnapshotStreams snapshots, RuntimeEnvironment env) {
        this(config, wal, stateMachine, sender, (SnapshotChannel) snapshots, env);
    }

    /** As above, over any snapshot channel (null: none); the deterministic simulation passes its own. */
    MultiRaftNode(MultiRaftConfig config, Wal wal, StateMachine stateMachine, PeerSender sender,
            SnapshotChannel snapshots, RuntimeEnvironment env) {
        this.config = config;
        this.env = env;
        this.workers = new RaftWorker[config.workers()];
        this.electionTimeoutNs = config.electionTimeoutTicks() * config.tickIntervalNs();
        this.liveness = new NodeLiveness(config.nodeId(), env.clockNs(), 2 * electionTimeoutNs);
        this.status = new NodeStatus(config.nodeId());
        this.purges = new LogPurgeTracker(config.nodeId(), workers.length);
        for (int i = 0; i < workers.length; i++) {
            int worker = i;
            workers[i] = new RaftWorker(config.nodeId(), i, config, wal, stateMachine, sender, snapshots, liveness, purges,
                    env, status, strays, groupId -> workerIndex(groupId) == worker);
        }
        // Every group the log recovered goes to its worker now, on this thread: the workers never
        // share the log's map of recovered indexes, and each counts those groups' records as live
        // (so purge keeps them) whether or not the owner creates the groups again.
        for (long groupId : wal.recoveredGroups()) {
            workerOf(groupId).adoptRecovered(wal.takeIndex(groupId));
        }
        // Tombstoned groups too, by id (no index): only a rejoin hosts them again, and their newest
        // tombstone copies stay live until each worker has written its own tombstone set.
        wal.recoveredTombstones().forEach((groupId, segment) -> workerOf(groupId).adoptTombstone(groupId, segment));
        if (snapshots != null) {
            snapshots.attach(this);
        }
        status.onFailure(() -> {
            for (RaftWorker w : workers) {
                w.wakeIfParked();
            }
        });
    }

    public void start() {
        for (RaftWorker w : workers) {
            w.start();
        }
    }

    /**
     * Instead of {@link #start}: the workers run no threads; the caller drives them with
     * {@link #doWork} on one thread, and a log opened with {@link Wal#openStepped} becomes durable
     * only as the caller (or a worker waiting for a write) runs {@link Wal#commitQueued}. The
     * deterministic runtime simulation's mode: the same code as production, on a simulated clock.
     */
    void startStepped() {
        long now = env.clockNs().getAsLong();
        for (RaftWorker w : workers) {
            w.startStepped(now);
        }
    }

    /** Stepped mode: one round of every worker at {@code nowNs}; returns the work done (0: idle). */
    int doWork(long nowNs) {
        int work = 0;
        for (int i = 0; i < workers.length; i++) {
            work += doWork(i, nowNs);
        }
        return work;
    }

    /**
     * Stepped mode: one round of worker {@code worker} (the simulation interleaves workers as their
     * threads would). Never throws: a worker that fails stops the node, and the other workers stop
     * with it in this same call, as their threads would at their next round.
     */
    int doWork(int worker, long nowNs) {
        int work = workers[worker].doWork(nowNs);
        if (status.failure() != null) {
            for (RaftWorker w : workers) {
                w.doWork(nowNs);
            }
        }
        return work;
    }

    /** Stepped mode: how many workers {@link #doWork(int, long)} takes. */
    int workerCount() {
        return workers.length;
    }

    /** A counter summed over the workers (each read is its worker's latest value). */
    private long sum(ToLongFunction<WorkerStats> counter) {
        long n = 0;
        for (RaftWorker w : workers) {
            n += counter.applyAsLong(w.stats);
        }
        return n;
    }

    public long nodeId() {
        return config.nodeId();
    }

    private int workerIndex(long groupId) {
        // Mix the id so consecutive group ids spread over the workers.
        long h = groupId * 0x9E3779B97F4A7C15L;
        return (int) Math.floorMod(h ^ (h >>> 32), (long) workers.length);
    }

    private RaftWorker workerOf(long groupId) {
        return workers[workerIndex(groupId)];
    }

    /**
     * Hosts a replica of {@code groupId}, bootstrapping it with {@code voters} if the log has none.
     * With no voters, the replica joins an existing group: it starts empty and is brought up to date
     * by the leader once a membership change adds it ({@link #changeMembership}). Never refused for
     * a full queue; returns false only if the node has stopped. A worker that already hosts
     * {@link MultiRaftConfig#maxGroupsPerWorker()} groups logs an error and does not create it.
     */
    public boolean createGroup(long groupId, long... voters) {
        return createGroup(groupId, voters, false);
    }

    /**
     * As {@link #createGroup}, and the replica campaigns as soon as it runs: for a group whose
     * replicas all start at once on a signal every member sees (a range split off from a range
     * this node leads), so that it has a leader without waiting an election timeout.
     */
    public boolean createGroupAndCampaign(long groupId, long... voters) {
        return createGroup(groupId, voters, true);
    }

    /**
     * As {@link #createGroup} with no voters (the replica joins the group later), and a replica of
     * {@code groupId} that this node removed before may come back: its tombstone is revoked in the
     * log (a REVIVE record) and the new replica starts empty. Only for a replica that the group's
     * leader is about to add (a move's target): from any other source, such as an old descriptor
     * that still lists this node, a removed replica must stay removed, and {@link #createGroup}
     * refuses it.
     */
    public boolean rejoinGroup(long groupId) {
        Check.argument(groupId > 0 && groupId < NodeLiveness.GROUP_ID, "group id must be in [1, 2^63 - 1), was %d", groupId);
        return workerOf(groupId).inbox().createGroup(groupId, new long[0], false, true);
    }

    private boolean createGroup(long groupId, long[] voters, boolean campaign) {
        Check.argument(groupId > 0 && groupId < NodeLiveness.GROUP_ID, "group id must be in [1, 2^63 - 1), was %d", groupId);
        for (long v : voters) {
            liveness.addPeer(v);
        }
        return workerOf(groupId).inbox().createGroup(groupId, voters, campaign, false);
    }

    /** Proposes a single-step membership change through this node's replica, which must lead the group. */
    public void changeMembership(long groupId, ConfChange change, ProposalListener listener) {
        liveness.addPeer(change.nodeId());
        workerOf(groupId).inbox().changeMembership(groupId, change, listener);
    }

    /** Asks this node's replica, the leader, to hand leadership of {@code groupId} to node {@code target}. */
    public void transferLeader(long groupId, long target, ProposalListener listener) {
        workerOf(groupId).inbox().transferLeader(groupId, target, listener);
    }

    /**
     * What this node's replica of {@code groupId} says about the group's health, from its worker's
     * thread; null if this node hosts no replica of it. Fails if the worker is overloaded or stopped.
     */
    public CompletableFuture<ReplicaReport> explain(long groupId) {
        CompletableFuture<ReplicaReport> answer = new CompletableFuture<>();
        workerOf(groupId).inbox().explain(groupId, answer);
        return answer;
    }

    public void propose(long groupId, byte[] command, ProposalListener listener) {
        workerOf(groupId).inbox().propose(groupId, command, listener);
    }

    public void read(long groupId, ReadListener listener) {
        workerOf(groupId).inbox().read(groupId, listener, false);
    }

    /**
     * As {@link #read}, but a leader holding its lease answers at once, without a heartbeat round
     * (Raft thesis §6.4.1). Linearizable under the lease's assumption: over one election timeout no
     * replica's clock runs faster than the leader's by more than {@code maxClockDriftTicks} ticks.
     * Otherwise, and on followers, it is an ordinary read.
     */
    public void leaseRead(long groupId, ReadListener listener) {
        workerOf(groupId).inbox().read(groupId, listener, true);
    }

    /**
     * Removes this node's replica of {@code groupId} for good (normally after a membership change
     * removed it, which the runtime also does by itself): a tombstone in the log keeps it from ever
     * being created again, and the state machine drops the group once the tombstone is durable. Also
     * for a group the log recovered ({@link Wal#recoveredGroups()}) that the owner does not create
     * again: its records would otherwise hold log segments for ever. If the replica led the group,
     * proposals that may still commit are answered {@code onOutcomeUnknown} and its followers are
     * told (in the node heartbeat) so that they elect a new leader.
     */
    public boolean destroyReplica(long groupId) {
        return workerOf(groupId).inbox().destroyReplica(groupId);
    }

    /**
     * Any thread: what this node's replica of {@code groupId} knows (leader, term, commit and applied
     * index, whether it leads), as of the last Ready its worker handled; null if the node hosts no
     * replica of it. For routing hints and status only.
     */
    /**
     * The groups whose leaders sent this node their log or heartbeats since the last call, while
     * it hosted no replica of them (see {@link StrayGroups}); the owner decides whether to join them
     * ({@link #createGroup} with no voters). Any thread.
     */
    public List<Long> takeStrayGroups() {
        return strays.take();
    }

    public GroupView groupView(long groupId) {
        return workerOf(groupId).view(groupId);
    }

    /**
     * Whether this node heard from node {@code nodeId} within one election timeout (any message:
     * node heartbeats go out every quarter timeout): up, as far as this node knows. Any thread.
     */
    public boolean heardFromRecently(long nodeId) {
        return liveness.heardWithin(nodeId, env.clockNs().getAsLong(), electionTimeoutNs);
    }

    /** Groups with a replica on this node. */
    public int hostedGroups() {
        return (int) sum(s -> s.hostedGroups);
    }

    public boolean campaign(long groupId) {
        return workerOf(groupId).inbox().campaign(groupId);
    }

    /**
     * Messages from a peer node (transport thread): split by owning worker, one inbox command per
     * worker. Messages a full inbox cannot take are dropped (Raft retries); returns false then.
     */
    public boolean deliver(List<Message> messages) {
        if (messages.isEmpty() || status.failure() != null) {
            return true;
        }
        liveness.heardFrom(messages.get(0).from, env.clockNs().getAsLong());
        for (Message m : messages) {
            if (m.groupId == NodeLiveness.GROUP_ID) {
                messages = withoutNodeHeartbeats(messages);
                if (messages.isEmpty()) {
                    return true;
                }
                break;
            }
        }
        if (workers.length == 1) {
            return workers[0].inbox().deliver(messages);
        }
        List<List<Message>> perWorker = new ArrayList<>(workers.length);
        for (int i = 0; i < workers.length; i++) {
            perWorker.add(null);
        }
        for (Message m : messages) {
            int w = workerIndex(m.groupId);
            if (perWorker.get(w) == null) {
                perWorker.set(w, new ArrayList<>());
            }
            perWorker.get(w).add(m);
        }
        boolean all = true;
        for (int i = 0; i < workers.length; i++) {
            if (perWorker.get(i) != null) {
                all &= workers[i].inbox().deliver(perWorker.get(i));
            }
        }
        return all;
    }

    /**
     * Node heartbeats have done their job (heardFrom, above) and belong to no group; one that names
     * a group (in {@code context}) says the sender's leader replica of it went away, so that
     * group's sleeping followers here must wake ({@link NodeLiveness}).
     */
    private List<Message> withoutNodeHeartbeats(List<Message> messages) {
        List<Message> rest = new ArrayList<>(messages.size());
        for (Message m : messages) {
            if (m.groupId != NodeLiveness.GROUP_ID) {
                rest.add(m);
            } else if (m.context > 0 && m.context < NodeLiveness.GROUP_ID) {
                workerOf(m.context).inbox().leaderResigned(m.context, m.from);
            }
        }
        return rest;
    }

    /** The snapshot channel's thread: a transfer of {@code groupId}'s snapshot ended. */
    void snapshotSent(long peer, long groupId, long index, boolean ok) {
        workerOf(groupId).snapshotSent(peer, groupId, index, ok);
    }

    /**
     * Why the node stopped itself, or null while it works. A worker that fails (a log error, a state
     * machine that throws) stops the whole node: every worker stops, callers get typed answers, the
     * node heartbeat stops so peers elect new leaders. Close it and restart it from its log.
     */
    public Throwable failure() {
        return status.failure();
    }

    /** For tests, after {@link #close}: a replica's Raft node, or null. */
    RaftNode node(long groupId) {
        return workerOf(groupId).node(groupId);
    }

    /** Groups whose replica on this node leads. */
    public int leaderGroups() {
        return (int) sum(s -> s.leaderGroups);
    }

    /** Groups that ticked at their worker's last tick; the others are quiescent. */
    public int awakeGroups() {
        return (int) sum(s -> s.awakeGroups);
    }

    public int threads() {
        return workers.length;
    }

    /** Snapshots whose image reached a follower, after which their message was sent. */
    public long snapshotsSent() {
        return sum(s -> s.snapshotsSent);
    }

    /** Snapshots received from leaders and restored into the state machine. */
    public long snapshotsInstalled() {
        return sum(s -> s.snapshotsInstalled);
    }

    /** Log compactions submitted (each with a snapshot mark). */
    public long compactions() {
        return sum(s -> s.compactions);
    }

    /** Log segment files deleted because no group needed them any more. */
    public long logSegmentsPurged() {
        return purges.segmentsPurged();
    }

    /** Records rewritten forward: live records of groups that held old log segments back. */
    public long logRecordsRewritten() {
        return sum(s -> s.recordsRewritten);
    }

    /**
     * Tombstone sets written by log sweeps: each replaces the rewrite forward of every tombstone of
     * one worker with one record (or a few, past 1 MiB of ids).
     */
    public long logTombstoneSetsWritten() {
        return sum(s -> s.tombstoneSetsWritten);
    }

    /** Groups whose replica on this node was removed, tombstone durable (as of each worker's latest round). */
    public int tombstonedGroups() {
        return (int) sum(s -> s.tombstonedGroups);
    }

    /** Bytes of the records rewritten forward. */
    public long logBytesRewritten() {
        return sum(s -> s.bytesRewritten);
    }

    /** Reads that got no answer before their deadline and failed (the caller retried). */
    public long readsTimedOut() {
        return sum(s -> s.readsTimedOut);
    }

    /** Rounds whose log batch waited for room in the log's full queue (back-pressure from the disk). */
    public long deferredLogBatches() {
        return sum(s -> s.deferredBatches);
    }

    public long logBatches() {
        return sum(s -> s.logBatches);
    }

    /**
     * Sends of messages to other nodes: one per destination node per flush of a worker's outbox (at
     * most a few per round), each one frame and one flush on the Netty transport.
     */
    public long peerSends() {
        return sum(s -> s.peerSends);
    }

    /** Messages to other nodes, in {@link #peerSends}; over it, messages per flush. */
    public long peerMessagesSent() {
        return sum(s -> s.peerMessagesSent);
    }

    /**
     * Stops the workers after their rounds in flight are durable and applied, then answers every
     * proposal, read and command still pending with a typed failure (see {@link RaftWorker}). The
     * log stays open (its owner closes it).
     */
    @Override
    public void close() throws InterruptedException {
        for (RaftWorker w : workers) {
            w.stop();
        }
    }
}

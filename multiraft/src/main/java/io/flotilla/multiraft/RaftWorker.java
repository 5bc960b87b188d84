package io.flotilla.multiraft;

import io.flotilla.raft.Check;
import io.flotilla.raft.Message;
import io.flotilla.raft.MessageType;
import io.flotilla.raft.ProposeResult;
import io.flotilla.raft.RaftNode;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalGroupIndex;
import io.flotilla.wal.WalRecordEncoder;
import io.flotilla.wal.WalSegmentReader;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.LongPredicate;

/**
 * One worker of the multi-group runtime: a single thread that owns a fixed set of groups for their
 * life. Other threads reach it only through its bounded inbox. {@link #doWork} is one round, and
 * reads as the path of a write, starting with the end of the writes that became durable since the
 * last round (so that what they let go next joins this round's batch):
 * <ol>
 *   <li>{@link ApplyStage}, for each batch now durable: acknowledgements go out, the committed
 *       entries of all its groups are applied in one call, proposals and reads are answered, groups
 *       advance;</li>
 *   <li>commands from the inbox: peer messages are stepped, proposals appended, reads started;</li>
 *   <li>time: the awake groups tick, reads past their deadline fail, log maintenance and (worker 0)
 *       the node heartbeat run when due;</li>
 *   <li>{@link LogRounds}: the Ready of every dirty group; leader appends go out at once and
 *       <b>one</b> log batch carries every group's entries and hard state, to be finished by
 *       step 1 of a later round.</li>
 * </ol>
 * The parts, each owning its state, all on this thread: {@link ReplicaSet} (replicas, dirty and
 * awake lists, quiescence), {@link ClientRequests} (answers owed to callers), {@link Outbox},
 * {@link LogRounds}, {@link ApplyStage}, {@link SnapshotShipping}, {@link LogMaintenance},
 * {@link ReplicaLifecycle}, {@link WorkerStats}.
 *
 * <p>Nothing blocks: a full inbox is BUSY for the caller; a full log queue defers the round. An
 * idle worker parks until its next tick or until someone hands it work; with no group ticking, it
 * sleeps through ticks up to the next maintenance pass or node heartbeat (at most a quarter
 * election timeout).
 *
 * <p>Stopping. {@link #stop} (the node closes) lets the rounds in flight become durable and
 * applied, then answers everything still owed: proposals that may still commit elsewhere with
 * {@code onOutcomeUnknown}, the others and every queued command with {@code NODE_STOPPED}, reads
 * with {@code onFailed}. Any exception in a round (a log failure, a state machine that throws)
 * stops the whole node the same way ({@link NodeStatus}): every worker stops, the node heartbeat
 * stops so peers elect elsewhere, and no caller waits for ever.
 */
final class RaftWorker implements Runnable {
    /** A read without an answer after this many election timeouts fails (the caller retries). */
    static final int READ_TIMEOUT_ELECTIONS = 3;

    private final long nodeId;
    private final int workerId;
    private final MultiRaftConfig config;
    private final RuntimeEnvironment env;
    private final NodeStatus status;
    private final NodeLiveness liveness;
    private final Wal wal;
    private final WalSegmentReader reader;
    private final int maxEntryPayloadBytes;
    private final WorkerInbox inbox;
    private final Thread thread;
    /**
     * Empty rounds spun before parking. Each costs a full pass (inbox, completions, dirty replicas);
     * spinning 100 of them after every burst of work cost the nodes most of their CPU at low load.
     */
    private static final int SPINS_BEFORE_PARK = 10;

    /** Set while the worker parks, so producers know to wake it. */
    private volatile boolean parked;
    private volatile boolean running;
    private volatile Throwable failure;
    /** No thread: the owner calls {@link #doWork} (the deterministic simulation). */
    private boolean stepped;

    final WorkerStats stats = new WorkerStats();
    private final ReplicaSet replicas;
    private final ClientRequests requests;
    private final SnapshotShipping shipping;
    private final Outbox outbox;
    private final LogRounds rounds;
    private final ReplicaLifecycle lifecycle;
    private final LogMaintenance maintenance;
    private final ApplyStage apply;
    private final Consumer<WorkerCommand> dispatch = this::dispatch;
    private final Consumer<LogRounds.Round> applyRound;

    private final StrayGroups strays;
    private long nextTickNs;
    /** Ticks at which the next maintenance pass, and (worker 0) the next node heartbeat, are due. */
    private long nextMaintenanceTick;
    private long nextHeartbeatTick;

    RaftWorker(long nodeId, int workerId, MultiRaftConfig config, Wal wal, StateMachine stateMachine, PeerSender sender,
            SnapshotChannel streams, NodeLiveness liveness, LogPurgeTracker purges, RuntimeEnvironment env, NodeStatus status,
            StrayGroups strays, LongPredicate ownedHere) {
        this.nodeId = nodeId;
        this.strays = strays;
        this.workerId = workerId;
        this.config = config;
        this.env = env;
        this.status = status;
        this.liveness = liveness;
        this.wal = wal;
        this.reader = wal.newReader();
        this.maxEntryPayloadBytes = WalRecordEncoder.maxEntryPayloadBytes(wal.config().maxRecordBytes());
        this.inbox = new WorkerInbox(config.inboxCapacity(), this::wakeIfParked);
        this.replicas = new ReplicaSet(nodeId, config, liveness, stats);
        // Workers draw read ids from disjoint ranges of the node's.
        this.requests = new ClientRequests(env.firstReadId() + ((long) workerId << 48),
                (long) READ_TIMEOUT_ELECTIONS * config.electionTimeoutTicks(), replicas);
        this.shipping = new SnapshotShipping(nodeId, streams, stateMachine, replicas, stats);
        this.outbox = new Outbox(sender, replicas, shipping, stats);
        this.rounds = new LogRounds(wal, stats, this::wakeIfParked);
        this.lifecycle = new ReplicaLifecycle(nodeId, workerId, config, wal, reader, stateMachine, liveness, replicas,
                rounds, requests, shipping);
        this.maintenance = new LogMaintenance(nodeId, workerId, config, wal, stateMachine, replicas, shipping, rounds,
                purges, stats, lifecycle, ownedHere);
        lifecycle.attach(maintenance);
        this.apply = new ApplyStage(nodeId, config, stateMachine, replicas, outbox, requests, shipping, maintenance,
                lifecycle, stats);
        this.applyRound = apply::handle;
        this.thread = new Thread(this, "flotilla-worker-" + nodeId + "-" + workerId);
        this.thread.setDaemon(true);
    }

    // ---------------------------------------------------------------- other threads

    /** How other threads hand this worker commands. */
    WorkerInbox inbox() {
        return inbox;
    }

    /** Any thread: the published view of a replica this worker hosts, or null. */
    GroupView view(long groupId) {
        return replicas.view(groupId);
    }

    /** The snapshot channel's thread: a transfer ended. */
    void snapshotSent(long peer, long groupId, long index, boolean ok) {
        shipping.transferEnded(peer, groupId, index, ok);
        wakeIfParked();
    }

    void wakeIfParked() {
        if (parked) {
            LockSupport.unpark(thread);
        }
    }

    /** The node's thread, before the worker starts: a group the log recovered, whose replica belongs here. */
    void adoptRecovered(WalGroupIndex index) {
        Check.state(!thread.isAlive() && !running, "worker %d of node %d adopts recovered groups only before it starts",
                workerId, nodeId);
        if (index.removed()) {
            replicas.tombstones.add(index.groupId(), index.oldestLiveSegment());
        } else {
            replicas.recovered.put(index.groupId(), index);
        }
    }

    /**
     * The node's thread, before the worker starts: a group the log recovered tombstoned, whose
     * replica belonged here, with the segment of its newest tombstone copy.
     */
    void adoptTombstone(long groupId, long segmentSequence) {
        Check.state(!thread.isAlive() && !running, "worker %d of node %d adopts recovered tombstones only before it starts",
                workerId, nodeId);
        replicas.tombstones.add(groupId, segmentSequence);
    }

    // ---------------------------------------------------------------- lifecycle of the worker

    void start() {
        running = true;
        thread.start();
    }

    /** Owner thread, instead of {@link #start}: no thread; the owner calls {@link #doWork} (the simulation). */
    void startStepped(long nowNs) {
        stepped = true;
        running = true;
        nextTickNs = nowNs + config.tickIntervalNs();
        lifecycle.redoDestroys();
    }

    /** Stops the worker: see the class comment for what it answers. */
    void stop() throws InterruptedException {
        running = false;
        if (stepped) {
            finish();
            return;
        }
        LockSupport.unpark(thread);
        thread.join();
    }

    Throwable failure() {
        return failure;
    }

    @Override
    public void run() {
        nextTickNs = env.clockNs().getAsLong() + config.tickIntervalNs();
        int idle = 0;
        try {
            lifecycle.redoDestroys();
            while (running) {
                int work = doWork(env.clockNs().getAsLong());
                if (work > 0) {
                    idle = 0;
                } else if (++idle > SPINS_BEFORE_PARK) {
                    parkUntilWorkOrTick();
                } else {
                    Thread.onSpinWait();
                }
            }
        } catch (Throwable t) {
            failStop(t);
        }
        finish();
    }

    /**
     * The last steps of a stopping worker: with no failure, the rounds in flight become durable and
     * applied (so no durable write is left unanswered); then everything still owed is answered.
     */
    private void finish() {
        running = false;
        try {
            if (failure == null && status.failure() == null) {
                while (rounds.busy()) {
                    if (stepped) {
                        wal.commitQueued();
                    }
                    rounds.collectAndSubmit(replicas, outbox);
                    if (rounds.drainDurable(applyRound) == 0 && !stepped) {
                        Thread.onSpinWait();
                    }
                }
            }
        } catch (Throwable t) {
            failStop(t);
        }
        inbox.close();
        lifecycle.abandonAll();
        try {
            reader.close();
        } catch (IOException e) {
            if (failure == null) {
                failure = e;
            }
        }
    }

    /** A round threw: this worker is broken; the whole node stops (fail-stop). */
    private void failStop(Throwable t) {
        if (failure == null) {
            failure = t;
        }
        running = false;
        status.fail(t, workerId);
    }

    /**
     * Sleeps until the next tick unless work arrives: producers unpark us when they see
     * {@code parked}; the flag is set before the final emptiness check so no hand-off is missed.
     */
    private void parkUntilWorkOrTick() {
        parked = true;
        if (inbox.isEmpty() && rounds.completionsEmpty() && running && status.failure() == null) {
            long waitNs = nextTickNs + (idleStrideTicks() - 1) * config.tickIntervalNs() - env.clockNs().getAsLong();
            if (waitNs > 0) {
                LockSupport.parkNanos(this, waitNs);
            }
        }
        parked = false;
    }

    /**
     * Ticks an idle worker may sleep through at once: with no group ticking and nothing in flight,
     * a tick has nothing to do until the next maintenance pass or node heartbeat, and silent
     * leaders' nodes are noticed at most a quarter election timeout late. Idle nodes wake a few
     * times per election timeout instead of every tick.
     */
    private long idleStrideTicks() {
        if (!replicas.idle() || rounds.busy()) {
            return 1;
        }
        long due = nextMaintenanceTick;
        if (workerId == 0) {
            due = Math.min(due, nextHeartbeatTick);
        }
        return Math.max(1, Math.min(due - replicas.ticks(), heartbeatEveryTicks()));
    }

    /** A node heartbeat every quarter election timeout: three may be lost before a peer wakes the followers of our groups. */
    private long heartbeatEveryTicks() {
        return Math.max(1, config.electionTimeoutTicks() / 4);
    }

    // ---------------------------------------------------------------- one round

    /** One round (see the class comment); returns how much work it did (0 = idle). */
    int doWork(long nowNs) {
        if (!running) {
            return 0;
        }
        if (status.failure() != null) {
            // Another worker failed: stop with the node.
            running = false;
            if (stepped) {
                finish();
            }
            return 0;
        }
        try {
            // The end of earlier writes first: what they let go next (the leader's commit index, the
            // next entries) then joins this round's one log batch with the new work, instead of
            // leaving in a small batch of its own (measured: 99 against 86 entries per fsync, and
            // about 10% more entries/s at 64 groups).
            int work = rounds.drainDurable(applyRound);
            work += inbox.drain(dispatch);
            work += shipping.drainReports(outbox);
            if (nowNs >= nextTickNs) {
                tick(nowNs);
            }
            work += rounds.collectAndSubmit(replicas, outbox);
            if (work > 0) {
                stats.rounds++;
                stats.hostedGroups = replicas.size();
                stats.tombstonedGroups = replicas.tombstones.size();
            }
            return work;
        } catch (Throwable t) {
            failStop(t);
            if (stepped) {
                finish();
            }
            return 0;
        }
    }

    private void tick(long nowNs) {
        long tickNs = config.tickIntervalNs();
        // Ticks skipped while idle count (nothing ticked then); a busy worker that fell behind drops them.
        long passed = replicas.idle() ? 1 + (nowNs - nextTickNs) / tickNs : 1;
        nextTickNs = Math.max(nextTickNs + passed * tickNs, nowNs - tickNs);
        replicas.tick(passed, nowNs);
        long ticks = replicas.ticks();
        stats.readsTimedOut += requests.expireReads(ticks);
        if (ticks >= nextMaintenanceTick) {
            nextMaintenanceTick = ticks + config.electionTimeoutTicks();
            maintenance.pass();
        }
        if (workerId == 0 && ticks >= nextHeartbeatTick) {
            nextHeartbeatTick = ticks + heartbeatEveryTicks();
            outbox.queue(liveness.heartbeats());
            outbox.flush();
        }
    }

    private void dispatch(WorkerCommand command) {
        if (command instanceof WorkerCommand.Inbound in) {
            step(in.messages());
        } else if (command instanceof WorkerCommand.Propose p) {
            propose(p);
        } else if (command instanceof WorkerCommand.Read rd) {
            read(rd);
        } else if (command instanceof WorkerCommand.CreateGroup c) {
            lifecycle.create(c.groupId(), c.voters(), c.campaign(), c.rejoin());
        } else if (command instanceof WorkerCommand.ChangeMembership c) {
            changeMembership(c);
        } else if (command instanceof WorkerCommand.TransferLeader t) {
            transferLeader(t);
        } else if (command instanceof WorkerCommand.Destroy d) {
            lifecycle.destroy(d.groupId());
        } else if (command instanceof WorkerCommand.Campaign c) {
            lifecycle.campaign(c.groupId());
        } else if (command instanceof WorkerCommand.Explain e) {
            explain(e);
        } else if (command instanceof WorkerCommand.LeaderResigned lr) {
            replicas.leaderResigned(lr.groupId(), lr.leaderNode());
        } else {
            throw new IllegalStateException("unknown command " + command);
        }
    }

    private void read(WorkerCommand.Read rd) {
        Replica r = replicas.get(rd.groupId());
        if (r == null) {
            rd.listener().onFailed(rd.groupId());
            return;
        }
        replicas.wake(r);
        requests.startRead(r, rd.listener(), rd.leaseAllowed(), replicas.ticks());
        replicas.markDirty(r);
    }

    private void changeMembership(WorkerCommand.ChangeMembership c) {
        Replica r = replicas.get(c.groupId());
        if (r == null) {
            c.listener().onRefused(c.groupId(), ProposeResult.NOT_LEADER, 0);
            return;
        }
        replicas.wake(r);
        ProposeResult result = r.node.proposeConfChange(c.change());
        if (result != ProposeResult.ACCEPTED) {
            c.listener().onRefused(c.groupId(), result, r.node.leader());
            return;
        }
        requests.proposed(r, c.listener());
        replicas.markDirty(r);
    }

    private void transferLeader(WorkerCommand.TransferLeader t) {
        Replica r = replicas.get(t.groupId());
        if (r == null) {
            t.listener().onRefused(t.groupId(), ProposeResult.NOT_LEADER, 0);
            return;
        }
        replicas.wake(r);
        if (r.node.transferLeader(t.target())) {
            t.listener().onApplied(t.groupId(), 0);
        } else {
            t.listener().onRefused(t.groupId(), ProposeResult.NOT_LEADER, r.node.leader());
        }
        replicas.markDirty(r);
    }

    /** Observes only: a sleeping replica stays asleep (its sleep is part of the answer). */
    private void explain(WorkerCommand.Explain e) {
        Replica r = replicas.get(e.groupId());
        e.answer().complete(r == null ? null : new ReplicaReport(r.node.report(), r.asleep,
                r.asleep ? replicas.ticks() - r.asleepAtTick : 0,
                TimeUnit.NANOSECONDS.toMillis(config.tickIntervalNs()), shipping.transfers(r)));
    }

    private void step(List<Message> messages) {
        for (int i = 0; i < messages.size(); i++) {
            Message m = messages.get(i);
            Replica r = replicas.get(m.groupId);
            if (r == null || (m.type == MessageType.SNAPSHOT && !shipping.imageReceived(m))) {
                if (r == null && (m.type == MessageType.APPEND || m.type == MessageType.HEARTBEAT
                        || m.type == MessageType.SNAPSHOT)) {
                    strays.note(m.groupId); // a leader counts this node a member of a group it does not host
                }
                stats.droppedMessages++;
                continue;
            }
            if ((m.type == MessageType.PRE_VOTE || m.type == MessageType.VOTE) && m.from == r.node.leader()) {
                // The node we follow campaigns (it restarted, or stepped down): it no longer leads.
                replicas.leaderResigned(r.groupId, m.from);
            }
            replicas.wake(r);
            r.node.step(m);
            replicas.markDirty(r);
        }
    }

    private void propose(WorkerCommand.Propose p) {
        Replica r = replicas.get(p.groupId());
        if (r == null) {
            p.listener().onRefused(p.groupId(), ProposeResult.NOT_LEADER, 0);
            return;
        }
        if (p.data().length > maxEntryPayloadBytes) {
            p.listener().onRefused(p.groupId(), ProposeResult.ENTRY_TOO_LARGE, r.node.leader());
            return;
        }
        replicas.wake(r);
        ProposeResult result = r.node.propose(p.data());
        if (result != ProposeResult.ACCEPTED) {
            p.listener().onRefused(p.groupId(), result, r.node.leader());
            return;
        }
        requests.proposed(r, p.listener());
        replicas.markDirty(r);
    }

    // ---------------------------------------------------------------- inspection (tests)

    /** Worker thread or after stop: the replica's Raft node, or null. */
    RaftNode node(long groupId) {
        Replica r = replicas.get(groupId);
        return r == null ? null : r.node;
    }
}

package io.flotilla.multiraft;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.Message;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;

/**
 * What other threads hand one worker, and the only way they reach it. Any thread offers commands;
 * the worker's thread drains them. Two queues: a bounded one for peer messages, proposals and reads
 * (a full queue is back-pressure: the caller hears BUSY, a peer batch is dropped and Raft resends),
 * and an unbounded one for creating and removing replicas, which must never fail for a full queue
 * (a split creates groups when it applies) and whose number is bounded by the groups the owner
 * creates. Once the worker stops, the inbox closes: every command still queued, and every one
 * offered later, is answered with a typed failure on the offering thread, so no caller waits for
 * ever.
 */
final class WorkerInbox {
    private static final int DRAIN_LIMIT = 4096;

    private final ManyToOneConcurrentArrayQueue<WorkerCommand> commands;
    private final ConcurrentLinkedQueue<WorkerCommand> lifecycle = new ConcurrentLinkedQueue<>();
    /** Commands being offered right now; closing waits for them before its last drain. */
    private final AtomicInteger offering = new AtomicInteger();
    private final Runnable wakeWorker;
    private volatile boolean closed;

    WorkerInbox(int capacity, Runnable wakeWorker) {
        this.commands = new ManyToOneConcurrentArrayQueue<>(capacity);
        this.wakeWorker = wakeWorker;
    }

    // ---------------------------------------------------------------- any thread

    /** Messages from a peer for groups of this worker. False if dropped (full or stopped; Raft retries). */
    boolean deliver(List<Message> messages) {
        return offer(new WorkerCommand.Inbound(messages)) == Offer.ACCEPTED;
    }

    /** Proposes a command; the outcome reaches the listener on the worker's thread. */
    void propose(long groupId, byte[] data, ProposalListener listener) {
        offerAnswered(new WorkerCommand.Propose(groupId, data, listener), groupId, listener::onBusy);
    }

    /** Asks for a linearizable read point. */
    void read(long groupId, ReadListener listener, boolean leaseAllowed) {
        offerAnswered(new WorkerCommand.Read(groupId, listener, leaseAllowed), groupId, listener::onBusy);
    }

    /** Proposes a single-step membership change through this worker's replica (which must lead). */
    void changeMembership(long groupId, ConfChange change, ProposalListener listener) {
        offerAnswered(new WorkerCommand.ChangeMembership(groupId, change, listener), groupId, listener::onBusy);
    }

    /**
     * Asks this worker's replica (the leader) to hand leadership to {@code target}. The listener
     * hears {@code onApplied(groupId, 0)} when the transfer started, or {@code onRefused} if this
     * replica is not the leader or the target is not another voter.
     */
    void transferLeader(long groupId, long target, ProposalListener listener) {
        offerAnswered(new WorkerCommand.TransferLeader(groupId, target, listener), groupId, listener::onBusy);
    }

    /** Asks this worker's replica for its report; a full inbox fails the answer. */
    void explain(long groupId, CompletableFuture<ReplicaReport> answer) {
        offerAnswered(new WorkerCommand.Explain(groupId, answer), groupId,
                g -> answer.completeExceptionally(new IllegalStateException("the worker of range " + g + " is overloaded")));
    }

    /** Makes this worker's replica campaign now (tests and leader placement). */
    boolean campaign(long groupId) {
        return offer(new WorkerCommand.Campaign(groupId)) == Offer.ACCEPTED;
    }

    /** A peer said its leader replica of {@code groupId} went away. */
    void leaderResigned(long groupId, long leaderNode) {
        offer(new WorkerCommand.LeaderResigned(groupId, leaderNode));
    }

    /**
     * Hosts a replica of {@code groupId} (see {@link ReplicaLifecycle#create}). Never refused for a
     * full queue; false only if the worker has stopped.
     */
    boolean createGroup(long groupId, long[] voters, boolean campaign, boolean rejoin) {
        return offerLifecycle(new WorkerCommand.CreateGroup(groupId, voters.clone(), campaign, rejoin));
    }

    /** Removes this node's replica of {@code groupId} for good (see {@link ReplicaLifecycle}). */
    boolean destroyReplica(long groupId) {
        return offerLifecycle(new WorkerCommand.Destroy(groupId));
    }

    private enum Offer { ACCEPTED, FULL, STOPPED }

    private Offer offer(WorkerCommand command) {
        offering.incrementAndGet();
        try {
            if (closed) {
                return Offer.STOPPED;
            }
            if (!commands.offer(command)) {
                return Offer.FULL;
            }
        } finally {
            offering.decrementAndGet();
        }
        wakeWorker.run();
        return Offer.ACCEPTED;
    }

    /** A command whose caller waits for an answer: BUSY if the queue is full, NODE_STOPPED if the worker stopped. */
    private void offerAnswered(WorkerCommand command, long groupId, BusyListener listener) {
        Offer result = offer(command);
        if (result == Offer.FULL) {
            listener.busy(groupId);
        } else if (result == Offer.STOPPED) {
            WorkerCommand.refuse(command);
        }
    }

    /** What a full queue tells the caller. */
    private interface BusyListener {
        void busy(long groupId);
    }

    private boolean offerLifecycle(WorkerCommand command) {
        offering.incrementAndGet();
        try {
            if (closed) {
                return false;
            }
            lifecycle.add(command);
        } finally {
            offering.decrementAndGet();
        }
        wakeWorker.run();
        return true;
    }

    // ---------------------------------------------------------------- the worker's thread

    /**
     * Hands queued commands to {@code dispatch}: every creation and removal first (a replica exists
     * before messages that follow its creation), then at most a bounded number of the others.
     */
    int drain(Consumer<WorkerCommand> dispatch) {
        int n = 0;
        WorkerCommand command;
        while ((command = lifecycle.poll()) != null) {
            dispatch.accept(command);
            n++;
        }
        return n + commands.drain(dispatch, DRAIN_LIMIT);
    }

    boolean isEmpty() {
        return commands.isEmpty() && lifecycle.isEmpty();
    }

    /** The worker stops: later offers are answered on their callers' threads, and what is queued is answered now. */
    void close() {
        closed = true;
        while (offering.get() != 0) {
            // An offer that saw the inbox open is between its check and its enqueue: a few instructions.
            Thread.onSpinWait();
        }
        WorkerCommand leftover;
        while ((leftover = commands.poll()) != null) {
            WorkerCommand.refuse(leftover);
        }
        lifecycle.clear();
    }
}

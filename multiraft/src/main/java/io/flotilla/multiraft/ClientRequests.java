package io.flotilla.multiraft;

import io.flotilla.raft.Entry;
import io.flotilla.raft.ProposeResult;
import io.flotilla.raft.ReadState;
import io.flotilla.raft.Role;
import java.util.List;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongArrayQueue;

/**
 * The answers owed to callers: every proposal and every read a worker accepted ends in exactly one
 * call of its listener. Owned by the worker thread.
 *
 * <p>The rule for proposals (a refused command must never apply, or a client retry applies it
 * twice): a proposal is refused only when it can never apply: its index committed with another
 * leader's entry, or its replica goes away (removed, node stopped) before its entry was handed to a
 * Ready ({@code index > Replica.handedIndex}: never on disk, never sent). Otherwise it ends as
 * {@code onApplied} or {@code onOutcomeUnknown} (leadership lost, replica removed, node stopped,
 * log replaced by a snapshot).
 *
 * <p>Reads: a read waits for its ReadState (the leader confirmed its read point) and then for the
 * state machine to apply up to that point. Every read has a deadline; one unanswered by then
 * (its leader died, the answer was lost) fails so that the caller can retry.
 */
final class ClientRequests {
    /** A read in flight: waiting for its ReadState, then (confirmed at {@code index}) for the apply. */
    static final class PendingRead {
        final long id;
        final long groupId;
        final ReadListener listener;
        final long deadlineTick;
        /** The read point the leader confirmed; 0 until then. */
        long index;

        PendingRead(long id, long groupId, ReadListener listener, long deadlineTick) {
            this.id = id;
            this.groupId = groupId;
            this.listener = listener;
            this.deadlineTick = deadlineTick;
        }
    }

    private final long readTimeoutTicks;
    /** Reads not answered yet, by request id: from the read's start until it is served or fails. */
    private final Long2ObjectHashMap<PendingRead> pendingReads = new Long2ObjectHashMap<>();
    /** Request ids in the order their deadlines fall (all reads get the same timeout). */
    private final LongArrayQueue readDeadlines = new LongArrayQueue();
    /** Never repeats across restarts of the node (see {@link RuntimeEnvironment#system}). */
    private long nextReadId;
    private final ReplicaSet replicas;

    ClientRequests(long firstReadId, long readTimeoutTicks, ReplicaSet replicas) {
        this.nextReadId = firstReadId;
        this.readTimeoutTicks = readTimeoutTicks;
        this.replicas = replicas;
    }

    // ---------------------------------------------------------------- proposals

    void proposed(Replica r, ProposalListener listener) {
        // Proposals of an earlier leadership are answered first, so the queue stays in index order
        // (completeProposals relies on it: found by the runtime simulation, where a replica that led
        // again queued its new proposals behind stale ones and refused one that applied).
        answerLostLeadership(r);
        r.proposals.addLast(new Replica.PendingProposal(r.node.lastIndex(), r.node.term(), listener));
    }

    /** Committed entries were applied: answer the proposals they decide. */
    void completeProposals(Replica r, List<Entry> committed) {
        for (int i = 0; i < committed.size(); i++) {
            Entry e = committed.get(i);
            while (!r.proposals.isEmpty() && r.proposals.peekFirst().index() <= e.index()) {
                Replica.PendingProposal p = r.proposals.pollFirst();
                if (p.index() == e.index() && p.term() == e.term()) {
                    p.listener().onApplied(r.groupId, e.index());
                } else {
                    // Another leader's entry committed at its index: it will never apply.
                    p.listener().onRefused(r.groupId, ProposeResult.NOT_LEADER, r.node.leader());
                }
            }
        }
    }

    /**
     * After a Ready was handled: a replica that no longer leads in the term of its proposals will
     * not commit them itself, and cannot tell whether they commit: the new leader may have their
     * entries, and even entries that never left this replica stay in its log and commit if it leads
     * again. Answer them now (outcome unknown) rather than never: their log may be truncated under
     * them and no later commit may ever reach their index.
     */
    void answerLostLeadership(Replica r) {
        if (r.proposals.isEmpty()) {
            return;
        }
        boolean leads = r.node.role() == Role.LEADER;
        while (!r.proposals.isEmpty()) {
            Replica.PendingProposal p = r.proposals.peekFirst();
            if (leads && p.term() == r.node.term()) {
                return;
            }
            r.proposals.pollFirst();
            p.listener().onOutcomeUnknown(r.groupId, p.index());
        }
    }

    /** Proposals a received snapshot covers: whether their entries were the ones committed is unknown here. */
    void abandonCoveredBySnapshot(Replica r, long snapshotIndex) {
        while (!r.proposals.isEmpty() && r.proposals.peekFirst().index() <= snapshotIndex) {
            Replica.PendingProposal p = r.proposals.pollFirst();
            p.listener().onOutcomeUnknown(r.groupId, p.index());
        }
    }

    /**
     * The replica goes away (destroyed, or the node stops): a proposal whose entry was handed to a
     * Ready may be on disk and on followers; one that was not exists only in this replica's memory,
     * which is going, so it can never apply.
     */
    private static void answerUndecided(Replica r, Replica.PendingProposal p) {
        if (p.index() <= r.handedIndex) {
            p.listener().onOutcomeUnknown(r.groupId, p.index());
        } else {
            p.listener().onRefused(r.groupId, ProposeResult.NOT_LEADER, r.node.leader());
        }
    }

    /** The replica goes away (removed, or the node stops): answer everything it still owes. */
    void abandon(Replica r) {
        Replica.PendingProposal p;
        while ((p = r.proposals.pollFirst()) != null) {
            answerUndecided(r, p);
        }
        r.readsWaitingForApply.clear();
        if (!pendingReads.isEmpty()) {
            for (Long2ObjectHashMap<PendingRead>.ValueIterator it = pendingReads.values().iterator(); it.hasNext(); ) {
                PendingRead pending = it.next();
                if (pending.groupId == r.groupId) {
                    it.remove();
                    pending.listener.onFailed(r.groupId);
                }
            }
        }
    }

    // ---------------------------------------------------------------- reads

    /** Asks the replica for a read point; the answer comes as a ReadState in a later Ready. */
    void startRead(Replica r, ReadListener listener, boolean leaseAllowed, long nowTick) {
        long id = nextReadId++;
        pendingReads.put(id, new PendingRead(id, r.groupId, listener, nowTick + readTimeoutTicks));
        readDeadlines.addLong(id);
        r.node.readIndex(id, leaseAllowed);
    }

    /** The ReadStates of a handled Ready: confirmed reads wait for the apply, refused ones fail. */
    void onReadStates(Replica r, List<ReadState> states) {
        for (int i = 0; i < states.size(); i++) {
            ReadState rs = states.get(i);
            PendingRead pending = pendingReads.get(rs.requestId());
            if (pending == null || pending.groupId != r.groupId || pending.index != 0) {
                // Answered already (deadline), an answer for another group's request, or a duplicate: not ours.
                continue;
            }
            if (rs.ok()) {
                pending.index = Math.max(1, rs.index());
                r.readsWaitingForApply.addLast(pending);
            } else {
                pendingReads.remove(rs.requestId());
                pending.listener.onFailed(r.groupId);
            }
        }
    }

    /** Serves the confirmed reads whose point the state machine has reached. */
    void releaseReads(Replica r) {
        long applied = r.node.appliedIndex();
        while (!r.readsWaitingForApply.isEmpty() && r.readsWaitingForApply.peekFirst().index <= applied) {
            PendingRead read = r.readsWaitingForApply.pollFirst();
            pendingReads.remove(read.id);
            read.listener.onReadable(r.groupId);
        }
    }

    /**
     * Fails the reads past their deadline, whether still waiting for their ReadState (the leader
     * died, the answer was lost) or for the apply to reach their point (the entries do not come);
     * returns how many.
     */
    int expireReads(long nowTick) {
        int expired = 0;
        while (!readDeadlines.isEmpty()) {
            long id = readDeadlines.peekLong();
            PendingRead pending = pendingReads.get(id);
            if (pending != null && pending.deadlineTick > nowTick) {
                break;
            }
            readDeadlines.pollLong();
            if (pending != null) {
                pendingReads.remove(id);
                if (pending.index != 0) {
                    Replica r = replicas.get(pending.groupId);
                    if (r != null) {
                        r.readsWaitingForApply.remove(pending);
                    }
                }
                pending.listener.onFailed(pending.groupId);
                expired++;
            }
        }
        return expired;
    }

    /** The node stops: every read still waiting for its ReadState fails. */
    void failPendingReads() {
        for (PendingRead pending : pendingReads.values()) {
            pending.listener.onFailed(pending.groupId);
        }
        pendingReads.clear();
        readDeadlines.clear();
    }
}

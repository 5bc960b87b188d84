package io.flotilla.multiraft;

import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.Ready;
import io.flotilla.raft.Role;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalGroupIndex;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.function.LongFunction;

/**
 * What a worker does once a round's batch is durable, in this order: the groups' log indexes take
 * the records; received snapshots are restored; votes and append acknowledgements go out (only now:
 * they promise the entries are on disk); the committed entries of every group are applied in one
 * {@link StateMachine#apply} call; then each group is advanced, its proposals and reads answered,
 * and a replica that applied its own removal is destroyed. Owned by the worker thread.
 */
final class ApplyStage {
    private final long nodeId;
    private final StateMachine stateMachine;
    private final ReplicaSet replicas;
    private final Outbox outbox;
    private final ClientRequests requests;
    private final SnapshotShipping shipping;
    private final LogMaintenance maintenance;
    private final ReplicaLifecycle lifecycle;
    private final WorkerStats stats;
    private final StateMachine.ApplyBatch applyBatch;

    /** The log index of a group for the records of a durable batch: hosted, being created, or removed. */
    private final LongFunction<WalGroupIndex> indexOf;

    ApplyStage(long nodeId, MultiRaftConfig config, StateMachine stateMachine, ReplicaSet replicas, Outbox outbox,
            ClientRequests requests, SnapshotShipping shipping, LogMaintenance maintenance, ReplicaLifecycle lifecycle,
            WorkerStats stats) {
        this.nodeId = nodeId;
        this.stateMachine = stateMachine;
        this.replicas = replicas;
        this.outbox = outbox;
        this.requests = requests;
        this.shipping = shipping;
        this.maintenance = maintenance;
        this.lifecycle = lifecycle;
        this.stats = stats;
        this.applyBatch = new StateMachine.ApplyBatch(config.maxGroupsPerWorker());
        this.indexOf = groupId -> {
            Replica r = replicas.get(groupId);
            if (r != null) {
                return r.index;
            }
            WalGroupIndex creating = lifecycle.creatingIndex(groupId);
            // A removed replica's only later record is its tombstone; its index goes once that is durable.
            return creating != null ? creating : replicas.removing.get(groupId);
        };
    }

    void handle(LogRounds.Round round) {
        if (round.failure != null) {
            // Fail-stop: the log refuses further writes; the node stops with the error.
            throw new UncheckedIOException("the write-ahead log failed; the node stops", round.failure);
        }
        if (round.batch != null) {
            Wal.applyDurable(round.batch, indexOf, replicas.tombstones);
        }
        if (round.whenDurable != null) {
            for (Runnable step : round.whenDurable) {
                step.run();
            }
        }
        applyBatch.clear();
        for (int i = 0; i < round.replicas.size(); i++) {
            Replica r = round.replicas.get(i);
            if (r.destroyed) {
                continue;
            }
            Ready rd = round.readies.get(i);
            if (rd.snapshot() != null) {
                shipping.install(r, rd.snapshot().metadata());
                maintenance.addCandidate(r);
            }
            outbox.queue(rd.messagesAfterPersist());
            applyBatch.add(r.groupId, rd.committedEntries());
        }
        outbox.flush();
        if (applyBatch.size() > 0) {
            stateMachine.apply(applyBatch);
        }
        for (int i = 0; i < round.replicas.size(); i++) {
            Replica r = round.replicas.get(i);
            if (!r.destroyed) {
                advance(r, round.readies.get(i));
            }
        }
    }

    private void advance(Replica r, Ready rd) {
        if (rd.softState() != null && (rd.softState().role() == Role.LEADER) != r.leading) {
            r.leading = !r.leading;
            stats.leaderGroups += r.leading ? 1 : -1;
        }
        if (rd.snapshot() != null) {
            requests.abandonCoveredBySnapshot(r, rd.snapshot().metadata().index());
        }
        List<Entry> committed = rd.committedEntries();
        requests.completeProposals(r, committed);
        noteConfChanges(r, committed);
        r.node.advance(rd);
        r.outstanding = null;
        r.view.publish(r.node);
        maintenance.noteApplied(r);
        if (!committed.isEmpty() && removedByConfChange(r)) {
            lifecycle.destroy(r);
            return;
        }
        requests.answerLostLeadership(r);
        requests.onReadStates(r, rd.readStates());
        requests.releaseReads(r);
        replicas.markDirty(r);
    }

    /** True once the applied membership no longer has this node, having had it before. */
    private boolean removedByConfChange(Replica r) {
        ConfState conf = r.node.confState();
        if (conf.isVoter(nodeId) || conf.isLearner(nodeId)) {
            r.wasMember = true;
            return false;
        }
        return r.wasMember;
    }

    private static void noteConfChanges(Replica r, List<Entry> committed) {
        for (int i = committed.size() - 1; i >= 0; i--) {
            if (committed.get(i).type() == EntryType.CONF_CHANGE) {
                r.lastConfChangeIndex = Math.max(r.lastConfChangeIndex, committed.get(i).index());
                return;
            }
        }
    }
}

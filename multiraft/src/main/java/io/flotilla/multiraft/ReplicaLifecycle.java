package io.flotilla.multiraft;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeType;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.HardState;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.RaftNode;
import io.flotilla.raft.Role;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalGroupIndex;
import io.flotilla.wal.WalGroupStorage;
import io.flotilla.wal.WalRecord;
import io.flotilla.wal.WalSegmentReader;
import java.util.ArrayList;
import java.util.List;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongHashSet;

/**
 * Creating and removing a worker's replicas. Neither blocks the worker: a new group's bootstrap
 * records and a removed replica's tombstone go into the next log round, and the replica starts (or
 * its state is dropped) once they are durable. Owned by the worker thread.
 *
 * <p>Removal, in this order: the replica stops at once (messages for it are dropped, what it owes
 * callers is answered, a leader announces in the node heartbeat that it resigned so that sleeping
 * followers elect), its tombstone is written, and only once that is durable the state machine drops
 * the group: a crash in between leaves a tombstone whose drop is redone at startup
 * ({@link #redoDestroys}), never state without a tombstone. A tombstoned group is created again
 * on this node only by {@link MultiRaftNode#rejoinGroup} (a move brings the range back), as a new,
 * empty replica after a REVIVE record.
 */
final class ReplicaLifecycle {
    private static final System.Logger LOG = System.getLogger(ReplicaLifecycle.class.getName());

    private final long nodeId;
    private final int workerId;
    private final MultiRaftConfig config;
    private final Wal wal;
    private final WalSegmentReader reader;
    private final StateMachine stateMachine;
    private final NodeLiveness liveness;
    private final ReplicaSet replicas;
    private final LogRounds rounds;
    private final ClientRequests requests;
    private final SnapshotShipping shipping;
    private LogMaintenance maintenance;

    /** Groups whose bootstrap records are on their way to disk. */
    private final Long2ObjectHashMap<WalGroupIndex> creating = new Long2ObjectHashMap<>();
    /** Groups removed while their bootstrap was on its way: removed as soon as they start. */
    private final LongHashSet destroyAfterCreate = new LongHashSet();
    /** Groups to host again (rejoin) once their replica's removal, on its way, is durable. */
    private final LongHashSet rejoinAfterRemoval = new LongHashSet();

    ReplicaLifecycle(long nodeId, int workerId, MultiRaftConfig config, Wal wal, WalSegmentReader reader,
            StateMachine stateMachine, NodeLiveness liveness, ReplicaSet replicas, LogRounds rounds,
            ClientRequests requests, SnapshotShipping shipping) {
        this.nodeId = nodeId;
        this.workerId = workerId;
        this.config = config;
        this.wal = wal;
        this.reader = reader;
        this.stateMachine = stateMachine;
        this.liveness = liveness;
        this.replicas = replicas;
        this.rounds = rounds;
        this.requests = requests;
        this.shipping = shipping;
    }

    void attach(LogMaintenance maintenance) {
        this.maintenance = maintenance;
    }

    Iterable<WalGroupIndex> creating() {
        return creating.values();
    }

    WalGroupIndex creatingIndex(long groupId) {
        return creating.isEmpty() ? null : creating.get(groupId);
    }

    /**
     * Hosts a replica of {@code groupId}. If the log has none and {@code voters} is not empty, the
     * group is bootstrapped with them first. Refusals (removed before, worker full) are logged. With
     * {@code campaign}, the replica campaigns as soon as it runs.
     */
    void create(long groupId, long[] voters, boolean campaign, boolean rejoin) {
        if (replicas.hosts(groupId) || creating.containsKey(groupId)) {
            return;
        }
        if (rejoin && voters.length == 0 && replicas.removing.containsKey(groupId)) {
            // Its removal is on its way to the log: the new replica follows once it is durable.
            rejoinAfterRemoval.add(groupId);
            return;
        }
        if (rejoin && voters.length == 0 && replicas.tombstones.contains(groupId) && shipping.enabled()
                && replicas.size() + creating.size() < config.maxGroupsPerWorker()) {
            // Only with snapshots: the new replica must start from a snapshot taken after it was
            // added, never replay the group's log from its first entry, in which this node may be a
            // voter again (the replica that was here once) and would vote where it voted before.
            revive(groupId);
            return;
        }
        if (replicas.tombstoned(groupId)) {
            // Removed in this incarnation, or recovered removed: a new replica would follow the tombstone in the log.
            warnTombstoned(groupId);
            return;
        }
        if (replicas.size() + creating.size() >= config.maxGroupsPerWorker()) {
            LOG.log(System.Logger.Level.ERROR, "node " + nodeId + ": not creating group " + groupId + ": worker " + workerId
                    + " already hosts the maximum of " + config.maxGroupsPerWorker() + " groups (maxGroupsPerWorker)");
            return;
        }
        WalGroupIndex index = replicas.recovered.remove(groupId);
        if (index == null) {
            index = wal.takeIndex(groupId);
        }
        if (index.removed()) {
            // Its replica here was removed; hosting it again could resurrect a member the group dropped.
            replicas.tombstones.add(groupId, index.oldestLiveSegment());
            warnTombstoned(groupId);
            return;
        }
        if (voters.length > 0 && index.lastIndex() == 0 && index.hardState().equals(HardState.EMPTY)) {
            creating.put(groupId, index);
            WalGroupIndex bootstrapped = index;
            rounds.addLeading(bootstrapRecords(groupId, voters), () -> started(bootstrapped, campaign));
            return;
        }
        start(index, voters.length == 0);
        if (campaign) {
            campaign(groupId);
        }
    }

    /** Makes the replica campaign now, if this worker hosts it. */
    void campaign(long groupId) {
        Replica r = replicas.get(groupId);
        if (r != null) {
            replicas.wake(r);
            r.node.campaign();
            replicas.markDirty(r);
        }
    }

    private void warnTombstoned(long groupId) {
        LOG.log(System.Logger.Level.WARNING, "node " + nodeId + ": not creating group " + groupId
                + ": its replica on this node was removed (tombstoned in the log)");
    }

    /**
     * A new group's initial membership is a run of committed ADD_VOTER entries at the start of its
     * log, identical on every initial member (as etcd bootstraps), durable before the group starts,
     * so a restart rebuilds it from the log alone.
     */
    private static List<WalRecord> bootstrapRecords(long groupId, long[] voters) {
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < voters.length; i++) {
            entries.add(new Entry(1, i + 1, EntryType.CONF_CHANGE, new ConfChange(ConfChangeType.ADD_VOTER, voters[i]).encode()));
        }
        return List.of(new WalRecord.Entries(groupId, entries),
                new WalRecord.HardStateUpdate(groupId, new HardState(1, 0, voters.length)));
    }

    /**
     * A replica this node removed comes back as an empty one that joins the group: a REVIVE record
     * goes first, and the replica starts once it is durable (see {@link WalRecord.Revive}). The
     * state machine dropped the group's state when the tombstone became durable, so the new replica
     * asks its leader for a snapshot like any joining one. The tombstone set forgets the group now,
     * so that no tombstone set written after the REVIVE lists it.
     */
    private void revive(long groupId) {
        LOG.log(System.Logger.Level.INFO, "node " + nodeId + ": hosting group " + groupId + " again (its replica here"
                + " was removed before): it joins empty and catches up by snapshot");
        replicas.tombstones.revive(groupId);
        WalGroupIndex index = wal.revivedIndex(groupId);
        creating.put(groupId, index);
        rounds.addLeading(List.of(new WalRecord.Revive(groupId)), () -> started(index, false, true));
    }

    /** The bootstrap is durable (its records are in the index): the replica starts. */
    private void started(WalGroupIndex index, boolean campaign) {
        started(index, campaign, false);
    }

    /** The bootstrap or revival ({@code joins}) is durable: the replica starts. */
    private void started(WalGroupIndex index, boolean campaign, boolean joins) {
        creating.remove(index.groupId());
        start(index, joins);
        if (campaign) {
            campaign(index.groupId());
        }
        if (destroyAfterCreate.remove(index.groupId())) {
            destroy(index.groupId());
        }
    }

    /**
     * Starts the replica from its log. One that {@code joins} a group with nothing (no log, no state)
     * asks its leader for a snapshot instead of replaying the group's log from its first entry: one
     * image instead of every entry ever written, and a state machine may hold state (a range's
     * descriptor) that only a snapshot carries. Without a snapshot channel no log is ever compacted,
     * and the replica replays the log from its first entry.
     */
    private void start(WalGroupIndex index, boolean joins) {
        long groupId = index.groupId();
        boolean empty = joins && shipping.enabled() && index.lastIndex() == 0 && index.snapshotIndex() == 0 && stateMachine.appliedIndex(groupId) == 0;
        // The log starts after its compaction point: the state machine must hold at least that much,
        // from its own store or from the image kept for the log's snapshot mark. An install writes
        // its compaction before its mark, so a torn write can keep the compaction and lose the mark:
        // then no kept image covers the compacted entries either.
        long floor = Math.max(index.snapshotIndex(), index.compactedIndex());
        boolean lagging = empty || floor > stateMachine.appliedIndex(groupId)
                && (index.snapshotIndex() < floor || !restoreRetainedImage(index));
        if (lagging && index.snapshotIndex() < floor) {
            LOG.log(System.Logger.Level.WARNING, "node " + nodeId + ": group " + groupId + ": its log is compacted to"
                    + " index " + floor + " with no snapshot mark there (a crash tore the write that installed a"
                    + " snapshot) and its state machine holds only index " + stateMachine.appliedIndex(groupId)
                    + "; the replica asks its leader for a snapshot and serves nothing until it installed one");
        }
        WalGroupStorage storage = new WalGroupStorage(index, reader, shipping.source);
        // A lagging state machine holds less than the log's start: the core starts from there and
        // hands out nothing to apply until a leader's snapshot replaced the state machine's state.
        long applied = lagging ? floor : stateMachine.appliedIndex(groupId);
        RaftConfig rc = config.raftConfig(nodeId, groupId).withApplied(applied);
        RaftNode node = new RaftNode(rc, storage);
        if (lagging) {
            node.requestSnapshot();
        }
        if (index.revivedWithoutSnapshot()) {
            node.withholdVotesUntilSnapshot();
        }
        Replica r = new Replica(groupId, node, storage);
        r.lastConfChangeIndex = Math.max(applied, index.snapshotIndex());
        // Every entry in the log may have reached followers in an earlier life of this replica.
        r.handedIndex = index.lastIndex();
        r.retainedImageIndex = !lagging && index.snapshotIndex() > stateMachine.durableIndex(groupId) ? index.snapshotIndex() : 0;
        if (r.retainedImageIndex > 0) {
            maintenance.addCandidate(r);
        }
        replicas.add(r);
    }

    /**
     * The log's snapshot mark is past what the state machine has applied: restore the image kept
     * for that snapshot. If it is missing or does not restore, this replica cannot rebuild its state
     * from its own node: it returns false, and the replica starts waiting for a snapshot from its
     * leader ({@link RaftNode#requestSnapshot()}), with a warning saying so.
     */
    private boolean restoreRetainedImage(WalGroupIndex index) {
        try {
            shipping.restoreRetainedImage(index);
            return true;
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "node " + nodeId + ": group " + index.groupId() + ": its log is"
                    + " compacted to index " + index.snapshotIndex() + " but its state machine holds only index "
                    + stateMachine.appliedIndex(index.groupId()) + " and the snapshot image could not be restored;"
                    + " the replica asks its leader for a snapshot and serves nothing until it installed one", e);
            return false;
        }
    }

    /**
     * Removes the replica of {@code groupId} for good: a hosted one, one whose bootstrap is on its
     * way (as soon as it is durable), or one the log recovered that the owner has not created again
     * (its records would otherwise hold log segments for ever). For a group tombstoned already, the
     * state machine drops the group's state again ({@link StateMachine#destroy} is idempotent): the
     * state may have come back without the replica — a replica that replays a split after a restart
     * (its state machine had not made the split durable) makes the new range's state again, and the
     * new range's group, tombstoned here, is not created — and would otherwise stay until a restart.
     */
    void destroy(long groupId) {
        Replica r = replicas.get(groupId);
        if (r != null) {
            destroy(r);
        } else if (creating.containsKey(groupId)) {
            destroyAfterCreate.add(groupId);
        } else if (replicas.recovered.containsKey(groupId)) {
            replicas.removing.put(groupId, replicas.recovered.remove(groupId));
            rounds.addLeading(List.of(new WalRecord.Tombstone(groupId)), () -> tombstoneDurable(groupId));
        } else if (replicas.tombstones.contains(groupId)) {
            dropState(groupId);
        }
    }

    /** Removes a replica for good: see the class comment for the order. */
    void destroy(Replica r) {
        boolean wasLeader = r.leading || r.node.role() == Role.LEADER;
        replicas.remove(r);
        maintenance.forget(r);
        if (wasLeader) {
            // Its followers may be asleep, trusting this node's heartbeat: tell them it no longer leads.
            liveness.resigned(r.groupId);
        }
        requests.abandon(r);
        shipping.releaseAll(r);
        // Its records stay live for purge until the tombstone is durable; then only its id remains.
        replicas.removing.put(r.groupId, r.index);
        long groupId = r.groupId;
        rounds.addLeading(List.of(new WalRecord.Tombstone(groupId)), () -> tombstoneDurable(groupId));
    }

    /**
     * The tombstone is durable (the round applied it to {@link ReplicaSet#tombstones}): the index
     * goes, the state machine drops the group, and received images go.
     */
    private void tombstoneDurable(long groupId) {
        replicas.removing.remove(groupId);
        dropState(groupId);
        if (rejoinAfterRemoval.remove(groupId)) {
            create(groupId, new long[0], false, true);
        }
    }

    private void dropState(long groupId) {
        stateMachine.destroy(groupId);
        shipping.deleteReceived(groupId);
    }

    /**
     * At startup, before any round: the state of every group tombstoned in the log is dropped
     * (again). A crash between a tombstone and the state machine's drop would otherwise leak the
     * group's state for ever. {@link StateMachine#destroy} is idempotent. Its resignation is
     * announced again too: the announcement before the restart may have been lost with it.
     */
    void redoDestroys() {
        replicas.tombstones.forEach((groupId, segment) -> {
            dropState(groupId);
            // This replica may have led the group when the node went down, and its followers may
            // sleep trusting this node's heartbeat: tell them again that it leads no more.
            liveness.resigned(groupId);
        });
    }

    /** The node stops: every replica answers what it still owes. */
    void abandonAll() {
        for (Replica r : replicas.all()) {
            requests.abandon(r);
        }
        requests.failPendingReads();
    }
}

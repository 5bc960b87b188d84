package io.flotilla.multiraft;

import io.flotilla.raft.Entry;
import io.flotilla.raft.Role;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalBatch;
import io.flotilla.wal.WalGroupIndex;
import io.flotilla.wal.WalRecord;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.LongPredicate;
import org.agrona.collections.Long2LongHashMap;

/**
 * Keeps a worker's share of the shared log small: compaction of each group's log down to what the
 * state machine made durable, and (with compaction only: without it every entry stays live and
 * nothing could go) the log sweep, which publishes the oldest segment the worker's groups still
 * need to the node's {@link LogPurgeTracker} (worker 0 deletes the segments below every worker's)
 * and rewrites forward the live records of groups that hold old segments back (an idle group's old
 * entries; the worker's tombstones, collapsed into one set). Its records go to the front of the
 * next log round. Owned by the worker thread.
 */
final class LogMaintenance {
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
    /** A snapshot in flight holds a leader's compaction back by at most this many times {@code logRetainEntries}. */
    static final long MAX_SNAPSHOT_HOLD_RETAINS = 64;
    private static final System.Logger LOG = System.getLogger(LogMaintenance.class.getName());
    private static final Comparator<WalGroupIndex> BY_OLDEST_LIVE_SEGMENT =
            Comparator.comparingLong(WalGroupIndex::oldestLiveSegment);

    private final long nodeId;
    private final int workerId;
    private final MultiRaftConfig config;
    private final Wal wal;
    private final int maxRecordBytes;
    private final StateMachine stateMachine;
    private final ReplicaSet replicas;
    private final SnapshotShipping shipping;
    private final LogRounds rounds;
    private final LogPurgeTracker purges;
    private final WorkerStats stats;

    private final ArrayList<Replica> candidates = new ArrayList<>();
    /** Lagging groups found by a log sweep (reused). */
    private final ArrayList<WalGroupIndex> lagging = new ArrayList<>();
    /** A rewrite forward is queued or in flight: the next one waits until it is durable. */
    private boolean rewriteInFlight;
    private final Runnable rewriteDurable = () -> rewriteInFlight = false;
    /** Sum of {@link Replica#rewrittenBytes} over this worker's groups, and of its latest tombstone set. */
    private long rewrittenLiveBytes;
    /** Bytes of the latest tombstone set generation this worker wrote. */
    private long tombstoneSetBytes;
    private long passes;
    /** Group ids that belong to this worker (the snapshot channel's sweep decides only for those). */
    private final LongPredicate ownedHere;
    private final ReplicaLifecycle lifecycle;

    LogMaintenance(long nodeId, int workerId, MultiRaftConfig config, Wal wal, StateMachine stateMachine,
            ReplicaSet replicas, SnapshotShipping shipping, LogRounds rounds, LogPurgeTracker purges, WorkerStats stats,
            ReplicaLifecycle lifecycle, LongPredicate ownedHere) {
        this.lifecycle = lifecycle;
        this.ownedHere = ownedHere;
        this.nodeId = nodeId;
        this.workerId = workerId;
        this.config = config;
        this.wal = wal;
        this.maxRecordBytes = wal.config().maxRecordBytes();
        this.stateMachine = stateMachine;
        this.replicas = replicas;
        this.shipping = shipping;
        this.rounds = rounds;
        this.purges = purges;
        this.stats = stats;
    }

    /** Once per election timeout: the log sweep (every few passes), then compaction. */
    void pass() {
        // The sweep first: a rewrite built now must not see a compaction queued but not applied.
        if (shipping.enabled() && ++passes % COMPACTIONS_PER_LOG_SWEEP == 0) {
            sweep();
        }
        compactCandidates();
    }

    void addCandidate(Replica r) {
        if (!r.compactionCandidate) {
            r.compactionCandidate = true;
            candidates.add(r);
        }
    }

    /** A Ready was applied: the group becomes a candidate once it holds enough compactable entries. */
    void noteApplied(Replica r) {
        if (shipping.enabled() && !r.compactionCandidate
                && r.node.appliedIndex() - Math.max(r.index.compactedIndex(), r.compactingTo) > 2L * config.logRetainEntries()) {
            addCandidate(r);
        }
    }

    /** The replica goes away: its rewritten share no longer counts and its queued records are dropped. */
    void forget(Replica r) {
        rounds.dropLeading(r.groupId);
        rewrittenLiveBytes -= r.rewrittenBytes;
    }

    private void compactCandidates() {
        int kept = 0;
        for (int i = 0; i < candidates.size(); i++) {
            Replica r = candidates.get(i);
            if (r.destroyed || compact(r)) {
                r.compactionCandidate = false;
                continue;
            }
            candidates.set(kept++, r);
        }
        ReplicaSet.truncate(candidates, kept);
    }

    /**
     * The highest index a leader's log may compact to while it sends followers snapshots: each such
     * follower, once it installed its snapshot, goes on from the entry after the snapshot's index, so
     * compacting past it makes the follower need another snapshot of the whole range (a 128 MiB
     * range's took longer to ship and install than 1,000 entries took to arrive at 1,000 writes/s,
     * so moves sent two or three). A hold ends when the follower's match reaches it, when its
     * transfer fails (SnapshotShipping), when this replica no longer leads, or once the log holds
     * {@link #MAX_SNAPSHOT_HOLD_RETAINS} times {@code retain} entries past it, so a follower that
     * never answers cannot keep the log growing.
     */
    private static long snapshotHoldLimit(Replica r, long durable, long retain) {
        if (r.snapshotHolds == null || r.snapshotHolds.isEmpty()) {
            return Long.MAX_VALUE;
        }
        long limit = Long.MAX_VALUE;
        boolean leading = r.node.role() == Role.LEADER;
        Long2LongHashMap.KeyIterator peers = r.snapshotHolds.keySet().iterator();
        while (peers.hasNext()) {
            long peer = peers.nextValue();
            long index = r.snapshotHolds.get(peer);
            if (!leading || r.node.matchIndex(peer) >= index || durable - index > MAX_SNAPSHOT_HOLD_RETAINS * retain) {
                peers.remove();
            } else {
                limit = Math.min(limit, index);
            }
        }
        return limit;
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
            shipping.dropRetainedImage(r);
        }
        long floor = Math.max(r.index.compactedIndex(), r.compactingTo);
        long retain = config.logRetainEntries();
        // A snapshot install in flight compacts past anything we would pick now: try at the next pass.
        boolean installing = r.outstanding != null && r.outstanding.snapshot() != null;
        if (durable - floor > 2 * retain && !installing) {
            long to = Math.min(durable - retain, snapshotHoldLimit(r, durable, retain));
            if (to > floor && to >= r.lastConfChangeIndex && to <= r.index.lastIndex()) {
                long term = r.index.term(to);
                rounds.addLeading(List.of(new WalRecord.SnapshotMark(r.groupId, to, term, r.node.confState()),
                        new WalRecord.CompactPrefix(r.groupId, to, term)), null);
                r.compactingTo = to;
                stats.compactions++;
            }
        }
        return r.retainedImageIndex == 0 && r.node.appliedIndex() - Math.max(floor, r.compactingTo) <= 2 * retain;
    }

    /**
     * Publishes the oldest log segment this worker still needs and queues rewrites forward of the
     * groups that lag. O(groups), every {@link #COMPACTIONS_PER_LOG_SWEEP} election timeouts.
     *
     * <p>Why a rewrite built here cannot reorder with the group's own records. It copies the group's
     * index as of now, and when it is durable it is applied to the index as if it were the state the
     * group's records had built; that holds only if no record of the group is in flight now and every
     * later one lands after it. In flight: none, because a group with an outstanding Ready, a
     * compaction not yet applied, or (worker-wide) an earlier rewrite not yet durable is skipped, and
     * indexes change only when rounds are applied, never during this sweep. Later: the rewrite goes
     * to the front of the next round's batch, ahead of that round's Readies; the writer keeps one
     * worker's batches in order; and compaction records queued after this sweep follow it in the same
     * batch. A replica destroyed before the batch goes drops its queued records ({@link #forget}).
     */
    private void sweep() {
        long active = wal.activeSegmentSequence();
        long lagSegments = purges.lagSegments(LAG_SEGMENTS, wal.config().segmentBytes());
        boolean mayRewrite = !rewriteInFlight;
        long oldest = rounds.oldestSegmentInFlight(active);
        lagging.clear();
        for (Replica r : replicas.all()) {
            long segment = r.index.oldestLiveSegment();
            oldest = Math.min(oldest, segment);
            if (segment < active - lagSegments && stateMachine.durableIndex(r.groupId) < r.node.appliedIndex()) {
                // Its log cannot compact past what the state machine holds durably: ask for that to move.
                stateMachine.requestDurable(r.groupId);
            }
            if (mayRewrite && segment < active - lagSegments && r.outstanding == null
                    && r.compactingTo <= r.index.compactedIndex() && r.rewriteRefusedAtFirstIndex != r.index.firstIndex()) {
                lagging.add(r.index);
            }
        }
        // A removed replica whose tombstone is not durable yet: a crash now would recover its
        // records, so they stay live; nothing rewrites them (the tombstone makes them dead soon).
        for (WalGroupIndex removing : replicas.removing.values()) {
            oldest = Math.min(oldest, removing.oldestLiveSegment());
        }
        long tombstoneSegment = replicas.tombstones.oldestLiveSegment();
        oldest = Math.min(oldest, tombstoneSegment);
        boolean rewriteTombstones = mayRewrite && tombstoneSegment < active - lagSegments;
        // Not hosted (yet): they hold the log back until the owner creates them; nothing here may read them.
        for (WalGroupIndex index : replicas.recovered.values()) {
            oldest = Math.min(oldest, index.oldestLiveSegment());
        }
        purges.publish(workerId, oldest, rewrittenLiveBytes);
        shipping.retainNeeded(ownedHere, replicas.recovered.values(), lifecycle.creating());
        long sweepBytes = rewriteTombstones ? rewriteTombstones() : 0;
        if (!lagging.isEmpty()) {
            rewriteLagging(sweepBytes);
        }
        if (workerId == 0) {
            // Deleting a few files and one directory fsync, only when the oldest live segment moved.
            purges.purge(wal);
        }
    }

    /**
     * Some tombstone holds an old segment back: instead of rewriting tombstones forward one by one
     * (one record per removed replica, every sweep that finds them lagging, for ever), one set
     * generation listing every group this worker tombstoned — usually one record, a few bytes a
     * group — supersedes all their older copies once durable ({@link WalTombstones}). Never
     * refused for the sweep's byte budget: until it is written the old segments cannot go. Returns
     * the bytes queued.
     */
    private long rewriteTombstones() {
        List<WalRecord> records = replicas.tombstones.setRecords(maxRecordBytes);
        long bytes = 0;
        for (int k = 0; k < records.size(); k++) {
            bytes += WalBatch.recordBytes(records.get(k));
        }
        rewrittenLiveBytes += bytes - tombstoneSetBytes;
        tombstoneSetBytes = bytes;
        rewriteInFlight = true;
        rounds.addLeading(records, rewriteDurable);
        stats.recordsRewritten += records.size();
        stats.bytesRewritten += bytes;
        stats.tombstoneSetsWritten++;
        return bytes;
    }

    /**
     * Queues rewrites of the lagging groups, oldest first (they hold back the most), up to the
     * sweep's byte budget, of which {@code sweepBytes} are taken already.
     */
    private void rewriteLagging(long sweepBytes) {
        lagging.sort(BY_OLDEST_LIVE_SEGMENT);
        for (int i = 0; i < lagging.size() && sweepBytes < MAX_REWRITE_BYTES_PER_SWEEP; i++) {
            WalGroupIndex index = lagging.get(i);
            Replica r = replicas.get(index.groupId());
            if (!fitsRewriteBudget(r)) {
                r.rewriteRefusedAtFirstIndex = index.firstIndex();
                LOG.log(System.Logger.Level.WARNING, "node " + nodeId + ": group " + r.groupId + " holds more than "
                        + MAX_REWRITE_BYTES_PER_SWEEP + " bytes of live log; it is not rewritten forward and keeps log"
                        + " segments from " + index.oldestLiveSegment() + " on until it compacts");
                continue;
            }
            List<WalRecord> records = Wal.rewriteForward(index, r.storage, maxRecordBytes);
            if (records.isEmpty()) {
                continue;
            }
            long bytes = 0;
            for (int k = 0; k < records.size(); k++) {
                bytes += WalBatch.recordBytes(records.get(k));
            }
            rewrittenLiveBytes += bytes - r.rewrittenBytes;
            r.rewrittenBytes = bytes;
            rewriteInFlight = true;
            rounds.addLeading(records, rewriteDurable);
            sweepBytes += bytes;
            stats.recordsRewritten += records.size();
            stats.bytesRewritten += bytes;
        }
    }

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
}

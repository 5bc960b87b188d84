package io.flotilla.wal;

import io.flotilla.raft.Check;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.LongHashSet;

/**
 * Groups whose replicas on this node were removed (tombstoned), and where the newest durable copy
 * of each tombstone is in the log, so that purge keeps it. A primitive set of ids, not an index per
 * dead group: 12 to 25 bytes a group (an open-addressing set of longs), plus 25 to 50 for each
 * tombstone a set does not cover yet.
 *
 * <p>Collapsing. A tombstone that holds an old segment back is not rewritten forward on its own;
 * the owner writes {@link #setRecords} instead: TOMBSTONE_SET records listing every group it has
 * tombstoned, which stand for all of them. Cost per sweep: one record (a few bytes a group), not
 * one per tombstone; recovery keeps this set, not an index per group.
 *
 * <p>Why purge never drops the only copy of a tombstone. Recovery takes the union of every
 * TOMBSTONE and TOMBSTONE_SET record in the log (tombstones are never revoked, so an older or
 * partial set is never wrong, only redundant). Each group's newest copy is either its own
 * TOMBSTONE (the group is then "uncovered", with that segment) or the latest set generation this
 * owner wrote, which lists every group tombstoned (durably) when it was built. So
 * {@link #oldestLiveSegment} — the oldest of the uncovered groups' segments and the latest
 * generation's first segment — bounds every group's newest copy from below; the owner publishes it
 * to purge like a group's oldest live segment. Older generations and the individual tombstones a
 * generation covers are dead once that generation is durable.
 *
 * <p>Threads: built by the recovering thread and handed to the node's thread, which splits it among
 * the workers ({@link #forEach}); each worker then owns its own instance alone. Not thread-safe.
 */
public final class WalTombstones {
    /** {@link #setRecords} chunks are at most this big, whatever the log allows. */
    static final int MAX_SET_RECORD_BYTES = 1 << 20;

    /** Every tombstoned group. */
    private final LongHashSet groups = new LongHashSet();
    /** Groups whose newest durable copy is their own TOMBSTONE (or a copy recovery found), by group: its segment. */
    private final Long2LongHashMap uncovered = new Long2LongHashMap(0);
    /** Revived groups a set generation in flight lists: its durable application must not tombstone them again. */
    private final LongHashSet reviving = new LongHashSet();
    /** First segment of the latest durable set generation (0: none since this instance was made). */
    private long setSegment;
    /** Records of the set generation in flight, and how many of them were applied so far. */
    private int setChunksBuilt;
    private int setChunksApplied;
    /** First segment of the generation being applied. */
    private long pendingSetSegment;

    public boolean contains(long groupId) {
        return groups.contains(groupId);
    }

    public int size() {
        return groups.size();
    }

    public boolean isEmpty() {
        return groups.isEmpty();
    }

    /**
     * {@code groupId}'s replica is hosted again (a REVIVE record): it is no longer tombstoned. The
     * owner calls this as it submits the REVIVE record, so no set generation built after lists the
     * group (such a set would land after the REVIVE and kill the new replica at recovery); a
     * generation already in flight may list it and lands before the REVIVE, so its durable
     * application leaves the group out ({@link #applySet}) until the REVIVE is durable
     * ({@link #revived}). Recovery calls it at the REVIVE record.
     */
    public void revive(long groupId) {
        groups.remove(groupId);
        uncovered.remove(groupId);
        if (setInFlight()) {
            reviving.add(groupId);
        }
    }

    /** The REVIVE record of {@code groupId} is durable. */
    public void revived(long groupId) {
        reviving.remove(groupId);
    }

    /** Groups whose newest tombstone copy is an individual record (for tests and statistics). */
    public int uncoveredCount() {
        return uncovered.size();
    }

    /**
     * A durable TOMBSTONE of {@code groupId} at {@code segmentSequence}, or (recovery, adoption) the
     * segment of the newest copy recovery found. A later copy replaces an earlier one.
     */
    public void add(long groupId, long segmentSequence) {
        Check.argument(groupId >= 1 && segmentSequence >= 1, "tombstone of group %d at segment %d", groupId,
                segmentSequence);
        groups.add(groupId);
        long known = uncovered.get(groupId);
        if (known == 0 || known < segmentSequence) {
            uncovered.put(groupId, segmentSequence);
        }
    }

    /**
     * One durable record of the set generation built here ({@link #setRecords}), at
     * {@code segmentSequence}: its groups' newest copy is now the generation. A set this instance
     * did not build (recovery reads every owner's) counts as a newer copy of each group it lists,
     * exactly like one {@link #add} per group.
     */
    public void applySet(WalRecord.TombstoneSet set, long segmentSequence) {
        if (!setInFlight()) {
            for (long groupId : set.groupIds()) {
                add(groupId, segmentSequence);
            }
            return;
        }
        if (setChunksApplied == 0) {
            pendingSetSegment = segmentSequence;
        }
        for (long groupId : set.groupIds()) {
            if (!reviving.contains(groupId)) {
                groups.add(groupId);
                uncovered.remove(groupId);
            }
        }
        setChunksApplied++;
        if (setChunksApplied == setChunksBuilt) {
            // The whole generation is durable (one batch, applied in one go): older copies are dead.
            setSegment = pendingSetSegment;
            setChunksApplied = 0;
            setChunksBuilt = 0;
        }
    }

    /**
     * The oldest segment holding a tombstone copy that is still the newest for its group;
     * {@link Long#MAX_VALUE} if there is none. O(uncovered groups), which a set generation empties.
     */
    public long oldestLiveSegment() {
        long oldest = setSegment > 0 ? setSegment : Long.MAX_VALUE;
        for (Long2LongHashMap.ValueIterator it = uncovered.values().iterator(); it.hasNext(); ) {
            oldest = Math.min(oldest, it.nextValue());
        }
        return oldest;
    }

    /** True while a set generation built by {@link #setRecords} is not durable yet. */
    public boolean setInFlight() {
        return setChunksBuilt > 0;
    }

    /**
     * A new set generation: TOMBSTONE_SET records listing every group tombstoned here, ascending,
     * each at most {@code maxRecordBytes} (and 1 MiB); empty if there is nothing to list. Submit
     * them as one batch, in order, and apply it ({@link Wal#applyDurable(WalBatch, java.util.function.LongFunction, WalTombstones)})
     * when it is durable; only one generation may be in flight.
     */
    public List<WalRecord> setRecords(int maxRecordBytes) {
        Check.state(!setInFlight(), "a tombstone set of %d records is still on its way to the log", setChunksBuilt);
        if (groups.isEmpty()) {
            return List.of();
        }
        long[] ids = sortedGroups();
        long limit = Math.min(maxRecordBytes, MAX_SET_RECORD_BYTES);
        List<WalRecord> records = new ArrayList<>();
        int from = 0;
        long bytes = WalRecordFormat.HEADER_BYTES + WalRecordFormat.TOMBSTONE_SET_PREFIX_BYTES;
        for (int i = 0; i < ids.length; i++) {
            int idBytes = WalRecordEncoder.varintBytes(ids[i] - (i == from ? 0 : ids[i - 1]));
            if (i > from && WalRecordFormat.align(bytes + idBytes) > limit) {
                records.add(new WalRecord.TombstoneSet(Arrays.copyOfRange(ids, from, i)));
                from = i;
                bytes = WalRecordFormat.HEADER_BYTES + WalRecordFormat.TOMBSTONE_SET_PREFIX_BYTES;
                idBytes = WalRecordEncoder.varintBytes(ids[i]);
            }
            bytes += idBytes;
        }
        records.add(new WalRecord.TombstoneSet(Arrays.copyOfRange(ids, from, ids.length)));
        setChunksBuilt = records.size();
        setChunksApplied = 0;
        return records;
    }

    /** The segment of the newest copy of {@code groupId}'s tombstone, or 0 if it is not tombstoned. */
    public long newestSegment(long groupId) {
        if (!groups.contains(groupId)) {
            return 0;
        }
        long segment = uncovered.get(groupId);
        return segment != 0 ? segment : setSegment;
    }

    /** Every tombstoned group, ascending. */
    public long[] sortedGroups() {
        long[] ids = new long[groups.size()];
        int n = 0;
        for (LongHashSet.LongIterator it = groups.iterator(); it.hasNext(); ) {
            ids[n++] = it.nextValue();
        }
        Arrays.sort(ids);
        return ids;
    }

    /** Receives each tombstoned group with the segment of its newest copy. */
    @FunctionalInterface
    public interface Visitor {
        void visit(long groupId, long segmentSequence);
    }

    /**
     * Each group with the segment of its newest copy (the latest generation's first segment for the
     * groups it covers): how the node hands recovered tombstones to the workers that own them.
     */
    public void forEach(Visitor visitor) {
        for (LongHashSet.LongIterator it = groups.iterator(); it.hasNext(); ) {
            long groupId = it.nextValue();
            visitor.visit(groupId, newestSegment(groupId));
        }
    }
}

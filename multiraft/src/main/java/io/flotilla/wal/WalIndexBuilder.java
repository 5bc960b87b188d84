package io.flotilla.wal;

import io.flotilla.raft.Check;
import io.flotilla.raft.Entry;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Rebuilds every group's {@link WalGroupIndex} from one {@link WalRecoveryScanner} pass: pass it as
 * the scanner's visitor; each group's index appears with its first record and takes its records in
 * log order, so after a restart every index is exactly what the live log had built. Owned by the
 * recovering thread; once the scan returns, the indexes are handed to the groups' workers.
 *
 * <p>Tombstones. A tombstoned group keeps no index: its TOMBSTONE, or a TOMBSTONE_SET listing it,
 * drops whatever index its earlier records built, and the group joins {@link #tombstones()} with the
 * segment of its newest copy. Recovery takes the union of every tombstone and set it reads (see
 * {@link WalTombstones}), up to a REVIVE record of the group, which takes it out again and starts
 * an empty index; any other record of a group after its tombstone is refused.
 *
 * <p>The map boxes its group-id keys ({@link HashMap}): acceptable for a one-off rebuild, to be
 * replaced by a primitive long-keyed map (Agrona's {@code Long2ObjectHashMap}) with the runtime.
 */
public final class WalIndexBuilder implements WalRecordVisitor {
    private final WalCacheConfig cacheConfig;
    private final WalCacheBudget budget;
    private final Map<Long, WalGroupIndex> indexes = new HashMap<>();
    private final WalTombstones tombstones = new WalTombstones();

    public WalIndexBuilder(WalCacheConfig cacheConfig) {
        this(cacheConfig, WalCacheBudget.UNLIMITED);
    }

    public WalIndexBuilder(WalCacheConfig cacheConfig, WalCacheBudget budget) {
        this.cacheConfig = cacheConfig;
        this.budget = budget;
    }

    @Override
    public void onRecord(WalRecord record, long segmentSequence, long offsetBytes) {
        if (record instanceof WalRecord.TombstoneSet set) {
            for (long groupId : set.groupIds()) {
                dropIndex(groupId, segmentSequence, offsetBytes);
            }
            tombstones.applySet(set, segmentSequence);
            return;
        }
        if (record.type() == WalRecordType.REVIVE) {
            // Everything of the group before this record is dead; what follows is a new replica's.
            // Its tombstone may be gone: purged with every segment up to it, and so with every
            // record of the old replica, which all come before it.
            dropIndex(record.groupId(), segmentSequence, offsetBytes);
            tombstones.revive(record.groupId());
            indexes.put(record.groupId(), new WalGroupIndex(record.groupId(), cacheConfig, budget));
            return;
        }
        if (tombstones.contains(record.groupId())) {
            Check.state(record.type() == WalRecordType.TOMBSTONE, "group %d: a %s record after its tombstone",
                    record.groupId(), record.type());
            tombstones.add(record.groupId(), segmentSequence);
            return;
        }
        if (record.type() == WalRecordType.TOMBSTONE) {
            dropIndex(record.groupId(), segmentSequence, offsetBytes);
            tombstones.add(record.groupId(), segmentSequence);
            return;
        }
        WalGroupIndex index = indexes.get(record.groupId());
        if (index == null) {
            index = new WalGroupIndex(record.groupId(), cacheConfig, budget);
            indexes.put(record.groupId(), index);
        }
        if (record instanceof WalRecord.Entries e && repeatsInsideTheLog(index, e.entries())) {
            // The same entries again, ending before the log does: the first records of a rewrite
            // forward whose later records a crash tore off (a batch is not atomic on disk; only
            // the runtime's view of it is). Applied, they would cut the log after them, which the
            // lost rest of the rewrite would have restored: committed entries gone (found by the
            // runtime simulation, seed 1902). Raft appends never look like this: the core appends
            // only entries it lacks or whose term conflicts.
            return;
        }
        if (record instanceof WalRecord.Entries e && e.entries().get(0).index() > index.lastIndex() + 1) {
            // The group's older records were purged (see WalGroupIndex#anchorBefore). Not only when
            // this is the group's first record: a stale hard state, snapshot mark or compaction
            // point written just before its first live entry survives the purge too, and so do dead
            // copies of older entries in segments other groups kept: the live log is one run of
            // entries, so whatever lies before a purged gap is dead (found by the runtime
            // simulation, seed 3800).
            index.anchorBefore(e.entries().get(0).index());
        }
        index.apply(record, segmentSequence, offsetBytes);
    }

    /** The group was tombstoned: its index, if it has one, is dead (its cache returns to the budget). */
    private void dropIndex(long groupId, long segmentSequence, long offsetBytes) {
        WalGroupIndex index = indexes.remove(groupId);
        if (index != null) {
            index.apply(new WalRecord.Tombstone(groupId), segmentSequence, offsetBytes);
        }
    }

    /** True if every entry is already in the log with the same term and the log goes on after the last. */
    private static boolean repeatsInsideTheLog(WalGroupIndex index, List<Entry> entries) {
        long first = entries.get(0).index();
        long last = entries.get(entries.size() - 1).index();
        if (first < index.firstIndex() || last >= index.lastIndex()) {
            return false;
        }
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            if (index.term(e.index()) != e.term()) {
                return false;
            }
        }
        return true;
    }

    /** Every group tombstoned in the log, with the segment of its newest copy. */
    public WalTombstones tombstones() {
        return tombstones;
    }

    /** The index of {@code groupId}, or null if the log holds no record of it or it is tombstoned. */
    public WalGroupIndex index(long groupId) {
        return indexes.get(groupId);
    }

    /** Every group seen and not tombstoned, by group id (unmodifiable view). Taking them ends the scan (see {@link WalGroupIndex#finishRecovery}). */
    public Map<Long, WalGroupIndex> indexes() {
        for (WalGroupIndex index : indexes.values()) {
            index.finishRecovery();
        }
        return Collections.unmodifiableMap(indexes);
    }
}

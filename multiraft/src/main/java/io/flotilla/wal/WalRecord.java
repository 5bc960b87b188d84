package io.flotilla.wal;

import io.flotilla.raft.Check;
import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import java.util.Arrays;
import java.util.List;

/**
 * A decoded log record: what recovery hands to whoever rebuilds the per-group state. Immutable;
 * made on the recovering thread.
 */
public sealed interface WalRecord {
    /** The Raft group the record belongs to; 0 for a {@link TombstoneSet}, which belongs to no one group. */
    long groupId();

    WalRecordType type();

    /** Consecutive entries of one group. Invariant: non-empty, {@code entries[i].index == entries[0].index + i}. */
    record Entries(long groupId, List<Entry> entries) implements WalRecord {
        public Entries {
            entries = List.copyOf(entries);
        }

        @Override
        public WalRecordType type() {
            return WalRecordType.ENTRIES;
        }
    }

    /** A group's hard state. */
    record HardStateUpdate(long groupId, HardState hardState) implements WalRecord {
        @Override
        public WalRecordType type() {
            return WalRecordType.HARD_STATE;
        }
    }

    /** The group's entries from {@code firstRemovedIndex} on are gone. */
    record TruncateSuffix(long groupId, long firstRemovedIndex) implements WalRecord {
        @Override
        public WalRecordType type() {
            return WalRecordType.TRUNCATE_SUFFIX;
        }
    }

    /** The group's entries up to and including {@code compactedIndex} (of term {@code compactedTerm}) are no longer needed. */
    record CompactPrefix(long groupId, long compactedIndex, long compactedTerm) implements WalRecord {
        @Override
        public WalRecordType type() {
            return WalRecordType.COMPACT_PREFIX;
        }
    }

    /**
     * The group has a snapshot at {@code index} and {@code term}, where its membership is
     * {@code confState}: so the log alone says who the group's members are after a restart that
     * follows compaction.
     */
    record SnapshotMark(long groupId, long index, long term, ConfState confState) implements WalRecord {
        public SnapshotMark {
            Check.argument(confState != null, "group %d: a snapshot mark needs a membership (ConfState.EMPTY for none)",
                    groupId);
        }

        @Override
        public WalRecordType type() {
            return WalRecordType.SNAPSHOT_MARK;
        }
    }

    /** The group's replica on this node was removed; its earlier records are dead. */
    record Tombstone(long groupId) implements WalRecord {
        @Override
        public WalRecordType type() {
            return WalRecordType.TOMBSTONE;
        }
    }

    /**
     * The group's replica on this node, removed before (tombstoned), is hosted again. Written
     * before any record of the new replica, so in log order every earlier copy of the tombstone
     * and every record of the old replica precede it. Purge deletes segments oldest first, so
     * while this record exists so do all of them that still exist: it pins no segment.
     */
    record Revive(long groupId) implements WalRecord {
        @Override
        public WalRecordType type() {
            return WalRecordType.REVIVE;
        }
    }

    /**
     * The replicas of every group in {@code groupIds} on this node were removed: the record stands
     * for one {@link Tombstone} per listed group. Tombstones are never revoked, so recovery takes
     * the union of every tombstone and tombstone set it reads, and a set needs no predecessor to
     * mean what it says. The runtime writes one (per worker) listing all of its tombstoned groups
     * instead of rewriting their tombstones forward one by one ({@link WalTombstones}).
     *
     * <p>Invariant: {@code groupIds} is not empty, strictly ascending, every id {@code >= 1}. The
     * accessor returns the record's own array (no copy): do not modify it.
     */
    record TombstoneSet(long[] groupIds) implements WalRecord {
        public TombstoneSet {
            Check.argument(groupIds.length > 0, "a tombstone set needs at least one group");
            groupIds = groupIds.clone();
            Check.argument(groupIds[0] >= 1, "a tombstone set lists group ids >= 1, not %d", groupIds[0]);
            for (int i = 1; i < groupIds.length; i++) {
                if (groupIds[i] <= groupIds[i - 1]) { // not Check: its varargs would box on every id
                    throw new IllegalArgumentException(String.format(
                            "a tombstone set lists ascending distinct group ids: %d follows %d at position %d",
                            groupIds[i], groupIds[i - 1], i));
                }
            }
        }

        @Override
        public long groupId() {
            return 0;
        }

        @Override
        public WalRecordType type() {
            return WalRecordType.TOMBSTONE_SET;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof TombstoneSet t && Arrays.equals(groupIds, t.groupIds);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(groupIds);
        }

        @Override
        public String toString() {
            return "TombstoneSet[" + groupIds.length + " groups " + groupIds[0] + ".." + groupIds[groupIds.length - 1] + "]";
        }
    }
}

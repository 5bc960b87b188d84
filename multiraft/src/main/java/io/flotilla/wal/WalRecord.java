package io.flotilla.wal;

import io.flotilla.raft.Check;
import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import java.util.List;

/**
 * A decoded log record: what recovery hands to whoever rebuilds the per-group state. Immutable;
 * made on the recovering thread.
 */
public sealed interface WalRecord {
    /** The Raft group the record belongs to. */
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
}

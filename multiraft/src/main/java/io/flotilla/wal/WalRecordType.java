package io.flotilla.wal;

/** The kinds of log record; {@link #code} is the byte stored in the record header. Immutable. */
public enum WalRecordType {
    /** A group's consecutive entries (term, index, type, payload each). */
    ENTRIES(1),
    /** A group's hard state (term, vote, commit). */
    HARD_STATE(2),
    /** A group removed its entries from an index on (a new leader overwrote them). */
    TRUNCATE_SUFFIX(3),
    /** A group no longer needs its entries up to and including an index (it has a snapshot there). */
    COMPACT_PREFIX(4),
    /** A group installed or took a snapshot at an index and term; carries its membership there. */
    SNAPSHOT_MARK(5),
    /** The group's replica on this node was removed: it must never be recreated from its old records. */
    TOMBSTONE(6),
    /**
     * Several groups' replicas on this node were removed: one record standing for one TOMBSTONE per
     * group it lists, so tombstones need not be rewritten forward one by one (not tied to a group).
     */
    TOMBSTONE_SET(7),
    /**
     * The group's replica on this node, removed before, is hosted again (a move brings the range
     * back): recovery forgets the tombstones before this record, and the group's records after it
     * are a new replica's, which starts empty.
     */
    REVIVE(8);

    public final int code;

    WalRecordType(int code) {
        this.code = code;
    }

    /** The type with this header code, or null if there is none. */
    public static WalRecordType fromCode(int code) {
        return switch (code) {
            case 1 -> ENTRIES;
            case 2 -> HARD_STATE;
            case 3 -> TRUNCATE_SUFFIX;
            case 4 -> COMPACT_PREFIX;
            case 5 -> SNAPSHOT_MARK;
            case 6 -> TOMBSTONE;
            case 7 -> TOMBSTONE_SET;
            case 8 -> REVIVE;
            default -> null;
        };
    }
}

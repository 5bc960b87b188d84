package io.flotilla.wal;

/**
 * The byte layout of a log record, shared by the encoder and the decoder. Stateless constants; any
 * thread.
 *
 * <pre>
 * Every integer is little-endian. A record starts 8-byte aligned and is padded with zeros to a
 * multiple of 8 bytes.
 *
 * header (16 bytes)
 *   0  int32  crc32c      CRC32C of bytes [4, recordBytes): the rest of the header, body and padding
 *   4  int32  bodyBytes   8 <= bodyBytes <= maxRecordBytes - 16; recordBytes = align8(16 + bodyBytes)
 *   8  int8   type        WalRecordType.code (1..7)
 *   9  int8[3] zero
 *  12  int32  prevCrc     crc32c of the record before this one in the log (0 before the first);
 *                         chains records across segments so a lost segment tail is noticed
 * body (starts at 16; every body begins with the group id, 0 in a TOMBSTONE_SET, which has none)
 *   ENTRIES          int64 groupId, int32 entryCount (>= 1), int32 zero,
 *                    then entryCount times: int64 term, int64 index, int32 entryTypeCode,
 *                    int32 payloadBytes, payload; indexes consecutive
 *   HARD_STATE       int64 groupId, int64 term, int64 vote, int64 commit
 *   TRUNCATE_SUFFIX  int64 groupId, int64 firstRemovedIndex
 *   COMPACT_PREFIX   int64 groupId, int64 compactedIndex, int64 compactedTerm
 *   SNAPSHOT_MARK    int64 groupId, int64 index, int64 term, int32 voterCount, int32 learnerCount,
 *                    then voterCount times int64 voter, then learnerCount times int64 learner
 *                    (the membership at the mark, each list sorted; 0 <= voterCount + learnerCount
 *                    <= MAX_SNAPSHOT_MEMBERS; bodyBytes == 32 + 8 * (voterCount + learnerCount),
 *                    a multiple of 8, so the record needs no padding)
 *   TOMBSTONE        int64 groupId
 *   REVIVE           int64 groupId (added within format version 3: a build from before it
 *                    refuses a log holding one as corrupt)
 *   TOMBSTONE_SET    int64 zero, int32 groupCount (>= 1), int32 zero,
 *                    then groupCount unsigned LEB128 varints (7 bits a byte, low bits first, at most
 *                    10 bytes each): the first group id, then each id minus the one before it
 *                    (ids ascending and distinct, each >= 1, so every delta is >= 1);
 *                    bodyBytes == 16 + the varints' bytes; the record is padded with zeros
 *                    (format version 3; a set of n dense ids takes about n to 2n bytes)
 * </pre>
 *
 * A header of 16 zero bytes is never a record (bodyBytes is at least 8): it marks the end of the
 * written part of a zero-filled segment.
 */
public final class WalRecordFormat {
    public static final int HEADER_BYTES = 16;
    public static final int ALIGNMENT_BYTES = 8;
    public static final int MIN_BODY_BYTES = 8;
    /** Bytes of an ENTRIES body before its first entry. */
    public static final int ENTRIES_PREFIX_BYTES = 16;
    /** Bytes of each entry before its payload. */
    public static final int ENTRY_HEADER_BYTES = 24;
    public static final int HARD_STATE_BODY_BYTES = 32;
    public static final int TRUNCATE_SUFFIX_BODY_BYTES = 16;
    public static final int COMPACT_PREFIX_BODY_BYTES = 24;
    /** Bytes of a SNAPSHOT_MARK body before its first member. */
    public static final int SNAPSHOT_MARK_PREFIX_BYTES = 32;
    /** Bytes of each member id in a SNAPSHOT_MARK body. */
    public static final int SNAPSHOT_MEMBER_BYTES = 8;
    /**
     * Most voters plus learners a SNAPSHOT_MARK may carry: far above any real group's membership,
     * and a bound the decoder checks before it allocates the member arrays.
     */
    public static final int MAX_SNAPSHOT_MEMBERS = 1024;
    public static final int TOMBSTONE_BODY_BYTES = 8;
    /** Bytes of a TOMBSTONE_SET body before its first varint. */
    public static final int TOMBSTONE_SET_PREFIX_BYTES = 16;
    /** Most bytes one varint of a TOMBSTONE_SET takes (a 64-bit value in 7-bit groups). */
    public static final int MAX_VARINT_BYTES = 10;
    /** The smallest maxRecordBytes a log may be configured with. */
    public static final int MIN_MAX_RECORD_BYTES = 64;

    static final int OFFSET_CRC = 0;
    static final int OFFSET_BODY_BYTES = 4;
    static final int OFFSET_TYPE = 8;
    static final int OFFSET_PREV_CRC = 12;

    private WalRecordFormat() {
    }

    /** {@code bytes} rounded up to the record alignment. */
    public static long align(long bytes) {
        return (bytes + ALIGNMENT_BYTES - 1) & -ALIGNMENT_BYTES;
    }
}

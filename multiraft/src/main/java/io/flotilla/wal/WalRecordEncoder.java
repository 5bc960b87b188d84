package io.flotilla.wal;

import static io.flotilla.wal.WalRecordFormat.ENTRIES_PREFIX_BYTES;
import static io.flotilla.wal.WalRecordFormat.ENTRY_HEADER_BYTES;
import static io.flotilla.wal.WalRecordFormat.HEADER_BYTES;
import static io.flotilla.wal.WalRecordFormat.MAX_SNAPSHOT_MEMBERS;
import static io.flotilla.wal.WalRecordFormat.SNAPSHOT_MARK_PREFIX_BYTES;
import static io.flotilla.wal.WalRecordFormat.SNAPSHOT_MEMBER_BYTES;

import io.flotilla.raft.Check;
import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Encodes records in place into a caller's reusable little-endian buffer (layout in
 * {@link WalRecordFormat}), allocating nothing. Holds the CRC chain (the last record's CRC), so
 * exactly one encoder serves a log, owned by the log's writer thread.
 */
public final class WalRecordEncoder {
    private final int maxRecordBytes;
    private final CRC32C crc = new CRC32C();
    /** CRC of the last record encoded (or recovered); the next record's prevCrc. */
    private int lastCrc;

    public WalRecordEncoder(int maxRecordBytes) {
        Check.argument(maxRecordBytes >= WalRecordFormat.MIN_MAX_RECORD_BYTES && maxRecordBytes % 8 == 0,
                "maxRecordBytes %d must be a multiple of 8 and at least %d", maxRecordBytes,
                WalRecordFormat.MIN_MAX_RECORD_BYTES);
        this.maxRecordBytes = maxRecordBytes;
    }

    /** Continues the CRC chain after recovery: {@code crc} is the last recovered record's CRC (0 if none). */
    public void continueChainFrom(int crc) {
        lastCrc = crc;
    }

    /** CRC of the last record encoded. */
    public int lastCrc() {
        return lastCrc;
    }

    /** Bytes (aligned) an ENTRIES record for {@code entries} takes; may exceed maxRecordBytes. */
    public static long entriesRecordBytes(List<Entry> entries) {
        long body = ENTRIES_PREFIX_BYTES;
        for (int i = 0; i < entries.size(); i++) {
            body += ENTRY_HEADER_BYTES + entries.get(i).data().length;
        }
        return WalRecordFormat.align(HEADER_BYTES + body);
    }

    /** Largest entry payload that fits one ENTRIES record of at most {@code maxRecordBytes}. */
    public static int maxEntryPayloadBytes(int maxRecordBytes) {
        // Records are 8-byte aligned and maxRecordBytes is a multiple of 8, so padding never matters here.
        return maxRecordBytes - HEADER_BYTES - ENTRIES_PREFIX_BYTES - ENTRY_HEADER_BYTES;
    }

    /**
     * {@code entries} as ENTRIES records of at most {@code maxRecordBytes} each, in order (one
     * record, and no copy, when they fit).
     *
     * @throws IllegalArgumentException if one entry alone does not fit
     */
    public static List<WalRecord> entriesRecords(long groupId, List<Entry> entries, int maxRecordBytes) {
        if (entriesRecordBytes(entries) <= maxRecordBytes) {
            return List.of(new WalRecord.Entries(groupId, entries));
        }
        List<WalRecord> records = new ArrayList<>();
        int from = 0;
        long body = ENTRIES_PREFIX_BYTES;
        for (int i = 0; i < entries.size(); i++) {
            long entryBytes = ENTRY_HEADER_BYTES + entries.get(i).data().length;
            if (WalRecordFormat.align(HEADER_BYTES + ENTRIES_PREFIX_BYTES + entryBytes) > maxRecordBytes) {
                throw new IllegalArgumentException("group " + groupId + ": entry " + entries.get(i).index() + " of "
                        + entries.get(i).data().length + " bytes does not fit a record of " + maxRecordBytes + " bytes");
            }
            if (WalRecordFormat.align(HEADER_BYTES + body + entryBytes) > maxRecordBytes) {
                records.add(new WalRecord.Entries(groupId, entries.subList(from, i)));
                from = i;
                body = ENTRIES_PREFIX_BYTES;
            }
            body += entryBytes;
        }
        records.add(new WalRecord.Entries(groupId, entries.subList(from, entries.size())));
        return records;
    }

    /**
     * Bytes (aligned) a SNAPSHOT_MARK record carrying {@code confState} takes; may exceed
     * maxRecordBytes.
     *
     * @throws IllegalArgumentException if the membership has more than
     *         {@link WalRecordFormat#MAX_SNAPSHOT_MEMBERS} voters and learners
     */
    public static int snapshotMarkRecordBytes(long groupId, ConfState confState) {
        int members = confState.voters().length + confState.learners().length;
        Check.argument(members <= MAX_SNAPSHOT_MEMBERS,
                "group %d: a snapshot mark carries at most %d voters and learners, this membership has %d", groupId,
                MAX_SNAPSHOT_MEMBERS, members);
        // Body = 32 + 8 * members: already a multiple of 8, so the record has no padding.
        return HEADER_BYTES + SNAPSHOT_MARK_PREFIX_BYTES + members * SNAPSHOT_MEMBER_BYTES;
    }

    /**
     * Appends one ENTRIES record at {@code dst}'s position and advances it.
     *
     * @return the record's bytes, padding included
     */
    public int appendEntries(ByteBuffer dst, long groupId, List<Entry> entries) {
        Check.argument(!entries.isEmpty(), "an ENTRIES record for group %d needs at least one entry", groupId);
        long recordBytes = entriesRecordBytes(entries);
        Check.argument(recordBytes <= maxRecordBytes, "ENTRIES record of %d bytes for group %d exceeds maxRecordBytes %d",
                recordBytes, groupId, maxRecordBytes);
        // Validate everything before writing a byte: a refused record leaves the buffer untouched.
        long firstIndex = entries.get(0).index();
        for (int i = 1; i < entries.size(); i++) {
            if (entries.get(i).index() != firstIndex + i) {
                throw new IllegalArgumentException(String.format("group %d: entry %d has index %d, expected %d",
                        groupId, i, entries.get(i).index(), firstIndex + i));
            }
        }
        int start = begin(dst, (int) recordBytes);
        dst.putLong(groupId).putInt(entries.size()).putInt(0);
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            dst.putLong(e.term()).putLong(e.index()).putInt(e.type().code).putInt(e.data().length).put(e.data());
        }
        return finish(dst, start, WalRecordType.ENTRIES, (int) recordBytes);
    }

    public int appendHardState(ByteBuffer dst, long groupId, HardState hardState) {
        int recordBytes = HEADER_BYTES + WalRecordFormat.HARD_STATE_BODY_BYTES;
        int start = begin(dst, recordBytes);
        dst.putLong(groupId).putLong(hardState.term()).putLong(hardState.vote()).putLong(hardState.commit());
        return finish(dst, start, WalRecordType.HARD_STATE, recordBytes);
    }

    public int appendTruncateSuffix(ByteBuffer dst, long groupId, long firstRemovedIndex) {
        int recordBytes = HEADER_BYTES + WalRecordFormat.TRUNCATE_SUFFIX_BODY_BYTES;
        int start = begin(dst, recordBytes);
        dst.putLong(groupId).putLong(firstRemovedIndex);
        return finish(dst, start, WalRecordType.TRUNCATE_SUFFIX, recordBytes);
    }

    public int appendCompactPrefix(ByteBuffer dst, long groupId, long compactedIndex, long compactedTerm) {
        int recordBytes = HEADER_BYTES + WalRecordFormat.COMPACT_PREFIX_BODY_BYTES;
        int start = begin(dst, recordBytes);
        dst.putLong(groupId).putLong(compactedIndex).putLong(compactedTerm);
        return finish(dst, start, WalRecordType.COMPACT_PREFIX, recordBytes);
    }

    /**
     * Appends one SNAPSHOT_MARK record: the snapshot's index and term and the group's membership
     * there.
     *
     * @throws IllegalArgumentException if the membership has more than
     *         {@link WalRecordFormat#MAX_SNAPSHOT_MEMBERS} members or the record exceeds maxRecordBytes
     */
    public int appendSnapshotMark(ByteBuffer dst, long groupId, long index, long term, ConfState confState) {
        int recordBytes = snapshotMarkRecordBytes(groupId, confState);
        Check.argument(recordBytes <= maxRecordBytes, "SNAPSHOT_MARK record of %d bytes for group %d exceeds maxRecordBytes %d",
                recordBytes, groupId, maxRecordBytes);
        // The accessors return the record's own arrays: no copy.
        long[] voters = confState.voters();
        long[] learners = confState.learners();
        int start = begin(dst, recordBytes);
        dst.putLong(groupId).putLong(index).putLong(term).putInt(voters.length).putInt(learners.length);
        for (long voter : voters) {
            dst.putLong(voter);
        }
        for (long learner : learners) {
            dst.putLong(learner);
        }
        return finish(dst, start, WalRecordType.SNAPSHOT_MARK, recordBytes);
    }

    public int appendTombstone(ByteBuffer dst, long groupId) {
        return appendGroupOnly(dst, groupId, WalRecordType.TOMBSTONE);
    }

    public int appendRevive(ByteBuffer dst, long groupId) {
        return appendGroupOnly(dst, groupId, WalRecordType.REVIVE);
    }

    /** A record whose body is its group id alone (TOMBSTONE, REVIVE). */
    private int appendGroupOnly(ByteBuffer dst, long groupId, WalRecordType type) {
        int recordBytes = HEADER_BYTES + WalRecordFormat.TOMBSTONE_BODY_BYTES;
        int start = begin(dst, recordBytes);
        dst.putLong(groupId);
        return finish(dst, start, type, recordBytes);
    }

    /**
     * Appends one TOMBSTONE_SET record listing {@code groupIds} (ascending, distinct, each >= 1, as
     * {@link WalRecord.TombstoneSet} guarantees) as delta-encoded varints.
     *
     * @throws IllegalArgumentException if the record exceeds maxRecordBytes (split the set: see
     *         {@link WalTombstones#setRecords})
     */
    public int appendTombstoneSet(ByteBuffer dst, long[] groupIds) {
        long recordBytes = tombstoneSetRecordBytes(groupIds);
        Check.argument(recordBytes <= maxRecordBytes, "TOMBSTONE_SET record of %d bytes for %d groups exceeds maxRecordBytes %d",
                recordBytes, groupIds.length, maxRecordBytes);
        int start = begin(dst, (int) recordBytes);
        dst.putLong(0).putInt(groupIds.length).putInt(0);
        long previous = 0;
        for (long id : groupIds) {
            putVarint(dst, id - previous);
            previous = id;
        }
        return finish(dst, start, WalRecordType.TOMBSTONE_SET, (int) recordBytes);
    }

    /** Bytes (aligned) a TOMBSTONE_SET record listing {@code groupIds} takes; may exceed maxRecordBytes. */
    public static long tombstoneSetRecordBytes(long[] groupIds) {
        long body = WalRecordFormat.TOMBSTONE_SET_PREFIX_BYTES;
        long previous = 0;
        for (long id : groupIds) {
            body += varintBytes(id - previous);
            previous = id;
        }
        return WalRecordFormat.align(HEADER_BYTES + body);
    }

    /** Bytes the unsigned LEB128 varint of {@code value} takes: 1 to {@link WalRecordFormat#MAX_VARINT_BYTES}. */
    static int varintBytes(long value) {
        int bits = 64 - Long.numberOfLeadingZeros(value | 1);
        return (bits + 6) / 7;
    }

    private static void putVarint(ByteBuffer dst, long value) {
        while ((value & ~0x7FL) != 0) {
            dst.put((byte) ((value & 0x7F) | 0x80));
            value >>>= 7;
        }
        dst.put((byte) value);
    }

    /** Appends any decoded record again (recovery rewrites, tests). */
    public int append(ByteBuffer dst, WalRecord record) {
        if (record instanceof WalRecord.Entries r) {
            return appendEntries(dst, r.groupId(), r.entries());
        } else if (record instanceof WalRecord.HardStateUpdate r) {
            return appendHardState(dst, r.groupId(), r.hardState());
        } else if (record instanceof WalRecord.TruncateSuffix r) {
            return appendTruncateSuffix(dst, r.groupId(), r.firstRemovedIndex());
        } else if (record instanceof WalRecord.CompactPrefix r) {
            return appendCompactPrefix(dst, r.groupId(), r.compactedIndex(), r.compactedTerm());
        } else if (record instanceof WalRecord.SnapshotMark r) {
            return appendSnapshotMark(dst, r.groupId(), r.index(), r.term(), r.confState());
        } else if (record instanceof WalRecord.TombstoneSet r) {
            return appendTombstoneSet(dst, r.groupIds());
        } else if (record instanceof WalRecord.Revive r) {
            return appendRevive(dst, r.groupId());
        } else {
            return appendTombstone(dst, ((WalRecord.Tombstone) record).groupId());
        }
    }

    private static int begin(ByteBuffer dst, int recordBytes) {
        if (dst.order() != ByteOrder.LITTLE_ENDIAN) {
            throw new IllegalArgumentException("the record buffer must be little-endian");
        }
        Check.argument(dst.position() % WalRecordFormat.ALIGNMENT_BYTES == 0,
                "records start 8-byte aligned; buffer position is %d", dst.position());
        Check.argument(dst.remaining() >= recordBytes, "record of %d bytes does not fit in the %d bytes left in the buffer",
                recordBytes, dst.remaining());
        int start = dst.position();
        dst.position(start + HEADER_BYTES);
        return start;
    }

    private int finish(ByteBuffer dst, int start, WalRecordType type, int recordBytes) {
        int bodyBytes = dst.position() - start - HEADER_BYTES;
        int end = start + recordBytes;
        Check.state(WalRecordFormat.align(HEADER_BYTES + bodyBytes) == recordBytes,
                "record body of %d bytes does not match its computed size %d", bodyBytes, recordBytes);
        while (dst.position() < end) {
            dst.put((byte) 0);
        }
        dst.putInt(start + WalRecordFormat.OFFSET_BODY_BYTES, bodyBytes);
        // Little-endian: the type code lands in byte 8, bytes 9..11 stay zero.
        dst.putInt(start + WalRecordFormat.OFFSET_TYPE, type.code);
        dst.putInt(start + WalRecordFormat.OFFSET_PREV_CRC, lastCrc);
        int limit = dst.limit();
        dst.limit(end).position(start + WalRecordFormat.OFFSET_BODY_BYTES);
        crc.reset();
        crc.update(dst);
        dst.limit(limit).position(end);
        lastCrc = (int) crc.getValue();
        dst.putInt(start + WalRecordFormat.OFFSET_CRC, lastCrc);
        return recordBytes;
    }
}

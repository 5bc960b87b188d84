package io.flotilla.wal;

import static io.flotilla.wal.WalRecordFormat.ENTRIES_PREFIX_BYTES;
import static io.flotilla.wal.WalRecordFormat.ENTRY_HEADER_BYTES;
import static io.flotilla.wal.WalRecordFormat.HEADER_BYTES;
import static io.flotilla.wal.WalRecordFormat.MAX_SNAPSHOT_MEMBERS;
import static io.flotilla.wal.WalRecordFormat.SNAPSHOT_MARK_PREFIX_BYTES;
import static io.flotilla.wal.WalRecordFormat.SNAPSHOT_MEMBER_BYTES;
import static io.flotilla.wal.WalRecordFormat.TOMBSTONE_SET_PREFIX_BYTES;

import io.flotilla.raft.Check;
import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.HardState;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Checks and decodes records (layout in {@link WalRecordFormat}) from a little-endian buffer,
 * reading only with absolute positions. Every length is checked against {@code maxRecordBytes} and
 * against the bytes actually present before anything is allocated. Holds a CRC32C, so it is owned
 * by one thread (the recovery thread, or a reader).
 */
public final class WalRecordDecoder {
    /** {@link #probe} result: 16 zero bytes, the end of the written part of a zero-filled segment. */
    public static final int PROBE_ZERO_HEADER = -1;
    /** {@link #probe} result: bodyBytes is below the minimum or above maxRecordBytes. */
    public static final int PROBE_BAD_LENGTH = -2;
    /** {@link #probe} result: the record runs past the end of the available bytes. */
    public static final int PROBE_TRUNCATED = -3;
    /** {@link #probe} result: unknown record type or non-zero reserved header bytes. */
    public static final int PROBE_BAD_HEADER = -4;
    /** {@link #probe} result: the stored CRC does not match the record's bytes. */
    public static final int PROBE_BAD_CRC = -5;

    private final int maxRecordBytes;
    private final CRC32C crc = new CRC32C();

    public WalRecordDecoder(int maxRecordBytes) {
        Check.argument(maxRecordBytes >= WalRecordFormat.MIN_MAX_RECORD_BYTES && maxRecordBytes % 8 == 0,
                "maxRecordBytes %d must be a multiple of 8 and at least %d", maxRecordBytes,
                WalRecordFormat.MIN_MAX_RECORD_BYTES);
        this.maxRecordBytes = maxRecordBytes;
    }

    public int maxRecordBytes() {
        return maxRecordBytes;
    }

    /**
     * Checks the record at {@code offset} without decoding its body or allocating: header bounds,
     * type, then CRC over the whole record.
     *
     * @return the record's aligned size in bytes if it is intact, else a negative {@code PROBE_*} code
     */
    public int probe(ByteBuffer buf, int offset, int limit) {
        if (buf.order() != ByteOrder.LITTLE_ENDIAN) {
            throw new IllegalArgumentException("the record buffer must be little-endian");
        }
        int available = limit - offset;
        if (available < HEADER_BYTES) {
            return isZero(buf, offset, limit) ? PROBE_ZERO_HEADER : PROBE_TRUNCATED;
        }
        if (buf.getLong(offset) == 0 && buf.getLong(offset + 8) == 0) {
            return PROBE_ZERO_HEADER;
        }
        int bodyBytes = buf.getInt(offset + WalRecordFormat.OFFSET_BODY_BYTES);
        // A negative int is an unsigned length above 2 GiB: rejected by the same comparison.
        if (bodyBytes < WalRecordFormat.MIN_BODY_BYTES || bodyBytes > maxRecordBytes - HEADER_BYTES) {
            return PROBE_BAD_LENGTH;
        }
        int recordBytes = (int) WalRecordFormat.align(HEADER_BYTES + bodyBytes);
        if (recordBytes > available) {
            return PROBE_TRUNCATED;
        }
        int typeWord = buf.getInt(offset + WalRecordFormat.OFFSET_TYPE);
        if ((typeWord & ~0xFF) != 0 || WalRecordType.fromCode(typeWord) == null) {
            return PROBE_BAD_HEADER;
        }
        if (computeCrc(buf, offset, recordBytes) != storedCrc(buf, offset)) {
            return PROBE_BAD_CRC;
        }
        return recordBytes;
    }

    /** Says in words why {@link #probe} refused the record at {@code offset}. */
    public String describe(int probe, ByteBuffer buf, int offset, int limit) {
        return switch (probe) {
            case PROBE_ZERO_HEADER -> "zero-filled where a record was expected";
            case PROBE_BAD_LENGTH -> "record length " + Integer.toUnsignedString(buf.getInt(offset + 4))
                    + " outside [" + WalRecordFormat.MIN_BODY_BYTES + ", " + (maxRecordBytes - HEADER_BYTES) + "]";
            case PROBE_TRUNCATED -> "record of " + (limit - offset < HEADER_BYTES ? "unknown length"
                    : WalRecordFormat.align(HEADER_BYTES + buf.getInt(offset + 4)) + " bytes")
                    + " runs past the end of the data (" + (limit - offset) + " bytes left)";
            case PROBE_BAD_HEADER -> "unknown record type or non-zero reserved bytes (type word "
                    + Integer.toHexString(buf.getInt(offset + WalRecordFormat.OFFSET_TYPE)) + ")";
            case PROBE_BAD_CRC -> "CRC mismatch (stored " + Integer.toHexString(storedCrc(buf, offset)) + ", computed "
                    + Integer.toHexString(computeCrc(buf, offset,
                    (int) WalRecordFormat.align(HEADER_BYTES + buf.getInt(offset + 4)))) + ")";
            default -> throw new IllegalArgumentException("not a probe failure: " + probe);
        };
    }

    /**
     * Decodes the intact record at {@code offset}.
     *
     * @param fileOffsetOfBuffer the file offset of buffer position 0, for error messages
     * @throws WalCorruptionException if the record fails {@link #probe} or its body is malformed
     */
    public WalRecord decode(ByteBuffer buf, int offset, int limit, String fileName, long fileOffsetOfBuffer)
            throws WalCorruptionException {
        int probe = probe(buf, offset, limit);
        if (probe < 0) {
            throw new WalCorruptionException(fileName, fileOffsetOfBuffer + offset, describe(probe, buf, offset, limit));
        }
        return decodeBody(buf, offset, fileName, fileOffsetOfBuffer + offset);
    }

    /** Decodes a record that {@link #probe} has just found intact (skips the second CRC pass). */
    WalRecord decodeProbed(ByteBuffer buf, int offset, String fileName, long fileOffsetOfBuffer)
            throws WalCorruptionException {
        return decodeBody(buf, offset, fileName, fileOffsetOfBuffer + offset);
    }

    /** The CRC stored in the header of the record at {@code offset}. */
    public static int storedCrc(ByteBuffer buf, int offset) {
        return buf.getInt(offset + WalRecordFormat.OFFSET_CRC);
    }

    /** The previous record's CRC, as stored in the header of the record at {@code offset}. */
    public static int prevCrc(ByteBuffer buf, int offset) {
        return buf.getInt(offset + WalRecordFormat.OFFSET_PREV_CRC);
    }

    private WalRecord decodeBody(ByteBuffer buf, int offset, String fileName, long fileOffset)
            throws WalCorruptionException {
        int bodyBytes = buf.getInt(offset + WalRecordFormat.OFFSET_BODY_BYTES);
        WalRecordType type = WalRecordType.fromCode(buf.getInt(offset + WalRecordFormat.OFFSET_TYPE));
        int body = offset + HEADER_BYTES;
        long groupId = buf.getLong(body);
        switch (type) {
            case ENTRIES:
                return decodeEntries(buf, body, bodyBytes, groupId, fileName, fileOffset);
            case HARD_STATE:
                expectBodyBytes(type, bodyBytes, WalRecordFormat.HARD_STATE_BODY_BYTES, fileName, fileOffset);
                return new WalRecord.HardStateUpdate(groupId,
                        new HardState(buf.getLong(body + 8), buf.getLong(body + 16), buf.getLong(body + 24)));
            case TRUNCATE_SUFFIX:
                expectBodyBytes(type, bodyBytes, WalRecordFormat.TRUNCATE_SUFFIX_BODY_BYTES, fileName, fileOffset);
                return new WalRecord.TruncateSuffix(groupId, buf.getLong(body + 8));
            case COMPACT_PREFIX:
                expectBodyBytes(type, bodyBytes, WalRecordFormat.COMPACT_PREFIX_BODY_BYTES, fileName, fileOffset);
                return new WalRecord.CompactPrefix(groupId, buf.getLong(body + 8), buf.getLong(body + 16));
            case SNAPSHOT_MARK:
                return decodeSnapshotMark(buf, body, bodyBytes, groupId, fileName, fileOffset);
            case TOMBSTONE:
                expectBodyBytes(type, bodyBytes, WalRecordFormat.TOMBSTONE_BODY_BYTES, fileName, fileOffset);
                return new WalRecord.Tombstone(groupId);
            case TOMBSTONE_SET:
                return decodeTombstoneSet(buf, body, bodyBytes, groupId, fileName, fileOffset);
            case REVIVE:
                expectBodyBytes(type, bodyBytes, WalRecordFormat.TOMBSTONE_BODY_BYTES, fileName, fileOffset);
                return new WalRecord.Revive(groupId);
            default:
                throw new IllegalStateException("unhandled record type " + type);
        }
    }

    private static WalRecord decodeEntries(ByteBuffer buf, int body, int bodyBytes, long groupId,
            String fileName, long fileOffset) throws WalCorruptionException {
        if (bodyBytes < ENTRIES_PREFIX_BYTES + ENTRY_HEADER_BYTES) {
            throw new WalCorruptionException(fileName, fileOffset, "ENTRIES body of " + bodyBytes + " bytes holds no entry");
        }
        int count = buf.getInt(body + 8);
        int maxCount = (bodyBytes - ENTRIES_PREFIX_BYTES) / ENTRY_HEADER_BYTES;
        if (count < 1 || count > maxCount || buf.getInt(body + 12) != 0) {
            throw new WalCorruptionException(fileName, fileOffset, "ENTRIES record claims " + Integer.toUnsignedString(count)
                    + " entries; its " + bodyBytes + " bytes hold at most " + maxCount);
        }
        List<Entry> entries = new ArrayList<>(count);
        int bodyEnd = body + bodyBytes;
        int pos = body + ENTRIES_PREFIX_BYTES;
        long firstIndex = 0;
        for (int i = 0; i < count; i++) {
            if (bodyEnd - pos < ENTRY_HEADER_BYTES) {
                throw new WalCorruptionException(fileName, fileOffset, "entry " + i + " of " + count + " runs past the record");
            }
            long term = buf.getLong(pos);
            long index = buf.getLong(pos + 8);
            EntryType entryType = EntryType.fromCode(buf.getInt(pos + 16));
            int payloadBytes = buf.getInt(pos + 20);
            int payloadLimit = bodyEnd - pos - ENTRY_HEADER_BYTES;
            if (payloadBytes < 0 || payloadBytes > payloadLimit) {
                throw new WalCorruptionException(fileName, fileOffset, "entry " + i + " payload length "
                        + Integer.toUnsignedString(payloadBytes) + " exceeds the " + payloadLimit + " bytes left in the record");
            }
            if (entryType == null) {
                throw new WalCorruptionException(fileName, fileOffset, "entry " + i + " has unknown type " + buf.getInt(pos + 16));
            }
            if (i == 0) {
                firstIndex = index;
            } else if (index != firstIndex + i) {
                throw new WalCorruptionException(fileName, fileOffset, "entry " + i + " has index " + index
                        + ", expected " + (firstIndex + i));
            }
            byte[] payload = new byte[payloadBytes];
            buf.get(pos + ENTRY_HEADER_BYTES, payload);
            entries.add(new Entry(term, index, entryType, payload));
            pos += ENTRY_HEADER_BYTES + payloadBytes;
        }
        if (pos != bodyEnd) {
            throw new WalCorruptionException(fileName, fileOffset, (bodyEnd - pos) + " unexplained bytes after the last entry");
        }
        return new WalRecord.Entries(groupId, entries);
    }

    /** Checks the member counts against the bound and the body length before allocating the member arrays. */
    private static WalRecord decodeSnapshotMark(ByteBuffer buf, int body, int bodyBytes, long groupId,
            String fileName, long fileOffset) throws WalCorruptionException {
        if (bodyBytes < SNAPSHOT_MARK_PREFIX_BYTES) {
            throw new WalCorruptionException(fileName, fileOffset, "SNAPSHOT_MARK body is " + bodyBytes
                    + " bytes, shorter than its " + SNAPSHOT_MARK_PREFIX_BYTES + "-byte prefix");
        }
        int voterCount = buf.getInt(body + 24);
        int learnerCount = buf.getInt(body + 28);
        // Negative counts (unsigned above 2^31) fail the first two comparisons; the last is written so it cannot overflow.
        if (voterCount < 0 || learnerCount < 0 || voterCount > MAX_SNAPSHOT_MEMBERS
                || learnerCount > MAX_SNAPSHOT_MEMBERS - voterCount) {
            throw new WalCorruptionException(fileName, fileOffset, "SNAPSHOT_MARK claims "
                    + Integer.toUnsignedString(voterCount) + " voters and " + Integer.toUnsignedString(learnerCount)
                    + " learners, more than the " + MAX_SNAPSHOT_MEMBERS + " members a mark may carry");
        }
        int expected = SNAPSHOT_MARK_PREFIX_BYTES + (voterCount + learnerCount) * SNAPSHOT_MEMBER_BYTES;
        if (bodyBytes != expected) {
            throw new WalCorruptionException(fileName, fileOffset, "SNAPSHOT_MARK with " + voterCount + " voters and "
                    + learnerCount + " learners has a body of " + bodyBytes + " bytes, expected " + expected);
        }
        long[] voters = new long[voterCount];
        long[] learners = new long[learnerCount];
        int pos = body + SNAPSHOT_MARK_PREFIX_BYTES;
        for (int i = 0; i < voterCount; i++, pos += SNAPSHOT_MEMBER_BYTES) {
            voters[i] = buf.getLong(pos);
        }
        for (int i = 0; i < learnerCount; i++, pos += SNAPSHOT_MEMBER_BYTES) {
            learners[i] = buf.getLong(pos);
        }
        ConfState confState;
        try {
            confState = new ConfState(voters, learners);
        } catch (IllegalArgumentException e) {
            throw new WalCorruptionException(fileName, fileOffset, "SNAPSHOT_MARK membership is invalid: " + e.getMessage());
        }
        return new WalRecord.SnapshotMark(groupId, buf.getLong(body + 8), buf.getLong(body + 16), confState);
    }

    /**
     * Checks the count against the bytes present before allocating, then decodes the varints and
     * checks that they are canonical, ascending, at least 1, and end exactly at the body's end.
     */
    private static WalRecord decodeTombstoneSet(ByteBuffer buf, int body, int bodyBytes, long zero, String fileName,
            long fileOffset) throws WalCorruptionException {
        int varintBytes = bodyBytes - TOMBSTONE_SET_PREFIX_BYTES;
        if (varintBytes < 1) {
            throw new WalCorruptionException(fileName, fileOffset, "TOMBSTONE_SET body is " + bodyBytes
                    + " bytes, too short for its " + TOMBSTONE_SET_PREFIX_BYTES + "-byte prefix and one id");
        }
        int count = buf.getInt(body + 8);
        if (zero != 0 || buf.getInt(body + 12) != 0) {
            throw new WalCorruptionException(fileName, fileOffset, "TOMBSTONE_SET has non-zero reserved bytes");
        }
        // Each varint takes at least one byte: this bounds the allocation by the record's size.
        if (count < 1 || count > varintBytes) {
            throw new WalCorruptionException(fileName, fileOffset, "TOMBSTONE_SET claims "
                    + Integer.toUnsignedString(count) + " groups in " + varintBytes + " bytes of ids");
        }
        long[] ids = new long[count];
        int pos = body + TOMBSTONE_SET_PREFIX_BYTES;
        int end = body + bodyBytes;
        long previous = 0;
        for (int i = 0; i < count; i++) {
            long delta = 0;
            int shift = 0;
            while (true) {
                if (pos >= end) {
                    throw new WalCorruptionException(fileName, fileOffset, "TOMBSTONE_SET id " + i + " of " + count
                            + " runs past the record");
                }
                int b = buf.get(pos++) & 0xFF;
                if (shift == 63 && (b & 0xFE) != 0) {
                    throw new WalCorruptionException(fileName, fileOffset, "TOMBSTONE_SET id " + i + " overflows 64 bits");
                }
                delta |= (long) (b & 0x7F) << shift;
                if ((b & 0x80) == 0) {
                    if (b == 0 && shift > 0) {
                        throw new WalCorruptionException(fileName, fileOffset, "TOMBSTONE_SET id " + i
                                + " is not minimally encoded");
                    }
                    break;
                }
                shift += 7;
            }
            long id = previous + delta;
            // delta >= 1 and no overflow past Long.MAX_VALUE: ids ascend and stay positive.
            if (delta < 1 || id <= previous) {
                throw new WalCorruptionException(fileName, fileOffset, "TOMBSTONE_SET id " + i + " is " + Long.toUnsignedString(id)
                        + ", not above the id before it, " + previous);
            }
            ids[i] = id;
            previous = id;
        }
        if (pos != end) {
            throw new WalCorruptionException(fileName, fileOffset, (end - pos) + " unexplained bytes after the last id of a TOMBSTONE_SET");
        }
        return new WalRecord.TombstoneSet(ids);
    }

    private static void expectBodyBytes(WalRecordType type, int bodyBytes, int expected, String fileName, long fileOffset)
            throws WalCorruptionException {
        if (bodyBytes != expected) {
            throw new WalCorruptionException(fileName, fileOffset,
                    type + " body is " + bodyBytes + " bytes, expected " + expected);
        }
    }

    private int computeCrc(ByteBuffer buf, int offset, int recordBytes) {
        int position = buf.position();
        int limit = buf.limit();
        buf.limit(offset + recordBytes).position(offset + WalRecordFormat.OFFSET_BODY_BYTES);
        crc.reset();
        crc.update(buf);
        buf.limit(limit).position(position);
        return (int) crc.getValue();
    }

    private static boolean isZero(ByteBuffer buf, int from, int to) {
        for (int i = from; i < to; i++) {
            if (buf.get(i) != 0) {
                return false;
            }
        }
        return true;
    }
}

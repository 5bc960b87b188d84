package io.flotilla.wire;

import static io.flotilla.wire.MessageBatchCodec.BATCH_MESSAGES_TAG;
import static io.flotilla.wire.MessageBatchCodec.COMMIT_TAG;
import static io.flotilla.wire.MessageBatchCodec.CONTEXT_TAG;
import static io.flotilla.wire.MessageBatchCodec.ENTRIES_TAG;
import static io.flotilla.wire.MessageBatchCodec.ENTRY_DATA_TAG;
import static io.flotilla.wire.MessageBatchCodec.ENTRY_INDEX_TAG;
import static io.flotilla.wire.MessageBatchCodec.ENTRY_TERM_TAG;
import static io.flotilla.wire.MessageBatchCodec.ENTRY_TYPE_TAG;
import static io.flotilla.wire.MessageBatchCodec.FROM_TAG;
import static io.flotilla.wire.MessageBatchCodec.GROUP_ID_TAG;
import static io.flotilla.wire.MessageBatchCodec.INDEX_TAG;
import static io.flotilla.wire.MessageBatchCodec.LOG_TERM_TAG;
import static io.flotilla.wire.MessageBatchCodec.REJECT_HINT_TAG;
import static io.flotilla.wire.MessageBatchCodec.REJECT_TAG;
import static io.flotilla.wire.MessageBatchCodec.SNAPSHOT_TAG;
import static io.flotilla.wire.MessageBatchCodec.TERM_TAG;
import static io.flotilla.wire.MessageBatchCodec.TO_TAG;
import static io.flotilla.wire.MessageBatchCodec.TYPE_TAG;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.ExtensionRegistryLite;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import io.flotilla.raft.Entry;
import io.flotilla.raft.Message;
import io.flotilla.raft.MessageType;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Reads one {@code MessageBatch} frame body into {@link Message}s in a single pass over the bytes,
 * in place. One instance per frame, used by the decoding thread only.
 *
 * <p>It must accept and reject exactly what the generated parser (protobuf-java 4.36,
 * {@code MessageBatch.parseFrom} and then {@code checkLastTagWas(0)}) followed by the old
 * proto-object conversion did, because peers on either side of an upgrade must agree on what is a
 * valid frame; {@code MessageBatchDifferentialTest} holds it to that, with the old path kept in the
 * tests as {@code ReferenceRaftCodec}. So it follows protobuf's rules, not a tidier set:
 * <ul>
 *   <li>Varints are up to 10 bytes; a 32-bit one (tag, length, enum) keeps the low 32 bits, and a
 *       64-bit one reads its 10th byte leniently, as protobuf-java does (see {@link #readVarint64}).
 *   <li>A tag with field number 0 is an error; a known field number with an unexpected wire type
 *       is an unknown field, and unknown fields are skipped (groups too, nested), never kept.
 *   <li>An end-group tag outside a group is an error, as is a group closed by another field's tag.
 *   <li>Messages and groups nest at most {@value #RECURSION_LIMIT} deep, counted together.
 *   <li>A repeated scalar field keeps its last value; the snapshot field merges repeats.
 *   <li>Every length is checked against the bytes left in its enclosing message before it is used
 *       or anything is allocated for it.
 * </ul>
 * Parse errors take precedence over invalid messages: like the old path, which parsed the whole
 * frame before checking any message, a frame that does not parse is reported as such even if an
 * earlier message in it was invalid. A message that parses but is invalid spoils only itself: the
 * reader checks every message, and its caller decides whether one invalid message fails the frame
 * ({@link #read}) or is left out ({@link #readValid}).
 */
final class MessageBatchReader {
    /** {@code CodedInputStream}'s default recursion limit, which the old path parsed with. */
    static final int RECURSION_LIMIT = 100;
    private static final int END_GROUP = WireFormat.WIRETYPE_END_GROUP;
    private static final byte[] EMPTY_BYTES = new byte[0];

    private final ByteBuffer in;
    private final int frameBytes;
    private final int start;
    /** Next byte to read, as an absolute index in {@link #in}. Invariant: start <= pos <= limit. */
    private int pos;
    /** End of the innermost message being read (absolute). */
    private int limit;
    /** Messages and groups entered, as protobuf counts them against {@link #RECURSION_LIMIT}. */
    private int depth;

    // The RaftMessage being read: raw wire values, checked only when the message ends, since fields
    // may come in any order and repeat.
    private int type;
    private long groupId;
    private long from;
    private long to;
    private long term;
    private long logTerm;
    private long index;
    private long commit;
    private boolean reject;
    private long rejectHint;
    private long context;
    private io.flotilla.wire.proto.Snapshot.Builder snapshot;
    private int entryCount;
    private long[] entryTerms;
    private long[] entryIndexes;
    private int[] entryTypes;
    private byte[][] entryData;

    private List<Message> messages;
    private int messageCount;
    /**
     * How many messages were invalid, and the first of them with its number (from 1): reported once
     * the whole frame has parsed. Only the first is described; the others are only counted, so a
     * frame full of invalid messages costs little more than a valid one.
     */
    private int invalidCount;
    private MalformedMessageException firstInvalid;
    private int firstInvalidAt;

    MessageBatchReader(ByteBuffer body) {
        this.in = body;
        this.start = body.position();
        this.frameBytes = body.remaining();
        this.pos = start;
        this.limit = body.limit();
    }

    /** The frame's messages; throws if it does not parse or if any message in it is invalid (the first is named). */
    List<Message> read() {
        readAll();
        if (invalidCount > 0) {
            throw numberedFirstInvalid();
        }
        return messages;
    }

    /**
     * The frame's valid messages; throws only if it does not parse. If any message was invalid,
     * {@code onInvalid} hears how many and what was wrong with the first, once the whole frame has
     * parsed (so a frame that does not parse reports nothing else).
     */
    List<Message> readValid(MessageBatchCodec.InvalidMessages onInvalid) {
        readAll();
        if (invalidCount > 0) {
            onInvalid.dropped(invalidCount, numberedFirstInvalid());
        }
        return messages;
    }

    private void readAll() {
        messages = new ArrayList<>(countMessageFields());
        for (int tag = readTag(); tag != 0; tag = readTag()) {
            if (tag == BATCH_MESSAGES_TAG) {
                readRaftMessage();
            } else {
                skipField(tag, false);
            }
        }
    }

    /** The first invalid message's problem, with its place in the frame (the count is known only at the end). */
    private MalformedMessageException numberedFirstInvalid() {
        return new MalformedMessageException(
                "message " + firstInvalidAt + " of " + messageCount + ": " + firstInvalid.getMessage(), firstInvalid);
    }

    /**
     * How many top-level message fields the frame seems to hold, to size the result once. A quick
     * scan that trusts nothing and stops at the first field it does not expect; {@link #read} does
     * the checking.
     */
    private int countMessageFields() {
        int count = 0;
        try {
            while (pos < limit && in.get(pos) == BATCH_MESSAGES_TAG) {
                pos++;
                int length = readVarint32();
                if (length < 0 || length > limit - pos) {
                    break;
                }
                pos += length;
                count++;
            }
        } catch (MalformedMessageException e) {
            // a cut-off length: read() will report it
        }
        pos = start;
        return count;
    }

    // ---------------------------------------------------------------- messages

    private void readRaftMessage() {
        int outerLimit = enter(readVarint32());
        clearMessage();
        for (int tag = readTag(); tag != 0; tag = readTag()) {
            switch (tag) {
                case TYPE_TAG -> type = readVarint32();
                case GROUP_ID_TAG -> groupId = readVarint64();
                case FROM_TAG -> from = readVarint64();
                case TO_TAG -> to = readVarint64();
                case TERM_TAG -> term = readVarint64();
                case LOG_TERM_TAG -> logTerm = readVarint64();
                case INDEX_TAG -> index = readVarint64();
                case ENTRIES_TAG -> readEntry();
                case COMMIT_TAG -> commit = readVarint64();
                case REJECT_TAG -> reject = readVarint64() != 0;
                case REJECT_HINT_TAG -> rejectHint = readVarint64();
                case CONTEXT_TAG -> context = readVarint64();
                case SNAPSHOT_TAG -> readSnapshot();
                default -> skipField(tag, false);
            }
        }
        leave(outerLimit);
        messageCount++;
        try {
            messages.add(toMessage());
        } catch (MalformedMessageException e) {
            if (invalidCount++ == 0) {
                firstInvalid = new MalformedMessageException(
                        RaftCodec.describe(type, groupId, from, to, term) + ": " + e.getMessage(), e);
                firstInvalidAt = messageCount;
            }
        }
    }

    private void clearMessage() {
        type = 0;
        groupId = 0;
        from = 0;
        to = 0;
        term = 0;
        logTerm = 0;
        index = 0;
        commit = 0;
        reject = false;
        rejectHint = 0;
        context = 0;
        snapshot = null;
        for (int i = 0; i < entryCount; i++) {
            entryData[i] = null;
        }
        entryCount = 0;
    }

    private void readEntry() {
        int outerLimit = enter(readVarint32());
        long entryTerm = 0;
        long entryIndex = 0;
        int entryType = 0;
        byte[] data = EMPTY_BYTES;
        for (int tag = readTag(); tag != 0; tag = readTag()) {
            switch (tag) {
                case ENTRY_TERM_TAG -> entryTerm = readVarint64();
                case ENTRY_INDEX_TAG -> entryIndex = readVarint64();
                case ENTRY_TYPE_TAG -> entryType = readVarint32();
                case ENTRY_DATA_TAG -> data = readBytes();
                default -> skipField(tag, false);
            }
        }
        leave(outerLimit);
        if (entryTerms == null || entryCount == entryTerms.length) {
            int capacity = entryTerms == null ? 8 : entryCount * 2;
            entryTerms = entryTerms == null ? new long[capacity] : Arrays.copyOf(entryTerms, capacity);
            entryIndexes = entryIndexes == null ? new long[capacity] : Arrays.copyOf(entryIndexes, capacity);
            entryTypes = entryTypes == null ? new int[capacity] : Arrays.copyOf(entryTypes, capacity);
            entryData = entryData == null ? new byte[capacity][] : Arrays.copyOf(entryData, capacity);
        }
        entryTerms[entryCount] = entryTerm;
        entryIndexes[entryCount] = entryIndex;
        entryTypes[entryCount] = entryType;
        entryData[entryCount] = data;
        entryCount++;
    }

    /**
     * Reads the snapshot field with the generated parser (snapshots are rare and small), over a copy
     * of the field's bytes and with the recursion budget left at this depth, so it nests, merges a
     * repeated field and fails exactly as it did inside the generated {@code RaftMessage} parser.
     */
    private void readSnapshot() {
        int outerLimit = enter(readVarint32());
        byte[] bytes = new byte[limit - pos];
        in.get(pos, bytes);
        CodedInputStream snapshotIn = CodedInputStream.newInstance(bytes);
        snapshotIn.setRecursionLimit(RECURSION_LIMIT - depth);
        if (snapshot == null) {
            snapshot = io.flotilla.wire.proto.Snapshot.newBuilder();
        }
        try {
            snapshot.mergeFrom(snapshotIn, ExtensionRegistryLite.getEmptyRegistry());
            snapshotIn.checkLastTagWas(0);
        } catch (InvalidProtocolBufferException e) {
            throw doesNotParse(e.getMessage() + " (in the snapshot at byte " + (pos - start) + ")", e);
        } catch (java.io.IOException e) {
            // mergeFrom declares IOException; over an array only InvalidProtocolBufferException occurs.
            throw doesNotParse(e.toString(), e);
        }
        pos = limit;
        leave(outerLimit);
    }

    /**
     * Checks the message just read against {@link RaftCodec}'s rules; the caller names the message
     * in the error, as the old proto-object path did.
     */
    private Message toMessage() {
        Message m = RaftCodec.message(type, groupId, from, to, term, logTerm, index, commit, reject, rejectHint, context);
        if (m.type == MessageType.APPEND) {
            m.entries = appendEntries(m);
        } else if (entryCount > 0) {
            throw RaftCodec.entriesNotCarried(entryCount);
        }
        if (m.type == MessageType.SNAPSHOT) {
            m.snapshot = RaftCodec.snapshotToInstall(snapshot == null ? null : snapshot.build(), m);
        } else if (snapshot != null) {
            throw RaftCodec.snapshotNotCarried();
        }
        return m;
    }

    private List<Entry> appendEntries(Message m) {
        RaftCodec.checkAppendLogTerm(m);
        if (entryCount == 0) {
            return Message.NO_ENTRIES;
        }
        if (entryCount == 1) {
            // One entry per APPEND is the common case in the runtime: one small list, not three objects.
            return List.of(checkedEntry(m, 0, m.logTerm));
        }
        Entry[] entries = new Entry[entryCount];
        long previousTerm = m.logTerm;
        for (int i = 0; i < entryCount; i++) {
            entries[i] = checkedEntry(m, i, previousTerm);
            previousTerm = entries[i].term();
        }
        return Collections.unmodifiableList(Arrays.asList(entries));
    }

    private Entry checkedEntry(Message m, int i, long previousTerm) {
        Entry e = RaftCodec.entry(entryTerms[i], entryIndexes[i], entryTypes[i], entryData[i]);
        RaftCodec.checkAppendEntry(m, i, entryCount, e, previousTerm);
        return e;
    }

    // ---------------------------------------------------------------- protobuf's wire rules

    /** Enters a nested message of {@code length} bytes; returns the enclosing limit for {@link #leave}. */
    private int enter(int length) {
        // The order of CodedInputStream's checks: depth, then the length against what is left.
        if (depth >= RECURSION_LIMIT) {
            throw doesNotParse("messages and groups nest more than " + RECURSION_LIMIT + " deep");
        }
        checkLength(length);
        int outerLimit = limit;
        limit = pos + length;
        depth++;
        return outerLimit;
    }

    /** Leaves a nested message read to its end (readTag returned 0, so pos == limit). */
    private void leave(int outerLimit) {
        depth--;
        limit = outerLimit;
    }

    /** The next tag, or 0 at the end of the current message. */
    private int readTag() {
        if (pos == limit) {
            return 0;
        }
        int at = pos;
        int tag = readVarint32();
        if (tag >>> 3 == 0) {
            throw doesNotParse("tag " + Integer.toUnsignedString(tag) + " at byte " + (at - start) + " has field number 0");
        }
        return tag;
    }

    /**
     * Skips an unknown field as protobuf's unknown-field set reads it. An end-group tag ends the
     * group being skipped ({@code inGroup}, returns false) and is an error anywhere else.
     */
    private boolean skipField(int tag, boolean inGroup) {
        switch (WireFormat.getTagWireType(tag)) {
            case WireFormat.WIRETYPE_VARINT -> readVarint64();
            case WireFormat.WIRETYPE_FIXED64 -> skipFixed(8);
            case WireFormat.WIRETYPE_LENGTH_DELIMITED -> {
                int length = readVarint32();
                checkLength(length);
                pos += length;
            }
            case WireFormat.WIRETYPE_START_GROUP -> skipGroup(tag);
            case WireFormat.WIRETYPE_END_GROUP -> {
                if (!inGroup) {
                    throw doesNotParse("end-group tag of field " + (tag >>> 3) + " outside a group, before byte "
                            + (pos - start));
                }
                return false;
            }
            case WireFormat.WIRETYPE_FIXED32 -> skipFixed(4);
            default -> throw doesNotParse("field " + (tag >>> 3) + " has invalid wire type " + (tag & 7)
                    + ", before byte " + (pos - start));
        }
        return true;
    }

    private void skipGroup(int startTag) {
        if (depth >= RECURSION_LIMIT) {
            throw doesNotParse("messages and groups nest more than " + RECURSION_LIMIT + " deep");
        }
        depth++;
        int endTag = (startTag >>> 3) << 3 | END_GROUP;
        int tag;
        do {
            tag = readTag();
            if (tag == 0) {
                throw doesNotParse("group of field " + (startTag >>> 3) + " is not closed before byte " + (pos - start));
            }
        } while (skipField(tag, true));
        if (tag != endTag) {
            throw doesNotParse("group of field " + (startTag >>> 3) + " is closed by the end tag of field "
                    + (tag >>> 3) + ", before byte " + (pos - start));
        }
        depth--;
    }

    private void skipFixed(int bytes) {
        if (limit - pos < bytes) {
            throw truncated();
        }
        pos += bytes;
    }

    /** A length-delimited field's bytes, copied out: the only copy of an entry payload. */
    private byte[] readBytes() {
        int length = readVarint32();
        checkLength(length);
        if (length == 0) {
            return EMPTY_BYTES;
        }
        byte[] bytes = new byte[length];
        in.get(pos, bytes);
        pos += length;
        return bytes;
    }

    private void checkLength(int length) {
        if (length < 0) {
            throw doesNotParse("negative length " + length + " before byte " + (pos - start));
        }
        if (length > limit - pos) {
            throw truncated();
        }
    }

    /**
     * A 32-bit varint (tags, lengths, enums): up to 10 bytes, of which the low 32 bits are kept; a
     * 10th byte with the continuation bit set is malformed.
     */
    private int readVarint32() {
        int at = pos;
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos == limit) {
                throw truncated();
            }
            byte b = in.get(pos++);
            value |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                return (int) value;
            }
        }
        throw tooLong(at);
    }

    /**
     * A 64-bit varint, as protobuf-java's {@code readRawVarint64} reads it. That reader stops after
     * 10 bytes whatever the 10th says, except that it reports a malformed varint when the 10th byte
     * has its continuation bit set and its lowest bit clear (its fast path then falls back to the
     * strict slow path); the 10th byte contributes only its lowest bit, as bit 63. So
     * {@code ff ff ff ff ff ff ff ff ff 81} is 2^64 - 1 and the byte after it starts the next field.
     * The old path accepted such frames, so this one must.
     */
    private long readVarint64() {
        int at = pos;
        long value = 0;
        for (int shift = 0; shift < 63; shift += 7) {
            if (pos == limit) {
                throw truncated();
            }
            byte b = in.get(pos++);
            value |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                return value;
            }
        }
        if (pos == limit) {
            throw truncated();
        }
        byte last = in.get(pos++);
        if ((last & 0x81) == 0x80) {
            throw tooLong(at);
        }
        return value | (long) (last & 1) << 63;
    }

    private MalformedMessageException tooLong(int at) {
        return doesNotParse("varint at byte " + (at - start) + " does not end within 10 bytes");
    }

    private MalformedMessageException truncated() {
        return doesNotParse("a field runs past the end of its message or of the batch, at byte " + (pos - start));
    }

    private MalformedMessageException doesNotParse(String why) {
        return doesNotParse(why, null);
    }

    private MalformedMessageException doesNotParse(String why, Throwable cause) {
        return new MalformedMessageException("batch of " + frameBytes + " bytes does not parse: " + why, cause);
    }
}

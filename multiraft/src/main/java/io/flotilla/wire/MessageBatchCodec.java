package io.flotilla.wire;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import io.flotilla.raft.Entry;
import io.flotilla.raft.Message;
import io.flotilla.wire.proto.MessageBatch;
import io.flotilla.wire.proto.RaftMessage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Objects;

/**
 * The peer wire's {@code MessageBatch} (raft.proto) written from and read into the core's
 * {@link Message}s directly, without protobuf message objects: the bytes are exactly those of the
 * generated classes (fields in number order, zero values left out), and reading accepts and rejects
 * exactly what the generated parser followed by the old proto-object conversion did (that path is
 * kept in the tests as {@code ReferenceRaftCodec}, the oracle this codec is checked against). The
 * proto-object path cost about 45% of the bytes the runtime allocated (a {@code RaftMessage} and an
 * {@code Entry} per message and entry each way, plus a copy of every received frame); this one
 * allocates the frame buffer on the way out and, on the way in, only what the core keeps (messages,
 * entries, one copy of each payload). SNAPSHOT messages, rare and small, still use the generated
 * {@code Snapshot} class for their snapshot field. The checks a decoded message must pass are in
 * {@link RaftCodec}.
 *
 * <p>Stateless: any thread may call it (a worker encodes, a transport I/O thread decodes).
 */
public final class MessageBatchCodec {
    private static final int VARINT = WireFormat.WIRETYPE_VARINT;
    private static final int LENGTH_DELIMITED = WireFormat.WIRETYPE_LENGTH_DELIMITED;

    // Field numbers come from the generated classes, so a renumbered raft.proto changes them here too.
    static final int BATCH_MESSAGES = MessageBatch.MESSAGES_FIELD_NUMBER;
    static final int TYPE = RaftMessage.TYPE_FIELD_NUMBER;
    static final int GROUP_ID = RaftMessage.GROUP_ID_FIELD_NUMBER;
    static final int FROM = RaftMessage.FROM_FIELD_NUMBER;
    static final int TO = RaftMessage.TO_FIELD_NUMBER;
    static final int TERM = RaftMessage.TERM_FIELD_NUMBER;
    static final int LOG_TERM = RaftMessage.LOG_TERM_FIELD_NUMBER;
    static final int INDEX = RaftMessage.INDEX_FIELD_NUMBER;
    static final int ENTRIES = RaftMessage.ENTRIES_FIELD_NUMBER;
    static final int COMMIT = RaftMessage.COMMIT_FIELD_NUMBER;
    static final int REJECT = RaftMessage.REJECT_FIELD_NUMBER;
    static final int REJECT_HINT = RaftMessage.REJECT_HINT_FIELD_NUMBER;
    static final int CONTEXT = RaftMessage.CONTEXT_FIELD_NUMBER;
    static final int SNAPSHOT = RaftMessage.SNAPSHOT_FIELD_NUMBER;
    static final int ENTRY_TERM = io.flotilla.wire.proto.Entry.TERM_FIELD_NUMBER;
    static final int ENTRY_INDEX = io.flotilla.wire.proto.Entry.INDEX_FIELD_NUMBER;
    static final int ENTRY_TYPE = io.flotilla.wire.proto.Entry.TYPE_FIELD_NUMBER;
    static final int ENTRY_DATA = io.flotilla.wire.proto.Entry.DATA_FIELD_NUMBER;

    // Tags, (field number << 3) | wire type, as constants so the reader can switch on them.
    static final int BATCH_MESSAGES_TAG = BATCH_MESSAGES << 3 | LENGTH_DELIMITED;
    static final int TYPE_TAG = TYPE << 3 | VARINT;
    static final int GROUP_ID_TAG = GROUP_ID << 3 | VARINT;
    static final int FROM_TAG = FROM << 3 | VARINT;
    static final int TO_TAG = TO << 3 | VARINT;
    static final int TERM_TAG = TERM << 3 | VARINT;
    static final int LOG_TERM_TAG = LOG_TERM << 3 | VARINT;
    static final int INDEX_TAG = INDEX << 3 | VARINT;
    static final int ENTRIES_TAG = ENTRIES << 3 | LENGTH_DELIMITED;
    static final int COMMIT_TAG = COMMIT << 3 | VARINT;
    static final int REJECT_TAG = REJECT << 3 | VARINT;
    static final int REJECT_HINT_TAG = REJECT_HINT << 3 | VARINT;
    static final int CONTEXT_TAG = CONTEXT << 3 | VARINT;
    static final int SNAPSHOT_TAG = SNAPSHOT << 3 | LENGTH_DELIMITED;
    static final int ENTRY_TERM_TAG = ENTRY_TERM << 3 | VARINT;
    static final int ENTRY_INDEX_TAG = ENTRY_INDEX << 3 | VARINT;
    static final int ENTRY_TYPE_TAG = ENTRY_TYPE << 3 | VARINT;
    static final int ENTRY_DATA_TAG = ENTRY_DATA << 3 | LENGTH_DELIMITED;

    private MessageBatchCodec() {
    }

    // ---------------------------------------------------------------- encoding

    /**
     * Bytes {@code m} takes in a batch body: its field tag, its length and the {@code RaftMessage}.
     * A body is the sum of its messages' field bytes, so a sender can split a batch by size before
     * writing a byte.
     */
    public static int fieldBytes(Message m) {
        return lengthDelimitedFieldBytes(BATCH_MESSAGES, messageBytes(m));
    }

    /**
     * Writes {@code messages[from, to)} as batch fields, skipping any whose {@link #fieldBytes} is
     * over {@code maxFieldBytes} (the sender dropped those; pass {@link Integer#MAX_VALUE} to write all).
     * {@code out} receives exactly the bytes {@code MessageBatch.writeTo} would write for them.
     */
    public static void writeBatch(CodedOutputStream out, List<Message> messages, int from, int to, int maxFieldBytes)
            throws IOException {
        for (int i = from; i < to; i++) {
            Message m = messages.get(i);
            int messageBytes = messageBytes(m);
            if (lengthDelimitedFieldBytes(BATCH_MESSAGES, messageBytes) > maxFieldBytes) {
                continue;
            }
            out.writeTag(BATCH_MESSAGES, LENGTH_DELIMITED);
            out.writeUInt32NoTag(messageBytes);
            writeMessage(out, m);
        }
    }

    /** Encodes a whole batch as one frame body (what {@link RaftCodec#encodeBatch} returns). */
    public static byte[] encodeBatch(List<Message> messages) {
        int bodyBytes = 0;
        for (int i = 0; i < messages.size(); i++) {
            bodyBytes += fieldBytes(messages.get(i));
        }
        byte[] body = new byte[bodyBytes];
        CodedOutputStream out = CodedOutputStream.newInstance(body);
        try {
            writeBatch(out, messages, 0, messages.size(), Integer.MAX_VALUE);
        } catch (IOException e) {
            // Writing into an array of exactly the computed size cannot run out of space.
            throw new UncheckedIOException("encoding a " + bodyBytes + "-byte batch into an exact array failed", e);
        }
        out.checkNoSpaceLeft();
        return body;
    }

    /** Size of {@code m} as a {@code RaftMessage}; mirrors {@link #writeMessage} field by field. */
    static int messageBytes(Message m) {
        Objects.requireNonNull(m.type, "message type");
        int bytes = CodedOutputStream.computeEnumSize(TYPE, m.type.code)
                + uint64FieldBytes(GROUP_ID, m.groupId)
                + uint64FieldBytes(FROM, m.from)
                + uint64FieldBytes(TO, m.to)
                + uint64FieldBytes(TERM, m.term)
                + uint64FieldBytes(LOG_TERM, m.logTerm)
                + uint64FieldBytes(INDEX, m.index);
        List<Entry> entries = m.entries;
        for (int i = 0; i < entries.size(); i++) {
            bytes += lengthDelimitedFieldBytes(ENTRIES, entryBytes(entries.get(i)));
        }
        bytes += uint64FieldBytes(COMMIT, m.commit)
                + (m.reject ? CodedOutputStream.computeBoolSize(REJECT, true) : 0)
                + uint64FieldBytes(REJECT_HINT, m.rejectHint)
                + uint64FieldBytes(CONTEXT, m.context);
        if (m.snapshot != null) {
            bytes += CodedOutputStream.computeMessageSize(SNAPSHOT, RaftCodec.toProto(m.snapshot));
        }
        return bytes;
    }

    /** Writes {@code m}'s fields as {@code RaftMessage.writeTo} does: in field-number order, zero values left out. */
    private static void writeMessage(CodedOutputStream out, Message m) throws IOException {
        out.writeEnum(TYPE, m.type.code);
        writeUInt64(out, GROUP_ID, m.groupId);
        writeUInt64(out, FROM, m.from);
        writeUInt64(out, TO, m.to);
        writeUInt64(out, TERM, m.term);
        writeUInt64(out, LOG_TERM, m.logTerm);
        writeUInt64(out, INDEX, m.index);
        List<Entry> entries = m.entries;
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            out.writeTag(ENTRIES, LENGTH_DELIMITED);
            out.writeUInt32NoTag(entryBytes(e));
            writeUInt64(out, ENTRY_TERM, e.term());
            writeUInt64(out, ENTRY_INDEX, e.index());
            if (e.type().code != 0) {
                out.writeEnum(ENTRY_TYPE, e.type().code);
            }
            if (e.data().length > 0) {
                out.writeByteArray(ENTRY_DATA, e.data());
            }
        }
        writeUInt64(out, COMMIT, m.commit);
        if (m.reject) {
            out.writeBool(REJECT, true);
        }
        writeUInt64(out, REJECT_HINT, m.rejectHint);
        writeUInt64(out, CONTEXT, m.context);
        if (m.snapshot != null) {
            out.writeMessage(SNAPSHOT, RaftCodec.toProto(m.snapshot));
        }
    }

    private static int entryBytes(Entry e) {
        return uint64FieldBytes(ENTRY_TERM, e.term())
                + uint64FieldBytes(ENTRY_INDEX, e.index())
                + (e.type().code != 0 ? CodedOutputStream.computeEnumSize(ENTRY_TYPE, e.type().code) : 0)
                + (e.data().length > 0 ? CodedOutputStream.computeByteArraySize(ENTRY_DATA, e.data()) : 0);
    }

    private static int uint64FieldBytes(int field, long value) {
        return value == 0 ? 0 : CodedOutputStream.computeUInt64Size(field, value);
    }

    private static int lengthDelimitedFieldBytes(int field, int bodyBytes) {
        return CodedOutputStream.computeTagSize(field) + CodedOutputStream.computeUInt32SizeNoTag(bodyBytes) + bodyBytes;
    }

    private static void writeUInt64(CodedOutputStream out, int field, long value) throws IOException {
        if (value != 0) {
            out.writeUInt64(field, value);
        }
    }

    // ---------------------------------------------------------------- decoding

    /**
     * Decodes and validates a frame body: the bytes from {@code body}'s position to its limit, read
     * in place (heap or direct; the position is not moved). The size limit is checked before any
     * parsing. Each entry payload is copied out once, so nothing decoded shares {@code body}: the
     * caller may release or reuse it as soon as this returns.
     *
     * @param maxBytes the largest frame body accepted, > 0
     * @return the messages in wire order, in a list the caller owns
     * @throws MalformedMessageException if the frame is too big, does not parse, or holds an invalid
     *         message; the first problem found is named, as {@link RaftCodec#decodeBatch} always has
     */
    public static List<Message> decodeBatch(ByteBuffer body, int maxBytes) {
        return reader(body, maxBytes).read();
    }

    /** Hears what {@link #decodeValidMessages} left out of a frame. */
    @FunctionalInterface
    public interface InvalidMessages {
        /**
         * {@code count} (> 0) invalid messages were left out; {@code first} says what was wrong with
         * the first, in the words {@link #decodeBatch} would have thrown.
         */
        void dropped(int count, MalformedMessageException first);
    }

    /**
     * Decodes a frame body as {@link #decodeBatch} does, except that a message that parses but is
     * invalid (an unknown type, a node id 0, a value of 2^63 or more, a gap in its entries, ...)
     * costs only itself: it is left out, and {@code onInvalid} hears of it once the whole frame has
     * parsed. One connection carries the messages of every group, and Raft tolerates a lost message,
     * so a bad message need not take the others down with it. Only the first invalid message is
     * described, so a frame full of them costs about what a valid one does.
     *
     * @throws MalformedMessageException only if the frame is too big or does not parse: then the
     *         bytes cannot be trusted to delimit messages, and nothing in the frame is delivered
     */
    public static List<Message> decodeValidMessages(ByteBuffer body, int maxBytes, InvalidMessages onInvalid) {
        Objects.requireNonNull(onInvalid, "onInvalid");
        return reader(body, maxBytes).readValid(onInvalid);
    }

    private static MessageBatchReader reader(ByteBuffer body, int maxBytes) {
        Objects.requireNonNull(body, "body");
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes " + maxBytes + " must be positive");
        }
        if (body.remaining() > maxBytes) {
            throw new MalformedMessageException(
                    "batch is " + body.remaining() + " bytes, over the limit of " + maxBytes + " bytes");
        }
        return new MessageBatchReader(body);
    }
}

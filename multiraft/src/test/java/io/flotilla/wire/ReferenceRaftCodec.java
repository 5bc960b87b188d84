package io.flotilla.wire;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.UnsafeByteOperations;
import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.Message;
import io.flotilla.raft.MessageType;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.SnapshotMetadata;
import io.flotilla.wire.proto.MessageBatch;
import io.flotilla.wire.proto.RaftMessage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * The proto-object path of the wire as it was before {@link MessageBatchCodec}: a frozen copy of the
 * old {@code RaftCodec} (build {@code RaftMessage}/{@code Entry}/{@code MessageBatch} objects, let
 * the generated parser read them, then convert and validate). Tests only: the oracle the direct
 * codec is checked against, byte for byte on encoding and verdict for verdict on decoding, and the
 * way tests (here and in the transport's) build protobuf messages to edit into invalid ones. Main
 * code no longer has this path. Do not "fix" it to match the new codec; a disagreement is a finding
 * about the new one. It keeps its own snapshot and membership conversions too, although
 * {@code RaftCodec} still has them: the new codec uses those, so the oracle must not. Only what the
 * batch path reaches is kept. Stateless.
 */
public final class ReferenceRaftCodec {
    private static final byte[] EMPTY_BYTES = new byte[0];

    private ReferenceRaftCodec() {
    }

    // ---------------------------------------------------------------- batches

    /** Encodes the messages for one peer node produced in one worker round as one frame body. */
    public static byte[] encodeBatch(List<Message> messages) {
        MessageBatch.Builder batch = MessageBatch.newBuilder();
        for (int i = 0; i < messages.size(); i++) {
            batch.addMessages(toProto(messages.get(i)));
        }
        return batch.build().toByteArray();
    }

    /**
     * Decodes and validates a frame body made by {@link #encodeBatch}. The size limit is checked
     * before any parsing, so an oversized frame costs nothing but its length.
     *
     * @param maxBytes the largest frame body accepted, > 0
     * @throws MalformedMessageException if the frame is too big, does not parse, or holds an
     *         invalid message; the first problem found is named
     */
    public static List<Message> decodeBatch(byte[] bytes, int maxBytes) {
        MessageBatch batch = parseBatch(bytes, maxBytes);
        int count = batch.getMessagesCount();
        List<Message> messages = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            try {
                messages.add(fromProto(batch.getMessages(i)));
            } catch (MalformedMessageException e) {
                throw new MalformedMessageException("message " + (i + 1) + " of " + count + ": " + e.getMessage(), e);
            }
        }
        return messages;
    }

    /**
     * The oracle for {@link MessageBatchCodec#decodeValidMessages}, composed of this class's frozen
     * parts: the same parse, then each message converted on its own; an invalid one is left out and
     * its error, worded as {@link #decodeBatch} words it, added to {@code invalid}.
     */
    public static List<Message> decodeValidMessages(byte[] bytes, int maxBytes, List<String> invalid) {
        MessageBatch batch = parseBatch(bytes, maxBytes);
        int count = batch.getMessagesCount();
        List<Message> messages = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            try {
                messages.add(fromProto(batch.getMessages(i)));
            } catch (MalformedMessageException e) {
                invalid.add("message " + (i + 1) + " of " + count + ": " + e.getMessage());
            }
        }
        return messages;
    }

    private static MessageBatch parseBatch(byte[] bytes, int maxBytes) {
        Objects.requireNonNull(bytes, "bytes");
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes " + maxBytes + " must be positive");
        }
        if (bytes.length > maxBytes) {
            throw new MalformedMessageException(
                    "batch is " + bytes.length + " bytes, over the limit of " + maxBytes + " bytes");
        }
        MessageBatch batch;
        try {
            // An input over a buffer it believes immutable, with aliasing on, parses payloads into
            // views of `bytes` instead of copies; fromProto then copies each payload out exactly once,
            // before this method returns, so nothing decoded shares `bytes` with the caller.
            CodedInputStream in = UnsafeByteOperations.unsafeWrap(bytes).newCodedInput();
            in.enableAliasing(true);
            batch = MessageBatch.parseFrom(in);
            // parseFrom(byte[]) checks the input ended cleanly; parseFrom(CodedInputStream) leaves it
            // to the caller (4.36 happens to reject a stray end-group tag itself; do not rely on it).
            in.checkLastTagWas(0);
        } catch (IOException e) {
            // Over an in-memory buffer only InvalidProtocolBufferException (an IOException) occurs.
            throw new MalformedMessageException("batch of " + bytes.length + " bytes does not parse: " + e.getMessage(), e);
        }
        return batch;
    }

    // ---------------------------------------------------------------- messages

    /** Converts a message from the core. Fields the type does not use are zero and cost no bytes. */
    public static RaftMessage toProto(Message m) {
        Objects.requireNonNull(m.type, "message type");
        RaftMessage.Builder b = RaftMessage.newBuilder()
                .setTypeValue(m.type.code)
                .setGroupId(m.groupId)
                .setFrom(m.from)
                .setTo(m.to)
                .setTerm(m.term)
                .setLogTerm(m.logTerm)
                .setIndex(m.index)
                .setCommit(m.commit)
                .setReject(m.reject)
                .setRejectHint(m.rejectHint)
                .setContext(m.context);
        List<Entry> entries = m.entries;
        for (int i = 0; i < entries.size(); i++) {
            b.addEntries(toProto(entries.get(i)));
        }
        if (m.snapshot != null) {
            b.setSnapshot(toProto(m.snapshot));
        }
        return b.build();
    }

    /**
     * Converts and validates a message from a peer.
     *
     * @throws MalformedMessageException naming the message (type, group, nodes, term) and the problem
     */
    public static Message fromProto(RaftMessage p) {
        try {
            return decodeMessage(p);
        } catch (MalformedMessageException e) {
            throw new MalformedMessageException(describe(p) + ": " + e.getMessage(), e);
        }
    }

    private static Message decodeMessage(RaftMessage p) {
        MessageType type = MessageType.fromCode(p.getTypeValue());
        if (type == null) {
            throw new MalformedMessageException(p.getTypeValue() == 0
                    ? "message type is unspecified (0)"
                    : "unknown message type " + p.getTypeValue());
        }
        Message m = new Message(type, nodeOrGroupId(p.getGroupId(), "group id"),
                nodeOrGroupId(p.getFrom(), "from"), nodeOrGroupId(p.getTo(), "to"),
                nonNegative(p.getTerm(), "term"));
        m.logTerm = nonNegative(p.getLogTerm(), "log term");
        m.index = nonNegative(p.getIndex(), "index");
        m.commit = nonNegative(p.getCommit(), "commit");
        m.reject = p.getReject();
        m.rejectHint = nonNegative(p.getRejectHint(), "reject hint");
        m.context = p.getContext();
        if (type == MessageType.APPEND) {
            m.entries = decodeAppendEntries(p, m);
        } else if (p.getEntriesCount() > 0) {
            throw new MalformedMessageException(p.getEntriesCount() + " entries in a message that carries none");
        }
        if (type == MessageType.SNAPSHOT) {
            m.snapshot = decodeSnapshotToInstall(p, m);
        } else if (p.hasSnapshot()) {
            throw new MalformedMessageException("a snapshot in a message that carries none");
        }
        return m;
    }

    /**
     * The entries of an APPEND must extend the log the leader claims at (index, logTerm): indexes
     * index+1, index+2, ... with terms that never decrease, start at logTerm or later and never pass
     * the leader's term (Raft thesis §3.5, Log Matching). A follower stepping anything else would
     * corrupt its log, so it is a malformed frame, not a rejection.
     */
    private static List<Entry> decodeAppendEntries(RaftMessage p, Message m) {
        if (m.logTerm > m.term) {
            throw new MalformedMessageException("log term " + m.logTerm + " is beyond the message term " + m.term);
        }
        int count = p.getEntriesCount();
        if (count == 0) {
            return Message.NO_ENTRIES;
        }
        Entry[] entries = new Entry[count];
        long previousTerm = m.logTerm;
        for (int i = 0; i < count; i++) {
            Entry e = fromProto(p.getEntries(i));
            long want = m.index + 1 + i;
            if (e.index() != want) {
                throw new MalformedMessageException("entry " + (i + 1) + " of " + count + " has index " + e.index()
                        + ", want " + want + " (entries must follow index " + m.index + " without gaps)");
            }
            if (e.term() > m.term) {
                throw new MalformedMessageException("entry at index " + e.index() + " has term " + e.term()
                        + ", beyond the message term " + m.term);
            }
            if (e.term() < previousTerm) {
                throw new MalformedMessageException("entry at index " + e.index() + " has term " + e.term()
                        + ", below the term " + previousTerm + " before it (terms in a log never decrease)");
            }
            previousTerm = e.term();
            entries[i] = e;
        }
        return Collections.unmodifiableList(Arrays.asList(entries));
    }

    private static Snapshot decodeSnapshotToInstall(RaftMessage p, Message m) {
        if (!p.hasSnapshot()) {
            throw new MalformedMessageException("SNAPSHOT message without a snapshot");
        }
        Snapshot s = fromProto(p.getSnapshot());
        SnapshotMetadata md = s.metadata();
        if (md.index() == 0 || md.term() == 0) {
            throw new MalformedMessageException("SNAPSHOT message with an empty snapshot (index "
                    + md.index() + ", term " + md.term() + ")");
        }
        if (md.term() > m.term) {
            throw new MalformedMessageException("snapshot term " + md.term() + " is beyond the message term " + m.term);
        }
        return s;
    }

    private static String describe(RaftMessage p) {
        MessageType type = MessageType.fromCode(p.getTypeValue());
        return (type == null ? "type " + p.getTypeValue() : type.name())
                + " group " + Long.toUnsignedString(p.getGroupId())
                + " " + Long.toUnsignedString(p.getFrom()) + "->" + Long.toUnsignedString(p.getTo())
                + " term " + Long.toUnsignedString(p.getTerm());
    }

    // ---------------------------------------------------------------- entries

    /** Converts an entry without copying its payload: {@link Entry} promises never to write it. */
    public static io.flotilla.wire.proto.Entry toProto(Entry e) {
        return io.flotilla.wire.proto.Entry.newBuilder()
                .setTerm(e.term())
                .setIndex(e.index())
                .setTypeValue(e.type().code)
                .setData(wrapImmutable(e.data()))
                .build();
    }

    /**
     * Converts and validates one entry: term and index > 0, a known type, and for a
     * {@link EntryType#CONF_CHANGE} a payload {@link ConfChange#decode} accepts, so a bad one is
     * caught here and not when the group applies it.
     */
    public static Entry fromProto(io.flotilla.wire.proto.Entry p) {
        long index = nonNegative(p.getIndex(), "entry index");
        if (index == 0) {
            throw new MalformedMessageException("entry has index 0");
        }
        long term = nonNegative(p.getTerm(), "entry term");
        if (term == 0) {
            throw new MalformedMessageException("entry at index " + index + " has term 0");
        }
        EntryType type = EntryType.fromCode(p.getTypeValue());
        if (type == null) {
            throw new MalformedMessageException("entry at index " + index + " has unknown type " + p.getTypeValue());
        }
        byte[] data = copy(p.getData());
        if (type == EntryType.CONF_CHANGE) {
            try {
                ConfChange.decode(data);
            } catch (IllegalArgumentException e) {
                throw new MalformedMessageException("entry at index " + index + " is a bad conf change: " + e.getMessage(), e);
            }
        }
        return new Entry(term, index, type, data);
    }

    // ---------------------------------------------------------------- state and snapshots

    public static io.flotilla.wire.proto.ConfState toProto(ConfState s) {
        io.flotilla.wire.proto.ConfState.Builder b = io.flotilla.wire.proto.ConfState.newBuilder();
        for (long v : s.voters()) {
            b.addVoters(v);
        }
        for (long l : s.learners()) {
            b.addLearners(l);
        }
        return b.build();
    }

    /** Converts and validates a membership: node ids > 0, none listed twice, none both voter and learner. */
    public static ConfState fromProto(io.flotilla.wire.proto.ConfState p) {
        long[] voters = nodeIds(p.getVotersCount(), p::getVoters, "voter");
        long[] learners = nodeIds(p.getLearnersCount(), p::getLearners, "learner");
        for (long l : learners) {
            if (Arrays.binarySearch(voters, l) >= 0) {
                throw new MalformedMessageException("node " + l + " is both voter and learner");
            }
        }
        return new ConfState(voters, learners);
    }

    public static io.flotilla.wire.proto.SnapshotMetadata toProto(SnapshotMetadata md) {
        return io.flotilla.wire.proto.SnapshotMetadata.newBuilder()
                .setIndex(md.index())
                .setTerm(md.term())
                .setConfState(toProto(md.confState()))
                .build();
    }

    /** Converts and validates snapshot metadata; an absent conf state reads as {@link ConfState#EMPTY}. */
    public static SnapshotMetadata fromProto(io.flotilla.wire.proto.SnapshotMetadata p) {
        return new SnapshotMetadata(nonNegative(p.getIndex(), "snapshot index"),
                nonNegative(p.getTerm(), "snapshot term"),
                p.hasConfState() ? fromProto(p.getConfState()) : ConfState.EMPTY);
    }

    /**
     * Converts a snapshot. The payload is copied: unlike {@link Entry}, {@link Snapshot} does not
     * promise its array is never written. It is a small handle in the multi-group runtime.
     */
    public static io.flotilla.wire.proto.Snapshot toProto(Snapshot s) {
        return io.flotilla.wire.proto.Snapshot.newBuilder()
                .setMetadata(toProto(s.metadata()))
                .setData(s.data() == null || s.data().length == 0 ? ByteString.EMPTY : ByteString.copyFrom(s.data()))
                .build();
    }

    /** Converts and validates a snapshot; its metadata is required (an empty snapshot has index 0). */
    public static Snapshot fromProto(io.flotilla.wire.proto.Snapshot p) {
        if (!p.hasMetadata()) {
            throw new MalformedMessageException("snapshot without metadata");
        }
        return new Snapshot(fromProto(p.getMetadata()), copy(p.getData()));
    }

    // ---------------------------------------------------------------- helpers

    private interface LongAt {
        long get(int i);
    }

    private static long[] nodeIds(int count, LongAt at, String role) {
        long[] ids = new long[count];
        for (int i = 0; i < count; i++) {
            ids[i] = nodeOrGroupId(at.get(i), role);
        }
        Arrays.sort(ids);
        for (int i = 1; i < count; i++) {
            if (ids[i] == ids[i - 1]) {
                throw new MalformedMessageException(role + " " + ids[i] + " is listed twice");
            }
        }
        return ids;
    }

    private static long nodeOrGroupId(long id, String field) {
        if (id == 0) {
            throw new MalformedMessageException(field + " is 0");
        }
        return nonNegative(id, field);
    }

    private static long nonNegative(long value, String field) {
        if (value < 0) {
            throw new MalformedMessageException(field + " " + Long.toUnsignedString(value) + " is 2^63 or more");
        }
        return value;
    }

    private static ByteString wrapImmutable(byte[] data) {
        return data == null || data.length == 0 ? ByteString.EMPTY : UnsafeByteOperations.unsafeWrap(data);
    }

    private static byte[] copy(ByteString bytes) {
        return bytes.isEmpty() ? EMPTY_BYTES : bytes.toByteArray();
    }
}

package io.flotilla.wire;

import com.google.protobuf.ByteString;
import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.Message;
import io.flotilla.raft.MessageType;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.SnapshotMetadata;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The rules a message from a peer must pass before it reaches the core, and a byte-array facade over
 * {@link MessageBatchCodec}, the one production codec of the peer wire. {@link MessageBatchCodec}
 * and {@link MessageBatchReader} read and write the bytes; the checks live here so that what they
 * reject is written down in one place. Stateless: any thread may call it (in practice a worker
 * encodes, a transport I/O thread decodes).
 *
 * <p>Encoding trusts its input: it comes from this node's core. Decoding does not: it either returns
 * values the core can step safely or throws {@link MalformedMessageException} saying what was wrong
 * — never another exception, so bad bytes from a peer reach no group (DESIGN.md, "The wire").
 *
 * <p>Wire integers are uint64; the core's are signed longs. A value at or above 2^63 would read as
 * negative and is rejected everywhere except in {@code context}, which the core only echoes.
 *
 * <p>No message is built as a protobuf object. Only the snapshot of a SNAPSHOT message, rare and
 * small, goes through a generated class ({@code Snapshot}); its conversions are the last ones here.
 * The proto-object path for whole messages that this class once had lives only in the tests, as
 * {@code ReferenceRaftCodec}, the oracle the production codec is checked against.
 */
public final class RaftCodec {
    private static final byte[] EMPTY_BYTES = new byte[0];

    private RaftCodec() {
    }

    // ---------------------------------------------------------------- batches

    /** Encodes the messages for one peer node produced in one worker round as one frame body. */
    public static byte[] encodeBatch(List<Message> messages) {
        return MessageBatchCodec.encodeBatch(messages);
    }

    /**
     * Decodes and validates a frame body made by {@link #encodeBatch}. The size limit is checked
     * before any parsing, so an oversized frame costs nothing but its length. Nothing decoded
     * shares {@code bytes}: each entry payload is copied out once.
     *
     * @param maxBytes the largest frame body accepted, > 0
     * @throws MalformedMessageException if the frame is too big, does not parse, or holds an
     *         invalid message; the first problem found is named
     */
    public static List<Message> decodeBatch(byte[] bytes, int maxBytes) {
        Objects.requireNonNull(bytes, "bytes");
        return MessageBatchCodec.decodeBatch(ByteBuffer.wrap(bytes), maxBytes);
    }

    // ---------------------------------------------------------------- messages

    /**
     * Checks a message's scalar fields as they came off the wire and builds the message from them:
     * a known type, group and node ids > 0, and no value that reads as negative (but {@code context}).
     */
    static Message message(int typeCode, long groupId, long from, long to, long term, long logTerm, long index,
            long commit, boolean reject, long rejectHint, long context) {
        MessageType type = MessageType.fromCode(typeCode);
        if (type == null) {
            throw new MalformedMessageException(typeCode == 0
                    ? "message type is unspecified (0)"
                    : "unknown message type " + typeCode);
        }
        Message m = new Message(type, nodeOrGroupId(groupId, "group id"),
                nodeOrGroupId(from, "from"), nodeOrGroupId(to, "to"), nonNegative(term, "term"));
        m.logTerm = nonNegative(logTerm, "log term");
        m.index = nonNegative(index, "index");
        m.commit = nonNegative(commit, "commit");
        m.reject = reject;
        m.rejectHint = nonNegative(rejectHint, "reject hint");
        m.context = context;
        return m;
    }

    static MalformedMessageException entriesNotCarried(int count) {
        return new MalformedMessageException(count + " entries in a message that carries none");
    }

    static MalformedMessageException snapshotNotCarried() {
        return new MalformedMessageException("a snapshot in a message that carries none");
    }

    /** An APPEND's log term is not beyond its term; checked before its entries (see {@link #checkAppendEntry}). */
    static void checkAppendLogTerm(Message m) {
        if (m.logTerm > m.term) {
            throw new MalformedMessageException("log term " + m.logTerm + " is beyond the message term " + m.term);
        }
    }

    /**
     * Checks entry {@code i} of {@code count} in APPEND {@code m}, after an entry (or the log) at
     * {@code previousTerm}. The entries of an APPEND must extend the log the leader claims at (index,
     * logTerm): indexes index+1, index+2, ... with terms that never decrease, start at logTerm or
     * later and never pass the leader's term (Raft thesis §3.5, Log Matching). A follower stepping
     * anything else would corrupt its log, so it is a malformed message, not a rejection.
     */
    static void checkAppendEntry(Message m, int i, int count, Entry e, long previousTerm) {
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
    }

    /** The snapshot of a SNAPSHOT message: present, not empty, and not from a term beyond the message's. */
    static Snapshot snapshotToInstall(io.flotilla.wire.proto.Snapshot p, Message m) {
        if (p == null) {
            throw new MalformedMessageException("SNAPSHOT message without a snapshot");
        }
        Snapshot s = fromProto(p);
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

    /** Names a message in an error, from its wire fields as they are (they may be what is wrong). */
    static String describe(int typeCode, long groupId, long from, long to, long term) {
        MessageType type = MessageType.fromCode(typeCode);
        return (type == null ? "type " + typeCode : type.name())
                + " group " + Long.toUnsignedString(groupId)
                + " " + Long.toUnsignedString(from) + "->" + Long.toUnsignedString(to)
                + " term " + Long.toUnsignedString(term);
    }

    // ---------------------------------------------------------------- entries

    /**
     * Checks one entry's wire fields and builds it: term and index > 0, a known type, and for a
     * {@link EntryType#CONF_CHANGE} a payload {@link ConfChange#decode} accepts, so a bad one is
     * caught here and not when the group applies it. {@code data} becomes the entry's.
     */
    static Entry entry(long wireTerm, long wireIndex, int typeCode, byte[] data) {
        long index = nonNegative(wireIndex, "entry index");
        if (index == 0) {
            throw new MalformedMessageException("entry has index 0");
        }
        long term = nonNegative(wireTerm, "entry term");
        if (term == 0) {
            throw new MalformedMessageException("entry at index " + index + " has term 0");
        }
        EntryType type = EntryType.fromCode(typeCode);
        if (type == null) {
            throw new MalformedMessageException("entry at index " + index + " has unknown type " + typeCode);
        }
        if (type == EntryType.CONF_CHANGE) {
            try {
                ConfChange.decode(data);
            } catch (IllegalArgumentException e) {
                throw new MalformedMessageException("entry at index " + index + " is a bad conf change: " + e.getMessage(), e);
            }
        }
        return new Entry(term, index, type, data);
    }

    // ---------------------------------------------------------------- snapshots

    static io.flotilla.wire.proto.ConfState toProto(ConfState s) {
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
    static ConfState fromProto(io.flotilla.wire.proto.ConfState p) {
        long[] voters = nodeIds(p.getVotersCount(), p::getVoters, "voter");
        long[] learners = nodeIds(p.getLearnersCount(), p::getLearners, "learner");
        for (long l : learners) {
            if (Arrays.binarySearch(voters, l) >= 0) {
                throw new MalformedMessageException("node " + l + " is both voter and learner");
            }
        }
        return new ConfState(voters, learners);
    }

    private static io.flotilla.wire.proto.SnapshotMetadata toProto(SnapshotMetadata md) {
        return io.flotilla.wire.proto.SnapshotMetadata.newBuilder()
                .setIndex(md.index())
                .setTerm(md.term())
                .setConfState(toProto(md.confState()))
                .build();
    }

    /** Converts and validates snapshot metadata; an absent conf state reads as {@link ConfState#EMPTY}. */
    private static SnapshotMetadata fromProto(io.flotilla.wire.proto.SnapshotMetadata p) {
        return new SnapshotMetadata(nonNegative(p.getIndex(), "snapshot index"),
                nonNegative(p.getTerm(), "snapshot term"),
                p.hasConfState() ? fromProto(p.getConfState()) : ConfState.EMPTY);
    }

    /**
     * Converts a snapshot, for {@link MessageBatchCodec} to write. The payload is copied: unlike {@link Entry}, {@link Snapshot} does not
     * promise its array is never written. It is a small handle in the multi-group runtime.
     */
    static io.flotilla.wire.proto.Snapshot toProto(Snapshot s) {
        return io.flotilla.wire.proto.Snapshot.newBuilder()
                .setMetadata(toProto(s.metadata()))
                .setData(s.data() == null || s.data().length == 0 ? ByteString.EMPTY : ByteString.copyFrom(s.data()))
                .build();
    }

    /** Converts and validates a snapshot; its metadata is required (an empty snapshot has index 0). */
    static Snapshot fromProto(io.flotilla.wire.proto.Snapshot p) {
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

    private static byte[] copy(ByteString bytes) {
        return bytes.isEmpty() ? EMPTY_BYTES : bytes.toByteArray();
    }
}

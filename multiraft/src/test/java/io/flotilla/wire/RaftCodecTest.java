package io.flotilla.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeType;
import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.Message;
import io.flotilla.raft.MessageType;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.SnapshotMetadata;
import io.flotilla.wire.proto.MessageBatch;
import io.flotilla.wire.proto.RaftMessage;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Round trips through {@link RaftCodec} and every way a peer's bytes can be rejected. */
class RaftCodecTest {
    private static final int LIMIT_BYTES = 4 << 20;
    private static final long GROUP = 1L << 40;

    // ------------------------------------------------------------ round trips

    @ParameterizedTest
    @EnumSource(MessageType.class)
    void everyMessageTypeRoundTrips(MessageType type) {
        Message m = message(type);

        List<Message> decoded = RaftCodec.decodeBatch(RaftCodec.encodeBatch(List.of(m)), LIMIT_BYTES);

        assertThat(decoded).hasSize(1);
        assertSameMessage(decoded.get(0), m);
    }

    @Test
    void rejectionsRoundTrip() {
        Message append = new Message(MessageType.APPEND_RESPONSE, GROUP, 2, 1, 5);
        append.reject = true;
        append.index = 10;
        append.rejectHint = 8;
        append.logTerm = 3;
        Message read = new Message(MessageType.READ_INDEX_RESPONSE, GROUP, 1, 3, 5);
        read.reject = true;
        read.context = 9001;

        List<Message> decoded = RaftCodec.decodeBatch(RaftCodec.encodeBatch(List.of(append, read)), LIMIT_BYTES);

        assertSameMessage(decoded.get(0), append);
        assertSameMessage(decoded.get(1), read);
    }

    @Test
    void batchOfEveryTypeKeepsOrder() {
        List<Message> batch = allTypes();

        List<Message> decoded = RaftCodec.decodeBatch(RaftCodec.encodeBatch(batch), LIMIT_BYTES);

        assertThat(decoded).hasSize(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            assertSameMessage(decoded.get(i), batch.get(i));
        }
    }

    @Test
    void emptyBatchRoundTrips() {
        assertThat(RaftCodec.encodeBatch(List.of())).isEmpty();
        assertThat(RaftCodec.decodeBatch(new byte[0], LIMIT_BYTES)).isEmpty();
    }

    @Test
    void absentFieldsDecodeToTheCoreDefaults() {
        Message m = RaftCodec.decodeBatch(RaftCodec.encodeBatch(List.of(message(MessageType.HEARTBEAT))), LIMIT_BYTES).get(0);

        assertThat(m.entries).isSameAs(Message.NO_ENTRIES);
        assertThat(m.snapshot).isNull();
        Message emptyAppend = new Message(MessageType.APPEND, GROUP, 1, 2, 5);
        emptyAppend.index = 10;
        emptyAppend.logTerm = 5;
        assertThat(RaftCodec.decodeBatch(RaftCodec.encodeBatch(List.of(emptyAppend)), LIMIT_BYTES).get(0).entries)
                .isSameAs(Message.NO_ENTRIES);
    }

    @Test
    void entriesOfBothTypesAndEmptyAndLargePayloadsRoundTrip() {
        byte[] large = new byte[1 << 20];
        new SplittableRandom(7).nextBytes(large);
        Message m = new Message(MessageType.APPEND, GROUP, 1, 2, 9);
        m.index = 41;
        m.logTerm = 8;
        m.commit = 40;
        m.entries = List.of(
                Entry.normal(8, 42, new byte[0]),
                new Entry(9, 43, EntryType.CONF_CHANGE, new ConfChange(ConfChangeType.PROMOTE_LEARNER, 4).encode()),
                Entry.normal(9, 44, large),
                Entry.normal(9, 45, "x".getBytes(StandardCharsets.UTF_8)));

        Message decoded = RaftCodec.decodeBatch(RaftCodec.encodeBatch(List.of(m)), 2 << 20).get(0);

        assertSameMessage(decoded, m);
        assertThat(decoded.entries.get(0).data()).isEmpty();
        assertThat(decoded.entries.get(1).type()).isEqualTo(EntryType.CONF_CHANGE);
        assertThat(ConfChange.decode(decoded.entries.get(1).data()))
                .isEqualTo(new ConfChange(ConfChangeType.PROMOTE_LEARNER, 4));
        assertThat(decoded.entries.get(2).data()).isEqualTo(large);
    }

    @Test
    void decodedPayloadsDoNotShareTheFrameBuffer() {
        Message m = message(MessageType.APPEND);
        byte[] frame = RaftCodec.encodeBatch(List.of(m));

        Message decoded = RaftCodec.decodeBatch(frame, LIMIT_BYTES).get(0);
        Arrays.fill(frame, (byte) 0);

        assertSameMessage(decoded, m);
    }

    @Test
    void confStateRoundTrips() throws Exception {
        for (ConfState cs : List.of(ConfState.EMPTY, ConfState.ofVoters(1, 2, 3),
                new ConfState(new long[] {5, 1, 3}, new long[] {4, 2}))) {
            byte[] bytes = RaftCodec.toProto(cs).toByteArray();
            assertThat(RaftCodec.fromProto(io.flotilla.wire.proto.ConfState.parseFrom(bytes))).isEqualTo(cs);
        }
    }

    @Test
    void snapshotRoundTrips() throws Exception {
        Snapshot full = new Snapshot(new SnapshotMetadata(100, 5, new ConfState(new long[] {1, 2, 3}, new long[] {4})),
                "sst:/data/g7/100".getBytes(StandardCharsets.UTF_8));
        for (Snapshot s : List.of(Snapshot.EMPTY, full)) {
            byte[] bytes = RaftCodec.toProto(s).toByteArray();
            Snapshot decoded = RaftCodec.fromProto(io.flotilla.wire.proto.Snapshot.parseFrom(bytes));
            assertThat(decoded.metadata()).isEqualTo(s.metadata());
            assertThat(decoded.data()).isEqualTo(s.data());
        }
    }

    @Test
    void protoEnumNumbersAreTheCoreCodes() {
        for (MessageType t : MessageType.values()) {
            assertThat(io.flotilla.wire.proto.MessageType.valueOf(t.name()).getNumber()).as(t.name()).isEqualTo(t.code);
        }
        assertThat(io.flotilla.wire.proto.MessageType.getDescriptor().getValues()).hasSize(MessageType.values().length + 1);
        assertThat(io.flotilla.wire.proto.MessageType.forNumber(0))
                .isEqualTo(io.flotilla.wire.proto.MessageType.MESSAGE_TYPE_UNSPECIFIED);
        for (EntryType t : EntryType.values()) {
            assertThat(io.flotilla.wire.proto.EntryType.valueOf(t.name()).getNumber()).as(t.name()).isEqualTo(t.code);
        }
        assertThat(io.flotilla.wire.proto.EntryType.getDescriptor().getValues()).hasSize(EntryType.values().length);
    }

    // ------------------------------------------------------------ validation

    @Test
    void garbageIsMalformed() {
        byte[][] garbage = {
            {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff},
            {0x0f},                             // wire type 7 does not exist
            {0x0a, 0x05, 0x08},                 // a message field claiming 5 bytes, holding 1
            {0x0a, (byte) 0x80},                // a length varint cut short
            "GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII),
        };
        for (byte[] g : garbage) {
            assertThatThrownBy(() -> RaftCodec.decodeBatch(g, LIMIT_BYTES))
                    .as(Arrays.toString(g))
                    .isInstanceOf(MalformedMessageException.class);
        }
        assertThatThrownBy(() -> RaftCodec.decodeBatch(garbage[0], LIMIT_BYTES))
                .hasMessageContaining("does not parse");
    }

    @Test
    void strayEndGroupTagIsMalformed() {
        byte[] valid = RaftCodec.encodeBatch(List.of(message(MessageType.HEARTBEAT)));
        byte[] withEndGroup = Arrays.copyOf(valid, valid.length + 3);
        withEndGroup[valid.length] = 0x0c;    // end-group tag for field 1, then trailing junk
        withEndGroup[valid.length + 1] = 0x08;
        withEndGroup[valid.length + 2] = 0x01;

        assertThatThrownBy(() -> RaftCodec.decodeBatch(withEndGroup, LIMIT_BYTES))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("does not parse");
    }

    @Test
    void everyTruncationDecodesOrIsMalformed() {
        byte[] valid = RaftCodec.encodeBatch(allTypes());
        int malformed = 0;

        for (int length = 0; length < valid.length; length++) {
            if (decodeOrMalformed(Arrays.copyOf(valid, length), "prefix of " + length + " bytes") == null) {
                malformed++;
            }
        }

        // Most cuts land inside a field; a cut between messages decodes to fewer messages.
        assertThat(malformed).isGreaterThan(valid.length / 2);
    }

    @Test
    void randomByteFlipsDecodeOrAreMalformed() {
        long seed = 0x5eedL;
        SplittableRandom random = new SplittableRandom(seed);
        byte[] valid = RaftCodec.encodeBatch(allTypes());
        int malformed = 0;
        int iterations = 5000;

        for (int i = 0; i < iterations; i++) {
            byte[] corrupt = valid.clone();
            int flips = 1 + random.nextInt(3);
            for (int f = 0; f < flips; f++) {
                corrupt[random.nextInt(corrupt.length)] ^= (byte) (1 + random.nextInt(255));
            }
            if (decodeOrMalformed(corrupt, "seed " + seed + " iteration " + i) == null) {
                malformed++;
            }
        }

        assertThat(malformed).as("seed %d", seed).isGreaterThan(0).isLessThan(iterations);
    }

    @Test
    void randomGarbageDecodesOrIsMalformed() {
        long seed = 0xbadL;
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < 3000; i++) {
            byte[] garbage = new byte[random.nextInt(96)];
            random.nextBytes(garbage);
            decodeOrMalformed(garbage, "seed " + seed + " iteration " + i);
        }
    }

    @Test
    void oversizeBatchIsRejectedBeforeParsing() {
        byte[] valid = RaftCodec.encodeBatch(allTypes());

        assertThat(RaftCodec.decodeBatch(valid, valid.length)).hasSize(MessageType.values().length);
        assertThatThrownBy(() -> RaftCodec.decodeBatch(valid, valid.length - 1))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessage("batch is %d bytes, over the limit of %d bytes", valid.length, valid.length - 1);
        byte[] oversizeGarbage = new byte[1025];
        Arrays.fill(oversizeGarbage, (byte) 0xff);
        assertThatThrownBy(() -> RaftCodec.decodeBatch(oversizeGarbage, 1024))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("over the limit of 1024 bytes");
    }

    @Test
    void unknownOrUnspecifiedMessageTypeIsMalformed() {
        assertMalformed(edit(MessageType.HEARTBEAT, b -> b.setTypeValue(99)), "unknown message type 99");
        assertMalformed(edit(MessageType.HEARTBEAT, b -> b.setTypeValue(0)), "message type is unspecified");
    }

    @Test
    void unknownEntryTypeIsMalformed() {
        assertMalformed(edit(MessageType.APPEND, b -> b.setEntries(0, b.getEntries(0).toBuilder().setTypeValue(7))),
                "entry at index 11 has unknown type 7");
    }

    @Test
    void zeroGroupOrNodeIdIsMalformed() {
        assertMalformed(edit(MessageType.VOTE, b -> b.setGroupId(0)), "group id is 0");
        assertMalformed(edit(MessageType.VOTE, b -> b.setFrom(0)), "from is 0");
        assertMalformed(edit(MessageType.VOTE, b -> b.setTo(0)), "to is 0");
    }

    @Test
    void valuesThatReadAsNegativeAreMalformed() {
        assertMalformed(edit(MessageType.HEARTBEAT, b -> b.setTerm(-1)), "term 18446744073709551615 is 2^63 or more");
        assertMalformed(edit(MessageType.HEARTBEAT, b -> b.setCommit(Long.MIN_VALUE)), "commit 9223372036854775808");
        assertMalformed(edit(MessageType.HEARTBEAT, b -> b.setGroupId(-5)), "group id");
    }

    @Test
    void appendEntriesMustFollowIndexWithoutGaps() {
        assertMalformed(edit(MessageType.APPEND, b -> b.setIndex(11)),
                "entry 1 of 3 has index 11, want 12 (entries must follow index 11 without gaps)");
        assertMalformed(edit(MessageType.APPEND, b -> b.setEntries(1, b.getEntries(1).toBuilder().setIndex(13))),
                "entry 2 of 3 has index 13, want 12");
        assertMalformed(edit(MessageType.APPEND, b -> b.setEntries(2, b.getEntries(2).toBuilder().setIndex(12))),
                "entry 3 of 3 has index 12, want 13");
    }

    @Test
    void entryTermMustBePositiveAndWithinTheMessageTerm() {
        assertMalformed(edit(MessageType.APPEND, b -> b.setEntries(0, b.getEntries(0).toBuilder().setTerm(0))),
                "entry at index 11 has term 0");
        assertMalformed(edit(MessageType.APPEND, b -> b.setEntries(2, b.getEntries(2).toBuilder().setTerm(6))),
                "entry at index 13 has term 6, beyond the message term 5");
    }

    @Test
    void entryTermsMustNotDecrease() {
        assertMalformed(edit(MessageType.APPEND, b -> b.setEntries(2, b.getEntries(2).toBuilder().setTerm(4))),
                "entry at index 13 has term 4, below the term 5 before it");
        assertMalformed(edit(MessageType.APPEND, b -> b.setLogTerm(5)),
                "entry at index 11 has term 4, below the term 5 before it");
        assertMalformed(edit(MessageType.APPEND, b -> b.setLogTerm(6)), "log term 6 is beyond the message term 5");
    }

    @Test
    void badConfChangePayloadIsMalformed() {
        assertMalformed(edit(MessageType.APPEND, b -> b.setEntries(2, b.getEntries(2).toBuilder().setData(ByteString.copyFromUtf8("add 4")))),
                "entry at index 13 is a bad conf change: conf change payload is 5 bytes, want 9");
    }

    @Test
    void entriesOrSnapshotInTheWrongTypeAreMalformed() {
        io.flotilla.wire.proto.Entry entry = ReferenceRaftCodec.toProto(Entry.normal(5, 14, new byte[] {1}));
        assertMalformed(edit(MessageType.HEARTBEAT, b -> b.addEntries(entry)), "1 entries in a message that carries none");
        io.flotilla.wire.proto.Snapshot snapshot = ReferenceRaftCodec.toProto(message(MessageType.SNAPSHOT).snapshot);
        assertMalformed(edit(MessageType.VOTE, b -> b.setSnapshot(snapshot)), "a snapshot in a message that carries none");
    }

    @Test
    void snapshotMessageNeedsASnapshotWithMetadata() {
        assertMalformed(edit(MessageType.SNAPSHOT, RaftMessage.Builder::clearSnapshot), "SNAPSHOT message without a snapshot");
        assertMalformed(edit(MessageType.SNAPSHOT, b -> b.setSnapshot(b.getSnapshot().toBuilder().clearMetadata())),
                "snapshot without metadata");
        assertMalformed(edit(MessageType.SNAPSHOT, b -> b.setSnapshot(ReferenceRaftCodec.toProto(Snapshot.EMPTY))),
                "SNAPSHOT message with an empty snapshot (index 0, term 0)");
        assertMalformed(edit(MessageType.SNAPSHOT, b -> b.setTerm(4)), "snapshot term 5 is beyond the message term 4");
    }

    @Test
    void overlappingVotersAndLearnersAreMalformed() {
        io.flotilla.wire.proto.ConfState overlap = io.flotilla.wire.proto.ConfState.newBuilder()
                .addVoters(1).addVoters(2).addVoters(3).addLearners(4).addLearners(2).build();

        assertThatThrownBy(() -> RaftCodec.fromProto(overlap))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessage("node 2 is both voter and learner");
        assertMalformed(edit(MessageType.SNAPSHOT, b -> b.setSnapshot(b.getSnapshot().toBuilder()
                .setMetadata(b.getSnapshot().getMetadata().toBuilder().setConfState(overlap)))),
                "node 2 is both voter and learner");
    }

    @Test
    void zeroOrRepeatedNodeIdsInAConfStateAreMalformed() {
        assertThatThrownBy(() -> RaftCodec.fromProto(io.flotilla.wire.proto.ConfState.newBuilder().addVoters(1).addVoters(0).build()))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessage("voter is 0");
        assertThatThrownBy(() -> RaftCodec.fromProto(io.flotilla.wire.proto.ConfState.newBuilder().addVoters(1).addLearners(3).addLearners(3).build()))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessage("learner 3 is listed twice");
    }

    @Test
    void theErrorNamesTheMessageInTheBatch() {
        List<RaftMessage> batch = new ArrayList<>();
        batch.add(ReferenceRaftCodec.toProto(message(MessageType.HEARTBEAT)));
        batch.add(ReferenceRaftCodec.toProto(message(MessageType.APPEND)).toBuilder().setIndex(11).build());
        byte[] bytes = MessageBatch.newBuilder().addAllMessages(batch).build().toByteArray();

        assertThatThrownBy(() -> RaftCodec.decodeBatch(bytes, LIMIT_BYTES))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessageStartingWith("message 2 of 2: APPEND group 1099511627776 1->2 term 5: entry 1 of 3 has index 11");
    }

    // ------------------------------------------------------------ helpers

    /** A realistic message of each type, as the core would send it in group {@link #GROUP}. */
    private static Message message(MessageType type) {
        // A switch expression, so a new MessageType fails to compile here until it has a case.
        return switch (type) {
            case APPEND -> {
                Message m = new Message(type, GROUP, 1, 2, 5);
                m.index = 10;
                m.logTerm = 4;
                m.commit = 9;
                m.entries = List.of(
                        Entry.normal(4, 11, "put a=1".getBytes(StandardCharsets.UTF_8)),
                        Entry.normal(5, 12, new byte[0]),
                        new Entry(5, 13, EntryType.CONF_CHANGE, new ConfChange(ConfChangeType.ADD_LEARNER, 4).encode()));
                yield m;
            }
            case APPEND_RESPONSE -> {
                Message m = new Message(type, GROUP, 2, 1, 5);
                m.index = 13;
                yield m;
            }
            case VOTE -> {
                Message m = new Message(type, GROUP, 3, 1, 6);
                m.index = 13;
                m.logTerm = 5;
                m.context = Message.CAMPAIGN_TRANSFER;
                yield m;
            }
            case VOTE_RESPONSE -> {
                Message m = new Message(type, GROUP, 1, 3, 6);
                m.reject = true;
                yield m;
            }
            case PRE_VOTE -> {
                Message m = new Message(type, GROUP, 3, 2, 7);
                m.index = 13;
                m.logTerm = 5;
                yield m;
            }
            case PRE_VOTE_RESPONSE -> new Message(type, GROUP, 2, 3, 7);
            case HEARTBEAT -> {
                Message m = new Message(type, GROUP, 1, 2, 5);
                m.commit = 13;
                m.context = 42;
                yield m;
            }
            case HEARTBEAT_RESPONSE -> {
                Message m = new Message(type, GROUP, 2, 1, 5);
                m.context = 42;
                yield m;
            }
            case SNAPSHOT -> {
                Message m = new Message(type, GROUP, 1, 4, 5);
                m.snapshot = new Snapshot(new SnapshotMetadata(100, 5, new ConfState(new long[] {1, 2, 3}, new long[] {4})),
                        "sst:/data/g7/100".getBytes(StandardCharsets.UTF_8));
                yield m;
            }
            case TIMEOUT_NOW -> new Message(type, GROUP, 1, 3, 5);
            case READ_INDEX -> {
                Message m = new Message(type, GROUP, 2, 1, 5);
                m.context = Long.MAX_VALUE;
                yield m;
            }
            case READ_INDEX_RESPONSE -> {
                Message m = new Message(type, GROUP, 1, 2, 5);
                m.index = 13;
                m.context = -3;   // opaque: all 64 bits survive
                yield m;
            }
        };
    }

    private static List<Message> allTypes() {
        List<Message> all = new ArrayList<>();
        for (MessageType t : MessageType.values()) {
            all.add(message(t));
        }
        return all;
    }

    /** {@code type}'s message as a protobuf object (built by the oracle), changed by {@code change}. */
    private static RaftMessage edit(MessageType type, UnaryOperator<RaftMessage.Builder> change) {
        return change.apply(ReferenceRaftCodec.toProto(message(type)).toBuilder()).build();
    }

    /** The codec rejects {@code p} with {@code expected} in its error, and so does the oracle. */
    private static void assertMalformed(RaftMessage p, String expected) {
        byte[] bytes = MessageBatch.newBuilder().addMessages(p).build().toByteArray();
        assertThatThrownBy(() -> RaftCodec.decodeBatch(bytes, LIMIT_BYTES))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining(expected);
        assertThatThrownBy(() -> ReferenceRaftCodec.decodeBatch(bytes, LIMIT_BYTES))
                .as("the oracle")
                .isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining(expected);
    }

    /** Decodes, or returns null on MalformedMessageException; any other throwable fails the test. */
    private static List<Message> decodeOrMalformed(byte[] bytes, String what) {
        try {
            return RaftCodec.decodeBatch(bytes, LIMIT_BYTES);
        } catch (MalformedMessageException e) {
            assertThat(e.getMessage()).as(what).isNotBlank();
            return null;
        } catch (Throwable t) {
            throw new AssertionError(what + ": decoding threw " + t + " instead of MalformedMessageException", t);
        }
    }

    private static void assertSameMessage(Message actual, Message expected) {
        assertThat(actual.type).as("type").isEqualTo(expected.type);
        String where = expected.type.name();
        assertThat(actual.groupId).as(where + " groupId").isEqualTo(expected.groupId);
        assertThat(actual.from).as(where + " from").isEqualTo(expected.from);
        assertThat(actual.to).as(where + " to").isEqualTo(expected.to);
        assertThat(actual.term).as(where + " term").isEqualTo(expected.term);
        assertThat(actual.logTerm).as(where + " logTerm").isEqualTo(expected.logTerm);
        assertThat(actual.index).as(where + " index").isEqualTo(expected.index);
        assertThat(actual.commit).as(where + " commit").isEqualTo(expected.commit);
        assertThat(actual.reject).as(where + " reject").isEqualTo(expected.reject);
        assertThat(actual.rejectHint).as(where + " rejectHint").isEqualTo(expected.rejectHint);
        assertThat(actual.context).as(where + " context").isEqualTo(expected.context);
        assertThat(actual.entries).as(where + " entries").hasSameSizeAs(expected.entries);
        for (int i = 0; i < expected.entries.size(); i++) {
            Entry a = actual.entries.get(i);
            Entry e = expected.entries.get(i);
            assertThat(a.term()).as(where + " entry " + i + " term").isEqualTo(e.term());
            assertThat(a.index()).as(where + " entry " + i + " index").isEqualTo(e.index());
            assertThat(a.type()).as(where + " entry " + i + " type").isEqualTo(e.type());
            assertThat(a.data()).as(where + " entry " + i + " data").isEqualTo(e.data());
        }
        if (expected.snapshot == null) {
            assertThat(actual.snapshot).as(where + " snapshot").isNull();
        } else {
            assertThat(actual.snapshot).as(where + " snapshot").isNotNull();
            assertThat(actual.snapshot.metadata()).as(where + " snapshot metadata").isEqualTo(expected.snapshot.metadata());
            assertThat(actual.snapshot.data()).as(where + " snapshot data").isEqualTo(expected.snapshot.data());
        }
    }
}

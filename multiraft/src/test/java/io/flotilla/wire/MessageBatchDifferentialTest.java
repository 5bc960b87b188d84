package io.flotilla.wire;

import static io.flotilla.wire.RandomMessages.render;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.flotilla.raft.Entry;
import io.flotilla.raft.Message;
import io.flotilla.raft.MessageType;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Differential fuzzing of the direct decoder ({@link MessageBatchCodec#decodeBatch}) against the old
 * proto-object path ({@link ReferenceRaftCodec#decodeBatch}): on every input both must accept with
 * the same messages, or both reject. A rejection for an invalid message must carry the same text
 * (it is logged and names the message); a parse failure need only be one on both sides, since
 * protobuf's own wording is not something peers see. The new decoder reads each input from a heap
 * buffer inside a larger array and from a direct buffer. The lenient decoder the transport uses
 * ({@link MessageBatchCodec#decodeValidMessages}) is held to the same oracle message by message: it
 * fails exactly the frames that do not parse, and otherwise keeps the messages the old path
 * converts, counts the others and describes the first in the old path's words.
 *
 * <p>Inputs: every prefix of valid frames, bit flips and byte overwrites, random bytes, frames that
 * are valid protobuf written the way no encoder writes them (fields out of order and repeated,
 * explicit zeros, padded varints, unknown fields of every wire type, split snapshots), mutations of
 * those, and groups nested to the recursion limit. Each test names its seed in a failure.
 */
class MessageBatchDifferentialTest {
    private static final int LIMIT_BYTES = 4 << 20;

    private int accepted;
    private int rejected;

    // ------------------------------------------------------------ inputs

    @Test
    void everyPrefixOfValidFrames() {
        for (long seed = 1; seed <= 6; seed++) {
            byte[] frame = MessageBatchCodec.encodeBatch(new RandomMessages(seed, 300).validBatch(12));
            for (int length = 0; length <= frame.length; length++) {
                assertAgree(Arrays.copyOf(frame, length), "seed " + seed + ", prefix of " + length + " bytes");
            }
        }
        assertThat(accepted).as("some prefixes end between messages").isPositive();
        assertThat(rejected).as("most prefixes cut a field").isGreaterThan(accepted);
    }

    @Test
    void bitFlipsAndByteOverwrites() {
        long seed = 0xf11bL;
        SplittableRandom random = new SplittableRandom(seed);
        for (int frameNumber = 0; frameNumber < 20; frameNumber++) {
            byte[] frame = MessageBatchCodec.encodeBatch(new RandomMessages(seed + frameNumber, 400).validBatch(10));
            if (frame.length == 0) {
                continue;
            }
            for (int i = 0; i < 400; i++) {
                byte[] corrupt = frame.clone();
                int changes = 1 + random.nextInt(3);
                for (int c = 0; c < changes; c++) {
                    int at = random.nextInt(corrupt.length);
                    if (random.nextBoolean()) {
                        corrupt[at] ^= (byte) (1 << random.nextInt(8));
                    } else {
                        corrupt[at] = (byte) random.nextInt(256);
                    }
                }
                assertAgree(corrupt, "seed " + seed + ", frame " + frameNumber + ", mutation " + i);
            }
        }
        assertThat(accepted).isPositive();
        assertThat(rejected).isPositive();
    }

    @Test
    void randomBytes() {
        long seed = 0x9a4ba9eL;
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < 5000; i++) {
            byte[] garbage = new byte[random.nextInt(i % 10 == 0 ? 2000 : 64)];
            random.nextBytes(garbage);
            if (random.nextBoolean() && garbage.length > 0) {
                garbage[0] = 0x0a;      // start like a batch: field 1, length-delimited
            }
            assertAgree(garbage, "seed " + seed + ", input " + i);
        }
    }

    @Test
    void unusualButValidEncodings() {
        long seed = 0x0dd1L;
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < 3000; i++) {
            RandomMessages gen = new RandomMessages(seed * 31 + i, 300);
            List<Message> batch = gen.validBatch(6);
            byte[] frame = new Scrambler(random).batch(batch);
            assertAgree(frame, "seed " + seed + ", input " + i);
        }
        assertThat(accepted).as("accepted, most with fields moved, repeated or padded").isGreaterThan(1000);
        assertThat(rejected).as("rejected, by a tweak that makes a message invalid").isGreaterThan(300);
    }

    @Test
    void mutationsOfUnusualEncodings() {
        long seed = 0x5c4aL;
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < 1500; i++) {
            byte[] frame = new Scrambler(random).batch(new RandomMessages(seed * 17 + i, 200).validBatch(4));
            if (frame.length == 0) {
                continue;
            }
            for (int m = 0; m < 4; m++) {
                byte[] corrupt = frame.clone();
                corrupt[random.nextInt(corrupt.length)] ^= (byte) (1 << random.nextInt(8));
                assertAgree(corrupt, "seed " + seed + ", input " + i + ", mutation " + m);
            }
        }
    }

    /**
     * Protobuf counts nested messages and groups together against a limit of 100; the old path
     * parsed unknown groups into an unknown-field set under that limit. Nest groups to either side
     * of it at each level a message can hold an unknown field.
     */
    @Test
    void groupsNestedAroundTheRecursionLimit() {
        Message append = new Message(MessageType.APPEND, 1, 1, 2, 3);
        append.entries = List.of(Entry.normal(3, 1, new byte[] {7}));
        Message snapshot = new RandomMessages(5).valid(MessageType.SNAPSHOT);
        int topLevelAccepted = -1;
        for (int depth = 95; depth <= 102; depth++) {
            byte[] groups = nestedGroups(20, depth);
            byte[] topLevel = concat(MessageBatchCodec.encodeBatch(List.of(append)), groups);
            if (assertAgree(topLevel, "top level, " + depth + " groups")) {
                topLevelAccepted = depth;
            }
            byte[] inMessage = batchOf(concat(messageBody(append), groups));
            assertAgree(inMessage, "in a RaftMessage, " + depth + " groups");
            Writer entry = new Writer();
            entry.lengthDelimited(MessageBatchCodec.ENTRIES, concat(entryBody(append.entries.get(0)), groups));
            assertAgree(batchOf(concat(messageBody(withoutEntries(append)), entry.bytes())), "in an Entry, " + depth + " groups");
            Writer snap = new Writer();
            snap.lengthDelimited(MessageBatchCodec.SNAPSHOT, concat(ReferenceRaftCodec.toProto(snapshot.snapshot).toByteArray(), groups));
            Message bare = snapshot.copy();
            bare.snapshot = null;
            assertAgree(batchOf(concat(messageBody(bare), snap.bytes())), "in a Snapshot, " + depth + " groups");
        }
        assertThat(topLevelAccepted).as("the deepest nesting accepted at the top level").isEqualTo(100);
    }

    @Test
    void strayAndMismatchedEndGroupTags() {
        byte[] valid = MessageBatchCodec.encodeBatch(List.of(new RandomMessages(9).valid(MessageType.HEARTBEAT)));
        Writer w = new Writer();
        w.tag(5, 3);            // group 5 ...
        w.tag(6, 4);            // ... closed by field 6's end tag
        assertThat(assertAgree(concat(valid, w.bytes()), "mismatched end tag")).isFalse();
        Writer open = new Writer();
        open.tag(5, 3);         // never closed
        assertThat(assertAgree(concat(valid, open.bytes()), "unclosed group")).isFalse();
        Writer stray = new Writer();
        stray.tag(1, 4);
        assertThat(assertAgree(concat(valid, stray.bytes()), "stray end tag")).isFalse();
        Writer zero = new Writer();
        zero.varint(0, 0);      // tag 0
        assertThat(assertAgree(concat(valid, zero.bytes()), "tag 0")).isFalse();
        Writer wireType = new Writer();
        wireType.tag(3, 6);
        assertThat(assertAgree(concat(valid, wireType.bytes()), "wire type 6")).isFalse();
        Writer longVarint = new Writer();
        longVarint.tag(20, 0);
        longVarint.varint(1, 11 - 1);       // 10 bytes: the most protobuf reads
        assertThat(assertAgree(concat(valid, longVarint.bytes()), "10-byte varint")).isTrue();
        Writer tooLong = new Writer();
        tooLong.tag(20, 0);
        for (int i = 0; i < 10; i++) {
            tooLong.out.write(0x80);
        }
        tooLong.out.write(0);
        assertThat(assertAgree(concat(valid, tooLong.bytes()), "11-byte varint")).isFalse();
    }

    /**
     * protobuf-java reads a 64-bit varint's 10th byte leniently (only a continuation bit with a
     * clear lowest bit is malformed) and a 32-bit one's strictly. Put every kind of 10th byte in
     * each place a varint can stand.
     */
    @Test
    void tenByteVarintsInEveryPlace() {
        Message heartbeat = new Message(MessageType.HEARTBEAT, 1, 1, 2, 3);
        byte[] body = messageBody(heartbeat);
        for (int last : new int[] {0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0x82, 0xfe, 0xff}) {
            byte[] varint = new byte[10];
            Arrays.fill(varint, 0, 9, (byte) 0xff);
            varint[9] = (byte) last;
            String hex = String.format("10th byte %02x", last);
            // Then one more field, so a varint that ends early leaves a byte to misread.
            byte[] commit = {0x48, 0x01};
            boolean asTerm = assertAgree(batchOf(concat(body, new byte[] {0x28}, varint, commit)), hex + " as a uint64 field");
            boolean asUnknown = assertAgree(batchOf(concat(body, new byte[] {(byte) 0xa0, 0x01}, varint, commit)),
                    hex + " as an unknown varint field");
            boolean asType = assertAgree(batchOf(concat(body, new byte[] {0x08}, varint, commit)), hex + " as the type");
            assertAgree(concat(new byte[] {0x0a}, varint, body), hex + " as a message length");
            assertAgree(concat(varint, body), hex + " as a tag");
            boolean lenient = (last & 0x81) != 0x80;
            assertThat(asUnknown).as(hex + " as an unknown varint field").isEqualTo(lenient);
            assertThat(asTerm).as(hex + " as the term (accepted only if it reads below 2^63)").isEqualTo(lenient && (last & 1) == 0);
            assertThat(asType).as(hex + " as the type (a 32-bit field: never a valid type)").isFalse();
        }
    }

    // ------------------------------------------------------------ the oracle

    /** Asserts both decoders agree on {@code frame}; returns whether they accepted it. */
    private boolean assertAgree(byte[] frame, String what) {
        String reference = outcome(() -> render(ReferenceRaftCodec.decodeBatch(frame, LIMIT_BYTES)), "old", frame, what);
        byte[] padded = new byte[frame.length + 16];
        Arrays.fill(padded, (byte) 0x0a);
        System.arraycopy(frame, 0, padded, 8, frame.length);
        String heap = outcome(() -> render(MessageBatchCodec.decodeBatch(ByteBuffer.wrap(padded, 8, frame.length),
                LIMIT_BYTES)), "new (heap)", frame, what);
        ByteBuffer direct = ByteBuffer.allocateDirect(padded.length).put(padded).position(8).limit(8 + frame.length);
        String fromDirect = outcome(() -> render(MessageBatchCodec.decodeBatch(direct, LIMIT_BYTES)), "new (direct)",
                frame, what);
        String doesNotParse = "rejected: batch of " + frame.length + " bytes does not parse: ";
        for (String actual : List.of(heap, fromDirect)) {
            boolean same = reference.startsWith(doesNotParse) ? actual.startsWith(doesNotParse) : actual.equals(reference);
            if (!same) {
                fail(what + ": the decoders disagree on " + HexFormat.of().formatHex(frame)
                        + "\nold: " + reference + "\nnew: " + actual);
            }
        }
        String leniently = outcome(() -> {
            List<String> invalid = new ArrayList<>();
            String kept = render(ReferenceRaftCodec.decodeValidMessages(frame, LIMIT_BYTES, invalid));
            return invalid.isEmpty() ? kept : kept + "dropped " + invalid.size() + ", first: " + invalid.get(0);
        }, "old, lenient", frame, what);
        String newLeniently = outcome(() -> {
            String[] dropped = {""};
            String kept = render(MessageBatchCodec.decodeValidMessages(ByteBuffer.wrap(padded, 8, frame.length),
                    LIMIT_BYTES, (count, first) -> dropped[0] = "dropped " + count + ", first: " + first.getMessage()));
            return kept + dropped[0];
        }, "new, lenient", frame, what);
        boolean sameLeniently = leniently.startsWith(doesNotParse)
                ? newLeniently.startsWith(doesNotParse) : newLeniently.equals(leniently);
        if (!sameLeniently) {
            fail(what + ": the lenient decoders disagree on " + HexFormat.of().formatHex(frame)
                    + "\nold: " + leniently + "\nnew: " + newLeniently);
        }
        if (reference.startsWith(doesNotParse) != leniently.startsWith(doesNotParse)) {
            fail(what + ": only one way of decoding says the frame does not parse: " + reference + " / " + leniently);
        }
        boolean ok = !reference.startsWith("rejected: ");
        if (ok) {
            accepted++;
        } else {
            rejected++;
        }
        return ok;
    }

    private interface Decode {
        String run();
    }

    /** "accepted: ..." with the messages, or "rejected: " with the reason; any other exception fails the test. */
    private static String outcome(Decode decode, String decoder, byte[] frame, String what) {
        try {
            return "accepted: " + decode.run();
        } catch (MalformedMessageException e) {
            return "rejected: " + e.getMessage();
        } catch (RuntimeException | Error e) {
            throw new AssertionError(what + ": the " + decoder + " decoder threw " + e + " on "
                    + HexFormat.of().formatHex(frame), e);
        }
    }

    // ------------------------------------------------------------ building frames by hand

    /** Protobuf primitives, including the ones no encoder emits (padded varints, any tag). */
    private static final class Writer {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        void tag(int field, int wireType) {
            varint((long) field << 3 | wireType, 0);
        }

        /** {@code value} as a varint, stretched by {@code padBytes} redundant bytes (at most 10 in all). */
        void varint(long value, int padBytes) {
            int minimal = 1;
            for (long v = value >>> 7; v != 0; v >>>= 7) {
                minimal++;
            }
            int total = Math.min(10, minimal + padBytes);
            for (int i = 0; i < total; i++) {
                int group = i * 7 >= 64 ? 0 : (int) (value >>> (i * 7)) & 0x7f;
                out.write(i < total - 1 ? group | 0x80 : group);
            }
        }

        void lengthDelimited(int field, byte[] body) {
            tag(field, 2);
            varint(body.length, 0);
            out.writeBytes(body);
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    /**
     * Writes messages as valid protobuf that no encoder would produce, and sometimes makes one
     * invalid: fields shuffled and repeated with an earlier decoy value, zeros written out, varints
     * padded, unknown fields (every wire type, groups nested) and known field numbers with the wrong
     * wire type mixed in, a snapshot split over two fields that protobuf merges.
     */
    private static final class Scrambler {
        private final SplittableRandom random;

        Scrambler(SplittableRandom random) {
            this.random = random;
        }

        byte[] batch(List<Message> messages) {
            List<byte[]> fields = new ArrayList<>();
            for (Message m : messages) {
                Writer w = new Writer();
                w.tag(MessageBatchCodec.BATCH_MESSAGES, 2);
                byte[] body = message(m);
                w.varint(body.length, pad());
                w.out.writeBytes(body);
                fields.add(w.bytes());
            }
            for (int i = random.nextInt(3); i > 0; i--) {
                fields.add(random.nextInt(fields.size() + 1), unknownField(2));
            }
            return concat(fields.toArray(new byte[0][]));
        }

        private byte[] message(Message m) {
            long[] values = {m.type.code, m.groupId, m.from, m.to, m.term, m.logTerm, m.index, 0, m.commit,
                m.reject ? 1 : 0, m.rejectHint, m.context};
            if (random.nextInt(4) == 0) {
                // Make it invalid, or not: a field becomes 0, 2^63 or more, or anything.
                int field = random.nextInt(values.length);
                values[field] = switch (random.nextInt(3)) {
                    case 0 -> 0;
                    case 1 -> -1 - random.nextInt(5);
                    default -> random.nextLong();
                };
            }
            List<byte[]> fields = new ArrayList<>();
            for (int f = 0; f < values.length; f++) {
                if (f + 1 == MessageBatchCodec.ENTRIES) {
                    continue;
                }
                addVarintField(fields, f + 1, values[f]);
            }
            for (Entry e : m.entries) {
                Writer w = new Writer();
                w.tag(MessageBatchCodec.ENTRIES, 2);
                byte[] body = entry(e);
                w.varint(body.length, pad());
                w.out.writeBytes(body);
                fields.add(w.bytes());
            }
            if (m.snapshot != null) {
                fields.addAll(snapshot(m));
            }
            for (int i = random.nextInt(3); i > 0; i--) {
                fields.add(unknownField(3));
            }
            shuffleKeepingEntryOrder(fields);
            return concat(fields.toArray(new byte[0][]));
        }

        private byte[] entry(Entry e) {
            List<byte[]> fields = new ArrayList<>();
            addVarintField(fields, MessageBatchCodec.ENTRY_TERM, e.term());
            addVarintField(fields, MessageBatchCodec.ENTRY_INDEX, e.index());
            addVarintField(fields, MessageBatchCodec.ENTRY_TYPE, random.nextInt(20) == 0 ? 2 : e.type().code);
            if (e.data().length > 0 || random.nextInt(4) == 0) {
                if (random.nextInt(6) == 0) {
                    Writer decoy = new Writer();
                    decoy.lengthDelimited(MessageBatchCodec.ENTRY_DATA, new byte[] {1, 2, 3});
                    fields.add(decoy.bytes());
                }
                Writer w = new Writer();
                w.tag(MessageBatchCodec.ENTRY_DATA, 2);
                w.varint(e.data().length, pad());
                w.out.writeBytes(e.data());
                fields.add(w.bytes());
            }
            if (random.nextInt(5) == 0) {
                fields.add(unknownField(2));
            }
            // Entry fields may come in any order; the data decoy stays before the data.
            if (random.nextBoolean()) {
                java.util.Collections.rotate(fields, random.nextInt(fields.size() + 1));
            }
            return concat(fields.toArray(new byte[0][]));
        }

        private List<byte[]> snapshot(Message m) {
            io.flotilla.wire.proto.Snapshot p = ReferenceRaftCodec.toProto(m.snapshot);
            List<byte[]> parts = new ArrayList<>();
            if (random.nextBoolean()) {
                Writer w = new Writer();
                w.lengthDelimited(MessageBatchCodec.SNAPSHOT, p.toByteArray());
                parts.add(w.bytes());
            } else {
                // Two fields that protobuf merges into one snapshot: metadata, then data.
                Writer first = new Writer();
                first.lengthDelimited(MessageBatchCodec.SNAPSHOT, p.toBuilder().clearData().build().toByteArray());
                Writer second = new Writer();
                second.lengthDelimited(MessageBatchCodec.SNAPSHOT, p.toBuilder().clearMetadata().build().toByteArray());
                parts.add(first.bytes());
                parts.add(second.bytes());
            }
            return parts;
        }

        private void addVarintField(List<byte[]> fields, int field, long value) {
            if (random.nextInt(8) == 0) {
                Writer decoy = new Writer();
                decoy.tag(field, 0);
                decoy.varint(random.nextLong(), 0);
                fields.add(decoy.bytes());
            }
            if (value != 0 || random.nextInt(5) == 0) {
                Writer w = new Writer();
                w.tag(field, 0);
                w.varint(value, pad());
                fields.add(w.bytes());
            }
            if (random.nextInt(30) == 0) {
                // The same field number with another wire type is an unknown field, not this one.
                Writer w = new Writer();
                w.lengthDelimited(field, new byte[] {8, 1});
                fields.add(w.bytes());
            }
        }

        /** Moves fields around; entries keep their order among themselves (usually). */
        private void shuffleKeepingEntryOrder(List<byte[]> fields) {
            if (random.nextInt(3) == 0) {
                return;
            }
            List<byte[]> entries = new ArrayList<>();
            List<byte[]> others = new ArrayList<>();
            int entryTag = MessageBatchCodec.ENTRIES_TAG;
            for (byte[] f : fields) {
                ((f[0] & 0xff) == entryTag ? entries : others).add(f);
            }
            java.util.Collections.shuffle(others, new java.util.Random(random.nextLong()));
            if (random.nextInt(20) == 0) {
                java.util.Collections.shuffle(entries, new java.util.Random(random.nextLong()));
            }
            fields.clear();
            fields.addAll(others);
            for (byte[] e : entries) {
                fields.add(random.nextInt(fields.size() + 1), e);
            }
            // The inserts above scatter entries but may reorder them; restore their order.
            int next = 0;
            for (int i = 0; i < fields.size(); i++) {
                if ((fields.get(i)[0] & 0xff) == entryTag) {
                    fields.set(i, entries.get(next++));
                }
            }
        }

        private byte[] unknownField(int maxDepth) {
            Writer w = new Writer();
            int field = random.nextInt(4) == 0 ? 1 + random.nextInt(1 << 20) : 14 + random.nextInt(20);
            int wireType = new int[] {0, 1, 2, 3, 5}[random.nextInt(5)];
            if (wireType == 3 && maxDepth == 0) {
                wireType = 0;
            }
            w.tag(field, wireType);
            switch (wireType) {
                case 0 -> w.varint(random.nextLong(), pad());
                case 1 -> w.out.writeBytes(new byte[8]);
                case 2 -> {
                    byte[] body = new byte[random.nextInt(12)];
                    random.nextBytes(body);
                    w.varint(body.length, pad());
                    w.out.writeBytes(body);
                }
                case 3 -> {
                    for (int i = random.nextInt(3); i > 0; i--) {
                        w.out.writeBytes(unknownField(maxDepth - 1));
                    }
                    w.tag(field, 4);
                }
                default -> w.out.writeBytes(new byte[4]);
            }
            return w.bytes();
        }

        private int pad() {
            return random.nextInt(6) == 0 ? 1 + random.nextInt(9) : 0;
        }
    }

    private static byte[] nestedGroups(int field, int depth) {
        Writer w = new Writer();
        for (int i = 0; i < depth; i++) {
            w.tag(field, 3);
        }
        for (int i = 0; i < depth; i++) {
            w.tag(field, 4);
        }
        return w.bytes();
    }

    /** The RaftMessage bytes of {@code m} (the batch field's body), as the generated classes write them. */
    private static byte[] messageBody(Message m) {
        return ReferenceRaftCodec.toProto(m).toByteArray();
    }

    private static byte[] entryBody(Entry e) {
        return ReferenceRaftCodec.toProto(e).toByteArray();
    }

    private static byte[] batchOf(byte[] messageBody) {
        Writer w = new Writer();
        w.lengthDelimited(MessageBatchCodec.BATCH_MESSAGES, messageBody);
        return w.bytes();
    }

    private static Message withoutEntries(Message m) {
        Message copy = m.copy();
        copy.entries = Message.NO_ENTRIES;
        return copy;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}

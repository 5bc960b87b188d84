package io.flotilla.wire;

import static io.flotilla.wire.RandomMessages.render;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.CodedOutputStream;
import io.flotilla.raft.Entry;
import io.flotilla.raft.Message;
import io.flotilla.raft.MessageType;
import io.flotilla.wire.proto.MessageBatch;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Properties of {@link MessageBatchCodec} against the generated protobuf classes, over random
 * batches: it writes their bytes exactly, and reads what they write into the same messages, from
 * heap and direct buffers alike. A failure names its seed; rerunning with it replays the batch.
 */
class MessageBatchCodecTest {
    private static final int LIMIT_BYTES = 64 << 20;
    private static final int BATCHES = 400;

    @Test
    void encodingIsByteForByteTheGeneratedClassesEncoding() throws Exception {
        for (long seed = 1; seed <= BATCHES; seed++) {
            RandomMessages gen = new RandomMessages(seed);
            List<Message> batch = new ArrayList<>();
            int count = gen.random().nextInt(20);
            for (int i = 0; i < count; i++) {
                batch.add(gen.random().nextBoolean() ? gen.arbitrary() : gen.valid(MessageType.values()[i % 12]));
            }
            MessageBatch expected = MessageBatch.newBuilder().addAllMessages(batch.stream().map(ReferenceRaftCodec::toProto).toList()).build();

            byte[] encoded = MessageBatchCodec.encodeBatch(batch);

            assertThat(MessageBatch.parseFrom(encoded)).as("seed %d: parses into the protos toProto builds", seed)
                    .isEqualTo(expected);
            assertThat(encoded).as("seed %d: same bytes as the generated writeTo", seed)
                    .isEqualTo(expected.toByteArray())
                    .isEqualTo(ReferenceRaftCodec.encodeBatch(batch));
            int fieldBytes = 0;
            for (Message m : batch) {
                fieldBytes += MessageBatchCodec.fieldBytes(m);
            }
            assertThat(fieldBytes).as("seed %d: field bytes add up to the body", seed).isEqualTo(encoded.length);
        }
    }

    @Test
    void decodingWhatTheGeneratedClassesWriteGivesBackTheMessages() {
        for (long seed = 1; seed <= BATCHES; seed++) {
            List<Message> batch = new RandomMessages(seed).validBatch(24);
            byte[] generated = ReferenceRaftCodec.encodeBatch(batch);

            String expected = render(batch);
            assertThat(render(MessageBatchCodec.decodeBatch(ByteBuffer.wrap(generated), LIMIT_BYTES)))
                    .as("seed %d, heap", seed).isEqualTo(expected);
            assertThat(render(MessageBatchCodec.decodeBatch(direct(generated), LIMIT_BYTES)))
                    .as("seed %d, direct", seed).isEqualTo(expected);
            assertThat(render(ReferenceRaftCodec.decodeBatch(generated, LIMIT_BYTES)))
                    .as("seed %d, the old path agrees", seed).isEqualTo(expected);
        }
    }

    @Test
    void decodingReadsOnlyBetweenPositionAndLimitAndMovesNeither() {
        List<Message> batch = new RandomMessages(42).validBatch(16);
        byte[] body = MessageBatchCodec.encodeBatch(batch);
        // The body sits inside a larger array, between bytes that would decode as another message.
        byte[] filler = MessageBatchCodec.encodeBatch(List.of(new RandomMessages(7).valid(MessageType.HEARTBEAT)));
        byte[] array = new byte[filler.length + body.length + filler.length];
        System.arraycopy(filler, 0, array, 0, filler.length);
        System.arraycopy(body, 0, array, filler.length, body.length);
        System.arraycopy(filler, 0, array, filler.length + body.length, filler.length);
        ByteBuffer heap = ByteBuffer.wrap(array, filler.length, body.length);
        ByteBuffer sliced = ByteBuffer.wrap(array).position(filler.length / 2).slice()
                .position(filler.length - filler.length / 2).limit(filler.length - filler.length / 2 + body.length);
        ByteBuffer direct = ByteBuffer.allocateDirect(array.length).put(array).position(filler.length)
                .limit(filler.length + body.length);

        for (ByteBuffer in : List.of(heap, sliced, direct)) {
            int position = in.position();
            int limit = in.limit();
            assertThat(render(MessageBatchCodec.decodeBatch(in, LIMIT_BYTES))).as(in.toString()).isEqualTo(render(batch));
            assertThat(in.position()).isEqualTo(position);
            assertThat(in.limit()).isEqualTo(limit);
        }
    }

    @Test
    void decodedPayloadsAreCopiesOfTheDirectBuffer() {
        Message m = new Message(MessageType.APPEND, 1, 1, 2, 3);
        m.entries = List.of(Entry.normal(3, 1, new byte[] {1, 2, 3}), Entry.normal(3, 2, new byte[300]));
        ByteBuffer frame = direct(MessageBatchCodec.encodeBatch(List.of(m)));

        Message decoded = MessageBatchCodec.decodeBatch(frame, LIMIT_BYTES).get(0);
        while (frame.hasRemaining()) {
            frame.put((byte) 0x55);
        }

        assertThat(render(List.of(decoded))).isEqualTo(render(List.of(m)));
    }

    @Test
    void writeBatchLeavesOutMessagesOverTheFieldLimit() throws Exception {
        RandomMessages gen = new RandomMessages(11);
        Message small = gen.valid(MessageType.HEARTBEAT);
        Message big = new Message(MessageType.APPEND, 1, 1, 2, 3);
        big.entries = List.of(Entry.normal(3, 1, new byte[4096]));
        List<Message> batch = List.of(small, big, small);
        int limit = MessageBatchCodec.fieldBytes(big) - 1;
        byte[] body = new byte[2 * MessageBatchCodec.fieldBytes(small)];
        CodedOutputStream out = CodedOutputStream.newInstance(body);

        MessageBatchCodec.writeBatch(out, batch, 0, batch.size(), limit);

        out.checkNoSpaceLeft();
        assertThat(body).isEqualTo(MessageBatchCodec.encodeBatch(List.of(small, small)));
    }

    @Test
    void anEmptyBatchIsAnEmptyBody() {
        assertThat(MessageBatchCodec.encodeBatch(List.of())).isEmpty();
        assertThat(MessageBatchCodec.decodeBatch(ByteBuffer.allocate(0), 1)).isEmpty();
        assertThat(MessageBatchCodec.decodeBatch(ByteBuffer.allocateDirect(0), 1)).isEmpty();
    }

    @Test
    void theSizeLimitComesBeforeParsing() {
        byte[] garbage = new byte[100];
        Arrays.fill(garbage, (byte) 0xff);

        assertThatThrownBy(() -> MessageBatchCodec.decodeBatch(direct(garbage), 99))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessage("batch is 100 bytes, over the limit of 99 bytes");
        assertThatThrownBy(() -> MessageBatchCodec.decodeBatch(direct(garbage), 100))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessageStartingWith("batch of 100 bytes does not parse: ");
        assertThatThrownBy(() -> MessageBatchCodec.decodeBatch(direct(garbage), 0))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void decodingValidMessagesDropsAnInvalidMessageAlone() {
        RandomMessages gen = new RandomMessages(13);
        Message first = gen.valid(MessageType.HEARTBEAT);
        Message last = gen.valid(MessageType.APPEND);
        byte[] body = MessageBatch.newBuilder()
                .addMessages(ReferenceRaftCodec.toProto(first))
                .addMessages(ReferenceRaftCodec.toProto(first).toBuilder().setTypeValue(99))
                .addMessages(ReferenceRaftCodec.toProto(last).toBuilder().setTerm(-1L))
                .addMessages(ReferenceRaftCodec.toProto(last))
                .build().toByteArray();
        List<String> invalid = new ArrayList<>();

        List<Message> decoded = MessageBatchCodec.decodeValidMessages(direct(body), LIMIT_BYTES,
                (count, firstInvalid) -> invalid.add(count + " " + firstInvalid.getMessage()));

        assertThat(render(decoded)).isEqualTo(render(List.of(first, last)));
        assertThat(invalid).singleElement().asString()
                .startsWith("2 message 2 of 4: type 99 ").endsWith("unknown message type 99");
        assertThatThrownBy(() -> MessageBatchCodec.decodeBatch(direct(body), LIMIT_BYTES))
                .as("the strict decoder still refuses the frame, naming the first")
                .isInstanceOf(MalformedMessageException.class)
                .hasMessage(invalid.get(0).substring(2));
    }

    @Test
    void decodingValidMessagesFailsAWholeFrameThatDoesNotParse() {
        Message valid = new RandomMessages(14).valid(MessageType.HEARTBEAT);
        byte[] body = MessageBatch.newBuilder()
                .addMessages(ReferenceRaftCodec.toProto(valid).toBuilder().setTypeValue(99))
                .addMessages(ReferenceRaftCodec.toProto(valid))
                .build().toByteArray();
        byte[] cut = Arrays.copyOf(body, body.length - 1);
        List<String> invalid = new ArrayList<>();

        assertThatThrownBy(() -> MessageBatchCodec.decodeValidMessages(direct(cut), LIMIT_BYTES,
                (count, first) -> invalid.add(first.getMessage())))
                .isInstanceOf(MalformedMessageException.class)
                .hasMessageStartingWith("batch of " + cut.length + " bytes does not parse: ");
        assertThat(invalid).isEmpty();
    }

    private static ByteBuffer direct(byte[] bytes) {
        return ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
    }
}

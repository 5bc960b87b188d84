package io.flotilla.transport;

import static io.flotilla.transport.TransportTestSupport.append;
import static io.flotilla.transport.TransportTestSupport.key;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.raft.ConfState;
import io.flotilla.raft.Message;
import io.flotilla.raft.MessageType;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.SnapshotMetadata;
import io.flotilla.wire.MessageBatchCodec;
import io.flotilla.wire.ReferenceRaftCodec;
import io.flotilla.wire.proto.MessageBatch;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Batch frames written by {@link FrameCodec#encodeBatch} and read in place after the frame decoder. */
class FrameCodecTest {
    private static final int MAX_FRAME_BYTES = 1 << 20;

    private static List<Message> mixedBatch() {
        List<Message> batch = new ArrayList<>();
        for (long g = 1; g <= 20; g++) {
            batch.add(append(g, 1, 2, g * 1000));
        }
        Message response = new Message(MessageType.APPEND_RESPONSE, 7, 1, 2, 3);
        response.index = 1L << 40;
        response.reject = true;
        response.rejectHint = 12;
        batch.add(response);
        Message snapshot = new Message(MessageType.SNAPSHOT, 8, 1, 2, 4);
        snapshot.snapshot = new Snapshot(new SnapshotMetadata(100, 4, ConfState.ofVoters(1, 2, 3)), new byte[] {9, 9});
        batch.add(snapshot);
        return batch;
    }

    private static int bodyBytes(List<Message> messages) {
        int bytes = 0;
        for (Message m : messages) {
            bytes += MessageBatchCodec.fieldBytes(m);
        }
        return bytes;
    }

    @Test
    void aBatchFrameIsTheFrameOfTheGeneratedBatch() {
        List<Message> batch = mixedBatch();
        MessageBatch proto = MessageBatch.newBuilder()
                .addAllMessages(batch.stream().map(ReferenceRaftCodec::toProto).toList()).build();
        for (ByteBufAllocator alloc : List.of(PooledByteBufAllocator.DEFAULT, new UnpooledByteBufAllocator(false),
                new UnpooledByteBufAllocator(true))) {
            ByteBuf expected = FrameCodec.encode(alloc, proto);
            ByteBuf actual = FrameCodec.encodeBatch(alloc, batch, 0, batch.size(), bodyBytes(batch), MAX_FRAME_BYTES);
            try {
                assertThat(ByteBufUtil.getBytes(actual)).as(alloc.toString()).isEqualTo(ByteBufUtil.getBytes(expected));
                assertThat(actual.readableBytes()).isEqualTo(actual.capacity());
            } finally {
                expected.release();
                actual.release();
            }
        }
    }

    @Test
    void aWrongBodySizeIsABugThatThrowsAndFreesTheBuffer() {
        List<Message> batch = mixedBatch();
        int bodyBytes = bodyBytes(batch);
        List<ByteBuf> handedOut = new ArrayList<>();
        ByteBufAllocator alloc = new AbstractByteBufAllocator(true) {
            @Override
            protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
                return record(Unpooled.buffer(initialCapacity, maxCapacity));
            }

            @Override
            protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
                return record(Unpooled.directBuffer(initialCapacity, maxCapacity));
            }

            private ByteBuf record(ByteBuf b) {
                handedOut.add(b);
                return b;
            }

            @Override
            public boolean isDirectBufferPooled() {
                return false;
            }
        };

        assertThatThrownBy(() -> FrameCodec.encodeBatch(alloc, batch, 0, batch.size(), bodyBytes - 1, MAX_FRAME_BYTES))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> FrameCodec.encodeBatch(alloc, batch, 0, batch.size(), bodyBytes + 1, MAX_FRAME_BYTES))
                .isInstanceOf(IllegalStateException.class);
        assertThat(handedOut).hasSize(2).allSatisfy(b -> assertThat(b.refCnt()).as("released").isZero());
    }

    /**
     * Frames that reach the decoder in pieces come out as slices of its direct cumulation buffer;
     * the batch decoder reads them there, without copying them to the heap.
     */
    @Test
    void framesArrivingInPiecesDecodeInPlaceFromDirectSlices() {
        long seed = 0xf7a3eL;
        SplittableRandom random = new SplittableRandom(seed);
        List<String> sent = new ArrayList<>();
        ByteBuf stream = PooledByteBufAllocator.DEFAULT.directBuffer();
        for (int f = 0; f < 10; f++) {
            List<Message> batch = new ArrayList<>();
            for (int i = 1 + random.nextInt(30); i > 0; i--) {
                Message m = append(1 + random.nextInt(64), 1, 2, random.nextInt(1_000_000));
                batch.add(m);
                sent.add(key(m));
            }
            ByteBuf frame = FrameCodec.encodeBatch(stream.alloc(), batch, 0, batch.size(), bodyBytes(batch), MAX_FRAME_BYTES);
            stream.writeBytes(frame);
            frame.release();
        }
        EmbeddedChannel channel = new EmbeddedChannel(new LengthPrefixedFrameDecoder(MAX_FRAME_BYTES));
        while (stream.isReadable()) {
            int pieceBytes = Math.min(stream.readableBytes(), 1 + random.nextInt(700));
            ByteBuf piece = PooledByteBufAllocator.DEFAULT.directBuffer(pieceBytes);
            stream.readBytes(piece, pieceBytes);
            channel.writeInbound(piece);
        }
        stream.release();

        List<String> received = new ArrayList<>();
        for (ByteBuf frame = channel.readInbound(); frame != null; frame = channel.readInbound()) {
            try {
                assertThat(frame.isDirect()).as("seed %d: a frame from direct pieces", seed).isTrue();
                assertThat(InboundHandler.bodyOf(frame).isDirect()).as("seed %d: read in place", seed).isTrue();
                for (Message m : MessageBatchCodec.decodeBatch(InboundHandler.bodyOf(frame), MAX_FRAME_BYTES)) {
                    received.add(key(m));
                }
            } finally {
                frame.release();
            }
        }
        assertThat(channel.finish()).isFalse();
        assertThat(received).as("seed %d", seed).isEqualTo(sent);
    }
}

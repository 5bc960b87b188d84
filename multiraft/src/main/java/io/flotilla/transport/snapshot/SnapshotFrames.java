package io.flotilla.transport.snapshot;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import io.flotilla.transport.FrameCodec;
import io.flotilla.transport.HandshakeRefusal;
import io.flotilla.transport.LengthPrefixedFrameDecoder;
import io.flotilla.transport.proto.Handshake;
import io.flotilla.transport.snapshot.proto.Chunk;
import io.flotilla.transport.snapshot.proto.SnapshotFrame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.function.LongPredicate;

/**
 * The frame format of the snapshot channel: a 4-byte big-endian unsigned length N, then N bytes of
 * {@code SnapshotFrame}. Stateless helpers; a {@link Decoder} is one per channel, owned by that
 * channel's event loop.
 */
final class SnapshotFrames {
    static final int LENGTH_FIELD_BYTES = LengthPrefixedFrameDecoder.LENGTH_FIELD_BYTES;

    private SnapshotFrames() {
    }

    /** Encodes {@code frame} in place in a buffer from {@code alloc}, length prefix first. */
    static ByteBuf encode(ByteBufAllocator alloc, SnapshotFrame frame) {
        return FrameCodec.encode(alloc, frame);
    }

    /** The layout of one chunk frame, computed before its data is read so the data lands in place. */
    record ChunkLayout(int frameBytes, int dataIndex, int dataBytes, int chunkMessageBytes) {
        static ChunkLayout of(long offset, int dataBytes) {
            int dataField = CodedOutputStream.computeTagSize(Chunk.DATA_FIELD_NUMBER)
                    + CodedOutputStream.computeUInt32SizeNoTag(dataBytes) + dataBytes;
            int chunkMessage = CodedOutputStream.computeUInt64Size(Chunk.OFFSET_FIELD_NUMBER, offset)
                    + CodedOutputStream.computeFixed32Size(Chunk.CRC32C_FIELD_NUMBER, 0) + dataField;
            int body = CodedOutputStream.computeTagSize(SnapshotFrame.CHUNK_FIELD_NUMBER)
                    + CodedOutputStream.computeUInt32SizeNoTag(chunkMessage) + chunkMessage;
            int frame = LENGTH_FIELD_BYTES + body;
            return new ChunkLayout(frame, frame - dataBytes, dataBytes, chunkMessage);
        }
    }

    /**
     * Writes the length prefix and the protobuf headers of a chunk frame in front of data already
     * in {@code buf} at {@code layout.dataIndex()}; the result parses as a {@code SnapshotFrame}
     * holding {@code Chunk{offset, crc32c, data}}.
     */
    static void writeChunkHeader(ByteBuf buf, ChunkLayout layout, long offset, int crc32c) {
        try {
            buf.setInt(0, layout.frameBytes() - LENGTH_FIELD_BYTES);
            CodedOutputStream out = CodedOutputStream.newInstance(
                    buf.nioBuffer(LENGTH_FIELD_BYTES, layout.dataIndex() - LENGTH_FIELD_BYTES));
            out.writeTag(SnapshotFrame.CHUNK_FIELD_NUMBER, WireFormat.WIRETYPE_LENGTH_DELIMITED);
            out.writeUInt32NoTag(layout.chunkMessageBytes());
            out.writeUInt64(Chunk.OFFSET_FIELD_NUMBER, offset);
            out.writeFixed32(Chunk.CRC32C_FIELD_NUMBER, crc32c);
            out.writeTag(Chunk.DATA_FIELD_NUMBER, WireFormat.WIRETYPE_LENGTH_DELIMITED);
            out.writeUInt32NoTag(layout.dataBytes());
            out.flush();
            out.checkNoSpaceLeft();
            buf.writerIndex(layout.frameBytes());
        } catch (IOException e) {
            throw new UncheckedIOException("chunk header of a " + layout.frameBytes() + "-byte frame did not fit", e);
        }
    }

    /**
     * Parses a frame body. Chunk data is aliased, not copied: it is valid only until the frame
     * buffer is released.
     */
    static SnapshotFrame parse(ByteBuf frame) throws InvalidProtocolBufferException {
        ByteBuffer nio = frame.nioBufferCount() == 1 ? frame.nioBuffer()
                : ByteBuffer.wrap(ByteBufUtil.getBytes(frame));
        CodedInputStream in = CodedInputStream.newInstance(nio);
        in.enableAliasing(true);
        try {
            return SnapshotFrame.parseFrom(in);
        } catch (InvalidProtocolBufferException e) {
            throw e;
        } catch (IOException e) {
            // A byte buffer cannot fail to read; anything else here is a malformed frame.
            throw new InvalidProtocolBufferException(e);
        }
    }

    /** Checks a handshake, protocol version first: another version may mean every other field reads wrongly. */
    static HandshakeRefusal check(Handshake h, SnapshotConfig config, LongPredicate senderAllowed) {
        return HandshakeRefusal.check(h, config.clusterId(), config.nodeId(), config.protocolVersion(), senderAllowed);
    }

    static SnapshotFrame handshake(SnapshotConfig config, long receiverNodeId) {
        return SnapshotFrame.newBuilder().setHandshake(Handshake.newBuilder()
                .setClusterId(config.clusterId())
                .setSenderNodeId(config.nodeId())
                .setReceiverNodeId(receiverNodeId)
                .setProtocolVersion(config.protocolVersion())).build();
    }

    static String describe(Handshake h) {
        return "cluster " + Long.toUnsignedString(h.getClusterId())
                + ", node " + Long.toUnsignedString(h.getSenderNodeId())
                + " -> node " + Long.toUnsignedString(h.getReceiverNodeId())
                + ", snapshot protocol version " + Integer.toUnsignedString(h.getProtocolVersion());
    }

}

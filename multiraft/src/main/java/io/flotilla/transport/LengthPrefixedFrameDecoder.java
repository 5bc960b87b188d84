package io.flotilla.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Splits a connection's byte stream into frame bodies behind a 4-byte big-endian length, for the
 * peer transport and the snapshot channel alike. The size limit is checked on the length field
 * itself, before a byte of the body is buffered: an over-limit length (read unsigned, so a
 * "2 GiB" or negative-looking field too) throws {@link io.netty.handler.codec.TooLongFrameException}
 * at once (fail-fast) and the body is skipped as it arrives, never accumulated or allocated. One
 * instance per channel, used by its event-loop thread.
 */
public final class LengthPrefixedFrameDecoder extends LengthFieldBasedFrameDecoder {
    public static final int LENGTH_FIELD_BYTES = 4;

    /** Passed downstream after the last whole frame when the connection ends inside a frame. */
    public record Truncated(int bytesHeld) {
    }

    public LengthPrefixedFrameDecoder(int maxFrameBytes) {
        super(ByteOrder.BIG_ENDIAN, maxFrameBytes + LENGTH_FIELD_BYTES, 0, LENGTH_FIELD_BYTES, 0, LENGTH_FIELD_BYTES, true);
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        super.decodeLast(ctx, in, out);
        if (in.isReadable()) {
            // Added to `out`, so it reaches the handler after every whole frame before it.
            out.add(new Truncated(in.readableBytes()));
            in.skipBytes(in.readableBytes());
        }
    }
}

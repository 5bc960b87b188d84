package io.flotilla.engine.service;

import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.kv.proto.Request;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cuts a client connection's bytes into frames (a 4-byte big-endian length, then that many bytes
 * of one {@link Request}) and parses each. A length over the limit (or negative) or bytes that do
 * not parse as a Request close the connection with a logged reason: nothing of such a frame reaches
 * a range, and an oversized frame is refused from its length alone, before it is buffered. One per
 * connection, on its event loop.
 */
final class ClientFrameDecoder extends ByteToMessageDecoder {
    private static final Logger LOG = LoggerFactory.getLogger(ClientFrameDecoder.class);

    private final int maxFrameBytes;
    private boolean refused;

    ClientFrameDecoder(int maxFrameBytes) {
        this.maxFrameBytes = maxFrameBytes;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (refused) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (in.readableBytes() < 4) {
            return;
        }
        long length = in.getUnsignedInt(in.readerIndex());
        if (length > maxFrameBytes) {
            refuse(ctx, in, "a frame of " + length + " bytes exceeds the limit of " + maxFrameBytes + " bytes");
            return;
        }
        if (in.readableBytes() < 4 + length) {
            return;
        }
        in.skipBytes(4);
        ByteBuf frame = in.readSlice((int) length);
        try {
            out.add(Request.parseFrom(frame.nioBuffer()));
        } catch (InvalidProtocolBufferException e) {
            refuse(ctx, in, "a frame of " + length + " bytes is not a valid Request (" + e.getMessage() + ")");
        }
    }

    private void refuse(ChannelHandlerContext ctx, ByteBuf in, String why) {
        refused = true;
        in.skipBytes(in.readableBytes());
        LOG.warn("client {}: {}; closing the connection", ctx.channel().remoteAddress(), why);
        ctx.close();
    }
}

package io.flotilla.client;

import io.flotilla.kv.proto.Request;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;
import java.io.IOException;

/**
 * Writes a {@link Request} as one frame: a 4-byte big-endian length, then the message. The caller
 * has checked the size against the frame limit. One instance per channel, on its event-loop thread.
 */
final class RequestEncoder extends MessageToByteEncoder<Request> {
    RequestEncoder() {
        super(Request.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Request request, ByteBuf out) throws IOException {
        int bodyBytes = request.getSerializedSize();
        out.ensureWritable(Integer.BYTES + bodyBytes);
        out.writeInt(bodyBytes);
        try (ByteBufOutputStream body = new ByteBufOutputStream(out)) {
            request.writeTo(body);
        }
    }
}

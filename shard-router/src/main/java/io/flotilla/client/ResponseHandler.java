package io.flotilla.client;

import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.kv.proto.Response;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.TooLongFrameException;

/**
 * The last handler of a client connection: parses each frame into a {@link Response} and hands it,
 * and the connection's end, to its {@link NodeConnection}. A frame that is over the limit or does
 * not parse closes the connection with the reason. One instance per channel, on its event-loop thread.
 */
final class ResponseHandler extends SimpleChannelInboundHandler<ByteBuf> {
    private final NodeConnection connection;
    private final int maxFrameBytes;

    ResponseHandler(NodeConnection connection, int maxFrameBytes) {
        super(ByteBuf.class);
        this.connection = connection;
        this.maxFrameBytes = maxFrameBytes;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
        Response response;
        try {
            response = Response.parseFrom(frame.nioBuffer());
        } catch (InvalidProtocolBufferException e) {
            connection.closeBecause(ctx.channel(), "the node sent a response frame of " + frame.readableBytes()
                    + " bytes that does not parse (" + e.getMessage() + ")");
            return;
        }
        connection.onResponse(response);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        connection.onChannelClosed(ctx.channel());
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        String reason = cause instanceof TooLongFrameException
                ? "the node sent a response frame over the client's limit of " + maxFrameBytes
                        + " bytes (maxFrameBytes; " + cause.getMessage() + ")"
                : "connection error: " + cause;
        connection.closeBecause(ctx.channel(), reason);
    }
}

package io.flotilla.client;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;

/**
 * Builds the pipeline of a client connection: frames of a 4-byte big-endian length and a body of
 * at most {@code maxFrameBytes} (checked on the length field, before the body is buffered), the
 * request encoder, and the response handler. Runs on the channel's event-loop thread.
 */
final class ClientChannelInitializer extends ChannelInitializer<SocketChannel> {
    private static final int LENGTH_FIELD_BYTES = 4;

    private final NodeConnection connection;
    private final int maxFrameBytes;

    ClientChannelInitializer(NodeConnection connection, int maxFrameBytes) {
        this.connection = connection;
        this.maxFrameBytes = maxFrameBytes;
    }

    @Override
    protected void initChannel(SocketChannel channel) {
        channel.pipeline().addLast(
                new LengthFieldBasedFrameDecoder(maxFrameBytes + LENGTH_FIELD_BYTES, 0, LENGTH_FIELD_BYTES, 0, LENGTH_FIELD_BYTES),
                new RequestEncoder(),
                new ResponseHandler(connection, maxFrameBytes));
    }
}
